#!/bin/sh
# Checks that a Kconfig .config (Linux, BusyBox) holds every option of one or
# more fragments.
#
#   check-kconfig-fragment.sh [--modules-ok] DOTCONFIG FRAGMENT...
#
# Strict (the default): each "CONFIG_X=value" of a fragment has that value in
# DOTCONFIG, each "# CONFIG_X is not set" is not set. The Buildroot build runs
# this after configuring the kernel and BusyBox (external.mk), because kconfig
# drops an option whose dependencies are missing without a word.
#
# --modules-ok: a bool or tristate option may be built in or a module, and
# "is not set" lines are not checked. ci/check-buildroot.sh checks Debian's
# kernel configuration (everything a module) this way.
set -eu

modules_ok=0
if [ "${1:-}" = "--modules-ok" ]; then
	modules_ok=1
	shift
fi
if [ $# -lt 2 ]; then
	echo "usage: ${0##*/} [--modules-ok] DOTCONFIG FRAGMENT..." >&2
	exit 2
fi
dotconfig=$1
shift
for f in "$dotconfig" "$@"; do
	[ -r "$f" ] || {
		echo "${0##*/}: cannot read $f" >&2
		exit 2
	}
done
[ -s "$dotconfig" ] || {
	echo "${0##*/}: $dotconfig is empty" >&2
	exit 1
}

# The first file is the .config, the others the fragments.
awk -v modules_ok="$modules_ok" -v dotconfig="$dotconfig" '
FILENAME != current { current = FILENAME; file++ }
function parse(line) {
	if (match(line, /^CONFIG_[A-Za-z0-9_]+=/)) {
		name = substr(line, 1, RLENGTH - 1)
		value = substr(line, RLENGTH + 1)
		return 1
	}
	if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
		split(line, words, " ")
		name = words[2]
		value = "n"
		return 1
	}
	return 0
}
file == 1 {
	if (parse($0)) have[name] = value
	next
}
parse($0) {
	checked++
	got = (name in have) ? have[name] : "n"
	if (got == value) next
	if (modules_ok && value == "n") next
	if (modules_ok && (value == "y" || value == "m") && (got == "y" || got == "m")) next
	if (name in have)
		printf "%s:%d: %s=%s wanted, %s has %s=%s\n", FILENAME, FNR, name, value, dotconfig, name, got
	else
		printf "%s:%d: %s=%s wanted, %s does not set it (a dependency missing, or no such option)\n", FILENAME, FNR, name, value, dotconfig
	bad++
}
END {
	if (bad) {
		printf "%d of %d options are not as the fragments want\n", bad, checked
		exit 1
	}
	printf "%s: all %d options of the fragments are set\n", dotconfig, checked
}
' "$dotconfig" "$@"
