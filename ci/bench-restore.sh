#!/usr/bin/env bash
# Restore figures (a benchmark, not a test). On one set written by backupd
# from a generated store, in one run:
#   - one user's mailbox holding about 1 % of the set (the user closest to 1 %):
#       tar -xf set.tar @backup/store/mail/<domain>/<user>
#       recover -d <domain> -u <user> -s DIR set.tar
#     with a warm page cache, and with the set's pages dropped first
#     (posix_fadvise DONTNEED on the set alone, so other work on the
#     machine keeps its cache); goal: recover >= 50x faster
#   - the whole set:
#       tar -xf set.tar                      (no check, left in the page cache)
#       tar -xf set.tar && sync -f           (the same, on disk)
#       md5sum -c set.tar.md5 && tar -xf     (the GNU way to a checked restore)
#       recover -c DIR -s DIR/store set.tar  (MD5 checked in the same pass,
#                                             staged, synced, swapped in)
#     goal: recover no slower than tar -xf
#   - recover's peak RSS (/usr/bin/time -v)
# Every restore goes to a freshly made ext4 file system (a loop device, so
# root is needed): no run pays for the previous one's deletions or for
# other work's dirty pages. Every timing starts after `sync` and is the
# best of BENCH_RUNS runs (default 3: the machine is shared); the restored
# trees are compared with tar's (diff -r), so the figures are for the same
# result.
#
#   ci/bench-restore.sh [SIZE...]      (default: 1G 4G; e.g. ci/bench-restore.sh 256M)
#   BENCH_DIR=/var/tmp/x ci/bench-restore.sh   (work folder, kept; default a new one in /var/tmp)
#
# The body window is off (body_window_hours = 0): every message is stored
# whole, as tar would restore it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"
require_tools tar:tar md5sum:coreutils /usr/bin/time:time python3:python3 diff:diffutils mkfs.ext4:e2fsprogs
[ "$(id -u)" = 0 ] || die "needs root (the restores go to fresh ext4 file systems on loop devices)"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1G 4G)
work=${BENCH_DIR:-$(mktemp -d /var/tmp/bench-restore.XXXXXX)}
mkdir -p "$work"
note "work folder: $work"

cargo build -q --release -p backupd -p storegen -p recover
bin="$REPO/target/x86_64-unknown-linux-gnu/release"
now=$(date +%s)

# best of BENCH_RUNS runs of a command (with `prepare` run untimed before each)
best() {
	local prepare=$1 b="" t i
	shift
	for ((i = 0; i < ${BENCH_RUNS:-3}; i++)); do
		$prepare
		t=$(seconds "$@")
		b=$(awk -v a="$t" -v b="$b" 'BEGIN { if (b == "" || a < b) print a; else print b }')
	done
	echo "$b"
}

