#!/usr/bin/env bash
# flash.sh: writes the appliance's disk image onto a replacement unit's disk,
# verified, optionally with backup sets waiting in its FTP restore folder.
# `flash.sh --help` explains; docs/flash.md says more.
set -euo pipefail

readonly E_FAIL=1 E_USAGE=2 E_IMAGE=3 E_MOUNTED=4 E_SYSTEM=5 E_SMALL=6 E_REMOVABLE=7 \
	E_DECLINED=8 E_WRITE=9 E_VERIFY=10 E_SET=11

usage() {
	cat <<'EOF'
Usage: flash.sh [OPTIONS] IMAGE TARGET

Writes the appliance's disk image IMAGE (appliance.img) onto TARGET, the disk
of a replacement unit (a block device such as /dev/sdb) or an image file, and
reads it back to compare. With --restore it also copies backup sets into the
new disk's FTP restore folder (/data/restore), where the console's Restore
From Backup offers them at the first boot.

Before anything is written:
  - IMAGE must match its checksum (IMAGE.sha256 beside it, or --checksum);
  - TARGET must not be mounted or in use, must not hold the running system,
    must be at least as large as IMAGE and, unless --force, must be a
    removable disk or one attached over USB;
  - TARGET's model, size and partitions are shown, and you type "yes"
    (--yes skips the question).
The image is written with bmaptool when it is installed (only the blocks that
hold data; IMAGE.bmap when present, else one made on the fly) and with dd
otherwise, synced, then read back: every written byte must match the image.
An image file TARGET keeps its size when larger (a larger disk), is created
when missing, and becomes an exact copy of IMAGE otherwise.

Options:
  --restore SET    copy the backup set SET (the .tar or .tar.zst, its volumes
                   .001... and its .md5) into /data/restore on TARGET; repeat it
                   for several sets (a differential needs its full set). Each
                   set is checked against its .md5 before and after the copy.
                   As root, the data partition is first grown to the end of a
                   larger TARGET (the appliance grows it at its first boot
                   anyway); without root the sets must fit into the image's
                   data partition as it is.
  --yes            do not ask for confirmation
  --force          write even to a disk that is neither removable nor on USB
  --checksum FILE  the image's sha256sum file (default: IMAGE.sha256)
  --no-bmap        write with dd even when bmaptool is installed
  -h, --help       this text

Exit codes:
  0   written and verified (and the sets copied and verified)
  1   another failure (a missing tool, an unreadable file)
  2   wrong usage
  3   IMAGE does not match its checksum, or has none
  4   TARGET is mounted or in use
  5   TARGET holds the running system
  6   TARGET is smaller than IMAGE
  7   TARGET is not removable (--force writes anyway)
  8   not confirmed
  9   writing failed
  10  the read-back differs from the image
  11  a backup set is damaged, incomplete or does not fit (--restore)

For tests without real disks (environment):
  FLASH_SYSFS        the sysfs tree to read (default /sys)
  FLASH_PROC_MOUNTS  the mount table (default /proc/self/mounts)
  FLASH_PROC_SWAPS   the active swap areas (default /proc/swaps)
  FLASH_DEV          a folder standing for /dev: a regular file FLASH_DEV/NAME
                     is then the disk NAME of FLASH_SYSFS
EOF
}

SYSFS=${FLASH_SYSFS:-/sys}
MOUNTS=${FLASH_PROC_MOUNTS:-/proc/self/mounts}
SWAPS=${FLASH_PROC_SWAPS:-/proc/swaps}
FAKE_DEV=${FLASH_DEV:-}

say() { echo "flash.sh: $*" >&2; }
fail() { # CODE MESSAGE
	local code=$1
	shift
	say "$*"
	exit "$code"
}
step() { echo "==> $*" >&2; }

