#!/usr/bin/env bash
# No test hooks in release code: the release root's programs hold no test
# hook and none of the test image's own programs; the test root's hooked
# programs do hold theirs (so the check can see a hook when there is one).
#
#   ci/check-test-hooks.sh release ROOT   (the release image's root file system)
#   ci/check-test-hooks.sh test ROOT      (the test image's)
#
# A test hook is an environment variable named after its program or crate
# with _TEST_ in it (RECOVER_TEST_PAUSE), compiled in only with a cargo
# feature the release build never enables (board/appliance/rust-test-binaries
# names them; ci/build-image.sh runs this check on both roots).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: ${0##*/} release|test ROOT"
kind=$1
root=$2
[ -d "$root/usr/bin" ] || die "$root has no usr/bin"

list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$REPO/board/appliance/$1"; }
mapfile -t release < <(list rust-binaries)
mapfile -t test_lines < <(list rust-test-binaries)

# The hook names: <PROGRAM or CRATE>_TEST_<...>, for every program and crate.
names=("${release[@]}" APPLIANCE)
for line in "${test_lines[@]}"; do names+=("${line%% *}"); done
for dir in "$REPO"/firmware/*/; do names+=("$(basename "$dir")"); done
prefixes=$(printf '%s\n' "${names[@]}" | tr 'a-z-' 'A-Z_' | sort -u | paste -sd'|')
pattern="(^|[^A-Z0-9_])($prefixes)_TEST_[A-Z0-9_]*"

hooks_in() { # FILE -> the hook names it holds, one a line
	LC_ALL=C grep -aoE "$pattern" "$1" | sed -E 's/^[^A-Z]//' | sort -u || true
}

case "$kind" in
release)
	bad=0
	for b in "${release[@]}"; do
		[ -f "$root/usr/bin/$b" ] || die "$root/usr/bin/$b is missing"
		found=$(hooks_in "$root/usr/bin/$b")
		if [ -n "$found" ]; then
			echo "release $b holds test hooks: $(echo "$found" | paste -sd' ')" >&2
			bad=1
		fi
	done
	for line in "${test_lines[@]}"; do
		b=${line%% *}
		if printf '%s\n' "${release[@]}" | grep -qx "$b"; then continue; fi
		if [ -e "$root/usr/bin/$b" ]; then
			echo "the test program $b is in the release root" >&2
			bad=1
		fi
	done
	[ "$bad" = 0 ] || die "test hooks in the release root $root"
	note "release root: no test hooks in ${#release[@]} programs, no test programs"
	;;
test)
	for line in "${test_lines[@]}"; do
		read -r b features <<<"$line"
		[ -f "$root/usr/bin/$b" ] || die "the test root lacks $b"
		# A program built with a test feature must show a hook: proof that
		# the release check above would find one.
		if [ -n "$features" ] && [ -z "$(hooks_in "$root/usr/bin/$b")" ]; then
			die "the test root's $b was built with $features but holds no hook"
		fi
	done
	note "test root: ${#test_lines[@]} test programs, hooks where built in"
	;;
*) die "usage: ${0##*/} release|test ROOT" ;;
esac
