# shellcheck shell=sh
# Helpers shared by post-build.sh and post-image.sh. POSIX sh.

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# The firmware version is the Cargo workspace's version.
firmware_version() {
	sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$1/../../Cargo.toml"
}

# Sets every timestamp under $1 to SOURCE_DATE_EPOCH (for reproducible images).
clamp_times() {
	find "$1" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
}

kernel_release() {
	for d in "$1"/lib/modules/*/; do
		[ -d "$d" ] && basename "$d" && return 0
	done
	return 1
}

# build_initramfs TARGET_DIR SRC_DIR OUTPUT: a gzip'd cpio holding BusyBox,
# SRC_DIR/init, the target's grub-editenv (to mark a slot bad that cannot
# be started) and the modules listed in SRC_DIR/modules with their
# dependencies, taken from the target's own files.
build_initramfs() {
	target=$1
	src=$2
	out=$3
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/bin" "$work/dev" "$work/proc" "$work/sys" "$work/newroot" "$work/etc"
	cp "$target/bin/busybox" "$work/bin/busybox"
	copy_needed_libs "$target" "$work" "$target/bin/busybox"
	for applet in sh mount umount modprobe switch_root grep cat mkdir usleep sleep sync reboot; do
		ln -s busybox "$work/bin/$applet"
	done
	# post-build.sh insists on it; a bare target (ci/check-buildroot.sh's)
	# may lack it, and the init script then only reboots.
	if [ -f "$target/usr/bin/grub-editenv" ]; then
		cp "$target/usr/bin/grub-editenv" "$work/bin/grub-editenv"
		copy_needed_libs "$target" "$work" "$target/usr/bin/grub-editenv"
	fi
	install -m 0755 "$src/init" "$work/init"
	grep -v '^#' "$src/modules" >"$work/etc/modules"

	# A kernel without modules has no /lib/modules.
	kver=$(kernel_release "$target") || kver=
	if [ -n "$kver" ]; then
		# kmod's tools live in /sbin, which a user's PATH may lack.
		PATH="$PATH:/usr/sbin:/sbin"
		command -v modprobe >/dev/null || die "no modprobe on this machine (install kmod)"
		mods=$(grep -v '^#' "$src/modules")
		for m in $mods; do
			# Built-in or absent modules print nothing to copy.
			modprobe -d "$target" -S "$kver" --show-depends "$m" 2>/dev/null |
				sed -n 's/^insmod \([^ ]*\).*/\1/p'
		done | sort -u | while read -r path; do
			rel=${path#"$target"}
			mkdir -p "$work$(dirname "$rel")"
			cp "$path" "$work$rel"
		done
		# With every driver built in (Buildroot's kernel) nothing above
		# made the directory.
		mkdir -p "$work/lib/modules/$kver"
		for f in modules.builtin modules.builtin.modinfo modules.order; do
			[ -f "$target/lib/modules/$kver/$f" ] && cp "$target/lib/modules/$kver/$f" "$work/lib/modules/$kver/"
		done
		depmod -b "$work" "$kver"
	fi

	clamp_times "$work"
	(cd "$work" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet --reproducible -o -H newc -R 0:0) | gzip -9 -n >"$out"
	rm -rf "$work"
	trap - EXIT
}

# copy_needed_libs ROOT DEST BINARY: a dynamically linked BusyBox (Buildroot's)
# needs its loader and libraries in the initramfs too; a static one nothing.
copy_needed_libs() {
	interp=$(readelf -l "$3" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	[ -n "$interp" ] || return 0
	# Keep the target's links between library directories (Buildroot's
	# lib64 -> lib): glibc's loader looks in its own directory (/lib64 on
	# x86-64), which holds the libraries only through that link.
	mkdir -p "$2/lib" "$2/usr/lib"
	for link in lib64 lib32 usr/lib64 usr/lib32; do
		if [ -L "$1/$link" ] && [ ! -e "$2/$link" ] && [ ! -L "$2/$link" ]; then
			cp -P "$1/$link" "$2/$link"
		fi
	done
	mkdir -p "$2$(dirname "$interp")"
	cp -L "$1$interp" "$2$interp"
	for lib in $(readelf -d "$3" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		for dir in lib lib64 usr/lib; do
			if [ -e "$1/$dir/$lib" ]; then
				mkdir -p "$2/$dir"
				cp -L "$1/$dir/$lib" "$2/$dir/$lib"
				break
			fi
		done
	done
}

# Test signing certificates carry this organisational unit in their subject
# (ci/build-image.sh makes one in BUILD/keys-test). A test image's bundle is
# signed only with such a certificate, a release image's never, and a
# release image never trusts one (post-build.sh, post-image.sh).
TEST_CERT_OU="test images only"

# certs_include_test PEMFILE: whether any certificate in the file is a test
# one. Fails (status 2) when the file holds no certificate.
certs_include_test() {
	subjects=$(openssl crl2pkcs7 -nocrl -certfile "$1" 2>/dev/null |
		openssl pkcs7 -print_certs -noout 2>/dev/null | grep '^subject=') || return 2
	printf '%s\n' "$subjects" | grep -Eq "OU ?= ?$TEST_CERT_OU(,|\$)"
}

# is_test_target TARGET_DIR: the test image's root (board/appliance/test-overlay's marker).
is_test_target() {
	[ -f "$1/etc/appliance-test-image" ]
}

# grub_password_hash_valid HASH: what grub-mkpasswd-pbkdf2 prints after
# "PBKDF2 hash of your password is".
grub_password_hash_valid() {
	printf '%s\n' "$1" | grep -Eqx 'grub\.pbkdf2\.sha512\.[1-9][0-9]*\.([0-9A-Fa-f]{2})+\.([0-9A-Fa-f]{2})+'
}

# write_le FILE OFFSET BYTES VALUE: writes VALUE as a BYTES-long
# little-endian integer at OFFSET of FILE, in place.
write_le() {
	file=$1
	offset=$2
	n=$3
	value=$4
	i=0
	bytes=
	while [ "$i" -lt "$n" ]; do
		bytes="$bytes$(printf '\\%03o' $((value & 255)))"
		value=$((value >> 8))
		i=$((i + 1))
	done
	# shellcheck disable=SC2059 # the octal escapes are the format
	printf "$bytes" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}