# --- arguments ----------------------------------------------------------------
YES=0
FORCE=0
USE_BMAP=1
CHECKSUM=
SETS=()
ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--restore)
		[ $# -ge 2 ] || fail $E_USAGE "--restore needs a set (see --help)"
		SETS+=("$2")
		shift 2
		;;
	--restore=*)
		SETS+=("${1#--restore=}")
		shift
		;;
	--checksum)
		[ $# -ge 2 ] || fail $E_USAGE "--checksum needs a file (see --help)"
		CHECKSUM=$2
		shift 2
		;;
	--checksum=*)
		CHECKSUM=${1#--checksum=}
		shift
		;;
	--yes | -y) YES=1 && shift ;;
	--force) FORCE=1 && shift ;;
	--no-bmap) USE_BMAP=0 && shift ;;
	-h | --help)
		usage
		exit 0
		;;
	--)
		shift
		ARGS+=("$@")
		break
		;;
	-*) fail $E_USAGE "unknown option $1 (see --help)" ;;
	*) ARGS+=("$1") && shift ;;
	esac
done
[ ${#ARGS[@]} -eq 2 ] || fail $E_USAGE "give IMAGE and TARGET (see --help)"
IMAGE=${ARGS[0]}
TARGET=${ARGS[1]}
CHECKSUM=${CHECKSUM:-$IMAGE.sha256}

need() { # TOOL PACKAGE
	command -v "$1" >/dev/null 2>&1 || fail $E_FAIL "$1 is missing: install it (Debian: apt-get install $2)"
}
need sha256sum coreutils
need dd coreutils
need sfdisk fdisk
need flock util-linux
if [ ${#SETS[@]} -gt 0 ]; then
	need md5sum coreutils
	need debugfs e2fsprogs
	need tar tar
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flash.XXXXXX")
LOOP=
cleanup() {
	if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- sizes and names ------------------------------------------------------------
human() { # BYTES -> "1.1 GiB"
	awk -v b="$1" 'BEGIN {
		split("B KiB MiB GiB TiB PiB", u, " "); i = 1
		while (b >= 1024 && i < 6) { b /= 1024; i++ }
		printf(i == 1 ? "%d %s" : "%.1f %s", b, u[i])
	}'
}

file_size() { stat -L -c %s -- "$1"; }

# The kernel name (sdb, nvme0n1) of a block device node, through its
# major:minor in sysfs; the node's own name when sysfs does not know it.
kernel_name() {
	local path=$1 dev
	if [ -b "$path" ]; then
		dev=$(stat -L -c '%t %T' -- "$path")
		dev="$((0x${dev% *})):$((0x${dev#* }))"
		if [ -e "$SYSFS/dev/block/$dev" ]; then
			basename "$(readlink -f "$SYSFS/dev/block/$dev")"
			return
		fi
	fi
	basename "$(readlink -f -- "$path")"
}

# The whole disks that the block device NAME lives on: its parent when it is
# a partition, the disks under it when it is a mapping (LVM, RAID, crypt).
disks_of() {
	local dir=$SYSFS/class/block/$1 slave found=0
	[ -e "$dir" ] || return 0
	if [ -e "$dir/partition" ]; then
		basename "$(dirname "$(readlink -f "$dir")")"
		return
	fi
	for slave in "$dir"/slaves/*; do
		[ -e "$slave" ] || continue
		found=1
		disks_of "$(basename "$slave")"
	done
	[ $found = 1 ] || echo "$1"
}

# The block device behind a mount source (/dev/sdb1, /dev/mapper/x, UUID
# links); nothing for sources that are not devices (tmpfs, overlay).
source_name() {
	case "$1" in
	/dev/root)
		# The kernel's name for the root device: ask for the mount's own number.
		local num
		num=$(mountpoint -d / 2>/dev/null) || return 0
		[ -e "$SYSFS/dev/block/$num" ] && basename "$(readlink -f "$SYSFS/dev/block/$num")"
		;;
	/dev/*) kernel_name "$1" ;;
	esac
	return 0
}

# Mount table lines as "SOURCE MOUNTPOINT" with the octal escapes (\040)
# of the table undone.
mount_entries() {
	local src mnt rest
	while read -r src mnt rest; do
		printf '%b %b\n' "$src" "$mnt"
	done <"$MOUNTS"
}

# on_target NAME: the block device NAME lives on the target disk.
on_target() {
	local d
	[ -n "$1" ] || return 1
	for d in $(disks_of "$1"); do
		[ "$d" = "$DISK" ] && return 0
	done
	return 1
}

# check_not_mounted WORD: fails when a partition of the target is mounted.
check_not_mounted() {
	local src mnt
	while read -r src mnt; do
		if on_target "$(source_name "$src")"; then
			fail $E_MOUNTED "$1: $TARGET is mounted ($src on $mnt): unmount it first"
		fi
	done < <(mount_entries)
}

# --- the image ---------------------------------------------------------------------
[ -f "$IMAGE" ] || fail $E_USAGE "no image file $IMAGE"
[ -r "$IMAGE" ] || fail $E_FAIL "cannot read $IMAGE"
IMAGE_SIZE=$(file_size "$IMAGE")
[ "$IMAGE_SIZE" -gt 0 ] || fail $E_IMAGE "$IMAGE is empty"

# --- the target ---------------------------------------------------------------------
# KIND: disk (a block device, or a stand-in file under FLASH_DEV) or file.
KIND="file"
DISK=
if [ -b "$TARGET" ]; then
	KIND=disk
	DISK=$(kernel_name "$TARGET")
elif [ -n "$FAKE_DEV" ] && [ -f "$TARGET" ] &&
	[ "$(readlink -f -- "$(dirname -- "$TARGET")")" = "$(readlink -f -- "$FAKE_DEV")" ]; then
	KIND=disk
	DISK=$(basename -- "$TARGET")
elif [ -e "$TARGET" ] && [ ! -f "$TARGET" ]; then
	fail $E_USAGE "$TARGET is neither a block device nor an image file"
fi

if [ "$KIND" = disk ]; then
	SYS=$SYSFS/class/block/$DISK
	[ -e "$SYS" ] || fail $E_FAIL "cannot find $DISK in $SYSFS/class/block"
	if [ -e "$SYS/partition" ]; then
		fail $E_USAGE "$TARGET is a partition of $(disks_of "$DISK"): give the whole disk"
	fi

	# Holds the running system: the disk under /, /usr, /boot or the ESP.
	while read -r src mnt; do
		case "$mnt" in / | /usr | /boot | /boot/efi | /efi) ;; *) continue ;; esac
		name=$(source_name "$src")
		[ -n "$name" ] || continue
		if on_target "$name"; then
			fail $E_SYSTEM "refused: $TARGET holds the running system ($src is mounted on $mnt)"
		fi
	done < <(mount_entries)

	# Mounted or in use: a partition mounted anywhere, used as swap, or held
	# by a mapping (LVM, RAID, dm-crypt).
	check_not_mounted refused
	if [ -r "$SWAPS" ]; then
		while read -r src _; do
			case "$src" in /dev/*) ;; *) continue ;; esac
			if on_target "$(source_name "$src")"; then
				fail $E_MOUNTED "refused: $TARGET is in use as swap ($src): swapoff it first"
			fi
		done <"$SWAPS"
	fi
	for holder in "$SYS"/holders/* "$SYS"/*/holders/*; do
		[ -e "$holder" ] || continue
		fail $E_MOUNTED "refused: $TARGET is in use by $(basename "$holder") (a device mapping or RAID)"
	done

	TARGET_SIZE=$(($(cat "$SYS/size") * 512))
	if [ "$TARGET_SIZE" -lt "$IMAGE_SIZE" ]; then
		fail $E_SMALL "refused: $TARGET is too small: $(human "$TARGET_SIZE") for an image of $(human "$IMAGE_SIZE")"
	fi

	REMOVABLE=0
	[ "$(cat "$SYS/removable" 2>/dev/null || echo 0)" = 1 ] && REMOVABLE=1
	case "$(readlink -f "$SYS")" in */usb[0-9]*/*) REMOVABLE=1 ;; esac
	if [ $REMOVABLE = 0 ] && [ $FORCE = 0 ]; then
		fail $E_REMOVABLE "refused: $TARGET is not a removable or USB disk; if it really is the replacement unit's disk, add --force"
	fi
else
	if [ -e "$TARGET" ] && [ "$(stat -L -c '%d:%i' -- "$TARGET")" = "$(stat -L -c '%d:%i' -- "$IMAGE")" ]; then
		fail $E_USAGE "TARGET is IMAGE itself"
	fi
	# An image file attached to a loop device is in use.
	real=$(readlink -f -- "$TARGET")
	for backing in "$SYSFS"/class/block/loop*/loop/backing_file; do
		[ -r "$backing" ] || continue
		if [ "$(cat "$backing")" = "$real" ]; then
			loopname=$(basename "$(dirname "$(dirname "$backing")")")
			fail $E_MOUNTED "refused: $TARGET is in use as /dev/$loopname: detach it first (losetup -d /dev/$loopname)"
		fi
	done
	TARGET_SIZE=0
	[ -e "$TARGET" ] && TARGET_SIZE=$(file_size "$TARGET")
	if [ -e "$TARGET" ] && [ "$TARGET_SIZE" -gt 0 ] && [ "$TARGET_SIZE" -lt "$IMAGE_SIZE" ]; then
		fail $E_SMALL "refused: $TARGET is too small: $(human "$TARGET_SIZE") for an image of $(human "$IMAGE_SIZE") (remove it, or make it larger with truncate -s)"
	fi
	[ "$TARGET_SIZE" -ge "$IMAGE_SIZE" ] || TARGET_SIZE=$IMAGE_SIZE
fi

if [ -e "$TARGET" ] && { [ ! -w "$TARGET" ] || [ ! -r "$TARGET" ]; }; then
	fail $E_FAIL "cannot read and write $TARGET: run flash.sh as root (sudo)"
fi

# --- the image's checksum -----------------------------------------------------------------
[ -r "$CHECKSUM" ] || fail $E_IMAGE "refused: no checksum for $IMAGE ($CHECKSUM is missing); it comes with the image"
read -r WANT _ <"$CHECKSUM" || true
WANT=$(printf '%s' "${WANT:-}" | tr 'A-F' 'a-f')
case "$WANT" in
[0-9a-f]*) [ ${#WANT} -eq 64 ] || fail $E_IMAGE "refused: $CHECKSUM holds no SHA-256 checksum" ;;
*) fail $E_IMAGE "refused: $CHECKSUM holds no SHA-256 checksum" ;;
esac
step "checking $IMAGE against $CHECKSUM"
GOT=$(sha256sum <"$IMAGE") || fail $E_FAIL "cannot read $IMAGE"
GOT=${GOT%% *}
if [ "$GOT" != "$WANT" ]; then
	fail $E_IMAGE "refused: $IMAGE does not match its checksum (damaged or incomplete download?): sha256 $GOT, expected $WANT"
fi

# --- the backup sets -------------------------------------------------------------------------
# Each set: its folder, its name (NAME.tar or NAME.tar.zst) and its volumes
# (from the .md5).
SET_DIRS=()
SET_NAMES=()
SETS_BYTES=0
set_field() { # SET KEY: a line of the set's .version.txt (its first entry)
	case "$1" in
	*.tar.zst) { zstd -dc -- "$1" 2>/dev/null | head -c 65536 | tar --occurrence=1 -xOf - .version.txt 2>/dev/null || true; } ;;
	*) { head -c 65536 -- "$1" | tar --occurrence=1 -xOf - .version.txt 2>/dev/null || true; } ;;
	esac | sed -n "s/^$2=//p" | head -n 1
}
for set in "${SETS[@]}"; do
	case "$set" in
	*.tar | *.tar.zst) base=$set ;;
	*.tar.md5 | *.tar.zst.md5) base=${set%.md5} ;;
	*.tar.[0-9][0-9][0-9] | *.tar.zst.[0-9][0-9][0-9]) base=${set%.*} ;;
	*) fail $E_SET "$set is not a backup set (NAME.tar or NAME.tar.zst, a volume NAME.tar.NNN, or its .md5; encrypted sets are restored from the console)" ;;
	esac
	case "$base" in
	*.tar.zst) command -v zstd >/dev/null || fail $E_SET "$set is compressed: install zstd (Debian package zstd) to check it" ;;
	esac
	dir=$(dirname -- "$base")
	name=$(basename -- "$base")
	case "$name" in
	*[!A-Za-z0-9._-]*) fail $E_SET "$name: a set's name has only letters, digits, '.', '_' and '-'" ;;
	esac
	seen=0
	for other in "${SET_NAMES[@]}"; do [ "$other" != "$name" ] || seen=1; done
	[ $seen = 0 ] || continue
	[ -f "$base.md5" ] || fail $E_SET "$name is incomplete: $base.md5 is missing"
	[ -f "$base" ] || fail $E_SET "$name is incomplete: $base is missing"
	# The .md5 names the volumes: NAME and NAME.NNN, nothing else.
	listed=0
	while read -r sum vol; do
		vol=${vol#\*}
		case "$vol" in
		"$name" | "$name".[0-9][0-9][0-9]) ;;
		*) fail $E_SET "$name.md5 lists '$vol', which is not a volume of $name" ;;
		esac
		case "$sum" in *[!0-9a-fA-F]*) fail $E_SET "$name.md5 is damaged" ;; esac
		[ -f "$dir/$vol" ] || fail $E_SET "$name is incomplete: volume $vol is missing"
		[ "$vol" != "$name" ] || listed=1
		SETS_BYTES=$((SETS_BYTES + $(file_size "$dir/$vol")))
	done <"$base.md5"
	[ $listed = 1 ] || fail $E_SET "$name.md5 does not list $name"
	step "checking $name against its .md5"
	if ! (cd "$dir" && md5sum -c --quiet --strict "$name.md5" >"$TMP/md5.log" 2>&1); then
		fail $E_SET "refused: $name does not match its .md5 file: $(grep -v ': OK$' "$TMP/md5.log" | head -n 3 | tr '\n' ' ')"
	fi
	SET_DIRS+=("$dir")
	SET_NAMES+=("$name")
