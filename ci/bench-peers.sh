#!/usr/bin/env bash
# Backup figures against the tools an administrator would otherwise pick
# (a benchmark, not a test): restic and borg from Debian's packages, with
# their defaults (restic: repository v2, compression auto; borg: lz4, no
# encryption), GNU tar and zstd. On the same generated store, in one run:
#   - full backup: ours compressed (zstd level 3, written, read back from
#     the disk, published) against restic's and borg's first snapshot
#   - differential after storegen changes 1 % of the messages, against a
#     second snapshot
#   - bytes on the destination after the full, after full + differential,
#     and after a week of nightlies (7 runs, 1 % changed between them)
#     with retention 3: ours with the default schedule (fulls every night)
#     and with differentials on six days; restic forget --keep-last 3
#     --prune; borg prune --keep-last 3 and compact
#   - one user's restore (the mailbox nearest 1 % of the store) from the
#     newest restore point: recover against restic restore --include,
#     borg extract and tar -xf of a plain set; warm, again with each peer
#     followed by sync (recover syncs what it restored), and again with the
#     page cache dropped before each tool (cold, when run as root)
#   - whole restore of the compressed full: recover (MD5 checked in the
#     same pass) against zstd -dc | tar -x followed by sync
#   - peak RSS of backupd and recover
# and the ratios of issue 19's goals. Every step runs once (ratios from
# one run on a shared machine); the page cache is warmed first for all.
#
#   ci/bench-peers.sh [SIZE...]        (default: 1G 4G; e.g. 256M)
#   BENCH_DIR=/var/tmp/x ci/bench-peers.sh   (work folder, kept)
#
# The body window is off (body_window_hours = 0) so that every tool stores
# the same bytes; with the default 24 h window our sets are far smaller.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"
require_tools tar:tar zstd:zstd restic:restic borg:borgbackup /usr/bin/time:time

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1G 4G)
work=${BENCH_DIR:-$(mktemp -d /var/tmp/bench-peers.XXXXXX)}
mkdir -p "$work"
note "work folder: $work"

cargo build -q --release -p backupd -p storegen -p recover
bin="$REPO/target/x86_64-unknown-linux-gnu/release"
now=$(date +%s)
export RESTIC_PASSWORD=bench BORG_PASSPHRASE='' BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

