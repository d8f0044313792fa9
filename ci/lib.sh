# shellcheck shell=bash
# Shared by the scripts in ci/.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

note() {
	echo "==> $*" >&2
}

# shellcheck disable=SC2034 # used by the scripts that source this file
# Debian packages the build and the tests need, by what needs them.
BUILD_PACKAGES=(genimage grub-common grub-efi-amd64-bin grub-pc-bin squashfs-tools
	dosfstools mtools e2fsprogs cpio kmod binutils xz-utils zstd rauc openssl)
# shellcheck disable=SC2034
TEST_PACKAGES=(qemu-system-x86 qemu-utils ovmf samba smbclient lftp curl exfatprogs
	ntfs-3g fdisk mount shellcheck python3-kconfiglib socat tmux ftp python3 bmap-tools libarchive-tools 7zip time age python3-aiosmtpd
	openssh-client)

# require_tools TOOL:PACKAGE...: fails with the package to install for the
# first missing tool.
require_tools() {
	local missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		die "missing tools; install them with: sudo apt-get install ${missing[*]} (or run ci/setup.sh, with --bench for the benchmarks' peers)"
	fi
}

# apt_install PACKAGE...: installs what is not installed yet.
apt_install() {
	local sudo='' updated=0 round need p
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	# Twice: installing one package can remove another that was there (a
	# machine's backported qemu-utils goes when Debian 12's qemu-system-x86
	# comes in), so what is missing after the first round is installed in
	# the second, from Debian's own versions.
	for round in 1 2; do
		need=()
		for p in "$@"; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
		done
		[ ${#need[@]} -eq 0 ] && return 0
		[ "$round" = 2 ] && note "installing again what the first round removed: ${need[*]}"
		[ "$round" = 1 ] && note "installing ${need[*]}"
		[ "$updated" = 1 ] || $sudo apt-get update -qq
		updated=1
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	done
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			die "$p is not installed after two rounds of apt-get install"
	done
}

# ---- for the benchmark scripts ----

# Seconds a command takes, wall clock, its stdout discarded; the disk is
# flushed first so no step pays for the previous one's writeback.
seconds() {
	local t0 t1
	sync
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