done
# A differential is restored on top of its full set: both must be there.
for i in "${!SET_NAMES[@]}"; do
	set_base=$(set_field "${SET_DIRS[$i]}/${SET_NAMES[$i]}" base)
	[ -n "$set_base" ] || continue
	found=0
	for other in "${SET_NAMES[@]}"; do [ "$other" = "$set_base" ] && found=1; done
	[ $found = 1 ] || fail $E_SET "${SET_NAMES[$i]} is a differential: its full set $set_base must go with it (add --restore .../$set_base)"
done

# --- confirmation ----------------------------------------------------------------------------
describe_target() {
	if [ "$KIND" = disk ]; then
		local model vendor part pname psize
		vendor=$(tr -s ' ' <"$SYS/device/vendor" 2>/dev/null | sed 's/^ //; s/ $//') || true
		model=$(tr -s ' ' <"$SYS/device/model" 2>/dev/null | sed 's/^ //; s/ $//') || true
		echo "  disk:       $TARGET ($DISK)$([ "$REMOVABLE" = 1 ] && echo ", removable/USB")"
		echo "  model:      ${vendor:+$vendor }${model:-unknown}"
		echo "  size:       $(human "$TARGET_SIZE") ($TARGET_SIZE bytes)"
		echo "  partitions:"
		local any=0
		for part in "$SYS"/"$DISK"*; do
			[ -e "$part/partition" ] || continue
			any=1
			pname=$(sed -n 's/^PARTNAME=//p' "$part/uevent" 2>/dev/null) || true
			psize=$(($(cat "$part/size") * 512))
			printf '    %-12s %10s  %s\n' "$(basename "$part")" "$(human "$psize")" "${pname:-}"
		done
		[ $any = 1 ] || echo "    (none)"
	else
		echo "  image file: $TARGET"
		if [ -s "$TARGET" ]; then
			echo "  size:       $(human "$TARGET_SIZE")$([ "$TARGET_SIZE" -le "$IMAGE_SIZE" ] || echo ' (kept: larger than the image)')"
			echo "  partitions:"
			sfdisk -d -- "$TARGET" 2>/dev/null |
				sed -n 's/^.* : start= *[0-9]*, size= *\([0-9]*\),.*name="\([^"]*\)".*/    \2 (\1 sectors)/p' | grep . ||
				echo "    (none)"
		else
			echo "  (a new file of $(human "$IMAGE_SIZE"))"
		fi
	fi
}
{
	echo "About to write $IMAGE ($(human "$IMAGE_SIZE")) onto:"
	describe_target
	for name in "${SET_NAMES[@]}"; do echo "  then copy the backup set $name into /data/restore"; done
} >&2
if [ $YES = 0 ]; then
	if [ "$KIND" = disk ] || [ -s "$TARGET" ]; then
		printf 'Everything on %s will be lost. Type "yes" to go on: ' "$TARGET" >&2
	else
		printf 'Type "yes" to go on: ' >&2
	fi
	answer=
	read -r answer || true
	[ "$answer" = yes ] || fail $E_DECLINED "not confirmed: nothing was written"
