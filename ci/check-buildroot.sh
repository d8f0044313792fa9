#!/usr/bin/env bash
# Checks of the Buildroot external tree (buildroot/) and the board files it
# shares with the local build, without Buildroot (CI's lint stage):
#
#  - Debian's kernel, the local build's, has every option of
#    board/appliance/linux.fragment, built in or as a module;
#  - ci/buildroot_check.py check: the Kconfig files parse, the defconfigs use
#    only symbols of the pinned release (ci/buildroot-symbols.txt) and name
#    files that exist, GRUB's modules, cargo profile and pinned versions agree,
#    and every source of the offline build has an origin and a hash in the
#    current buildroot/mirror/sources.txt (ci/buildroot-mirror.sh makes it);
#  - shellcheck of the tree's scripts;
#  - post-build's initramfs from a target laid out as Buildroot's is (a
#    dynamic BusyBox, lib64 -> lib, every driver built in) runs.
#
# With --buildroot DIR (a Buildroot source tree of the pinned release), also:
# the symbol list is what that tree defines, and for each defconfig, "make
# defconfig" keeps every value and "make savedefconfig" gives it back.
#
#   ci/check-buildroot.sh [--build DIR] [--kernel-config FILE] [--linux]
#                         [--buildroot DIR [--package]]
#
# --build: where the local build keeps Debian's kernel (default build/; the
# kernel package is downloaded into DIR/dl when it is not there yet).
# --kernel-config: check this kernel configuration instead.
# --linux: also merge the fragment into Linux 6.12's x86_64_defconfig as
# Buildroot does (Debian's linux-source-6.12, downloaded into DIR/dl) and
# check that kconfig keeps every option (about a minute).
# --package: also build the appliance-services package through Buildroot's
# cargo infrastructure (minutes; crates.io for the vendoring, then offline).
set -euo pipefail
shopt -s inherit_errexit
. "$(dirname "$0")/lib.sh"

BUILD=$REPO/build
KCONFIG=
BUILDROOT=
PACKAGE=0
LINUX=0
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--kernel-config) KCONFIG=$2; shift 2 ;;
	--buildroot) BUILDROOT=$(cd "$2" && pwd); shift 2 ;;
	--package) PACKAGE=1; shift ;;
	--linux) LINUX=1; shift ;;
	-h | --help)
		sed -n '2,31s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
[ "$PACKAGE" = 0 ] || [ -n "$BUILDROOT" ] || die "--package needs --buildroot DIR"

require_tools shellcheck:shellcheck dpkg-deb:dpkg apt-get:apt readelf:binutils cpio:cpio \
	depmod:kmod unshare:util-linux
CHECK_FRAGMENT=$REPO/buildroot/scripts/check-kconfig-fragment.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# kconfiglib is a Debian package; a Python on PATH of its own may lack it.
PYTHON=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import kconfiglib' 2>/dev/null; then
		PYTHON=$p
		break
	fi
done
[ -n "$PYTHON" ] || die "no Python with kconfiglib: apt-get install python3-kconfiglib (or run ci/setup.sh)"

# --- Debian's kernel ---------------------------------------------------------
# The configuration of the kernel package ci/build-image.sh uses: the
# candidate of linux-image-amd64's dependency.
debian_kernel_config() {
	local meta_version meta kpkg kversion deb
	mkdir -p "$BUILD/dl"
	meta_version=$(apt-cache policy linux-image-amd64 | sed -n 's/ *Candidate: //p')
	if [ -z "$meta_version" ] || [ "$meta_version" = "(none)" ]; then
		die "apt knows no linux-image-amd64 (run apt-get update?)"
	fi
	meta=$(cached_deb linux-image-amd64 "$meta_version")
	kpkg=$(dpkg-deb -f "$meta" Depends | sed -n 's/.*\(linux-image-[0-9][^ ,]*\).*/\1/p')
	[ -n "$kpkg" ] || die "cannot tell the kernel package from $meta"
	kversion=$(apt-cache policy "$kpkg" | sed -n 's/ *Candidate: //p')
	# The local build's extracted copy, when it is this package.
	if [ -f "$BUILD/kernel/.extracted-${kpkg}_${kversion//:/%3a}_amd64.deb" ]; then
		find "$BUILD/kernel/boot" -maxdepth 1 -name 'config-*' -print -quit
		return
	fi
	deb=$(cached_deb "$kpkg" "$kversion")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$WORK" --wildcards './boot/config-*'
	find "$WORK/boot" -maxdepth 1 -name 'config-*' -print -quit
}

