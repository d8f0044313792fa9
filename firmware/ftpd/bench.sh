#!/usr/bin/env bash
# Throughput and memory of ftpd against vsftpd (Debian's, the server the
# Sendio appliance ran) on the same file, the same machine and the same
# client (curl), in one run; prints MB/s, the session processes' peak
# resident memory, and ftpd/vsftpd ratios.
#
#   firmware/ftpd/bench.sh [SIZE_MIB]      (default 1024)
#
# Needs: vsftpd curl openssl (apt-get install vsftpd curl openssl); root
# (vsftpd's anonymous upload folder belongs to its `ftp` user).
set -euo pipefail

SIZE_MIB=${1:-1024}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
for tool in vsftpd curl openssl; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

echo "building ftpd (release)..." >&2
(cd "$REPO" && cargo build --release --quiet -p ftpd)
FTPD=$REPO/target/x86_64-unknown-linux-gnu/release/ftpd

WORK=$(mktemp -d /tmp/ftpd-bench.XXXXXX)
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

# Runs curl and prints "MB/s peak_KiB".
measure() { # SERVER_PID CURL_ARGS...
	local server=$1 start end peak
	shift
	start=$(date +%s.%N)
	peak=$(peak_rss "$server" curl -sS "$@")
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" -v m="$SIZE_MIB" -v p="$peak" 'BEGIN { printf "%.0f %d\n", m * 1.048576 / (e - s), p }'
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

printf '%s MiB over loopback, curl as the client\n' "$SIZE_MIB"
printf '%-22s %10s %10s %8s %12s %12s\n' transfer "ftpd MB/s" "vsftpd" ratio "ftpd RSS" "vsftpd RSS"
for t in get:"download, plain" tls:"download, FTPS" put:"upload, plain"; do
	key=${t%%:*}
	read -r fm fr <<<"${R[f_$key]}"
	read -r vm vr <<<"${R[v_$key]}"
	awk -v n="${t#*:}" -v fm="$fm" -v vm="$vm" -v fr="$fr" -v vr="$vr" \
		'BEGIN { printf "%-22s %10d %10d %8.2f %9d KiB %9d KiB\n", n, fm, vm, fm / vm, fr, vr }'
done
echo "supervisor RSS: $(awk '/^VmRSS/ {print $2}' "/proc/$FTPD_PID/status") KiB" \
	"(vsftpd listener: $(awk '/^VmRSS/ {print $2}' "/proc/$VS_PID/status") KiB)"
