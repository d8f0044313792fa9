#!/usr/bin/env bash
# Image figures (a benchmark, not a test): image size raw and compressed,
# root file system size, QEMU start to login prompt under TCG (BIOS and
# UEFI, median of N boots) and the guest's memory in use when idle.
#
#   ci/bench-image.sh [N]      (N boots per firmware, default 3)
#   ci/bench-image.sh --buildroot DIR [N]
#        the Buildroot build's images in DIR (out/buildroot/<defconfig>/images):
#        disk.img, rootfs.squashfs and the bundle; boots its disk.img
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

if [ "${1:-}" = --buildroot ]; then
	images=$2
	shift 2
	image=$images/disk.img
	rootfs=$images/rootfs.squashfs
	bundle=$(find "$images" -maxdepth 1 -name '*.raucb' | head -n 1)
	boot_image=$image
else
	[ -f out/appliance.img ] || "$REPO/ci/build-image.sh"
	image=out/appliance.img
	rootfs=build/images/rootfs.squashfs
	bundle=$(find out -maxdepth 1 -name '*.raucb' | head -n 1)
	boot_image=${APPLIANCE_IMAGE:-out/appliance-test.img}
fi
raw=$(stat -c %s "$image")
alloc=$(($(stat -c %b "$image") * $(stat -c %B "$image")))
xz_size=$(xz -T2 -6 -c "$image" | wc -c)
echo "image: $(mib "$raw") raw, $(mib "$alloc") allocated (sparse), $(mib "$xz_size") xz -6"
echo "rootfs slot: $(mib "$(stat -c %s "$rootfs")") squashfs"
[ -z "$bundle" ] || echo "bundle: $(mib "$(stat -c %s "$bundle")") ($(basename "$bundle"))"
APPLIANCE_IMAGE=$boot_image cargo run -q --release -p systest --example bench_boot -- "${1:-3}"