deb_in_dl() { # PACKAGE VERSION
	local f
	for f in "$BUILD/dl/${1}"_*.deb; do
		if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$2" ]; then
			echo "$f"
			return
		fi
	done
}

# cached_deb PACKAGE VERSION: the .deb in $BUILD/dl, downloaded if missing.
cached_deb() {
	local file
	file=$(deb_in_dl "$1" "$2")
	if [ -z "$file" ]; then
		note "downloading $1 $2"
		(cd "$BUILD/dl" && apt-get download -q "$1=$2" >/dev/null 2>&1) ||
			die "apt-get download $1=$2 failed"
		file=$(deb_in_dl "$1" "$2")
	fi
	[ -n "$file" ] || die "no .deb of $1 $2 in $BUILD/dl"
	echo "$file"
}

note "the kernel fragment against Debian's kernel"
[ -n "$KCONFIG" ] || KCONFIG=$(debian_kernel_config)
[ -f "$KCONFIG" ] || die "no kernel configuration found"
"$CHECK_FRAGMENT" --modules-ok "$KCONFIG" "$REPO/board/appliance/linux.fragment"

if [ "$LINUX" = 1 ]; then
	note "the kernel fragment merged into Linux 6.12's x86_64_defconfig"
	require_tools flex:flex bison:bison gcc:gcc make:make xz:xz-utils
	src_version=$(apt-cache policy linux-source-6.12 | sed -n 's/ *Candidate: //p')
	if [ -z "$src_version" ] || [ "$src_version" = "(none)" ]; then
		die "apt knows no linux-source-6.12 (run apt-get update?)"
	fi
	mkdir -p "$BUILD/dl" "$WORK/linux"
	src_deb=$(cached_deb linux-source-6.12 "$src_version")
	dpkg-deb --fsys-tarfile "$src_deb" | tar -xO ./usr/src/linux-source-6.12.tar.xz |
		tar -xJ -C "$WORK/linux" --strip-components=1
	make -s -C "$WORK/linux" O="$WORK/linux-out" ARCH=x86 x86_64_defconfig
	# What Buildroot's kconfig step does with BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES.
	"$WORK/linux/scripts/kconfig/merge_config.sh" -m -O "$WORK/linux-out" "$WORK/linux-out/.config" \
		"$REPO/board/appliance/linux.fragment" >/dev/null
	make -s -C "$WORK/linux" O="$WORK/linux-out" ARCH=x86 olddefconfig
	"$CHECK_FRAGMENT" "$WORK/linux-out/.config" "$REPO/board/appliance/linux.fragment"
	rm -rf "$WORK/linux" "$WORK/linux-out"
fi

note "the external tree"
"$PYTHON" "$REPO/ci/buildroot_check.py" check

note "shellcheck"
# From the top, for its .shellcheckrc.
mapfile -t scripts < <(cd "$REPO" && find buildroot -name '*.sh' -type f | sort)
(cd "$REPO" && shellcheck -x "${scripts[@]}" ci/check-buildroot.sh ci/buildroot-mirror.sh ci/buildroot-build.sh board/appliance/post-build.sh \
	board/appliance/post-image.sh)
echo "shellcheck: ${#scripts[@]} scripts of buildroot/, the board scripts and ci/buildroot-*.sh are clean"

