#!/bin/sh
# Buildroot post-image script, also run by the local build: $1 is the images
# directory holding rootfs.squashfs, the GRUB images (efi-part/EFI/BOOT/
# bootx64.efi, grub.img, boot.img) made by Buildroot's grub2 package or by
# the local build. Lays out disk.img with genimage.
set -eu

BINARIES_DIR=$1
BOARD_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BOARD_DIR/lib.sh"
: "${SOURCE_DATE_EPOCH:=0}"
export SOURCE_DATE_EPOCH
PATH="${HOST_DIR:+$HOST_DIR/bin:$HOST_DIR/sbin:}$PATH"

# GRUB's recovery user: the PBKDF2 hash of its password, made with
# grub-mkpasswd-pbkdf2. The image never holds the password itself.
hash=${GRUB_PASSWORD_HASH:-}
[ -n "$hash" ] || die "no GRUB_PASSWORD_HASH: give the grub-mkpasswd-pbkdf2 hash of GRUB's recovery password (README, How the image boots)"
grub_password_hash_valid "$hash" ||
	die "GRUB_PASSWORD_HASH is not what grub-mkpasswd-pbkdf2 prints (grub.pbkdf2.sha512.<iterations>.<salt>.<hash>)"

# The update bundle's signer. The test image's bundle is signed only with a
# test certificate and a release image's never with one: a bundle of the
# test image's root (whose root password is public) signed with the release
# key would give root on every unit in the field.
if [ -n "${RAUC_KEY:-}" ] && [ -n "${RAUC_CERT:-}" ]; then
	rc=0
	certs_include_test "$RAUC_CERT" || rc=$?
	[ "$rc" != 2 ] || die "RAUC_CERT ($RAUC_CERT) holds no certificate"
	if is_test_target "${TARGET_DIR:-/nonexistent}"; then
		[ "$rc" = 0 ] || die "refusing to sign the test image's bundle with a certificate that is not a test one (OU=$TEST_CERT_OU): $RAUC_CERT"
	else
		[ "$rc" != 0 ] || die "refusing to sign a release image's bundle with a test certificate: $RAUC_CERT"
	fi
fi

cd "$BINARIES_DIR"
for f in rootfs.squashfs grub.img efi-part/EFI/BOOT/bootx64.efi; do
	[ -f "$f" ] || die "missing $BINARIES_DIR/$f"
done
if [ ! -f boot.img ]; then
	if [ -f "${TARGET_DIR:-/nonexistent}/lib/grub/i386-pc/boot.img" ]; then
		cp "$TARGET_DIR/lib/grub/i386-pc/boot.img" boot.img
	else
		die "missing boot.img (GRUB's i386-pc boot sector)"
	fi
fi

# Legacy BIOS on GPT: the core image sits in the BIOS boot partition at
# 1 MiB (sector 2048, genimage.cfg.in). What grub-bios-setup would write:
# boot.img learns the core image's first sector (8 bytes at 0x5c), and the
# core image's first sector (diskboot) the blocklist of the rest of it
# (start, count, load segment 0x820 at 0x1f4).
core_lba=2048
core_sectors=$((($(wc -c <grub.img) + 511) / 512))
[ "$core_sectors" -le 2048 ] || die "grub.img is larger than the 1 MiB BIOS boot partition"
cp boot.img boot.img.patched
write_le boot.img.patched $((0x5c)) 8 "$core_lba"
cp grub.img grub.img.patched
write_le grub.img.patched $((0x1f4)) 8 $((core_lba + 1))
write_le grub.img.patched $((0x1fc)) 2 $((core_sectors - 1))
write_le grub.img.patched $((0x1fe)) 2 $((0x820))

# The EFI system partition: GRUB EFI, the shared grub.cfg and the A/B state,
# seeded so that a fresh image boots slot A without reporting it bad.
# grub.cfg gets the PBKDF2 hash of GRUB's recovery password (checked above).
rm -rf esp
mkdir -p esp/EFI/BOOT esp/grub
cp efi-part/EFI/BOOT/bootx64.efi esp/EFI/BOOT/BOOTX64.EFI
sed "s/@GRUB_PASSWORD_HASH@/$hash/" "$BOARD_DIR/grub.cfg" >esp/grub/grub.cfg
grep -q "^password_pbkdf2 recovery $hash\$" esp/grub/grub.cfg || die "grub.cfg has no password line for the recovery user"
grub-editenv esp/grub/grubenv create
grub-editenv esp/grub/grubenv set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
clamp_times esp
# FAT32, 64 MiB, volume ID A1B2-C3D4 (grub-early.cfg looks for it), no label
# (mkdosfs stamps a label entry with the current time); mcopy -m
# keeps the clamped times.
rm -f esp.vfat
mkdosfs -C -F 32 -i A1B2C3D4 esp.vfat 65536 >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -smp -i esp.vfat esp/EFI esp/grub ::

sed -e "s/@SOURCE_DATE@/$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)/" \
	-e 's/"boot.img"/"boot.img.patched"/' -e 's/"grub.img"/"grub.img.patched"/' \
	"$BOARD_DIR/genimage.cfg.in" >genimage.cfg

# mke2fs stamps the new file system's inodes with this time.
export E2FSPROGS_FAKE_TIME="$SOURCE_DATE_EPOCH"

rm -rf genimage.tmp genimage.root
mkdir -p genimage.root
genimage --rootpath genimage.root --tmppath genimage.tmp \
	--inputpath "$BINARIES_DIR" --outputpath "$BINARIES_DIR" --config genimage.cfg
rm -rf genimage.tmp genimage.root

sha256sum disk.img >disk.img.sha256

# The field upgrade: a signed verity bundle of the root file system, when a
# signing key is given (RAUC_KEY and RAUC_CERT; checked above).
if [ -n "${RAUC_KEY:-}" ] && [ -n "${RAUC_CERT:-}" ]; then
	version=$(firmware_version "$BOARD_DIR")
	compatible=$(sed -n 's/^compatible=//p' "$BOARD_DIR/../../rootfs-overlay/etc/rauc/system.conf")
	rm -rf bundle "appliance-$version.raucb"
	mkdir bundle
	cp rootfs.squashfs bundle/
	sed -e "s/@COMPATIBLE@/$compatible/" -e "s/@VERSION@/$version/" \
		-e "s/@BUILD@/$SOURCE_DATE_EPOCH/" "$BOARD_DIR/rauc/manifest.raucm.in" >bundle/manifest.raucm
	rauc bundle --cert="$RAUC_CERT" --key="$RAUC_KEY" bundle "appliance-$version.raucb"
	rm -rf bundle
fi
