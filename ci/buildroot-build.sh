#!/usr/bin/env bash
# The real Buildroot build of a defconfig, offline: every source comes from
# the download folder ci/buildroot-mirror.sh filled (Debian's substitutes
# on, see docs/buildroot.md), and make runs with the network cut off
# (unshare -n), so nothing can be fetched behind our back.
#
#   ci/buildroot-build.sh [--out DIR] [--buildroot DIR] [--dl DIR]
#                         [--tools DIR] [--keys DIR] [--jobs N] [DEFCONFIG]
#   ci/buildroot-build.sh --timings [--out DIR] [DEFCONFIG]
#
# DEFCONFIG: default appliance_qemu_x86_64_defconfig (the image the system
#   tests boot)
# --out: Buildroot's output folder (default <repo>/out/buildroot/DEFCONFIG);
#   images in DIR/images
# --buildroot, --dl: as ci/buildroot-mirror.sh (defaults
#   /work/br/buildroot-2026.02.3 and /work/br/dl)
# --tools: host tools Debian 12 lacks, put first on PATH (GNU tar 1.35,
#   built by ci/buildroot-mirror.sh; default /work/br/tools)
# --keys: signing keys and GRUB's recovery password made here once
#   (default /work/br/keys): the QEMU defconfig's test image is always signed
#   with the test key (KEYS/keys-test, as ci/build-image.sh), another
#   defconfig with RAUC_KEY/RAUC_CERT/RAUC_KEYRING/GRUB_PASSWORD_HASH from
#   the environment or else a development key (KEYS/keys)
# --jobs: BR2_JLEVEL (default: the number of cores)
#
# --timings: print the seconds each package took so far (from
#   build-time.log, every finished step of every run), slowest first, and
#   the total; build nothing.
#
# Resumable: run it again and make carries on where it stopped. Log:
# DIR/build.log (appended, one line per start); per-package step timings:
# DIR/build/build-time.log (Buildroot's own).
set -euo pipefail
shopt -s inherit_errexit
# Read whole before it runs: the build takes hours, and bash reads a script
# as it goes, so an edit meanwhile would otherwise change the running copy.
{
. "$(dirname "$0")/lib.sh"

BUILDROOT=/work/br/buildroot-2026.02.3
DL=/work/br/dl
TOOLS=/work/br/tools
KEYS=/work/br/keys
OUT=
JOBS=$(nproc)
DEFCONFIG=appliance_qemu_x86_64_defconfig
TIMINGS=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift 2 ;;
	--buildroot) BUILDROOT=$2; shift 2 ;;
	--dl) DL=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	--keys) KEYS=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--timings) TIMINGS=1; shift ;;
	-h | --help)
		sed -n '2,34s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	-*) die "unknown option $1 (see --help)" ;;
	*) DEFCONFIG=$1; shift ;;
	esac
done
[ -f "$REPO/buildroot/configs/$DEFCONFIG" ] || die "no defconfig $DEFCONFIG in buildroot/configs"
if [ "$TIMINGS" = 1 ]; then
	log=${OUT:-$REPO/out/buildroot/$DEFCONFIG}/build/build-time.log
	[ -f "$log" ] || die "no $log yet"
	# Lines: <epoch>:start|end  :<step> : <package>; a step cut short by a
	# stop has no end and is not counted.
	awk -F: '{ gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4); k = $4 ":" $3 }
		$2 == "start" { t[k] = $1 }
		$2 == "end" && (k in t) { s[$4] += $1 - t[k]; all += $1 - t[k]; delete t[k] }
		END { for (p in s) printf "%8.0f  %s\n", s[p], p; printf "%8.0f  total\n", all }' "$log" |
		sort -rn
	exit 0
fi
[ -f "$BUILDROOT/Makefile" ] || die "no Buildroot tree in $BUILDROOT (see docs/buildroot.md)"
[ -d "$DL" ] || die "no download folder $DL: run ci/buildroot-mirror.sh first"
[ -n "$OUT" ] || OUT=$REPO/out/buildroot/$DEFCONFIG
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DL=$(cd "$DL" && pwd)
require_tools make:make rsync:rsync unshare:util-linux cpio:cpio bc:bc file:file \
	patch:patch perl:perl python3:python3 unzip:unzip g++:g++ cmake:cmake \
	fakeroot:fakeroot genimage:genimage kmod:kmod
# Buildroot 2026.02 wants GNU tar 1.35 (Debian 12 has 1.34; else it builds
# its own, from a source that is not in Debian).
export PATH=$TOOLS/bin:$PATH
tar_version=$(tar --version | sed -n '1s/.* //p')
[ "$(printf '%s\n' 1.35 "$tar_version" | sort -V | head -n 1)" = 1.35 ] ||
	die "tar $tar_version on PATH; Buildroot needs 1.35: run ci/buildroot-mirror.sh (it builds one into $TOOLS)"

