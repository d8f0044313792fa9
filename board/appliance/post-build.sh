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
