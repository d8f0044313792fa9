#!/usr/bin/env bash
# Destination figures (a benchmark, not a test), measured in the appliance
# under QEMU (TCG):
#   - hotplugd's time from the kernel's uevent for a USB drive to its FAT32
#     file system being mounted (median and max of PLUGS plugs; target
#     under 300 ms);
#   - backup throughput to a USB drive and to an SMB share (Debian's Samba
#     on the host's loopback), with and without backupd's read-back check,
#     against `cp` of the same set to the same target plus `sync`, printed
#     as ratios (1.00: as fast as cp).
#
#   ci/bench-destinations.sh [PLUGS] [MIB] [REPS]   (defaults 5, 64 and 3)
#
# Boots $APPLIANCE_IMAGE (default out/appliance-test.img; built when
# missing). Needs qemu-system-x86, qemu-utils, dosfstools, samba.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

require_tools qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils mkfs.vfat:dosfstools \
	smbd:samba smbpasswd:samba
image=${APPLIANCE_IMAGE:-$REPO/out/appliance-test.img}
[ -f "$image" ] || "$REPO/ci/build-image.sh"
APPLIANCE_IMAGE=$image cargo run -q --release -p systest --example bench_destinations -- \
	"${1:-5}" "${2:-64}" "${3:-3}"
