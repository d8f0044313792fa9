#!/usr/bin/env bash
# Installs the Debian packages the build (and, unless --build-only, the
# tests) need. Uses sudo when not run as root.
#
#   ci/setup.sh [--build-only | --bench]
#
#   --bench  also the peers the benchmarks compare with (restic, borg)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v apt-get >/dev/null || die "this needs Debian 12 (apt-get)"
command -v cargo >/dev/null || die "no Rust toolchain: install it with rustup (https://rustup.rs), then run this again"
case "${1:-}" in
--build-only) apt_install "${BUILD_PACKAGES[@]}" qemu-system-x86 qemu-utils ovmf ;;
--bench) apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" restic borgbackup ;;
*) apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" ;;
esac
