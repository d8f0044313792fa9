#!/usr/bin/env bash
# fsck.fat for the local image: Debian's dosfstools (the checker only, as
# Buildroot's BR2_PACKAGE_DOSFSTOOLS_FSCK_FAT), which hotplugd runs on a
# USB drive that was not ejected and S03boot on the EFI partition. It
# links glibc only, staged for RAUC already (ci/install-debian-rauc.sh
# runs first).
#
#   ci/install-debian-dosfstools.sh TARGET_DIR CACHE_DIR
#
# Prints the packages used, one "name version" per line, for the manifest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian.sh"

TARGET=$1
CACHE=$2
STAGE=$CACHE/dosfstools-stage

pkgs=(dosfstools libc6)
staged=$(stage_debs "$STAGE" "$CACHE/dl-dosfstools" "${pkgs[@]}")
[ "$(wc -l <<<"$staged")" = "${#pkgs[@]}" ] || die "apt knows not all of ${pkgs[*]} (run apt-get update?)"
echo "$staged"

install -D -m 0755 "$STAGE/sbin/fsck.fat" "$TARGET/sbin/fsck.fat"
ln -sf fsck.fat "$TARGET/sbin/fsck.vfat"
install_needed_libs "$STAGE" "$TARGET" sbin/fsck.fat
