#!/usr/bin/env bash
# Formatting, lints and shell checks: what a change must pass to land.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

note "cargo fmt"
cargo fmt --all -- --check
note "cargo clippy"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
note "shellcheck"
mapfile -t scripts < <({
	git ls-files -- '*.sh' 'ci/*' '.ci/*' 'flash.sh' 'board/*' 'rootfs-overlay/*'
} | sort -u | while read -r f; do
	# Regular files only (init script links point at one shared script),
	# and only shell scripts.
	if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi
	head -n 1 "$f" | grep -qE '^#!.*(sh|bash)' || grep -q '^# shellcheck shell=' "$f" || continue
	echo "$f"
done)
shellcheck -x "${scripts[@]}"
note "shellcheck: ${#scripts[@]} scripts clean"
note "crate layers"
python3 "$REPO/ci/check-layers.py"
