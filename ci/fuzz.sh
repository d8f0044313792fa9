#!/usr/bin/env bash
# Fuzzes the parsers that read outside input: what a USB drive or the
# kernel hands hotplugd (the uevent parser, the superblock detection), what
# a restore reads (any bytes as a backup set, plain or compressed, any index inside one, any
# .md5 file, the restore journal), the verdicts beside uploaded sets, the
# configuration file, and the control sockets' lines. Each target runs
# FUZZ_SECONDS (default 60; ci/test.sh runs a shorter round), as many at a
# time as there are cores (FUZZ_JOBS). Seeds are made
# here with the real tools so the fuzzer starts from real inputs.
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
mkdir -p "$seeds/set_archive" "$seeds/set_index" "$seeds/set_zst" corpus/set_archive corpus/set_index corpus/set_zst
(cd "$here" && cargo build -q --release --bin storegen --bin backupd)
bin="$here/target/x86_64-unknown-linux-gnu/release"
"$bin/storegen" generate "$tmp/data" --size 200K --seed 7 >/dev/null
# A plain set first (a new installation writes compressed ones).
printf '[system]\nhostname = "seed"\n[backup]\ncompression = "none"\n' >"$tmp/appliance.toml"
"$bin/backupd" --config "$tmp/appliance.toml" --data "$tmp/data" --once full >/dev/null 2>&1
set_tar=$(find "$tmp/data/backup" -name '*.tar' | head -n 1)
[ -n "$set_tar" ] || { echo "no seed set was made" >&2; exit 1; }
head -c 65536 "$set_tar" >"$seeds/set_archive/set"
tar -xOf "$set_tar" .index.txt | head -c 8192 >"$seeds/set_index/index"
# The same store as a compressed set, whole (a few KiB), for set_zst.
printf '[system]\nhostname = "seed"\n[backup]\ncompression = "zstd"\nretention = 9\n' >"$tmp/appliance.toml"
sleep 1
"$bin/backupd" --config "$tmp/appliance.toml" --data "$tmp/data" --once copy >/dev/null 2>&1
set_zst=$(find "$tmp/data/backup" -name '*.tar.zst' | head -n 1)
[ -n "$set_zst" ] || { echo "no compressed seed set was made" >&2; exit 1; }
cp "$set_zst" "$seeds/set_zst/set"

# The rest: real files of each kind as seeds.
for t in md5_file journal verdict config control ftp_command; do mkdir -p "$seeds/$t" "corpus/$t"; done
find "$tmp/data/backup" -name '*.tar.md5' -exec cp {} "$seeds/md5_file/set.md5" \;
printf '# recover journal 1\nset mail-F20261122T220000Z.tar\nstage /data/state/recover\nunit 1 1 /data/config /data/state/recover/new/config /data/state/recover/old/config\nunit 1 0 /data/only-here /data/state/recover/new/only-here /data/only-here.BAK\nend\n' >"$seeds/journal/journal"
printf '# Sets checked against their .md5 files; do not edit.\nmail-F20260101T000000Z.tar\t0123456789abcdef0123456789abcdef\tok\tverified\nmail-F20260102T000000Z.tar\tffffffffffffffffffffffffffffffff\tfailed\tMD5 differs\n' >"$seeds/verdict/verified"
cp "$tmp/data/config/appliance.toml" "$seeds/config/generated.toml"
cat >"$seeds/config/full.toml" <<'TOML'
version = 1
[system]
unit_id = "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f"
hostname = "appliance-123456"
timezone = "Europe/Prague"
ntp_server = "10.0.2.2:123, pool.ntp.org"
[network]
mode = "static"
address = "192.168.1.10/24"
gateway = "192.168.1.1"
dns = ["192.168.1.1"]
[ftp]
access_list = ["192.168.1.0/24", "10.0.2.2"]
passive_ports = "30000-30100"
[backup]
destination = "smb"
schedule = "22:00"
differential_days = ["mon", "tue"]
retention = 3
copies_kept = 3
body_window_hours = 24
[backup.smb]
host = "10.0.2.2"
share = "backups"
path = "nightly"
username = "DOM\\backup"
TOML
printf '{"request":"status"}\n{"request":"backup_now","kind":"Full"}\n{"request":"list_sets","location":"restore_folder"}\n' >"$seeds/control/requests"
printf '{"request":"verify_set","location":"configured","name":"mail-F20260101T000000Z.tar"}\n{"request":"eject"}\n' >"$seeds/control/more"

printf 'AUTH TLS\r\nUSER sysarchive\r\nPASS x\r\nPBSZ 0\r\nPROT P\r\nTYPE I\r\nEPSV\r\nPORT 10,0,2,2,117,48\r\nEPRT |1|10.0.2.2|30000|\r\nEPRT |2|::1|30000|\r\nRETR backup/x.tar\r\nQUIT\r\n' >"$seeds/ftp_command/session"
printf '220 ready\r\n211-Features:\r\n MLST size*;modify*;\r\n211 End\r\n227 Entering Passive Mode (127,0,0,1,117,48).\r\n' >"$seeds/ftp_command/replies"

# Every target is built first; then they run FUZZ_JOBS at a time (default:
# one per core; each libFuzzer run uses one), each into its own log, shown
# when it ends.
targets="uevent:4096 superblock:70000 set_archive:65536 set_zst:65536 set_index:8192 md5_file:4096 journal:4096 verdict:8192 config:8192 control:131072 ftp_command:16384"
jobs="${FUZZ_JOBS:-$(nproc)}"
cargo fuzz build
logs="$tmp/logs"
mkdir -p "$logs"
run() { # target max-len
    if cargo fuzz run "$1" "corpus/$1" "$seeds/$1" -- \
        -max_total_time="$secs" -max_len="$2" -print_final_stats=1 >"$logs/$1" 2>&1; then
        echo "== $1: ${secs}s, no crash"
    else
        echo "== $1: FAILED"
        cat "$logs/$1"
        return 1
    fi
}
status=0
running=0
for t in $targets; do
    run "${t%%:*}" "${t#*:}" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
