#!/usr/bin/env bash
# Every test: sets up the machine, checks formatting and lints, runs the
# unit and host tests, builds the image and runs the QEMU system tests.
# This is what CI runs (.ci/run).
#
#   ci/test.sh [--no-system]    (--no-system: skip the image and QEMU tests)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

system=1
[ "${1:-}" = "--no-system" ] && system=0

start=$(date +%s)
"$REPO/ci/setup.sh"
"$REPO/ci/lint.sh"
"$REPO/ci/check-buildroot.sh"

note "unit and host tests"
# nextest (on this kind of machine from the start) overlaps test binaries;
# cargo test runs them one after the other. The host tests mostly wait
# (sockets, sleeps, child processes): four at a time on two cores took 107 s
# where cargo test took 222. nextest skips doctests: they run apart.
if cargo nextest --version >/dev/null 2>&1; then
	cargo nextest run --workspace --exclude systest --locked --test-threads 4
	cargo test --doc --workspace --exclude systest --locked
else
	cargo test --workspace --exclude systest --locked
fi
note "fuzzing every parser of outside input (${FUZZ_SECONDS:-10} s each, two at a time)"
FUZZ_SECONDS="${FUZZ_SECONDS:-10}" "$REPO/ci/fuzz.sh"
note "flash.sh against fixtures"
if [ "$(id -u)" = 0 ]; then "$REPO/ci/test-flash.sh"; else sudo "$REPO/ci/test-flash.sh"; fi

if [ "$system" = 1 ]; then
	"$REPO/ci/build-image.sh"
	"$REPO/ci/test-keys.sh"
	# ci/check-reproducible.sh (a second image build, 2-3 minutes) is run
	# before a release rather than here: CI must stay under an hour.
	note "system tests (QEMU)"
	# Two at a time across test binaries (see above).
	if cargo nextest --version >/dev/null 2>&1; then
		cargo nextest run -p systest --locked --test-threads 2
	else
		cargo test -p systest --locked -- --test-threads 2
	fi
fi
note "all tests passed in $(($(date +%s) - start)) s"