# Drops the set's pages from the page cache (only that file's).
drop_set_cache() {
	python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)' "$sets"/*.tar*
}
warm_set_cache() { cat "$sets"/*.tar >/dev/null; }

# A new ext4 file system for the next restore, with the targets' folders.
mnt="$work/mnt"
img="$work/target.img"
mkdir -p "$mnt"
trap 'umount "$mnt" 2>/dev/null || true' EXIT
new_fs() {
	umount "$mnt" 2>/dev/null || true
	rm -f "$img"
	truncate -s "$fs_bytes" "$img"
	mkfs.ext4 -q -F "$img"
	mount -o loop,noatime "$img" "$mnt"
	mkdir -p "$mnt/t-user" "$mnt/r-user" "$mnt/t-all" "$mnt/r-all"
	sync
}
# Untimed before each run: a fresh file system, and the set's pages warm or dropped.
warm() { new_fs && warm_set_cache; }
cold() { new_fs && drop_set_cache; }

tar_user() { tar -xf "$set" -C "$mnt/t-user" "@backup/store/mail/$domain/$user"; }
recover_user() { "$bin/recover" -q -d "$domain" -u "$user" -m mail -s "$mnt/r-user" "$set"; }
tar_all() { tar -xf "$set" -C "$mnt/t-all"; }
tar_sync_all() { tar -xf "$set" -C "$mnt/t-all" && sync -f "$mnt"; }
md5_tar_all() { (cd "$sets" && md5sum --quiet -c ./*.md5) && tar -xf "$set" -C "$mnt/t-all"; }
recover_all() { "$bin/recover" -q -c "$mnt/r-all" -s "$mnt/r-all/store" "$set"; }

for size in "${sizes[@]}"; do
	root="$work/data-$size"
	sets="$work/sets-$size"
	rm -rf "$root" "$sets"
	mkdir -p "$sets"
	note "generating a $size store and its full set"
	"$bin/storegen" generate "$root" --size "$size" --seed 1 --now "$now" >"$work/gen.txt"
	files=$(awk '{ print $1 }' "$work/gen.txt")
	cat >"$root/config/appliance.toml" <<-EOF
		[system]
		hostname = "bench"
		[backup]
		body_window_hours = 0
		retention = 100
	EOF
	"$bin/backupd" --data "$root" --config "$root/config/appliance.toml" --once full \
		--backup-dir "$sets" --state-dir "$work/state-$size" >"$work/run.txt" 2>&1 ||
		die "backupd failed: $(cat "$work/run.txt")"
	set=$(find "$sets" -name 'bench-F*.tar')
	set_bytes=$(stat -c %s "$set")

	# The user whose mailbox is closest to 1 % of the set.
	read -r user_bytes domain user < <(
		cd "$root/store/mail" && du -sb -- */* | awk -v want="$((set_bytes / 100))" '
			{ d = $1 - want; if (d < 0) d = -d; split($2, p, "/")
			  if (best == "" || d < best) { best = d; line = $1 " " p[1] " " p[2] } }
			END { print line }'
	)
	rm -rf "$root"

	# Room for two restores and the staging copy.
	fs_bytes=$((set_bytes * 3 + (1 << 30)))

	t_user_warm=$(best warm tar_user)
	r_user_warm=$(best warm recover_user)
	t_user_cold=$(best cold tar_user)
	r_user_cold=$(best cold recover_user)
	t_all=$(best warm tar_all)
	ts_all=$(best warm tar_sync_all)
	md5_t_all=$(best warm md5_tar_all)
	r_all=$(best warm recover_all)

	# The same results: both restores once more, compared; recover's RSS.
	new_fs
	tar_user && recover_user
	diff -r "$mnt/t-user/@backup/store/mail/$domain/$user" "$mnt/r-user/mail/$domain/$user" >/dev/null ||
		die "the two restores of $user@$domain differ"
	tar_all
	sync
	/usr/bin/time -v -o "$work/time.txt" "$bin/recover" -q -c "$mnt/r-all" -s "$mnt/r-all/store" "$set"
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
	diff -r --exclude=state "$mnt/t-all/@backup" "$mnt/r-all" >/dev/null ||
		die "the whole restores differ"
	umount "$mnt"
	rm -f "$img"

	echo
	echo "== set $size: $files files, $(mib "$set_bytes"); user $user@$domain: $(mib "$user_bytes") ($(awk -v a="$user_bytes" -v b="$set_bytes" 'BEGIN { printf "%.2f", 100 * a / b }') % of the set)"
	echo "one user, warm cache:  tar -xf ${t_user_warm} s   recover ${r_user_warm} s   tar/recover $(ratio "$t_user_warm" "$r_user_warm")x"
	echo "one user, set uncached: tar -xf ${t_user_cold} s   recover ${r_user_cold} s   tar/recover $(ratio "$t_user_cold" "$r_user_cold")x"
	echo "whole set: tar -xf ${t_all} s   tar -xf + sync ${ts_all} s   md5sum -c + tar -xf ${md5_t_all} s"
	echo "           recover (MD5 in the same pass, staged, synced, swapped) ${r_all} s"
	echo "           recover/tar $(ratio "$r_all" "$t_all")x   recover/(tar + sync) $(ratio "$r_all" "$ts_all")x   recover/(md5sum + tar) $(ratio "$r_all" "$md5_t_all")x"
	echo "recover peak RSS: $((rss / 1024)) MiB"
	[ -n "${BENCH_DIR:-}" ] || rm -rf "$sets" "$work/state-$size"
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
