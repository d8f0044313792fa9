#!/usr/bin/env bash
# Same inputs, same image: builds the image a second time into a temporary
# folder with the same SOURCE_DATE_EPOCH and compares the checksums with
# out/. Run after ci/build-image.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -f "$REPO/out/appliance.img.sha256" ] || die "build the image first (ci/build-image.sh)"
epoch=$(sed -n 's/^source-date-epoch //p' "$REPO/out/manifest.txt")
second=$(mktemp -d)
trap 'rm -rf "$second"' EXIT
SOURCE_DATE_EPOCH=$epoch "$REPO/ci/build-image.sh" --out "$second" >/dev/null 2>&1 ||
	die "the second build failed"
for img in appliance.img appliance-test.img; do
	a=$(cut -d' ' -f1 "$REPO/out/$img.sha256")
	b=$(cut -d' ' -f1 "$second/$img.sha256")
	[ "$a" = "$b" ] || die "$img differs between two builds of the same inputs ($a vs $b)"
done
note "reproducible: two builds gave the same images"
