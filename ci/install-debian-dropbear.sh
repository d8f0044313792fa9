#!/usr/bin/env bash
# Dropbear for the local image: Debian's dropbear-bin (the server and
# dropbearkey only: no client, no scp, no sftp-server) and exactly the
# shared libraries they need, found by walking their ELF dependencies
# inside the downloaded packages; glibc and its loader are there already
# (ci/install-debian-rauc.sh runs first). Buildroot builds its own Dropbear
# instead (BR2_PACKAGE_DROPBEAR).
#
#   ci/install-debian-dropbear.sh TARGET_DIR CACHE_DIR
#
# Prints the packages used, one "name version" per line, for the manifest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian.sh"

TARGET=$1
CACHE=$2
DL=$CACHE/dl-dropbear
STAGE=$CACHE/dropbear-stage

# dropbear-bin and the packages of the libraries it and they link.
pkgs=(dropbear-bin libtomcrypt1 libtommath1 libgmp10 zlib1g libcrypt1 libc6)
staged=$(stage_debs "$STAGE" "$DL" "${pkgs[@]}")
[ "$(wc -l <<<"$staged")" = "${#pkgs[@]}" ] || die "apt knows not all of ${pkgs[*]} (run apt-get update?)"
echo "$staged"

install -D -m 0755 "$STAGE/usr/sbin/dropbear" "$TARGET/usr/sbin/dropbear"
install -D -m 0755 "$STAGE/usr/bin/dropbearkey" "$TARGET/usr/bin/dropbearkey"

# glibc's libraries (staged for RAUC too, same Debian release) go in again unchanged.
install_needed_libs "$STAGE" "$TARGET" usr/sbin/dropbear usr/bin/dropbearkey
loader=$(readelf -lW "$STAGE/usr/sbin/dropbear" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
[ -e "$TARGET$loader" ] || die "no loader $loader in the target (ci/install-debian-rauc.sh runs first)"