fi

# --- writing --------------------------------------------------------------------------------
# udev leaves a disk alone while a program holds a BSD lock on it (no
# partition rescans, so no desktop automounting the new partitions while
# they are written); released when this script exits.
if [ "$KIND" = disk ]; then
	exec {LOCK_FD}<"$TARGET"
	flock -w 10 -x "$LOCK_FD" || fail $E_MOUNTED "refused: another program holds $TARGET"
fi

WRITER="dd"
if [ $USE_BMAP = 1 ] && command -v bmaptool >/dev/null 2>&1; then WRITER=bmaptool; fi

# The size a file target keeps (a disk stand-in under FLASH_DEV too).
FILE_SIZE=
if [ "$KIND" = file ]; then
	FILE_SIZE=$TARGET_SIZE
	# A fresh file: what is not written reads as zeros, as in the image.
	: >"$TARGET" || fail $E_WRITE "cannot write $TARGET"
elif [ -f "$TARGET" ]; then
	FILE_SIZE=$(file_size "$TARGET")
fi
if [ $WRITER = bmaptool ]; then
	BMAP=$IMAGE.bmap
	if [ ! -f "$BMAP" ]; then
		BMAP=$TMP/image.bmap
		step "mapping the blocks of $IMAGE that hold data (bmaptool create)"
		bmaptool -q create -o "$BMAP" "$IMAGE" || fail $E_FAIL "bmaptool create failed on $IMAGE"
	fi
	step "writing $IMAGE onto $TARGET with bmaptool"
	bmaptool copy --bmap "$BMAP" "$IMAGE" "$TARGET" || fail $E_WRITE "writing $TARGET failed (bmaptool)"
