#!/usr/bin/env bash
# Throughput and memory of ftpd against vsftpd (Debian's, the server the
# Sendio appliance ran) on the same file, the same machine and the same
# client (curl), in one run; prints MB/s, the session processes' peak
# resident memory and CPU time, and ftpd/vsftpd ratios.
#
#   ci/bench-ftp.sh [SIZE_MIB]      (default 1024)
#   FTPD_BIN=/path/to/ftpd ci/bench-ftp.sh   (measure that build)
#
# Needs: vsftpd curl openssl (apt-get install vsftpd curl openssl); root
# (vsftpd's anonymous upload folder belongs to its `ftp` user).
set -euo pipefail

SIZE_MIB=${1:-1024}
REPO=$(cd "$(dirname "$0")/.." && pwd)
for tool in vsftpd curl openssl; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

# FTPD_BIN names another build to measure (an older one, to compare).
if [ -n "${FTPD_BIN:-}" ]; then
	FTPD=$FTPD_BIN
else
	echo "building ftpd (release)..." >&2
	(cd "$REPO" && cargo build --release --quiet -p ftpd)
	FTPD=${CARGO_TARGET_DIR:-$REPO/target}/x86_64-unknown-linux-gnu/release/ftpd
fi

WORK=$(mktemp -d /tmp/ftpd-bench.XXXXXX)
# ftpd's sessions run as the user ftp (uid 21): it must reach the data.
chmod 755 "$WORK"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

DATA=$WORK/data
mkdir -p "$DATA"/{backup,restore,config}
FILE=mx1-F20261122T220000Z.tar
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$DATA/backup/$FILE"
cp "$DATA/backup/$FILE" "$WORK/upload.bin"
PASSWORD=bench-pass-42
HASH=$(openssl passwd -6 "$PASSWORD")
cat >"$DATA/config/appliance.toml" <<EOF
[ftp]
access_list = ["127.0.0.1"]
allow_plain = true
passive_ports = "47500-47599"
[accounts]
sysarchive = '$HASH'
EOF
FTPD_PORT=$(free_port)
"$FTPD" --listen "127.0.0.1:$FTPD_PORT" --data-root "$DATA" 2>/dev/null &
PIDS+=($!)
FTPD_PID=$!

# vsftpd: anonymous, the same file, an upload folder of its own; TLS with
# the certificate ftpd made.
V=$WORK/vsftpd
mkdir -p "$V/root/up"
ln "$DATA/backup/$FILE" "$V/root/$FILE"
chown ftp "$V/root/up"
chmod 555 "$V/root"
sleep 0.5
VS_PORT=$(free_port)
cat >"$V/vsftpd.conf" <<EOF
listen=YES
listen_address=127.0.0.1
listen_port=$VS_PORT
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$V/root
local_enable=NO
write_enable=YES
anon_upload_enable=YES
pasv_min_port=47600
pasv_max_port=47699
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
require_ssl_reuse=NO
rsa_cert_file=$DATA/sslcert/server.crt
rsa_private_key_file=$DATA/sslcert/server.key
xferlog_enable=NO
seccomp_sandbox=NO
EOF
vsftpd "$V/vsftpd.conf" &
PIDS+=($!)
VS_PID=$!
sleep 0.5

# Peak resident memory (KiB) of a server's session processes while a
# command runs.
peak_rss() { # SERVER_PID COMMAND...
	local server=$1 peak=0 pid rss
	shift
	"$@" &
	local job=$!
	while kill -0 "$job" 2>/dev/null; do
		for pid in $(pgrep -P "$server"); do
			rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ "${rss:-0}" -gt "$peak" ] && peak=$rss
		done
		sleep 0.05
	done
	wait "$job"
	echo "$peak"
}

# CPU time (clock ticks) of a server's ended sessions: the children it
# reaped (cutime + cstime), which does not depend on what else runs.
child_ticks() { # SERVER_PID
	awk '{ print $16 + $17 }' "/proc/$1/stat"
}
TICKS=$(getconf CLK_TCK)

