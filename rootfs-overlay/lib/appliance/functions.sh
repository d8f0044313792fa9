# shellcheck shell=sh
# Shared by the init scripts. POSIX sh (BusyBox ash).

log_error() {
	echo "$0: $*" >&2
	logger -t "${0##*/}" -p daemon.err -- "$*" 2>/dev/null
}

# is_mounted DIR: something is mounted on DIR (BusyBox has no mountpoint here).
is_mounted() {
	grep -q "^[^ ]* $1 " /proc/mounts 2>/dev/null
}

# rotate_log FILE MAX_BYTES KEEP: FILE -> FILE.0 -> ... -> FILE.<KEEP>.
rotate_log() {
	[ -f "$1" ] || return 0
	[ "$(wc -c <"$1")" -gt "$2" ] || return 0
	i=$3
	while [ "$i" -gt 0 ]; do
		prev=$((i - 1))
		[ -f "$1.$prev" ] && mv "$1.$prev" "$1.$i"
		i=$prev
	done
	mv "$1" "$1.0"
}

# Prints the device node of the GPT partition named $1 (the kernel reports
# partition names as PARTNAME in each block device's uevent).
find_partition() {
	for ev in /sys/class/block/*/uevent; do
		if grep -qx "PARTNAME=$1" "$ev" 2>/dev/null; then
			dev=${ev%/uevent}
			echo "/dev/${dev##*/}"
			return 0
		fi
	done
	return 1
}

# Present when the services must not start: /data is not in a state they
# may use (an interrupted restore that could not be finished). It says why.
HOLD_FILE=/run/appliance-hold

# start_service NAME [ARG...]: runs /usr/bin/NAME in the background with a
# pid file; the service logs to syslog itself.
start_service() {
	name=$1
	shift
	if [ -f "$HOLD_FILE" ]; then
		log_error "$name not started: $(cat "$HOLD_FILE")"
		return 1
	fi
	if [ ! -x "/usr/bin/$name" ]; then
		log_error "/usr/bin/$name is not installed"
		return 1
	fi
	start-stop-daemon -S -q -b -m -p "/run/$name.pid" -x "/usr/bin/$name" -- "$@"
}

# stop_service NAME: SIGTERM, then up to 10 s for a clean exit, then SIGKILL.
stop_service() {
	name=$1
	pidfile=/run/$name.pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null
	tries=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$tries" -ge 100 ]; then
			log_error "$name did not stop in 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		usleep 100000
		tries=$((tries + 1))
	done
	rm -f "$pidfile"
}

# reload_service NAME: SIGHUP, which makes a service re-read its configuration.
reload_service() {
	[ -f "/run/$1.pid" ] && kill -HUP "$(cat "/run/$1.pid")" 2>/dev/null
}

# service_running NAME: its pid file names a live process.
service_running() {
	[ -f "/run/$1.pid" ] && kill -0 "$(cat "/run/$1.pid")" 2>/dev/null
}

# The slot GRUB booted (rauc.slot= on the kernel command line).
booted_slot() {
	read -r cmdline </proc/cmdline
	for arg in $cmdline; do
		case "$arg" in
		rauc.slot=*)
			echo "${arg#rauc.slot=}"
			return 0
			;;
		esac
	done
	return 1
}

# The Rust services: /etc/init.d/S<NN><name> links to the shared service
# script, for each installed /usr/bin/<name>.
service_names() {
	for link in /etc/init.d/S[0-9][0-9]*; do
		[ "$(readlink "$link")" = ../../lib/appliance/service ] || continue
		name=${link##*/S[0-9][0-9]}
		[ -x "/usr/bin/$name" ] && echo "$name"
	done
}

# other_slot_good SLOT: RAUC reports a slot other than SLOT as good.
other_slot_good() {
	status=$(rauc status --detailed --output-format=shell 2>/dev/null) || return 1
	# rauc quotes every value for the shell.
	eval "$status"
	for i in $RAUC_SLOTS; do
		eval "name=\$RAUC_SLOT_BOOTNAME_$i boot=\$RAUC_SLOT_BOOT_STATUS_$i"
		# shellcheck disable=SC2154 # set by the eval above
		if [ -n "$name" ] && [ "$name" != "$1" ] && [ "$boot" = good ]; then
			return 0
		fi
	done
	return 1
}

# link_boot_partitions: /dev/disk/by-partlabel/<name> for each partition of
# the disk holding the booted root slot (only that disk: a USB drive may
# carry partitions of the same names).
link_boot_partitions() {
	root=$(find_partition "$(root_label)") || return 1
	disk=$(readlink -f "/sys/class/block/${root#/dev/}/..")
	mkdir -p /dev/disk/by-partlabel
	for part in "$disk"/*/partition; do
		dir=${part%/partition}
		name=$(sed -n 's/^PARTNAME=//p' "$dir/uevent")
		[ -n "$name" ] && ln -sfn "/dev/${dir##*/}" "/dev/disk/by-partlabel/$name"
	done
	return 0
}

# The partition name of the booted root (root=PARTLABEL=<name>).
root_label() {
	read -r cmdline </proc/cmdline
	for arg in $cmdline; do
		case "$arg" in
		root=PARTLABEL=*)
			echo "${arg#root=PARTLABEL=}"
			return 0
			;;
		esac
	done
	return 1
}
