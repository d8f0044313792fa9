#!/usr/bin/env bash
# Image figures (a benchmark, not a test): image size raw and compressed,
# root file system size, QEMU start to login prompt under TCG (BIOS and
# UEFI, median of N boots) and the guest's memory in use when idle.
#
#   ci/bench-image.sh [N]      (N boots per firmware, default 3)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

[ -f out/appliance.img ] || "$REPO/ci/build-image.sh"
raw=$(stat -c %s out/appliance.img)
alloc=$(($(stat -c %b out/appliance.img) * $(stat -c %B out/appliance.img)))
xz_size=$(xz -T2 -6 -c out/appliance.img | wc -c)
rootfs=$(stat -c %s build/images/rootfs.squashfs)
echo "image: $(mib "$raw") raw, $(mib "$alloc") allocated (sparse), $(mib "$xz_size") xz -6"
echo "rootfs slot: $(mib "$rootfs") squashfs (gzip)"
cargo run -q --release -p systest --example bench_boot -- "${1:-3}"