# Runs curl and prints "MB/s peak_KiB session_CPU_seconds".
measure() { # SERVER_PID CURL_ARGS...
	local server=$1 start end peak t0 t1
	shift
	t0=$(child_ticks "$server")
	start=$(date +%s.%N)
	peak=$(peak_rss "$server" curl -sS "$@")
	end=$(date +%s.%N)
	sleep 1 # the session ends and is reaped
	t1=$(child_ticks "$server")
	awk -v s="$start" -v e="$end" -v m="$SIZE_MIB" -v p="$peak" -v c="$((t1 - t0))" -v hz="$TICKS" \
		'BEGIN { printf "%.0f %d %.2f\n", m * 1.048576 / (e - s), p, c / hz }'
}

F_USER=(--user "sysarchive:$PASSWORD")
V_USER=(--user anonymous:)
TLS=(--ssl-reqd -k)
declare -A R
R[f_get]=$(measure "$FTPD_PID" "${F_USER[@]}" -o /dev/null "ftp://127.0.0.1:$FTPD_PORT/backup/$FILE")
R[v_get]=$(measure "$VS_PID" "${V_USER[@]}" -o /dev/null "ftp://127.0.0.1:$VS_PORT/$FILE")
R[f_tls]=$(measure "$FTPD_PID" "${F_USER[@]}" "${TLS[@]}" -o /dev/null "ftp://127.0.0.1:$FTPD_PORT/backup/$FILE")
R[v_tls]=$(measure "$VS_PID" "${V_USER[@]}" "${TLS[@]}" -o /dev/null "ftp://127.0.0.1:$VS_PORT/$FILE")
R[f_put]=$(measure "$FTPD_PID" "${F_USER[@]}" -T "$WORK/upload.bin" "ftp://127.0.0.1:$FTPD_PORT/restore/up.bin")
R[v_put]=$(measure "$VS_PID" "${V_USER[@]}" -T "$WORK/upload.bin" "ftp://127.0.0.1:$VS_PORT/up/up.bin")
cmp -s "$WORK/upload.bin" "$DATA/restore/up.bin" || { echo "ftpd stored different bytes" >&2; exit 1; }
rm -f "$DATA/restore/up.bin" "$V/root/up/up.bin"
R[f_tput]=$(measure "$FTPD_PID" "${F_USER[@]}" "${TLS[@]}" -T "$WORK/upload.bin" "ftp://127.0.0.1:$FTPD_PORT/restore/up.bin")
R[v_tput]=$(measure "$VS_PID" "${V_USER[@]}" "${TLS[@]}" -T "$WORK/upload.bin" "ftp://127.0.0.1:$VS_PORT/up/up.bin")
cmp -s "$WORK/upload.bin" "$DATA/restore/up.bin" || { echo "ftpd stored different bytes (FTPS)" >&2; exit 1; }

printf '%s MiB over loopback, curl as the client\n' "$SIZE_MIB"
printf '%-18s %10s %8s %7s %11s %11s %9s %9s\n' transfer "ftpd MB/s" vsftpd ratio "ftpd RSS" "vsftpd RSS" "ftpd CPU" "vsftpd"
for t in get:"download, plain" tls:"download, FTPS" put:"upload, plain" tput:"upload, FTPS"; do
	key=${t%%:*}
	read -r fm fr fc <<<"${R[f_$key]}"
	read -r vm vr vc <<<"${R[v_$key]}"
	awk -v n="${t#*:}" -v fm="$fm" -v vm="$vm" -v fr="$fr" -v vr="$vr" -v fc="$fc" -v vc="$vc" \
		'BEGIN { printf "%-18s %10d %8d %7.2f %7d KiB %7d KiB %7.2f s %7.2f s\n", n, fm, vm, fm / vm, fr, vr, fc, vc }'
done
echo "supervisor RSS: $(awk '/^VmRSS/ {print $2}' "/proc/$FTPD_PID/status") KiB" \
	"(vsftpd listener: $(awk '/^VmRSS/ {print $2}' "/proc/$VS_PID/status") KiB)"
