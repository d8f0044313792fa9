#!/usr/bin/env bash
# Tests of flash.sh without real disks: a small disk image laid out like the
# appliance's (GPT made by sfdisk, ext4 data partition), disks made of
# regular files described by a fake sysfs tree and mount table
# (FLASH_SYSFS, FLASH_PROC_MOUNTS, FLASH_PROC_SWAPS, FLASH_DEV). Covers each
# refusal and its exit code, a damaged image, the confirmation, both
# writers, a read-back that catches a faulty disk, and --restore.
#
#   ci/test-flash.sh        (as root: --restore attaches loop devices)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_tools sfdisk:fdisk mke2fs:e2fsprogs debugfs:e2fsprogs bmaptool:bmap-tools \
	losetup:util-linux flock:util-linux setpriv:util-linux md5sum:coreutils tar:tar
[ "$(id -u)" = 0 ] || die "run as root: the --restore tests attach loop devices"

FLASH=$REPO/flash.sh
WORK=$(mktemp -d /tmp/test-flash.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT # (widened below once loop devices are in use)
cd "$WORK"

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok   $*"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $*"
	sed 's/^/     | /' out | tail -n 15
}

# run NAME EXPECTED_EXIT PATTERN [ENV=VALUE...] -- ARGS...: runs flash.sh
# with the fixtures' environment; checks its exit code and that its output
# matches PATTERN (grep -E; empty: anything).
run() {
	local name=$1 want=$2 pattern=$3 got=0
	shift 3
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env FLASH_SYSFS="$WORK/sys" FLASH_PROC_MOUNTS="$WORK/mounts" FLASH_PROC_SWAPS="$WORK/swaps" \
		FLASH_DEV="$WORK/dev" "${envs[@]}" "$FLASH" "$@" </dev/null >out 2>&1 || got=$?
	if [ "$got" != "$want" ]; then
		bad "$name: exit $got, expected $want"
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" out; then
		bad "$name: output lacks /$pattern/"
	else
		ok "$name"
	fi
}

check() { # NAME COMMAND...: the command must succeed (its output: check.out)
	local name=$1
	shift
	if "$@" >check.out 2>&1; then
		ok "$name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		sed 's/^/     | /' check.out | tail -n 15
	fi
}

# --- the image: the appliance's layout in 64 MiB ------------------------------------
IMG=$WORK/appliance.img
truncate -s 64M "$IMG"
sfdisk -q --no-reread --no-tell-kernel "$IMG" >/dev/null <<'EOF'
label: gpt
first-lba: 2048
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios
size=8MiB, type=U, name=esp
size=8MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs-a
size=8MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs-b
type=L, name=data
EOF
data_start=$(sfdisk -d "$IMG" | sed -n 's/.* : start= *\([0-9]*\),.*name="data".*/\1/p')
data_size=$(sfdisk -d "$IMG" | sed -n 's/.* : start= *[0-9]*, size= *\([0-9]*\),.*name="data".*/\1/p')
mke2fs -q -F -t ext4 -L data -E offset=$((data_start * 512)) "$IMG" $((data_size / 2))k
# Something in every partition, so a bad write shows.
for off in 1 3 12 20; do
	head -c 65536 /dev/urandom | dd of="$IMG" bs=1M seek="$off" conv=notrunc status=none
done
sha256sum appliance.img >appliance.img.sha256
IMG_SIZE=$(stat -c %s "$IMG")

