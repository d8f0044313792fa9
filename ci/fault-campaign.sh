#!/usr/bin/env bash
# The fault campaign: hard power cuts during a full backup, a differential,
# a whole-system restore and a firmware install; the USB drive pulled and
# the SMB server killed during a backup; /data and the USB destination
# full; the clock moved back a day. The appliance runs in QEMU with its
# default settings; after every fault it must come back, no set that looks
# complete may be bad, no verified set may be lost, and a restore must give
# back exactly the old data or the set's. Prints one line per fault and a
# table of figures, also written to the report (see docs/testing.md).
#
#   ci/fault-campaign.sh [--faults N] [--seed N] [--kinds K,K] [--jobs 1|2]
#                        [--store-mib N] [--payload-mib N] [--report FILE]
#                        [--image IMG]
#
#   --faults N     faults in all, spread evenly over the kinds (default 270)
#   --seed N       replay a campaign (default: a random seed, printed)
#   --kinds LIST   some kinds only: power-full power-diff power-restore
#                  power-install usb-pull smb-kill data-full dest-full clock-back
#   --jobs N       appliances side by side, 1 or 2 (default 2)
#   --store-mib N  generated store (default 8)
#   --payload-mib N  recent mail on top (default 16; the local appliance 3 times that)
#   --report FILE  the table (default target/systest/fault-campaign.md);
#                  the fault lines go to the same name with .log
#   --image IMG    the test image (default $APPLIANCE_IMAGE or out/appliance-test.img)
#
# A campaign of hundreds of faults takes hours: run it in the background,
# e.g. nohup nice ci/fault-campaign.sh --faults 300 >campaign.out 2>&1 &
# Exits 1 when a set was lost or falsely complete, a restore gave back
# other data, or the appliance did not come back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

faults=270
seed=
kinds=
jobs=2
store_mib=8
payload_mib=16
report=$REPO/target/systest/fault-campaign.md
image=${APPLIANCE_IMAGE:-$REPO/out/appliance-test.img}

need() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }
number() { case "$2" in '' | *[!0-9]*) die "$1 takes a number, not '$2'" ;; esac; }

while [ $# -gt 0 ]; do
	case "$1" in
	--faults) need "$@"; number "$1" "$2"; faults=$2; shift 2 ;;
	--seed) need "$@"; number "$1" "$2"; seed=$2; shift 2 ;;
	--kinds) need "$@"; kinds=$2; shift 2 ;;
	--jobs) need "$@"; number "$1" "$2"; jobs=$2; shift 2 ;;
	--store-mib) need "$@"; number "$1" "$2"; store_mib=$2; shift 2 ;;
	--payload-mib) need "$@"; number "$1" "$2"; payload_mib=$2; shift 2 ;;
	--report) need "$@"; report=$2; shift 2 ;;
	--image) need "$@"; image=$2; shift 2 ;;
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

[ "$faults" -ge 1 ] || die "--faults must be at least 1"
case "$jobs" in 1 | 2) ;; *) die "--jobs is 1 or 2 (each appliance needs a core)" ;; esac
[ -f "$image" ] || die "no image at $image: build it with ci/build-image.sh (or pass --image)"
require_tools qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils smbd:samba mcopy:mtools \
	mkfs.vfat:dosfstools md5sum:coreutils rauc:rauc unsquashfs:squashfs-tools

image=$(realpath "$image")
mkdir -p "$(dirname "$report")"
report=$(realpath -m "$report")
[ -n "$seed" ] || seed=$(($(od -An -N4 -tu4 /dev/urandom) % 1000000000))

note "fault campaign: $faults faults, seed $seed, image $image"
APPLIANCE_IMAGE=$image \
	FAULT_CAMPAIGN_FAULTS=$faults \
	FAULT_CAMPAIGN_SEED=$seed \
	FAULT_CAMPAIGN_KINDS=$kinds \
	FAULT_CAMPAIGN_JOBS=$jobs \
	FAULT_CAMPAIGN_STORE_MIB=$store_mib \
	FAULT_CAMPAIGN_PAYLOAD_MIB=$payload_mib \
	FAULT_CAMPAIGN_REPORT=$report \
	FAULT_CAMPAIGN_LOG=${report%.md}.log \
	cargo test -p systest --test faults --locked -- fault_campaign --exact --nocapture --test-threads 1
