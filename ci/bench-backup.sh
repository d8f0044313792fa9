#!/usr/bin/env bash
# Backup figures (a benchmark, not a test). On the same generated store, in
# one run, with a warm page cache:
#   - the GNU pipeline    tar -cf - DIR | tee set.tar | md5sum
#   - MD5 alone           md5sum over the bytes of that tar
#   - our full backup     backupd --once full (writes, fsyncs, reads the set
#                         back from the disk, publishes), and without the
#                         read-back (--no-verify) to show what it costs
#   - our differential    after storegen changes 1 % of the messages, and a
#                         bare stat walk of the same tree (find -printf of
#                         size, times, mode, owner): the floor for finding
#                         changes by metadata
#   - peak RSS of backupd (/usr/bin/time -v)
# and the ratios the issue sets as goals: full >= 2x faster than the GNU
# pipeline, within 1.3x of MD5 alone, differential < 5 % of the full,
# RSS < 32 MiB.
#
#   ci/bench-backup.sh [SIZE...]      (default: 1G 4G; e.g. ci/bench-backup.sh 256M)
#   ci/bench-backup.sh --peers [SIZE...]   compressed sets against restic and
#                                          borg (ci/bench-peers.sh)
#   BENCH_DIR=/var/tmp/x ci/bench-backup.sh   (work folder, default a new one in /var/tmp)
#   BENCH_REPEAT=3                            (runs of each step; the fastest counts)
#
# The body window is off (body_window_hours = 0) so that every byte is read,
# as tar reads it; with the default 24 h window a full reads far less. The
# sets are plain (no compression key: the tar's own speed); --peers
# measures compressed ones.
set -euo pipefail
if [ "${1:-}" = --peers ]; then
	shift
	exec "$(dirname "$0")/bench-peers.sh" "$@"
fi
. "$(dirname "$0")/lib.sh"
cd "$REPO"
require_tools tar:tar md5sum:coreutils /usr/bin/time:time

repeat=${BENCH_REPEAT:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1G 4G)
work=${BENCH_DIR:-$(mktemp -d /var/tmp/bench-backup.XXXXXX)}
mkdir -p "$work"
note "work folder: $work"

cargo build -q --release -p backupd -p storegen
bin="$REPO/target/x86_64-unknown-linux-gnu/release"
now=$(date +%s)

# What every change check by metadata pays: one stat per entry.
stat_walk() {
	find "$1" \( -path "$1/backup" -o -path "$1/state" \) -prune -o \
		-printf '%s %T@ %C@ %m %U %G %p\n'
}

gnu_pipeline() {
	tar -cf - -C "$1" --exclude=./backup --exclude=./restore --exclude=./state . |
		tee "$work/gnu.tar" | md5sum
}

# The same, with the tar made durable as our sets are (fsync).
gnu_pipeline_synced() {
	gnu_pipeline "$1"
	sync "$work/gnu.tar"
}

# What the disk gives right now: as many bytes written with fsync.
disk_write() {
	dd if=/dev/zero of="$work/dd.bin" bs=1M count="$1" conv=fsync status=none
	rm -f "$work/dd.bin"
}

# backupd one-shot with /usr/bin/time -v; prints "seconds max_rss_kib"
backupd_run() {
	local kind=$1
	shift
	sync
	/usr/bin/time -v -o "$work/time.txt" "$bin/backupd" --data "$root" \
		--config "$root/config/appliance.toml" --once "$kind" "$@" >"$work/run.txt" 2>&1 ||
		die "backupd --once $kind failed: $(cat "$work/run.txt")"
	local el rss
	el=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$work/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
	echo "$el $rss"
}