# --- the fake machine: sysfs, mount table, swaps, /dev ----------------------------------
mkdir -p sys/class/block sys/dev/block dev
: >mounts
: >swaps
# disk NAME MIB REMOVABLE BUS [PARTITIONS]: a disk in sysfs (BUS usb or
# sata), its partitions NAME1..NAMEn, and its stand-in file dev/NAME.
disk() {
	local name=$1 mib=$2 removable=$3 bus=$4 parts=${5:-0} path i
	case "$bus" in
	usb) path=devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/$name ;;
	*) path=devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/$name ;;
	esac
	rm -rf "sys/$path" "sys/class/block/$name"*
	mkdir -p "sys/$path/device" "sys/$path/holders"
	echo $((mib * 2048)) >"sys/$path/size"
	echo "$removable" >"sys/$path/removable"
	echo "ACME    " >"sys/$path/device/vendor"
	echo "Replacement SSD $name" >"sys/$path/device/model"
	ln -s "../../$path" "sys/class/block/$name"
	for i in $(seq 1 "$parts"); do
		mkdir -p "sys/$path/$name$i/holders"
		echo "$i" >"sys/$path/$name$i/partition"
		echo 2048 >"sys/$path/$name$i/size"
		printf 'DEVTYPE=partition\nPARTNAME=old-part-%s\n' "$i" >"sys/$path/$name$i/uevent"
		ln -s "../../$path/$name$i" "sys/class/block/$name$i"
	done
	rm -f "dev/$name"
	truncate -s "${mib}M" "dev/$name"
}
disk sdb 128 1 usb 2      # the replacement disk on a USB adapter
disk sdc 128 0 sata 1     # an internal disk
disk sdd 32 1 usb         # too small
disk sda 256 0 sata 2     # the running system's disk
mkdir -p sys/devices/virtual/block/dm-0/slaves
ln -s ../../../../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdc/sdc1 \
	sys/devices/virtual/block/dm-0/slaves/sdc1
ln -s ../../devices/virtual/block/dm-0 sys/class/block/dm-0

fresh_mounts() {
	printf '%s\n' "/dev/sda2 / ext4 rw 0 0" "proc /proc proc rw 0 0" "tmpfs /run tmpfs rw 0 0" >mounts
	: >swaps
}
fresh_mounts

# --- usage ---------------------------------------------------------------------------------------
run "--help explains and lists exit codes" 0 'Exit codes:' -- --help
check "--help: exit code 11 documented" grep -q '11  a backup set is damaged' out
run "no arguments" 2 'give IMAGE and TARGET' --
run "unknown option" 2 'unknown option --frobnicate' -- --frobnicate "$IMG" dev/sdb
run "no such image" 2 'no image file' -- /nonexistent.img dev/sdb
truncate -s 1M dev/sdb1
run "a partition is not a disk" 2 'partition of sdb: give the whole disk' -- --yes "$IMG" dev/sdb1

# --- refusals, each with its own exit code, nothing written ----------------------------------------
sdb_sum=$(md5sum <dev/sdb)
printf '%s\n' '/dev/sdb1 /media/admin/OLD\040STICK vfat rw 0 0' >>mounts
run "mounted partition: exit 4" 4 'mounted \(/dev/sdb1 on /media/admin/OLD STICK\)' -- --yes "$IMG" dev/sdb
fresh_mounts
echo "/dev/sdb2 partition 1048572 0 -2" >>swaps
run "swap on the disk: exit 4" 4 'in use as swap' -- --yes "$IMG" dev/sdb
fresh_mounts
touch sys/class/block/sdb/sdb1/holders/md0
run "held by RAID/LVM: exit 4" 4 'in use by md0' -- --yes "$IMG" dev/sdb
rm sys/class/block/sdb/sdb1/holders/md0
run "the running system's disk: exit 5" 5 'holds the running system \(/dev/sda2 is mounted on /\)' -- --yes --force "$IMG" dev/sda
printf '%s\n' "/dev/dm-0 / ext4 rw 0 0" >mounts
run "root on LVM over the disk: exit 5" 5 'holds the running system' -- --yes --force "$IMG" dev/sdc
fresh_mounts
printf '%s\n' "/dev/sdb1 /boot/efi vfat rw 0 0" >>mounts
run "the running system's ESP: exit 5" 5 'holds the running system' -- --yes "$IMG" dev/sdb
fresh_mounts
run "too small: exit 6" 6 'too small: 32.0 MiB for an image of 64.0 MiB' -- --yes "$IMG" dev/sdd
run "not removable: exit 7" 7 'not a removable or USB disk.*--force' -- --yes "$IMG" dev/sdc
disk sde 128 1 sata
run "removable flag alone is enough" 0 'verified' -- --yes "$IMG" dev/sde
check "refusals wrote nothing" [ "$(md5sum <dev/sdb)" = "$sdb_sum" ]