bytes_of() { du -sb "$@" | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

# A command under /usr/bin/time -v; prints "seconds max_rss_kib".
timed() {
	sync
	# Wall time from bash's microsecond clock: GNU time's has 10 ms steps,
	# coarse for a one-user restore of a few hundredths of a second.
	local start=$EPOCHREALTIME el rss
	/usr/bin/time -v -o "$work/time.txt" "$@" >"$work/run.txt" 2>&1 ||
		die "$1 failed: $(tail -5 "$work/run.txt")"
	el=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { t = b - a; printf(t < 1 ? "%.3f" : "%.2f", t) }')
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
	echo "$el $rss"
}

config() { # FILE COMPRESSION [EXTRA LINE...]
	local f=$1 c=$2
	shift 2
	{
		echo "[system]"
		echo 'hostname = "bench"'
		echo "[backup]"
		echo "body_window_hours = 0"
		echo "retention = 100"
		echo "copies_kept = 100"
		echo "compression = \"$c\""
		echo "compression_level = 3"
		printf '%s\n' "$@"
	} >"$f"
}

backupd_once() { # CONFIG KIND
	timed "$bin/backupd" --data "$root" --config "$1" --once "$2"
}

newest() { # PATTERN: the newest first volume in the backup folder
	find "$root/backup" -maxdepth 1 -name "$1" ! -name '*.md5' ! -name '*.[0-9][0-9][0-9]' -printf '%f\n' | sort | tail -1
}

drop_caches() { sync && echo 3 >/proc/sys/vm/drop_caches; }

restore_dir() { rm -rf "$work/out" && mkdir -p "$work/out" && echo "$work/out"; }

for size in "${sizes[@]}"; do
	root="$work/data-$size"
	rm -rf "$root" "$work/restic" "$work/borg"
	note "generating a $size store"
	"$bin/storegen" generate "$root" --size "$size" --seed 1 --now "$now" >"$work/gen.txt"
	files=$(awk '{ print $1 }' "$work/gen.txt")
	zcfg="$work/zstd.toml" pcfg="$work/plain.toml"
	config "$zcfg" zstd
	config "$pcfg" none
	tar -cf - -C "$root" . | cat >/dev/null
	excludes=(--exclude "$root/backup" --exclude "$root/state" --exclude "$root/restore")

	# ---- full ----
	read -r our_full our_rss < <(backupd_once "$zcfg" full)
	full_set=$(newest 'bench-F*.tar.zst')
	our_full_bytes=$(bytes_of "$root/backup")
	restic -q init -r "$work/restic" >/dev/null
	read -r restic_full _ < <(timed restic -r "$work/restic" backup -q "${excludes[@]}" "$root")
	restic_full_bytes=$(bytes_of "$work/restic")
	borg init -e none "$work/borg" >/dev/null
	read -r borg_full _ < <(timed borg create "${excludes[@]}" "$work/borg::n1" "$root")
	borg_full_bytes=$(bytes_of "$work/borg")
	# A plain set of the same store, for tar -xf.
	sleep 1
	read -r plain_full _ < <(backupd_once "$pcfg" copy)
	plain_set=$(newest 'bench-C*.tar')
	plain_bytes=$(bytes_of "$root/backup/$plain_set")

	# ---- differential after 1 % ----
	"$bin/storegen" mutate "$root" --percent 1 --seed 2 --now "$((now + 60))" >"$work/mut.txt"
	sleep 1
	read -r our_diff r < <(backupd_once "$zcfg" differential)
	our_rss=$((r > our_rss ? r : our_rss))
	diff_set=$(newest 'bench-I*.tar.zst')
	our_two_bytes=$(($(bytes_of "$root/backup") - plain_bytes - $(bytes_of "$root/backup/$plain_set.md5")))
	read -r restic_diff _ < <(timed restic -r "$work/restic" backup -q "${excludes[@]}" "$root")
	restic_two_bytes=$(bytes_of "$work/restic")
	read -r borg_diff _ < <(timed borg create "${excludes[@]}" "$work/borg::n2" "$root")
	borg_two_bytes=$(bytes_of "$work/borg")

	# ---- one user's restore (the mailbox nearest 1 % of the store) ----
	# Every tool's data warm alike: backupd drops its set from the page
	# cache as it writes, restic's and borg's repositories stay cached.
	cat "$root"/backup/* >/dev/null
	tar -cf - -C "$work" restic borg | cat >/dev/null
	want=$(($(bytes_of "$root/store/mail") / 100))
	user=$(find "$root/store/mail" -mindepth 2 -maxdepth 2 -type d -exec du -sb {} + |
		awk -v w="$want" '{ d = $1 - w; if (d < 0) d = -d; if (best == "" || d < bd) { best = $2; bd = d } } END { print best }')
	rel=${user#"$root"/}
	dom=$(basename "$(dirname "$user")") usr=$(basename "$user")
	user_bytes=$(bytes_of "$user")
	one_user() { # prints recover's, restic's, borg's and tar's seconds, then recover's RSS
		local o t rss
		o=$(restore_dir); $cold; read -r t rss < <(timed "$bin/recover" -d "$dom" -u "$usr" -m mail -s "$o" "$root/backup/$diff_set")
		printf '%s ' "$t"
		o=$(restore_dir); $cold; read -r t _ < <(timed "${then_sync[@]}" restic -r "$work/restic" restore latest --target "$o" --include "$user"); printf '%s ' "$t"
		o=$(restore_dir); $cold; read -r t _ < <(cd "$o" && timed "${then_sync[@]}" borg extract "$work/borg::n2" "${user#/}"); printf '%s ' "$t"
		o=$(restore_dir); $cold; read -r t _ < <(timed "${then_sync[@]}" tar -xf "$root/backup/$plain_set" -C "$o" "@backup/$rel"); echo "$t $rss"
	}
	cold=:
	then_sync=()
	read -r our_user restic_user borg_user tar_user rec_rss < <(one_user)
	# recover syncs what it restored before it says done (syncfs); the
	# peers do not. Again with each peer followed by sync: the same files
	# on the disk at the end, as the whole-restore row compares.
	then_sync=(sh -c '"$@" && sync' sh)
	read -r -a synced_user < <(one_user)
	then_sync=()
	# Cold: the page cache dropped before each tool, as when a set or
	# repository is first read from a drive (root only).
	cold_user=()
	if [ -w /proc/sys/vm/drop_caches ]; then
		cold=drop_caches
		read -r -a cold_user < <(one_user)
	fi

	# ---- whole restore of the compressed full ----
	o=$(restore_dir)
	read -r our_whole r < <(timed "$bin/recover" -c "$o" -s "$o/store" "$root/backup/$full_set")
	rec_rss=$((r > rec_rss ? r : rec_rss))
	o=$(restore_dir)
	read -r zstd_whole _ < <(timed sh -c "zstd -dc '$root/backup/$full_set' | tar -xf - -C '$o' && sync")
	rm -rf "$work/out"

	# ---- a week of nightlies, retention 3 ----
	week() { # CONFIG fulls|diffs: bytes of the sets after 7 nights
		rm -rf "$root"/backup/* "$root/state/backupd"
		local night kind
		for night in 1 2 3 4 5 6 7; do
			[ "$night" = 1 ] || "$bin/storegen" mutate "$root" --percent 1 --seed "$((night + 10))" \
				--now "$((now + 60 * night))" >/dev/null
			kind=full
			[ "$2" = fulls ] || [ "$night" = 1 ] || kind=differential
			sleep 1
			backupd_once "$1" "$kind" >/dev/null
		done
		bytes_of "$root/backup"
	}
	config "$work/week.toml" zstd "retention = 3"
	sed -i '/^retention = 100$/d' "$work/week.toml"
	our_week_full=$(week "$work/week.toml" fulls)
	our_week_diff=$(week "$work/week.toml" diffs)
	for night in 3 4 5 6 7; do
		"$bin/storegen" mutate "$root" --percent 1 --seed "$((night + 30))" --now "$((now + 600 * night))" >/dev/null
		restic -r "$work/restic" backup -q "${excludes[@]}" "$root" >/dev/null
		borg create "${excludes[@]}" "$work/borg::n$night" "$root" >/dev/null
	done
	restic -r "$work/restic" forget -q --keep-last 3 --prune >/dev/null
	restic_week=$(bytes_of "$work/restic")
	borg prune --keep-last 3 "$work/borg" && borg compact "$work/borg"
	borg_week=$(bytes_of "$work/borg")

	echo
	echo "== store $size: $files files, $(mib "$(bytes_of "$root/store")") of mail; one run, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "step                         ours        restic      borg        goal"
	printf '%-28s %-11s %-11s %-11s %s\n' \
		"full backup (s)" "$our_full" "$restic_full" "$borg_full" \
		"restic/ours $(ratio "$restic_full" "$our_full")x, borg/ours $(ratio "$borg_full" "$our_full")x (>= 2x)" \
		"differential 1 % (s)" "$our_diff" "$restic_diff" "$borg_diff" \
		"restic/ours $(ratio "$restic_diff" "$our_diff")x, borg/ours $(ratio "$borg_diff" "$our_diff")x (>= 8x)" \
		"bytes after the full" "$(mib "$our_full_bytes")" "$(mib "$restic_full_bytes")" "$(mib "$borg_full_bytes")" \
		"ours/restic $(ratio "$our_full_bytes" "$restic_full_bytes") (<= 1); plain set $(mib "$plain_bytes")" \
		"bytes after full + diff" "$(mib "$our_two_bytes")" "$(mib "$restic_two_bytes")" "$(mib "$borg_two_bytes")" "" \
		"bytes after a week, ret. 3" "$(mib "$our_week_full")" "$(mib "$restic_week")" "$(mib "$borg_week")" \
		"ours with differentials on 6 days: $(mib "$our_week_diff")" \
		"one user (s)" "$our_user" "$restic_user" "$borg_user" \
		"tar -xf plain $tar_user s; restic $(ratio "$restic_user" "$our_user")x, borg $(ratio "$borg_user" "$our_user")x, tar $(ratio "$tar_user" "$our_user")x (>= 5x)" \
		"one user, peers + sync (s)" "${synced_user[0]}" "${synced_user[1]}" "${synced_user[2]}" \
		"tar -xf plain; sync ${synced_user[3]} s; restic $(ratio "${synced_user[1]}" "${synced_user[0]}")x, borg $(ratio "${synced_user[2]}" "${synced_user[0]}")x, tar $(ratio "${synced_user[3]}" "${synced_user[0]}")x (>= 5x)" \
		"one user, cold cache (s)" "${cold_user[0]:-}" "${cold_user[1]:-}" "${cold_user[2]:-}" \
		"$([ ${#cold_user[@]} -ge 4 ] && echo "tar -xf plain ${cold_user[3]} s; restic $(ratio "${cold_user[1]}" "${cold_user[0]}")x, borg $(ratio "${cold_user[2]}" "${cold_user[0]}")x, tar $(ratio "${cold_user[3]}" "${cold_user[0]}")x" || echo "not measured (needs root)")" \
		"whole restore (s)" "$our_whole" "" "" \
		"zstd -dc | tar -x; sync: $zstd_whole s, ours/that $(ratio "$our_whole" "$zstd_whole") (<= 1)"
	echo "one user: $rel, $(mib "$user_bytes"); plain full written in $plain_full s"
	echo "peak RSS: backupd $((our_rss / 1024)) MiB, recover $((rec_rss / 1024)) MiB"
	[ -n "${BENCH_DIR:-}" ] || rm -rf "$root" "$work/restic" "$work/borg"
done
[ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