else
	step "writing $IMAGE onto $TARGET with dd"
	if [ "$KIND" = file ]; then
		# The file was emptied above: blocks of zeros can stay holes.
		dd if="$IMAGE" of="$TARGET" bs=4M conv=sparse,notrunc,fsync status=progress ||
			fail $E_WRITE "writing $TARGET failed (dd)"
	elif [ ! -b "$TARGET" ]; then
		dd if="$IMAGE" of="$TARGET" bs=4M conv=notrunc,fsync status=progress ||
			fail $E_WRITE "writing $TARGET failed (dd)"
	else
		dd if="$IMAGE" of="$TARGET" bs=4M conv=fsync oflag=direct status=progress ||
			fail $E_WRITE "writing $TARGET failed (dd)"
	fi
fi
if [ -n "$FILE_SIZE" ]; then
	# bmaptool cuts a file to the image's size; a larger target stays larger.
	truncate -s "$FILE_SIZE" "$TARGET" || fail $E_WRITE "cannot size $TARGET"
fi
sync
if [ -b "$TARGET" ]; then blockdev --flushbufs "$TARGET" 2>/dev/null || true; fi

# --- reading back ------------------------------------------------------------------------------
# read_range OFFSET LENGTH: bytes of the target, past the page cache on a disk.
read_range() {
	if [ -b "$TARGET" ]; then
		dd if="$TARGET" iflag=direct,skip_bytes,count_bytes bs=1M skip="$1" count="$2" status=none
	else
		dd if="$TARGET" iflag=skip_bytes,count_bytes bs=1M skip="$1" count="$2" status=none
	fi
}
if [ $WRITER = bmaptool ]; then
	# What bmaptool wrote: the mapped ranges, each with its checksum.
	bs=$(sed -n 's:.*<BlockSize> *\([0-9]*\) *</BlockSize>.*:\1:p' "$BMAP")
	kind=$(sed -n 's:.*<ChecksumType> *\([a-z0-9]*\) *</ChecksumType>.*:\1:p' "$BMAP")
	case "$kind" in sha256 | sha1 | md5) ;; *) fail $E_FAIL "$BMAP: unknown checksum type '${kind}'" ;; esac
	need "${kind}sum" coreutils
	sed -n 's:.*<Range chksum="\([0-9a-f]*\)"> *\([0-9]*\)-\{0,1\}\([0-9]*\) *</Range>.*:\1 \2 \3:p' "$BMAP" >"$TMP/ranges"
	[ -s "$TMP/ranges" ] || fail $E_FAIL "$BMAP lists no ranges"
	step "reading back the $(wc -l <"$TMP/ranges") ranges written"
	while read -r sum first last; do
		last=${last:-$first}
		got=$(read_range $((first * bs)) $(((last - first + 1) * bs)) | "${kind}sum") ||
			fail $E_VERIFY "cannot read back $TARGET"
		if [ "${got%% *}" != "$sum" ]; then
			fail $E_VERIFY "the read-back differs from the image in bytes $((first * bs))-$(((last + 1) * bs - 1)): $TARGET may be faulty"
		fi
	done <"$TMP/ranges"