# A damaged or unchecked image is refused before anything is written.
cp "$IMG" damaged.img
printf 'X' | dd of=damaged.img bs=1 seek=$((12 * 1048576 + 7)) conv=notrunc status=none
sed 's/appliance.img/damaged.img/' appliance.img.sha256 >damaged.img.sha256
run "damaged image: exit 3" 3 'does not match its checksum' -- --yes damaged.img dev/sdb
cp "$IMG" unsummed.img
run "image without checksum: exit 3" 3 'no checksum' -- --yes unsummed.img dev/sdb
echo "not a checksum" >unsummed.img.sha256
run "garbage checksum file: exit 3" 3 'no SHA-256 checksum' -- --yes unsummed.img dev/sdb
run "--checksum names another file" 0 'verified' -- --yes --checksum appliance.img.sha256 unsummed.img dev/sde
check "a damaged image wrote nothing" [ "$(md5sum <dev/sdb)" = "$sdb_sum" ]

# Image files as targets.
truncate -s 10M small.img
run "image file smaller than the image: exit 6" 6 'too small' -- --yes "$IMG" small.img
mkdir -p sys/class/block/loop3/loop
truncate -s 100M attached.img
readlink -f attached.img >sys/class/block/loop3/loop/backing_file
run "image file attached to a loop device: exit 4" 4 'in use as /dev/loop3' -- --yes "$IMG" attached.img
run "the image onto itself" 2 'TARGET is IMAGE itself' -- --yes "$IMG" "$IMG"

# --- confirmation ------------------------------------------------------------------------------------
confirm() { # ANSWER EXPECTED_EXIT NAME
	local got=0
	printf '%s\n' "$1" | env FLASH_SYSFS="$WORK/sys" FLASH_PROC_MOUNTS="$WORK/mounts" \
		FLASH_PROC_SWAPS="$WORK/swaps" FLASH_DEV="$WORK/dev" "$FLASH" "$IMG" dev/sdb >out 2>&1 || got=$?
	if [ "$got" = "$2" ]; then ok "$3"; else bad "$3: exit $got, expected $2"; fi
}
confirm no 8 "answering no: exit 8"
check "answering no: says so" grep -q 'not confirmed: nothing was written' out
check "answering no wrote nothing" [ "$(md5sum <dev/sdb)" = "$sdb_sum" ]
for what in 'model:      ACME Replacement SSD sdb' 'size:       128.0 MiB' 'sdb1 .*old-part-1' 'sdb2 .*old-part-2' \
	'Everything on dev/sdb will be lost'; do
	check "the question shows /$what/" grep -qE "$what" out
done
run "no terminal and no --yes: exit 8" 8 'not confirmed' -- "$IMG" dev/sdb
confirm yes 0 "answering yes writes"