# --- post-build's initramfs from a Buildroot-like target --------------------------
# Buildroot's BusyBox is linked dynamically against glibc, whose loader looks
# in /lib64, a link to /lib; its kernel has every driver built in.
note "the initramfs of a Buildroot-like target"
target=$WORK/target
mkdir -p "$target/bin" "$target/lib/modules/6.12.91" "$target/usr/lib"
ln -s lib "$target/lib64"
ln -s lib "$target/usr/lib64"
# Any dynamic program stands in for BusyBox: it only has to start.
cp /bin/true "$target/bin/busybox"
interp=$(readelf -lW /bin/true | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
cp -L "$interp" "$target/lib/$(basename "$interp")"
for lib in $(readelf -dW /bin/true | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
	path=$(PATH="$PATH:/sbin" ldconfig -p |
		awk -v lib="$lib" '$1 == lib && /x86-64/ && !found { print $NF; found = 1 }')
	[ -n "$path" ] || die "cannot find the host's $lib"
	cp -L "$path" "$target/lib/$lib"
done
printf 'kernel/fs/squashfs/squashfs.ko\n' >"$target/lib/modules/6.12.91/modules.builtin"
touch "$target/lib/modules/6.12.91/modules.builtin.modinfo" "$target/lib/modules/6.12.91/modules.order"
# As post-build.sh runs it: POSIX sh, set -eu.
# shellcheck disable=SC2016 # expanded by that sh
sh -eu -c '. "$1/board/appliance/lib.sh"; build_initramfs "$2" "$1/board/appliance/initramfs" "$3"' \
	sh "$REPO" "$target" "$WORK/initrd.img"
mkdir "$WORK/initrd"
(cd "$WORK/initrd" && gzip -dc "$WORK/initrd.img" | cpio --quiet -i -d)
[ "$(readlink "$WORK/initrd/lib64")" = lib ] || die "the initramfs lost the target's lib64 -> lib link"
[ -f "$WORK/initrd/lib/libc.so.6" ] || die "the initramfs has no libc.so.6 in /lib"
[ -f "$WORK/initrd/lib/modules/6.12.91/modules.builtin" ] || die "the initramfs has no modules.builtin"
if [ "$(id -u)" -eq 0 ]; then
	chroot "$WORK/initrd" /bin/busybox || die "the initramfs's BusyBox does not start"
else
	unshare -r chroot "$WORK/initrd" /bin/busybox || die "the initramfs's BusyBox does not start"
fi
echo "initramfs: a dynamic BusyBox starts in it, with /lib64 -> /lib kept"

# --- with a Buildroot tree -----------------------------------------------------------
if [ -n "$BUILDROOT" ]; then
	require_tools make:make rsync:rsync
	note "against the Buildroot tree in $BUILDROOT"
	"$PYTHON" "$REPO/ci/buildroot_check.py" symbols "$BUILDROOT" --compare
	for defconfig in "$REPO"/buildroot/configs/*_defconfig; do
		name=$(basename "$defconfig")
		out=$WORK/out-$name
		make -C "$BUILDROOT" O="$out" BR2_EXTERNAL="$REPO/buildroot" "$name" >"$WORK/make.log" 2>&1 ||
			{ tail -n 20 "$WORK/make.log" >&2; die "make $name failed"; }
		# Every value of the defconfig is in the configuration make wrote
		# (an option "not set" may also be absent: invisible, so unset).
		dropped=$(grep -E '^(BR2_[A-Za-z0-9_]+=|# BR2_[A-Za-z0-9_]+ is not set$)' "$defconfig" |
			while IFS= read -r line; do
				case "$line" in
				"# "*) sym=${line#\# }; sym=${sym%% *}; grep -q "^$sym=" "$out/.config" || continue ;;
				*) sym=${line%%=*}; grep -qxF -- "$line" "$out/.config" && continue ;;
				esac
				echo "  $line, but make defconfig made it: $(grep -E "^(# )?${sym}[= ]" "$out/.config" || echo "absent")"
			done)
		[ -z "$dropped" ] || die "$name: make defconfig did not keep every value:"$'\n'"$dropped"
		make -C "$out" savedefconfig BR2_DEFCONFIG="$WORK/saved" >"$WORK/make.log" 2>&1 ||
			{ tail -n 20 "$WORK/make.log" >&2; die "make savedefconfig ($name) failed"; }
		grep -E '^(BR2_|# BR2_)' "$defconfig" | sort >"$WORK/ours"
		sort "$WORK/saved" >"$WORK/theirs"
		extra=$(comm -13 "$WORK/ours" "$WORK/theirs")
		[ -z "$extra" ] || die "$name: savedefconfig has lines the defconfig lacks:"$'\n'"$extra"
		defaults=$(comm -23 "$WORK/ours" "$WORK/theirs" | tr '\n' ' ')
		echo "$name: make defconfig keeps all $(wc -l <"$WORK/ours") values; savedefconfig gives them back${defaults:+ (besides the defaults kept explicit: $defaults)}"
	done
fi

# --- the package, built by Buildroot -----------------------------------------------
# Buildroot's toolchain and Rust cannot be built here (nothing downloads but
# crates.io): their packages are marked built, and the host's gcc (its
# static glibc) and Rust stand in for them. What runs is Buildroot's own
# cargo infrastructure with the package's .mk: the vendoring, the rsync of
# the workspace, the build without network, the install and its check that
# every binary is static.
if [ "$PACKAGE" = 1 ]; then
	note "the appliance-services package through Buildroot's cargo infrastructure"
	out=$WORK/out-package
	make -C "$BUILDROOT" O="$out" BR2_EXTERNAL="$REPO/buildroot" appliance_x86_64_defconfig >"$WORK/make.log" 2>&1 ||
		{ tail -n 20 "$WORK/make.log" >&2; die "make appliance_x86_64_defconfig failed"; }
	deps=$(make -s -C "$out" appliance-services-show-recursive-depends | tail -n 1)
	vars=$(for p in $deps; do printf '%s_DIR ' "$(echo "$p" | tr 'a-z-' 'A-Z_')"; done)
	mapfile -t dirs < <(make -s -C "$out" printvars VARS="$vars" | sed -n 's/^[A-Z0-9_]*_DIR=//p')
	[ "${#dirs[@]}" -gt 0 ] || die "cannot tell the package's dependencies"
	t=$(date +%s)
	for stamp in downloaded extracted patched configured built host_installed staging_installed \
		target_installed images_installed installed; do
		t=$((t + 1))
		for d in "${dirs[@]}"; do
			mkdir -p "$d"
			touch -d "@$t" "$d/.stamp_$stamp"
		done
	done
	mkdir -p "$out/host/bin"
	sysroot=$(rustc --print sysroot)
	ln -sf "$sysroot/bin/cargo" "$out/host/bin/cargo"
	ln -sf "$sysroot/bin/rustc" "$out/host/bin/rustc"
	# The cross tools TARGET_CONFIGURE_OPTS names (cc-rs uses some).
	for tool in gcc gcc-ar gcc-nm gcc-ranlib cpp as ld readelf strip objcopy objdump; do
		printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$tool")" >"$out/host/bin/x86_64-buildroot-linux-gnu-$tool"
		chmod +x "$out/host/bin/x86_64-buildroot-linux-gnu-$tool"
	done
	make -C "$out" appliance-services-source >"$WORK/package.log" 2>&1 ||
		{ tail -n 30 "$WORK/package.log" >&2; die "vendoring failed"; }
	offline=(unshare -n)
	[ "$(id -u)" -eq 0 ] || offline=(unshare -r -n)
	"${offline[@]}" make -C "$out" appliance-services >>"$WORK/package.log" 2>&1 ||
		{ tail -n 30 "$WORK/package.log" >&2; die "the package does not build offline"; }
	mapfile -t bins < <(grep -v '^#' "$REPO/board/appliance/rust-binaries" | sed '/^$/d')
	for b in "${bins[@]}"; do
		[ -x "$out/target/usr/bin/$b" ] || die "the package did not install /usr/bin/$b"
	done
	echo "appliance-services: ${#bins[@]} static binaries built offline from the vendored crates and installed to /usr/bin"
fi
note "Buildroot checks passed"