else
	step "reading back $(human "$IMAGE_SIZE") from $TARGET"
	got=$(read_range 0 "$IMAGE_SIZE" | sha256sum) || fail $E_VERIFY "cannot read back $TARGET"
	if [ "${got%% *}" != "$GOT" ]; then
		fail $E_VERIFY "the read-back differs from the image: $TARGET may be faulty"
	fi
fi
step "$TARGET holds the image, verified"

# --- the backup sets onto the data partition ---------------------------------------------------------
if [ ${#SET_NAMES[@]} -gt 0 ]; then
	# The data partition, from the GPT just written.
	table=$(sfdisk -d -- "$TARGET" 2>/dev/null) || fail $E_FAIL "cannot read the partition table of $TARGET"
	sector=$(printf '%s\n' "$table" | sed -n 's/^sector-size: *//p')
	sector=${sector:-512}
	line=$(printf '%s\n' "$table" | grep ' : start=.*name="data"' | head -n 1) ||
		fail $E_FAIL "$IMAGE has no partition named data"
	pstart=$(printf '%s\n' "$line" | sed 's/.* : start= *\([0-9]*\),.*/\1/')
	psize=$(printf '%s\n' "$line" | sed 's/.*, size= *\([0-9]*\),.*/\1/')
	pnum=$(printf '%s\n' "$line" | sed 's/ : start=.*//; s/.*[^0-9]\([0-9][0-9]*\)$/\1/')
	last_start=$(printf '%s\n' "$table" | sed -n 's/.* : start= *\([0-9]*\),.*/\1/p' | sort -n | tail -n 1)

	# Nothing may have mounted the new partitions meanwhile.
	if [ "$KIND" = disk ]; then check_not_mounted stopped; fi

	# Absolute: debugfs runs in the sets' folders.
	FS="$(readlink -f -- "$TARGET")?offset=$((pstart * sector))"
	if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null 2>&1 && command -v resize2fs >/dev/null 2>&1; then
		# Grow the data partition to the end of a larger target, so the sets
		# have room; the first boot then finds nothing left to grow.
		if [ "$pstart" = "$last_start" ] && [ "$TARGET_SIZE" -gt "$IMAGE_SIZE" ]; then
			step "growing the data partition to the end of $TARGET"
			printf ', +\n' | sfdisk --no-reread --no-tell-kernel -q -N "$pnum" -- "$TARGET" >"$TMP/sfdisk.log" 2>&1 ||
				fail $E_FAIL "sfdisk could not grow the data partition: $(tail -n 1 "$TMP/sfdisk.log")"
			psize=$(sfdisk -d -- "$TARGET" 2>/dev/null | grep ' : start=.*name="data"' | sed 's/.*, size= *\([0-9]*\),.*/\1/')
		fi
		if LOOP=$(losetup -f --show --offset $((pstart * sector)) --sizelimit $((psize * sector)) -- "$TARGET" 2>"$TMP/losetup.log"); then
			exec {LOOP_FD}<"$LOOP"
			flock -w 10 -x "$LOOP_FD" || fail $E_FAIL "another program holds $LOOP"
			FS=$LOOP
			e2fsck -f -p "$FS" >"$TMP/fsck.log" 2>&1 || [ $? -le 1 ] ||
				fail $E_FAIL "the data partition's file system has errors: $(tail -n 1 "$TMP/fsck.log")"
			resize2fs "$FS" >"$TMP/resize.log" 2>&1 ||
				fail $E_FAIL "resize2fs could not grow the data partition: $(tail -n 1 "$TMP/resize.log")"
		else
			# No loop devices here (a container): the first boot grows the
			# file system; the sets must fit as it is.
			LOOP=
			say "no loop device ($(tail -n 1 "$TMP/losetup.log")): the file system grows at the first boot instead"
		fi
	fi

	# Room: the sets, 1 % for their metadata, and the reserved blocks kept
	# free for the appliance itself.
	dumpe2fs -h "$FS" >"$TMP/super" 2>/dev/null || fail $E_FAIL "no file system on the data partition of $TARGET"
	field() { sed -n "s/^$1: *//p" "$TMP/super"; }
	free=$(($(field 'Free blocks') * $(field 'Block size')))
	reserved=$(($(field 'Reserved block count') * $(field 'Block size')))
	if [ $((SETS_BYTES + SETS_BYTES / 100 + reserved)) -gt "$free" ]; then
		hint="run flash.sh as root on a larger disk, so that it grows the data partition first"
		[ "$(id -u)" = 0 ] && hint="use a larger disk"
		fail $E_SET "the sets ($(human "$SETS_BYTES")) do not fit into the data partition ($(human $((free - reserved))) free): $hint"
	fi

	# debugfs DIR: runs the commands on standard input with DIR as the
	# current folder (where `write` finds its files). debugfs reports errors
	# on standard error only; its exit status says nothing about them.
	debugfs_in() {
		(cd "$1" && debugfs -w -f - "$FS") >"$TMP/debugfs.out" 2>"$TMP/debugfs.err" ||
			fail $E_SET "debugfs failed on $TARGET"
		if grep -v '^debugfs [0-9]' "$TMP/debugfs.err" | grep -q .; then
			fail $E_SET "copying onto the data partition failed: $(grep -v '^debugfs [0-9]' "$TMP/debugfs.err" | head -n 1)"
		fi
	}
	# /data/restore as the first boot would make it (appctl data-layout):
	# root's, mode 0750.
	if ! debugfs -R 'stat /restore' "$FS" 2>/dev/null | grep -q 'Type: directory'; then
		printf 'mkdir /restore\nsif /restore mode 040750\nsif /restore uid 0\nsif /restore gid 0\n' | debugfs_in /
	fi
	for i in "${!SET_NAMES[@]}"; do
		name=${SET_NAMES[$i]}
		step "copying $name into /data/restore"
		{
			echo "cd /restore"
			{
				sed 's/^[^ ]* [ *]//' "${SET_DIRS[$i]}/$name.md5"
				echo "$name.md5"
			} | while read -r file; do
				printf 'write %s %s\nsif %s mode 0100640\nsif %s uid 0\nsif %s gid 0\n' \
					"$file" "$file" "$file" "$file" "$file"
			done
		} | debugfs_in "${SET_DIRS[$i]}"
	done
	sync

	# Read every volume back out of the file system and check it again.
	for i in "${!SET_NAMES[@]}"; do
		name=${SET_NAMES[$i]}
		dir=${SET_DIRS[$i]}
		step "reading $name back from the data partition"
		while read -r sum vol; do
			vol=${vol#\*}
			got=$(debugfs -R "cat /restore/$vol" "$FS" 2>/dev/null | md5sum)
			if [ "${got%% *}" != "$(printf '%s' "$sum" | tr 'A-F' 'a-f')" ]; then
				fail $E_SET "$vol reads back differently from the data partition: $TARGET may be faulty"
			fi
		done <"$dir/$name.md5"
		got=$(debugfs -R "cat /restore/$name.md5" "$FS" 2>/dev/null | md5sum)
		[ "${got%% *}" = "$(md5sum <"$dir/$name.md5" | cut -d' ' -f1)" ] ||
			fail $E_SET "$name.md5 reads back differently from the data partition"
	done
	e2fsck -f -n "$FS" >"$TMP/fsck.log" 2>&1 ||
		fail $E_SET "the data partition's file system has errors after the copy: $(tail -n 1 "$TMP/fsck.log")"
	if [ -n "$LOOP" ]; then
		exec {LOOP_FD}<&-
		losetup -d "$LOOP" || true
		LOOP=
	fi
	step "the sets are in /data/restore, verified: the console's Restore From Backup offers them at the first boot"
fi

if [ -b "$TARGET" ]; then
	if [ -n "${LOCK_FD:-}" ]; then exec {LOCK_FD}<&-; fi
	# Let the host see the new partitions (the disk can be pulled as it is).
	blockdev --rereadpt "$TARGET" 2>/dev/null || true
fi
step "done: $TARGET is ready for the replacement unit"