# --- writing and reading back ---------------------------------------------------------------------------
same_as_image() { # TARGET: the first IMG_SIZE bytes are the image, the rest zeros
	cmp -n "$IMG_SIZE" "$IMG" "$1" &&
		{ [ "$(stat -c %s "$1")" -le "$IMG_SIZE" ] ||
			tail -c +$((IMG_SIZE + 1)) "$1" | cmp -s - <(head -c $(($(stat -c %s "$1") - IMG_SIZE)) /dev/zero); }
}
head -c 128M /dev/urandom >dev/sdb # an old disk full of data
run "bmaptool onto a disk" 0 'with bmaptool.*|reading back the [0-9]+ ranges' -- --yes "$IMG" dev/sdb
check "bmaptool: ranges read back" grep -q 'reading back the [0-9]* ranges' out
check "bmaptool: the disk keeps its size" [ "$(stat -c %s dev/sdb)" = $((128 << 20)) ]
check "bmaptool: the GPT is there" grep -q 'name="data"' <(sfdisk -d dev/sdb 2>/dev/null)
head -c 128M /dev/urandom >dev/sdb
run "dd onto a disk" 0 'with dd' -- --yes --no-bmap "$IMG" dev/sdb
check "dd: the disk holds the image" cmp -n "$IMG_SIZE" "$IMG" dev/sdb
rm -f new.img
run "a new image file (bmaptool)" 0 'verified' -- --yes "$IMG" new.img
check "new image file equals the image" cmp "$IMG" new.img
head -c 100M /dev/urandom >big.img
run "a larger image file keeps its size (dd)" 0 'verified' -- --yes --no-bmap "$IMG" big.img
check "larger image file: the image, then zeros" same_as_image big.img
check "larger image file: 100 MiB kept" [ "$(stat -c %s big.img)" = $((100 << 20)) ]
bmaptool -q create -o appliance.img.bmap "$IMG"
run "IMAGE.bmap beside the image is used" 0 'verified' -- --yes "$IMG" new.img
if grep -q 'bmaptool create' out; then bad "IMAGE.bmap ignored"; else ok "no new bmap made"; fi
rm appliance.img.bmap

# A disk that loses a byte: writers that write, then damage what they wrote.
mkdir -p faulty
cat >faulty/bmaptool <<EOF
#!/bin/sh
$(command -v bmaptool) "\$@" || exit
[ "\$1" = copy ] || exit 0
for t; do :; done
printf 'Z' | dd of="\$t" bs=1 seek=$((12 * 1048576 + 100)) conv=notrunc status=none
EOF
cat >faulty/dd <<EOF
#!/bin/sh
$(command -v dd) "\$@" || exit
for a; do case "\$a" in of=*) printf 'Z' | $(command -v dd) of="\${a#of=}" bs=1 seek=$((3 * 1048576 + 5)) conv=notrunc status=none ;; esac; done
EOF
chmod +x faulty/*
run "read-back catches a faulty disk (bmaptool): exit 10" 10 'read-back differs from the image in bytes' \
	PATH="$WORK/faulty:$PATH" -- --yes "$IMG" dev/sdb
run "read-back catches a faulty disk (dd): exit 10" 10 'read-back differs from the image' \
	PATH="$WORK/faulty:$PATH" -- --yes --no-bmap "$IMG" dev/sdb
run "a write that fails: exit 9" 9 'writing .* failed' PATH="$WORK/faulty:$PATH" -- --yes --no-bmap "$IMG" /proc/version

# --- a real block device: a loop device, the real sysfs and mount table ------------------
LOOPS=()
MNT=$WORK/mnt
cleanup() {
	umount "$MNT" 2>/dev/null || true
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
real_run() { # NAME EXPECTED_EXIT PATTERN ARGS...: flash.sh with nothing faked
	local name=$1 want=$2 pattern=$3 got=0
	shift 3
	env -u FLASH_SYSFS -u FLASH_PROC_MOUNTS -u FLASH_PROC_SWAPS -u FLASH_DEV "$FLASH" "$@" </dev/null >out 2>&1 || got=$?
	if [ "$got" != "$want" ]; then
		bad "$name: exit $got, expected $want"
	elif ! grep -qE -- "$pattern" out; then
		bad "$name: output lacks /$pattern/"
	else
		ok "$name"
	fi
}
truncate -s 100M loopdisk.img
if loop=$(losetup -f --show loopdisk.img 2>/dev/null); then
	LOOPS+=("$loop")
	real_run "a loop device is not removable: exit 7" 7 'not a removable or USB disk' --yes "$IMG" "$loop"
	real_run "a loop device with --force" 0 'holds the image, verified' --yes --force "$IMG" "$loop"
	check "the loop device holds the image" cmp -n "$IMG_SIZE" "$IMG" "$loop"
	real_run "a loop device with --force (dd, O_DIRECT)" 0 'holds the image, verified' --yes --force --no-bmap "$IMG" "$loop"
	truncate -s 64M mounted.img
	mke2fs -q -F -t ext4 mounted.img
	mounted=$(losetup -f --show mounted.img)
	LOOPS+=("$mounted")
	mkdir -p "$MNT"
	mount "$mounted" "$MNT"
	real_run "a mounted loop device: exit 4" 4 "is mounted \($mounted on $MNT\)" --yes --force "$IMG" "$mounted"
	umount "$MNT"
else
	bad "no loop device for the block device tests (losetup -f failed)"
fi

# --- --restore -------------------------------------------------------------------------------------------
# Sets as backupd writes them: .version.txt first, volumes, a .md5 listing each.
make_set() { # NAME TYPE MIB [BASE]
	local name=$1 dir=sets/src-$1
	mkdir -p "$dir/@backup/config" sets
	{
		echo "started=2026-11-22 22:00:00"
		echo "version=0.1.0"
		echo "hostname=mail"
		echo "type=$2"
		[ -z "${4:-}" ] || echo "base=$4"
	} >"$dir/.version.txt"
	head -c "$3M" /dev/urandom >"$dir/@backup/config/blob"
	# A .tar.zst name: compressed as a new unit writes its sets.
	case "$name" in
	*.tar.zst) tar -C "$dir" -cf - .version.txt @backup | zstd -q -c >"sets/$name.whole" ;;
	*) tar -C "$dir" -cf "sets/$name.whole" .version.txt @backup ;;
	esac
	split -b 4M -d -a 3 "sets/$name.whole" "sets/$name.part."
	mv "sets/$name.part.000" "sets/$name"
	for f in "sets/$name.part."*; do
		[ ! -e "$f" ] || mv "$f" "sets/$name.${f##*.}"
	done
	rm "sets/$name.whole"
	(cd sets && for v in "$name" "$name".[0-9][0-9][0-9]; do
		[ ! -e "$v" ] || md5sum "$v"
	done >"$name.md5")
}
make_set mail-F20261120T220000Z.tar full 9
# An older plain full and a compressed differential (compression switched on since).
make_set mail-I20261122T220000Z.tar.zst differential 2 mail-F20261120T220000Z.tar
FULL=sets/mail-F20261120T220000Z.tar
DIFF=sets/mail-I20261122T220000Z.tar.zst
disk sdf 512 1 usb

debugfs_data() { # TARGET COMMAND: debugfs on the data partition of TARGET
	local start
	start=$(sfdisk -d "$1" 2>/dev/null | sed -n 's/.* : start= *\([0-9]*\),.*name="data".*/\1/p')
	debugfs -R "$2" "$1?offset=$((start * 512))" 2>/dev/null
}