for size in "${sizes[@]}"; do
	root="$work/data-$size"
	rm -rf "$root"
	note "generating a $size store"
	"$bin/storegen" generate "$root" --size "$size" --seed 1 --now "$now" >"$work/gen.txt"
	files=$(awk '{ print $1 }' "$work/gen.txt")
	cat >"$root/config/appliance.toml" <<-EOF
		[system]
		hostname = "bench"
		[backup]
		body_window_hours = 0
		retention = 100
	EOF
	# Warm the page cache for everyone alike.
	tar -cf - -C "$root" . | cat >/dev/null

	# Each step runs $repeat times; the fastest run counts (the machine is shared).
	min() { printf '%s\n' "$@" | sort -g | head -1; }
	gnu_runs=() gnus_runs=() md5_runs=() dd_runs=() walk_runs=()
	for _ in $(seq "$repeat"); do
		walk_runs+=("$(seconds stat_walk "$root")")
		gnu_runs+=("$(seconds gnu_pipeline "$root")")
		md5_runs+=("$(seconds md5sum "$work/gnu.tar")")
		rm -f "$work/gnu.tar"
		gnus_runs+=("$(seconds gnu_pipeline_synced "$root")")
		dd_runs+=("$(seconds disk_write "$(($(stat -c %s "$work/gnu.tar") >> 20))")")
	done
	gnu=$(min "${gnu_runs[@]}")
	gnus=$(min "${gnus_runs[@]}")
	md5=$(min "${md5_runs[@]}")
	ddw=$(min "${dd_runs[@]}")
	walk=$(min "${walk_runs[@]}")
	tar_bytes=$(stat -c %s "$work/gnu.tar")
	rm -f "$work/gnu.tar"

	rss=0
	full_runs=() nover_runs=() diff_runs=()
	fresh() { rm -rf "$root"/backup/* "$root/state/backupd"; sleep 1; }
	for _ in $(seq "$repeat"); do
		fresh
		read -r t r < <(backupd_run full --no-verify)
		nover_runs+=("$t")
		rss=$((r > rss ? r : rss))
	done
	for _ in $(seq "$repeat"); do
		fresh
		read -r t r < <(backupd_run full)
		full_runs+=("$t")
		rss=$((r > rss ? r : rss))
	done
	full_msg=$(head -1 "$work/run.txt")
	"$bin/storegen" mutate "$root" --percent 1 --seed 2 --now "$((now + 60))" >"$work/mut.txt"
	for _ in $(seq "$repeat"); do
		sleep 1
		read -r t r < <(backupd_run differential)
		diff_runs+=("$t")
		rss=$((r > rss ? r : rss))
	done
	diff_msg=$(head -1 "$work/run.txt")
	full=$(min "${full_runs[@]}")
	nover=$(min "${nover_runs[@]}")
	diff=$(min "${diff_runs[@]}")
	set_bytes=$(find "$root/backup" -name 'bench-F*.tar*' ! -name '*.md5' -printf '%s\n' | awk '{ s += $1 } END { print s }')

	echo
	echo "== store $size: $files files, tar stream $(mib "$tar_bytes"), our set $(mib "$set_bytes"), fastest of $repeat runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "GNU tar | tee | md5sum       ${gnu} s   (${gnus} s with an fsync of the tar, as our sets have)"
	echo "md5sum alone                 ${md5} s"
	echo "disk: write + fsync as much  ${ddw} s   (dd conv=fsync)"
	echo "backupd full (read back)     ${full} s   GNU/ours $(ratio "$gnu" "$full")x (synced $(ratio "$gnus" "$full")x)   ours/MD5 $(ratio "$full" "$md5")x"
	echo "backupd full (no read-back)  ${nover} s   GNU/ours $(ratio "$gnu" "$nover")x (synced $(ratio "$gnus" "$nover")x)   ours/MD5 $(ratio "$nover" "$md5")x"
	pct() { awk -v d="$1" -v f="$full" 'BEGIN { printf "%.1f", 100 * d / f }'; }
	echo "backupd differential (1 %)   ${diff} s   $(pct "$diff") % of the full"
	echo "stat walk (find -printf)     ${walk} s   $(pct "$walk") % of the full: the floor for finding changes by metadata"
	echo "backupd peak RSS             $((rss / 1024)) MiB ($rss KiB)"
	echo "  full: $full_msg"
	echo "  diff: $diff_msg"
	echo "  mutate: $(cat "$work/mut.txt")"
	[ -n "${BENCH_DIR:-}" ] || rm -rf "$root"
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
