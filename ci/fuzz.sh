#!/usr/bin/env bash
# Fuzzes the parsers that read outside input: what a USB drive or the
# kernel hands hotplugd (the uevent parser, the superblock detection) and
# what a restore reads (any bytes as a backup set, any index inside one). Each target runs
# FUZZ_SECONDS (default 60). Seeds are made here with the real formatting
# tools so the fuzzer starts from every file system the detection knows.
#
# cargo-fuzz needs nightly-only flags; the stable toolchain accepts them
# with RUSTC_BOOTSTRAP=1. Needs: dosfstools exfatprogs e2fsprogs ntfs-3g fdisk.
#
#   FUZZ_SECONDS=60 ci/fuzz.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${FUZZ_SECONDS:-60}"
cd "$here/fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1

seeds="$here/fuzz/target/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/uevent" "$seeds/superblock" corpus/uevent corpus/superblock
printf 'add@/devices/pci0000:00/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda/sda1\0ACTION=add\0DEVPATH=/devices/pci0000:00/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda/sda1\0SUBSYSTEM=block\0MAJOR=8\0MINOR=1\0DEVNAME=sda1\0DEVTYPE=partition\0PARTN=1\0SEQNUM=1502\0' >"$seeds/uevent/add"
printf 'remove@/devices/virtual/block/sda\0ACTION=remove\0DEVPATH=/devices/virtual/block/sda\0SUBSYSTEM=block\0DEVNAME=sda\0DEVTYPE=disk\0SEQNUM=9\0' >"$seeds/uevent/remove"
printf 'change@/devices/virtual/block/loop0\0ACTION=change\0DEVPATH=/devices/virtual/block/loop0\0SUBSYSTEM=block\0DISK_MEDIA_CHANGE=1\0MAJOR=7\0MINOR=0\0DEVNAME=loop0\0DEVTYPE=disk\0DISKSEQ=13\0SEQNUM=828\0' >"$seeds/uevent/change"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mk() { # name size-MiB command...
    local name="$1" size="$2"
    shift 2
    truncate -s "${size}M" "$tmp/$name"
    "$@" "$tmp/$name" >/dev/null 2>&1
    # The detection reads at most the first 68 KiB.
    head -c 70000 "$tmp/$name" >"$seeds/superblock/$name"
}
mk fat32 64 mkfs.vfat -F 32 -n SEED
mk fat16 32 mkfs.vfat -F 16 -n SEED
mk fat12 4 mkfs.vfat -F 12
mk exfat 64 mkfs.exfat
mk ext4 16 mkfs.ext4 -q -F -L seed
mk ext2 16 mkfs.ext2 -q -F
mk ntfs 16 mkntfs -F -Q -q
truncate -s 8M "$tmp/mbr" && echo ',' | sfdisk -q "$tmp/mbr" >/dev/null && head -c 70000 "$tmp/mbr" >"$seeds/superblock/mbr"
truncate -s 8M "$tmp/gpt" && printf 'label: gpt\n,\n' | sfdisk -q "$tmp/gpt" >/dev/null && head -c 70000 "$tmp/gpt" >"$seeds/superblock/gpt"

# A small real set: its tar as a seed for the archive, its index for the index.
mkdir -p "$seeds/set_archive" "$seeds/set_index" corpus/set_archive corpus/set_index
(cd "$here" && cargo build -q --release --bin storegen --bin backupd)
bin="$here/target/x86_64-unknown-linux-gnu/release"
"$bin/storegen" generate "$tmp/data" --size 200K --seed 7 >/dev/null
printf '[system]\nhostname = "seed"\n' >"$tmp/appliance.toml"
"$bin/backupd" --config "$tmp/appliance.toml" --data "$tmp/data" --once full >/dev/null 2>&1
set_tar=$(find "$tmp/data/backup" -name '*.tar' | head -n 1)
[ -n "$set_tar" ] || { echo "no seed set was made" >&2; exit 1; }
head -c 65536 "$set_tar" >"$seeds/set_archive/set"
tar -xOf "$set_tar" .index.txt | head -c 8192 >"$seeds/set_index/index"

status=0
run() { # target max-len
    echo "== fuzzing $1 for ${secs}s"
    cargo fuzz run "$1" "corpus/$1" "$seeds/$1" -- \
        -max_total_time="$secs" -max_len="$2" -print_final_stats=1 || status=1
}
run uevent 4096
run superblock 70000
run set_archive 65536
run set_index 8192
exit $status
