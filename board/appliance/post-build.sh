#!/bin/sh
# Buildroot post-build script, also run by the local build (ci/build-image.sh)
# with the same arguments and environment: $1 is the target directory;
# SOURCE_DATE_EPOCH makes the output reproducible.
set -eu

TARGET_DIR=$1
BOARD_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BOARD_DIR/lib.sh"
PATH="${HOST_DIR:+$HOST_DIR/bin:$HOST_DIR/sbin:}$PATH"

# Mount points of the read-only root.
for d in boot boot/efi data dev media/usb mnt proc root run sys tmp var; do
	mkdir -p "$TARGET_DIR/$d"
done

# Volatile and generated files live in /run (tmpfs); see S01mounts and appctl.
ln -sfn ../run/shadow "$TARGET_DIR/etc/shadow"
ln -sfn ../run/resolv.conf "$TARGET_DIR/etc/resolv.conf"
ln -sfn ../run/localtime "$TARGET_DIR/etc/localtime"
rm -f "$TARGET_DIR/etc/hostname"

version=$(firmware_version "$BOARD_DIR")
cat >"$TARGET_DIR/etc/os-release" <<OS
NAME="Mail appliance firmware"
ID=mail-appliance
VERSION_ID=$version
PRETTY_NAME="Mail appliance firmware $version"
OS
echo "$version" >"$TARGET_DIR/etc/appliance-version"

# SSH: sshgate (S72sshgate) starts Dropbear for each connection it admits.
# Buildroot's own init script would run a second server on port 22 without
# the SSH Access List; scp has no use on an appliance whose only login is
# the console.
rm -f "$TARGET_DIR/etc/init.d/S50dropbear" "$TARGET_DIR/usr/bin/scp"

# Programs and libraries the packages RAUC needs install beside it, which
# nothing on the appliance runs or loads: GLib's, PCRE2's and D-Bus's
# developer tools, squashfs-tools' writers (RAUC only mounts bundles),
# OpenSSL's engines and legacy provider, glibc's vector maths. Less to
# carry in every bundle, less to misuse. (The local build copies only what
# it needs, so none of these is there.)
for f in usr/bin/pcre2test usr/bin/pcre2grep usr/bin/gi-compile-repository \
	usr/bin/gi-decompile-typelib usr/bin/gi-inspect-typelib usr/bin/gio \
	usr/bin/gsettings usr/bin/gdbus usr/bin/gapplication usr/bin/gresource \
	usr/bin/gio-querymodules usr/bin/dbus-monitor usr/bin/dbus-test-tool \
	usr/bin/dbus-run-session usr/bin/dbus-update-activation-environment \
	usr/bin/dbus-cleanup-sockets usr/bin/dbus-launch usr/bin/mksquashfs \
	usr/bin/sqfscat usr/bin/sqfstar usr/lib/ossl-modules/legacy.so lib/libmvec.so.1; do
	rm -f "${TARGET_DIR:?}/$f"
done
rm -rf "${TARGET_DIR:?}/usr/lib/engines-3"
rm -f "$TARGET_DIR"/usr/lib/libgirepository-2.0.so* "$TARGET_DIR"/usr/lib/libpcre2-posix.so*

# The kernel of the slot: Buildroot installs it with
# BR2_LINUX_KERNEL_INSTALL_TARGET, the local build copies it there.
[ -f "$TARGET_DIR/boot/bzImage" ] || die "no kernel at $TARGET_DIR/boot/bzImage"

# RAUC accepts bundles signed by the certificates in its keyring: the
# build's development certificate, or the production CA (RAUC_KEYRING).
# Certificates only: no private key is read or copied here.
if [ -n "${RAUC_KEYRING:-}" ]; then
	install -D -m 0644 "$RAUC_KEYRING" "$TARGET_DIR/etc/rauc/keyring.pem"
elif [ ! -f "$TARGET_DIR/etc/rauc/keyring.pem" ]; then
	die "no RAUC keyring: set RAUC_KEYRING to the certificate (chain) bundles are signed with"
fi
# A release image never trusts a test certificate: a bundle of the test
# image (whose root password is public) would install on it.
if ! is_test_target "$TARGET_DIR"; then
	rc=0
	certs_include_test "$TARGET_DIR/etc/rauc/keyring.pem" || rc=$?
	case "$rc" in
	0) die "the RAUC keyring holds a test certificate (OU=$TEST_CERT_OU): a release image must not trust test bundles" ;;
	2) die "the RAUC keyring $TARGET_DIR/etc/rauc/keyring.pem holds no certificate" ;;
	esac
fi

# The initramfs marks a slot bad with it when the slot cannot be started.
[ -x "$TARGET_DIR/usr/bin/grub-editenv" ] || die "no grub-editenv in $TARGET_DIR/usr/bin (board/appliance/rust-binaries)"
build_initramfs "$TARGET_DIR" "$BOARD_DIR/initramfs" "$TARGET_DIR/boot/initrd.img"
