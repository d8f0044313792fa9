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

TARGET=$1
CACHE=$2
DL=$CACHE/dl-dropbear
STAGE=$CACHE/dropbear-stage
mkdir -p "$DL"

# dropbear-bin and the packages of the libraries it and they link.
pkgs=(dropbear-bin libtomcrypt1 libtommath1 libgmp10 zlib1g libcrypt1 libc6)
mapfile -t wanted < <(apt-cache policy "${pkgs[@]}" |
	awk '/^[^ ].*:$/ { sub(":$", ""); pkg = $0 }
	     /^  Candidate:/ && $2 != "(none)" { print pkg "=" $2 }')
[ "${#wanted[@]}" = "${#pkgs[@]}" ] || die "apt knows not all of ${pkgs[*]} (run apt-get update?)"

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

install -D -m 0755 "$STAGE/usr/sbin/dropbear" "$TARGET/usr/sbin/dropbear"
install -D -m 0755 "$STAGE/usr/bin/dropbearkey" "$TARGET/usr/bin/dropbearkey"

find_lib() { # SONAME: where the staged packages hold it
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		if [ -e "$STAGE/$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

queue=(usr/sbin/dropbear usr/bin/dropbearkey)
declare -A done_libs=()
while [ ${#queue[@]} -gt 0 ]; do
	elf=${queue[0]}
	queue=("${queue[@]:1}")
	for soname in $(readelf -dW "$STAGE/$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${done_libs[$soname]:-}" ] && continue
		done_libs[$soname]=1
		rel=$(find_lib "$soname") || die "no package provides $soname (needed by $elf)"
		# glibc's own libraries came with RAUC, from the same Debian release.
		[ -e "$TARGET/$rel" ] || install -D -m 0755 "$(readlink -f "$STAGE/$rel")" "$TARGET/$rel"
		queue+=("$rel")
	done
done
loader=$(readelf -lW "$STAGE/usr/sbin/dropbear" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
[ -e "$TARGET$loader" ] || die "no loader $loader in the target (ci/install-debian-rauc.sh runs first)"
