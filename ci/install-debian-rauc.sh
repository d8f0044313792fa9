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

TARGET=$1
CACHE=$2
DL=$CACHE/dl-rauc
STAGE=$CACHE/rauc-stage
mkdir -p "$DL"

main_pkgs=(rauc rauc-service dbus-daemon dbus-system-bus-common)
# Their whole dependency closure is staged (only what the ELF walk below
# finds is installed); packages of programs and scripts are left out.
mapfile -t dep_pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances "${main_pkgs[@]}" 2>/dev/null |
	grep -E '^[a-z0-9][^ ]*$' |
	grep -vxE 'adduser|cdebconf|debconf|dpkg|install-info|mount|passwd|systemd|tar|dmsetup|readline-common|dbus|dbus-bin|dbus-session-bus-common|rauc|rauc-service|dbus-daemon|dbus-system-bus-common' |
	sort -u)

# name=version of each package's candidate, in one apt-cache call.
mapfile -t wanted < <(apt-cache policy "${main_pkgs[@]}" "${dep_pkgs[@]}" |
	awk '/^[^ ].*:$/ { sub(":$", ""); pkg = $0 }
	     /^  Candidate:/ && $2 != "(none)" { print pkg "=" $2 }')

# The staged tree is kept while the package set stays the same.
stamp=$(printf '%s\n' "${wanted[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$STAGE/.stamp-$stamp" ]; then
	rm -rf "$STAGE"
	mkdir -p "$STAGE"
fi
for spec in "${wanted[@]}"; do
	pkg=${spec%%=*}
	version=${spec#*=}
	echo "$pkg $version"
	[ -f "$STAGE/.stamp-$stamp" ] && continue
	deb=$(find "$DL" -maxdepth 1 -name "${pkg}_*.deb" | while read -r f; do
		[ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"
	done | head -n 1)
	if [ -z "$deb" ]; then
		(cd "$DL" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) ||
			die "apt-get download $pkg=$version failed"
		deb=$(find "$DL" -maxdepth 1 -name "${pkg}_*.deb" | while read -r f; do
			[ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"
		done | head -n 1)
	fi
	dpkg-deb -x "$deb" "$STAGE"
done
touch "$STAGE/.stamp-$stamp"

install -D -m 0755 "$STAGE/usr/bin/rauc" "$TARGET/usr/bin/rauc"
install -D -m 0755 "$STAGE/usr/bin/dbus-daemon" "$TARGET/usr/bin/dbus-daemon"
install -D -m 0644 "$STAGE/usr/share/dbus-1/system.conf" "$TARGET/usr/share/dbus-1/system.conf"
install -D -m 0644 "$STAGE/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf" \
	"$TARGET/usr/share/dbus-1/system.d/de.pengutronix.rauc.conf"

# find_lib SONAME: where the staged packages hold it.
find_lib() {
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		if [ -e "$STAGE/$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

queue=(usr/bin/rauc usr/bin/dbus-daemon)
declare -A done_libs=()
while [ ${#queue[@]} -gt 0 ]; do
	elf=${queue[0]}
	queue=("${queue[@]:1}")
	for soname in $(readelf -dW "$STAGE/$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${done_libs[$soname]:-}" ] && continue
		done_libs[$soname]=1
		rel=$(find_lib "$soname") || die "no package provides $soname (needed by $elf)"
		install -D -m 0755 "$(readlink -f "$STAGE/$rel")" "$TARGET/$rel"
		queue+=("$rel")
	done
done
# glibc's loader, where the programs ask for it.
loader=$(readelf -lW "$STAGE/usr/bin/rauc" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
ldrel=$(find_lib "$(basename "$loader")") || die "no loader $loader"
install -D -m 0755 "$(readlink -f "$STAGE/$ldrel")" "$TARGET/$ldrel"
if [ "/$ldrel" != "$loader" ]; then
	mkdir -p "$TARGET$(dirname "$loader")"
	ln -sfn "/$ldrel" "$TARGET$loader"
fi
