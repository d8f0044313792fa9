#!/bin/sh
# Fails unless every FILE is a static executable: no program interpreter and
# no shared library. Both builds run it on the Rust programs they install
# (ci/build-image.sh, buildroot/package/appliance-services). READELF: the
# readelf to use (Buildroot passes its target readelf).
#
#   check-static.sh FILE...
set -eu
readelf=${READELF:-readelf}
[ $# -gt 0 ] || { echo "usage: ${0##*/} FILE..." >&2; exit 2; }
for f in "$@"; do
	[ -f "$f" ] || { echo "check-static.sh: no file $f" >&2; exit 1; }
	if "$readelf" -lW "$f" | grep -q 'program interpreter' ||
		"$readelf" -dW "$f" | grep -q '(NEEDED)'; then
		echo "check-static.sh: $f is not statically linked" >&2
		exit 1
	fi
done
