#!/usr/bin/env bash
# RAUC for the local image: Debian's rauc (built with its D-Bus service),
# the D-Bus system bus it talks through, and exactly the shared libraries
# (and glibc's loader) those two programs need, found by walking their ELF
# dependencies inside the downloaded packages. Buildroot builds its own
# RAUC instead (BR2_PACKAGE_RAUC).
#
#   ci/install-debian-rauc.sh TARGET_DIR CACHE_DIR
#
# Prints the packages used, one "name version" per line, for the manifest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian.sh"

TARGET=$1
CACHE=$2
DL=$CACHE/dl-rauc
STAGE=$CACHE/rauc-stage

main_pkgs=(rauc rauc-service dbus-daemon dbus-system-bus-common)
# Their whole dependency closure is staged (only what the ELF walk below
# finds is installed); packages of programs and scripts are left out.
mapfile -t dep_pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances "${main_pkgs[@]}" 2>/dev/null |
	grep -E '^[a-z0-9][^ ]*$' |
	grep -vxE 'adduser|cdebconf|debconf|dpkg|install-info|mount|passwd|systemd|tar|dmsetup|readline-common|dbus|dbus-bin|dbus-session-bus-common|rauc|rauc-service|dbus-daemon|dbus-system-bus-common' |
	sort -u)

stage_debs "$STAGE" "$DL" "${main_pkgs[@]}" "${dep_pkgs[@]}"

install -D -m 0755 "$STAGE/usr/bin/rauc" "$TARGET/usr/bin/rauc"
install -D -m 0755 "$STAGE/usr/bin/dbus-daemon" "$TARGET/usr/bin/dbus-daemon"
install -D -m 0644 "$STAGE/usr/share/dbus-1/system.conf" "$TARGET/usr/share/dbus-1/system.conf"
install -D -m 0644 "$STAGE/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf" \
	"$TARGET/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf"

install_needed_libs "$STAGE" "$TARGET" usr/bin/rauc usr/bin/dbus-daemon
# glibc's loader, where the programs ask for it.
loader=$(readelf -lW "$STAGE/usr/bin/rauc" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
ldrel=$(staged_lib "$STAGE" "$(basename "$loader")") || die "no loader $loader"
install -D -m 0755 "$(readlink -f "$STAGE/$ldrel")" "$TARGET/$ldrel"
if [ "/$ldrel" != "$loader" ]; then
	mkdir -p "$TARGET$(dirname "$loader")"
	ln -sfn "/$ldrel" "$TARGET$loader"
fi
