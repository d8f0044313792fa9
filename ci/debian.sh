# shellcheck shell=bash
# Debian's packages for the local image, shared by ci/build-image.sh and
# the ci/install-debian-*.sh scripts: a .deb of an exact version from the
# download cache (fetched with apt-get download when missing), a staged
# tree of several packages kept while their versions stay the same, and the
# shared libraries a staged program needs, found by walking its ELF
# dependencies. Source after ci/lib.sh.

# deb_file DL PACKAGE VERSION: the path of that .deb in DL, downloaded first
# when it is not there.
deb_file() {
	local dl=$1 pkg=$2 version=$3 file
	find_it() {
		find "$dl" -maxdepth 1 -name "${pkg}_*.deb" | while read -r f; do
			[ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"
		done | head -n 1
	}
	file=$(find_it)
	if [ -z "$file" ]; then
		(cd "$dl" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) ||
			die "apt-get download $pkg=$version failed"
		file=$(find_it)
	fi
	[ -n "$file" ] || die "apt-get download $pkg=$version left no .deb in $dl"
	echo "$file"
}

# stage_debs STAGE DL PACKAGE...: every package's candidate version
# extracted into STAGE, which is kept while the set of name=version pairs
# stays the same. Prints "name version" per package staged, for the
# manifest (a package without a candidate is left out).
stage_debs() {
	local stage=$1 dl=$2 stamp spec
	shift 2
	local wanted
	# name=version of each package's candidate, in one apt-cache call.
	mapfile -t wanted < <(apt-cache policy "$@" |
		awk '/^[^ ].*:$/ { sub(":$", ""); pkg = $0 }
		     /^  Candidate:/ && $2 != "(none)" { print pkg "=" $2 }')
	mkdir -p "$dl"
	stamp=$(printf '%s\n' "${wanted[@]}" | sha256sum | cut -c1-16)
	if [ ! -f "$stage/.stamp-$stamp" ]; then
		rm -rf "$stage"
		mkdir -p "$stage"
	fi
	for spec in "${wanted[@]}"; do
		echo "${spec%%=*} ${spec#*=}"
		[ -f "$stage/.stamp-$stamp" ] && continue
		dpkg-deb -x "$(deb_file "$dl" "${spec%%=*}" "${spec#*=}")" "$stage"
	done
	touch "$stage/.stamp-$stamp"
}

# staged_lib STAGE SONAME: where the staged packages hold that library.
staged_lib() {
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		if [ -e "$1/$d/$2" ]; then
			echo "$d/$2"
			return 0
		fi
	done
	return 1
}

# install_needed_libs STAGE TARGET ELF...: installs into TARGET every shared
# library the staged programs ELF... (paths inside STAGE) need, directly or
# through each other.
install_needed_libs() {
	local stage=$1 target=$2 elf soname rel
	shift 2
	local queue=("$@")
	local -A seen=()
	while [ ${#queue[@]} -gt 0 ]; do
		elf=${queue[0]}
		queue=("${queue[@]:1}")
		for soname in $(readelf -dW "$stage/$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -n "${seen[$soname]:-}" ] && continue
			seen[$soname]=1
			rel=$(staged_lib "$stage" "$soname") || die "no package provides $soname (needed by $elf)"
			install -D -m 0755 "$(readlink -f "$stage/$rel")" "$target/$rel"
			queue+=("$rel")
		done
	done
}