# The configuration: the defconfig, then the Debian substitutes and the
# download folder. Redone when the defconfig or the substitutes change; the
# build folders stay, so the build goes on from there.
fragment=$REPO/buildroot/debian-sources/debian-sources.config
stamp=$OUT/.appliance-config
want=$(cat "$REPO/buildroot/configs/$DEFCONFIG" "$fragment" | sha256sum | cut -c1-16)
if [ ! -f "$OUT/.config" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	note "configuring $DEFCONFIG in $OUT"
	make -s -C "$BUILDROOT" O="$OUT" BR2_EXTERNAL="$REPO/buildroot" "$DEFCONFIG" >/dev/null
	{
		cat "$fragment"
		echo "BR2_DL_DIR=\"$DL\""
		echo "BR2_JLEVEL=$JOBS"
		# Nothing to fetch from: an unknown file is an error at once.
		echo 'BR2_PRIMARY_SITE=""'
		echo 'BR2_BACKUP_SITE=""'
	} >>"$OUT/.config"
	make -s -C "$OUT" olddefconfig >/dev/null
	echo "$want" >"$stamp"
fi

# Keys, as ci/build-image.sh has them: post-build.sh and post-image.sh read
# them from the environment.
# shellcheck source=keys.sh
. "$REPO/ci/keys.sh"
test_image=0
grep -q 'board/appliance/test-overlay' "$REPO/buildroot/configs/$DEFCONFIG" && test_image=1
if [ "$test_image" = 1 ]; then
	# The test image: root's password is public, so only the test key.
	make_test_key "$KEYS/keys-test"
	RAUC_KEY=$KEYS/keys-test/test.key.pem
	RAUC_CERT=$KEYS/keys-test/test.cert.pem
	RAUC_KEYRING=$RAUC_CERT
	dev_grub_password "$KEYS/keys"
elif [ -z "${RAUC_KEY:-}" ]; then
	RAUC_KEY=$KEYS/keys/development.key.pem
	RAUC_CERT=$KEYS/keys/development.cert.pem
	make_signing_key "$RAUC_KEY" "$RAUC_CERT" "/O=Mail appliance/CN=development"
	RAUC_KEYRING=${RAUC_KEYRING:-$RAUC_CERT}
	[ -n "${GRUB_PASSWORD_HASH:-}" ] || dev_grub_password "$KEYS/keys"
else
	if [ -z "${RAUC_CERT:-}" ] || [ -z "${RAUC_KEYRING:-}" ] || [ -z "${GRUB_PASSWORD_HASH:-}" ]; then
		die "a release build (RAUC_KEY given) needs RAUC_CERT, RAUC_KEYRING and GRUB_PASSWORD_HASH too"
	fi
fi
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct)}
export RAUC_KEY RAUC_CERT RAUC_KEYRING GRUB_PASSWORD_HASH SOURCE_DATE_EPOCH

offline=(unshare -n)
[ "$(id -u)" -eq 0 ] || offline=(unshare -r -n)
echo "=== $(date -u +%FT%TZ) ci/buildroot-build.sh $DEFCONFIG (pid $$)" >>"$OUT/build.log"
note "building $DEFCONFIG offline; log $OUT/build.log, timings $OUT/build/build-time.log"
status=0
"${offline[@]}" nice -n 19 make -C "$OUT" >>"$OUT/build.log" 2>&1 || status=$?
echo "=== $(date -u +%FT%TZ) make exited with $status" >>"$OUT/build.log"
if [ "$status" != 0 ]; then
	grep -E '^>>> ' "$OUT/build.log" | tail -n 1 >&2 || true
	tail -n 30 "$OUT/build.log" >&2
	die "the build stopped (exit $status); fix and run again to resume"
fi
# No test hook in a release root; the test root's hooked programs have theirs.
if [ "$test_image" = 1 ]; then
	"$REPO/ci/check-test-hooks.sh" test "$OUT/target"
	# What the system tests need beside the image, as ci/build-image.sh
	# leaves it in out/test: the root file system their upgrade bundles
	# carry, the test signing key, the manifest template, GRUB's password.
	rm -rf "$OUT/images/test"
	mkdir -p "$OUT/images/test"
	cp "$OUT/images/rootfs.squashfs" "$OUT/images/test/rootfs.squashfs"
	cp "$RAUC_KEY" "$OUT/images/test/signing.key.pem"
	cp "$RAUC_CERT" "$OUT/images/test/signing.cert.pem"
	cp "$REPO/board/appliance/rauc/manifest.raucm.in" "$OUT/images/test/"
	install -m 0600 "$KEYS/keys/grub-password" "$OUT/images/test/grub-password"
	note "built: $OUT/images/disk.img; system tests: APPLIANCE_IMAGE=$OUT/images/disk.img cargo nextest run -p systest"
else
	"$REPO/ci/check-test-hooks.sh" release "$OUT/target"
	note "built: $OUT/images"
fi
exit
}