run "--restore a full and its differential (root: grows the data partition)" 0 'in /data/restore, verified' \
	-- --yes --restore "$FULL" --restore "$DIFF.md5" "$IMG" dev/sdf
check "--restore: the data partition grew" grep -q 'growing the data partition' out
end=$(sfdisk -d dev/sdf | sed -n 's/.* : start= *\([0-9]*\), size= *\([0-9]*\),.*name="data".*/\1 \2/p')
check "--restore: data reaches the disk's end ($end)" [ $((${end% *} + ${end#* })) -gt $((500 * 2048)) ]
check "--restore: sfdisk finds the table sound" sfdisk --verify dev/sdf
listing=$(debugfs_data dev/sdf 'ls -l /restore')
for f in "$FULL" "$FULL".[0-9]* "$FULL.md5" "$DIFF" "$DIFF.md5"; do
	n=$(basename "$f")
	sum_in=$(debugfs_data dev/sdf "cat /restore/$n" | md5sum)
	check "--restore: $n copied" [ "${sum_in%% *}" = "$(md5sum <"$f" | cut -d' ' -f1)" ]
	check "--restore: $n is root's, 0640" grep -q " 100640 (1) *0 *0 .* $n\$" <<<"$listing"
done
check "--restore: /restore is 0750" grep -q 'Mode:  0750' <(debugfs_data dev/sdf 'stat /restore')
start=$(sfdisk -d dev/sdf | sed -n 's/.* : start= *\([0-9]*\),.*name="data".*/\1/p')
check "--restore: e2fsck finds the file system clean" e2fsck -fn "dev/sdf?offset=$((start * 512))"

# Where loop devices are missing (containers), the file system is left for
# the first boot to grow and the sets go in through debugfs's offsets.
mkdir -p noloop
printf '#!/bin/sh\necho "losetup: cannot find an unused loop device" >&2\nexit 1\n' >noloop/losetup
chmod +x noloop/losetup
disk sdg 512 1 usb
run "--restore without loop devices" 0 'grows at the first boot instead' PATH="$WORK/noloop:$PATH" \
	-- --yes --restore "$FULL" "$IMG" dev/sdg
check "--restore without loop devices: the set is copied" grep -q 'in /data/restore, verified' out
sum_in=$(debugfs_data dev/sdg "cat /restore/$(basename "$FULL")" | md5sum)
check "--restore without loop devices: the set reads back" [ "${sum_in%% *}" = "$(md5sum <"$FULL" | cut -d' ' -f1)" ]

run "a differential without its full: exit 11" 11 'its full set mail-F20261120T220000Z.tar must go with it' \
	-- --yes --restore "$DIFF" "$IMG" dev/sdf
cp -r sets broken
printf 'x' | dd of=broken/mail-F20261120T220000Z.tar.001 bs=1 seek=1000 conv=notrunc status=none
run "a damaged set: exit 11" 11 'does not match its .md5' -- --yes --restore broken/mail-F20261120T220000Z.tar "$IMG" dev/sdf
rm broken/mail-F20261120T220000Z.tar.002
run "a set missing a volume: exit 11" 11 'volume mail-F20261120T220000Z.tar.002 is missing' \
	-- --yes --restore broken/mail-F20261120T220000Z.tar "$IMG" dev/sdf
rm broken/mail-I20261122T220000Z.tar.zst.md5
run "a set without .md5: exit 11" 11 '.md5 is missing' -- --yes --restore broken/mail-I20261122T220000Z.tar.zst "$IMG" dev/sdf
run "not a set: exit 11" 11 'not a backup set' -- --yes --restore appliance.img.sha256 "$IMG" dev/sdf
sdf_sum=$(md5sum <dev/sdf)
check "refused sets wrote nothing" [ "$(md5sum <dev/sdf)" = "$sdf_sum" ]

# Without root, nothing can grow: a set that fits is copied through
# debugfs's offset access, one that does not is refused with the reason.
chmod -R a+rwX "$WORK"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
truncate -s 100M rootonly.img
chmod 644 rootonly.img
got=0
as_nobody env FLASH_PROC_MOUNTS="$WORK/mounts" "$FLASH" --yes "$IMG" "$WORK/rootonly.img" >out 2>&1 || got=$?
check "a target the user cannot write: says to run as root" grep -q 'run flash.sh as root' out
check "a target the user cannot write: exit 1" [ "$got" = 1 ]
rm -f user.img
got=0
as_nobody env FLASH_PROC_MOUNTS="$WORK/mounts" "$FLASH" --yes --restore "$FULL" "$IMG" "$WORK/user.img" >out 2>&1 || got=$?
check "--restore without root into the image's partition (exit $got)" grep -q 'verified: the console' out
sum_in=$(debugfs_data user.img "cat /restore/$(basename "$FULL").001" | md5sum)
check "--restore without root: volume copied" [ "${sum_in%% *}" = "$(md5sum <"$FULL.001" | cut -d' ' -f1)" ]
make_set mail-F20261123T220000Z.tar full 60
truncate -s 200M user.img
got=0
as_nobody env FLASH_PROC_MOUNTS="$WORK/mounts" "$FLASH" --yes --restore sets/mail-F20261123T220000Z.tar \
	"$IMG" "$WORK/user.img" >out 2>&1 || got=$?
check "--restore without root: a set too large is refused (exit $got)" grep -q 'do not fit into the data partition.*as root' out
check "--restore without root: exit 11 for a set too large" [ "$got" = 11 ]

echo "flash.sh: $passed passed, $failed failed"
[ "$failed" = 0 ]
