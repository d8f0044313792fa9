#!/usr/bin/env bash
# The release signing key never reaches the test image, and stays where its
# owner keeps it (issue 15, item 2).
#
#   ci/test-keys.sh [--out DIR] [--build DIR] [--full]
#
# 1. Unit checks with throwaway keys (seconds): ci/keys.sh refuses a test
#    key that is the release key (same path, a copy, a certificate over the
#    same key), a test certificate without the test mark, a release keyring
#    that trusts the test key; post-build.sh refuses a release root that
#    trusts a test certificate, post-image.sh signs a test root only with a
#    test certificate and a release root never with one.
# 2. The outputs of the build in DIR (default out/ and build/, as
#    ci/test.sh leaves them): the test image's bundle is signed by the test
#    certificate and is refused by the release certificate, the release
#    bundle the other way round; the release root trusts no test
#    certificate, the test root only the test one; out/test holds the test
#    key; no file holds the release private key (but the development key's
#    own file in build/keys), nor the development GRUB password outside
#    build/keys and out/test.
# 3. --full: first builds the image with a throwaway "production" key kept
#    outside the output folders (RAUC_KEY, RAUC_CERT, GRUB_PASSWORD_HASH)
#    into temporary folders, then checks (2) there: no byte of that key
#    anywhere under them. Takes as long as an image build (the download
#    cache and Debian's kernel are shared with DIR).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO/ci/keys.sh"

OUT=$REPO/out
BUILD=$REPO/build
FULL=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--full) FULL=1; shift ;;
	-h | --help)
		sed -n '2,25s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
require_tools openssl:openssl rauc:rauc grub-mkpasswd-pbkdf2:grub-common

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}

# expect_refusal WHAT PATTERN COMMAND...: the command fails, saying PATTERN.
expect_refusal() {
	local what=$1 pattern=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$what: accepted"
	elif ! grep -q -- "$pattern" <<<"$out"; then
		fail "$what: refused for another reason: $out"
	else
		pass "$what: refused"
	fi
}

expect_accept() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$what"
	else
		fail "$what: $out"
	fi
}

# --- 1. unit checks ----------------------------------------------------------
note "key handling with throwaway keys"
K=$WORK/keys
mkdir -p "$K/secure"
make_signing_key "$K/secure/release.key.pem" "$K/secure/release.cert.pem" "/O=Throwaway/CN=release"
make_test_key "$K/test"
[ "$(stat -c %a "$K/test/test.key.pem")" = 600 ] || fail "the test key is readable by others"
[ "$(stat -c %a "$K/test")" = 700 ] || fail "the test key's folder is open to others"
rel_key=$K/secure/release.key.pem
rel_cert=$K/secure/release.cert.pem
apart() { (check_test_key_apart "$@"); }

expect_accept "a test key apart from the release key" \
	apart "$K/test/test.key.pem" "$K/test/test.cert.pem" "$rel_key" "$rel_cert" "$rel_cert"
expect_accept "a release key on a PKCS#11 token" \
	apart "$K/test/test.key.pem" "$K/test/test.cert.pem" "pkcs11:token=release;object=key" "$rel_cert" "$rel_cert"
expect_refusal "the release key as the test key" "is the release key" \
	apart "$rel_key" "$rel_cert" "$rel_key" "$rel_cert" "$rel_cert"
ln -s "$rel_key" "$K/link.key.pem"
expect_refusal "a link to the release key as the test key" "is the release key" \
	apart "$K/link.key.pem" "$K/test/test.cert.pem" "$rel_key" "$rel_cert" "$rel_cert"
# A copy of the release key under another name, with a certificate marked
# for tests: same public key.
cp "$rel_key" "$K/copy.key.pem"
openssl req -x509 -new -key "$K/copy.key.pem" -days 1 -subj "/O=Throwaway/OU=$TEST_CERT_OU/CN=copy" \
	-out "$K/copy.cert.pem" 2>/dev/null
expect_refusal "a copy of the release key with a test certificate" "has the release key's public key" \
	apart "$K/copy.key.pem" "$K/copy.cert.pem" "$rel_key" "$rel_cert" "$rel_cert"
expect_refusal "a test key with a certificate of another key" "does not belong" \
	apart "$K/test/test.key.pem" "$K/copy.cert.pem" "$rel_key" "$rel_cert" "$rel_cert"
make_signing_key "$K/plain.key.pem" "$K/plain.cert.pem" "/O=Throwaway/CN=not marked"
expect_refusal "a test certificate without the test mark" "is not marked" \
	apart "$K/plain.key.pem" "$K/plain.cert.pem" "$rel_key" "$rel_cert" "$rel_cert"
cat "$rel_cert" "$K/test/test.cert.pem" >"$K/keyring.pem"
expect_refusal "a release keyring that trusts the test key" "trusts the test key" \
	apart "$K/test/test.key.pem" "$K/test/test.cert.pem" "$rel_key" "$rel_cert" "$K/keyring.pem"
expect_refusal "a test certificate as the release certificate" "is a test certificate" \
	apart "$K/test/test.key.pem" "$K/test/test.cert.pem" "$K/copy.key.pem" "$K/copy.cert.pem" "$rel_cert"

# post-build.sh on a bare release root: the keyring is checked before
# anything is built.
fake_target() {
	local t=$1
	mkdir -p "$t/bin" "$t/boot" "$t/usr/bin" "$t/etc"
	# Scripts stand in for the programs: no libraries to copy.
	printf '#!/bin/sh\n' >"$t/bin/busybox"
	printf '#!/bin/sh\n' >"$t/usr/bin/grub-editenv"
	chmod 0755 "$t/bin/busybox" "$t/usr/bin/grub-editenv"
	: >"$t/boot/bzImage"
}
fake_target "$WORK/release-root"
expect_refusal "post-build.sh: a release root trusting a test certificate" "holds a test certificate" \
	env RAUC_KEYRING="$K/keyring.pem" SOURCE_DATE_EPOCH=0 "$REPO/board/appliance/post-build.sh" "$WORK/release-root"
expect_accept "post-build.sh: a release root trusting the release certificate" \
	env RAUC_KEYRING="$rel_cert" SOURCE_DATE_EPOCH=0 "$REPO/board/appliance/post-build.sh" "$WORK/release-root"
[ -s "$WORK/release-root/boot/initrd.img" ] || fail "post-build.sh made no initramfs"

# post-image.sh checks its signer before it lays anything out (the empty
# images folder only makes it stop right after).
hash=$(printf 'x\nx\n' | grub-mkpasswd-pbkdf2 | sed -n 's/^PBKDF2 hash of your password is //p')
mkdir -p "$WORK/images" "$WORK/test-root/etc"
: >"$WORK/test-root/etc/appliance-test-image"
post_image() { # TARGET KEY CERT
	env GRUB_PASSWORD_HASH="$hash" TARGET_DIR="$1" RAUC_KEY="$2" RAUC_CERT="$3" \
		"$REPO/board/appliance/post-image.sh" "$WORK/images"
}
expect_refusal "post-image.sh: the test root signed with the release key" "refusing to sign the test image" \
	post_image "$WORK/test-root" "$rel_key" "$rel_cert"
expect_refusal "post-image.sh: a release root signed with the test key" "refusing to sign a release image" \
	post_image "$WORK/release-root" "$K/test/test.key.pem" "$K/test/test.cert.pem"
if out=$(post_image "$WORK/test-root" "$K/test/test.key.pem" "$K/test/test.cert.pem" 2>&1) ||
	! grep -q "missing $WORK/images/rootfs.squashfs" <<<"$out"; then
	fail "post-image.sh: the test root signed with the test key: $out"
else
	pass "post-image.sh: the test root signed with the test key gets past the signer check"
fi
expect_refusal "post-image.sh: no GRUB password hash" "no GRUB_PASSWORD_HASH" \
	env -u GRUB_PASSWORD_HASH TARGET_DIR="$WORK/release-root" "$REPO/board/appliance/post-image.sh" "$WORK/images"
expect_refusal "post-image.sh: a clear password as the hash" "not what grub-mkpasswd-pbkdf2 prints" \
	env GRUB_PASSWORD_HASH=secret TARGET_DIR="$WORK/release-root" "$REPO/board/appliance/post-image.sh" "$WORK/images"

# --- 3. a build with a throwaway production key -----------------------------
if [ "$FULL" = 1 ]; then
	note "a build with a throwaway production key"
	secure=$WORK/secure
	mkdir -p "$secure"
	make_signing_key "$secure/release.key.pem" "$secure/release.cert.pem" "/O=Throwaway/CN=production"
	full_out=$WORK/out
	full_build=$WORK/build
	mkdir -p "$full_build"
	# The download cache and the extracted kernel, linked (or copied).
	for d in dl kernel; do
		if [ -d "$BUILD/$d" ]; then
			cp -al "$BUILD/$d" "$full_build/$d" 2>/dev/null || cp -a "$BUILD/$d" "$full_build/$d"
		fi
	done
	start=$(date +%s)
	RAUC_KEY=$secure/release.key.pem RAUC_CERT=$secure/release.cert.pem GRUB_PASSWORD_HASH=$hash \
		"$REPO/ci/build-image.sh" --out "$full_out" --build "$full_build" >"$WORK/build.log" 2>&1 || {
		tail -n 30 "$WORK/build.log" >&2
		die "the build with the throwaway production key failed"
	}
	note "that build took $(($(date +%s) - start)) s"
	OUT=$full_out
	BUILD=$full_build
	RELEASE_KEY=$secure/release.key.pem
	RELEASE_CERT=$secure/release.cert.pem
	production=1
else
	[ -f "$OUT/manifest.txt" ] || die "no build in $OUT: run ci/build-image.sh first (or --full)"
	if grep -q '^release-signer production' "$OUT/manifest.txt"; then
		die "$OUT was built with a production key: check it with --full's throwaway key instead"
	fi
	RELEASE_KEY=$BUILD/keys/development.key.pem
	RELEASE_CERT=$BUILD/keys/development.cert.pem
	production=0
fi

# --- 2. the outputs ------------------------------------------------------------
note "the outputs in $OUT and $BUILD"
TEST_CERT=$BUILD/keys-test/test.cert.pem
version=$(sed -n 's/^firmware //p' "$OUT/manifest.txt")
release_bundle=$OUT/appliance-$version.raucb
test_bundle=$BUILD/images-test/appliance-$version.raucb
for f in "$RELEASE_CERT" "$TEST_CERT" "$release_bundle" "$test_bundle"; do
	[ -f "$f" ] || die "missing $f"
done
rel_pub=$(cert_pubkey "$RELEASE_CERT")
test_pub=$(cert_pubkey "$TEST_CERT")
[ "$rel_pub" != "$test_pub" ] || fail "the test certificate has the release key"

# The certificates in a verity bundle's CMS signature (the signature ends
# the bundle, followed by its size as 8 bytes big-endian).
bundle_signers() {
	local b=$1 size
	size=$(tail -c 8 "$b" | od -An -tu1 | awk '{ for (i = 1; i <= NF; i++) n = n * 256 + $i } END { print n }')
	tail -c $((size + 8)) "$b" | head -c "$size" >"$WORK/sig.der"
	openssl pkcs7 -inform DER -in "$WORK/sig.der" -print_certs 2>/dev/null >"$WORK/signers.pem"
	certs_pubkeys "$WORK/signers.pem"
}
signers=$(bundle_signers "$test_bundle")
if grep -qx "$test_pub" <<<"$signers" && ! grep -qx "$rel_pub" <<<"$signers"; then
	pass "the test bundle's signature carries the test certificate, not the release one"
else
	fail "the test bundle's signature carries: $signers"
fi
signers=$(bundle_signers "$release_bundle")
if grep -qx "$rel_pub" <<<"$signers" && ! grep -qx "$test_pub" <<<"$signers"; then
	pass "the release bundle's signature carries the release certificate"
else
	fail "the release bundle's signature carries: $signers"
fi
# What RAUC itself says: a keyring of the release certificate (what field
# units trust) refuses the test bundle.
rauc_verifies() { rauc info --keyring="$1" "$2" >"$WORK/rauc-info.log" 2>&1; }
if rauc_verifies "$RELEASE_CERT" "$test_bundle"; then
	fail "rauc accepts the test bundle with the release keyring"
else
	pass "rauc refuses the test bundle with the release keyring"
fi
rauc_verifies "$TEST_CERT" "$test_bundle" || fail "rauc refuses the test bundle with the test keyring: $(cat "$WORK/rauc-info.log")"
rauc_verifies "$RELEASE_CERT" "$release_bundle" || fail "rauc refuses the release bundle with the release keyring: $(cat "$WORK/rauc-info.log")"
if rauc_verifies "$TEST_CERT" "$release_bundle"; then
	fail "rauc accepts the release bundle with the test keyring"
fi

# What the two roots trust.
if certs_pubkeys "$BUILD/target/etc/rauc/keyring.pem" | grep -qx "$test_pub"; then
	fail "the release root trusts the test certificate"
else
	pass "the release root does not trust the test certificate"
fi
[ "$(certs_pubkeys "$BUILD/target-test/etc/rauc/keyring.pem")" = "$test_pub" ] ||
	fail "the test root trusts more or other than the test certificate"

# What out/test holds: the test key and certificate.
[ "$(key_pubkey "$OUT/test/signing.key.pem")" = "$test_pub" ] || fail "out/test/signing.key.pem is not the test key"
[ "$(cert_pubkey "$OUT/test/signing.cert.pem")" = "$test_pub" ] || fail "out/test/signing.cert.pem is not the test certificate"

# No copy of the release private key: its PEM lines, a run of its DER
# bytes, or any private key file with its public key.
openssl pkey -in "$RELEASE_KEY" -outform DER >"$WORK/release.der" 2>/dev/null
grep -v -- '-----' "$RELEASE_KEY" | awk 'length($0) >= 40' >"$WORK/pem-lines"
# 48 bytes from the middle of the DER key, free of NUL and newline (grep
# patterns are lines).
der_len=$(stat -c %s "$WORK/release.der")
: >"$WORK/der-run"
for ((off = der_len / 2; off + 48 < der_len; off += 7)); do
	if ! tail -c +$((off + 1)) "$WORK/release.der" | head -c 48 | od -An -tx1 | grep -qwE '00|0a'; then
		tail -c +$((off + 1)) "$WORK/release.der" | head -c 48 >"$WORK/der-run"
		break
	fi
done
[ -s "$WORK/der-run" ] || die "found no run of the release key's DER bytes to look for"
except=()
[ "$production" = 1 ] || except=(-not -path "$RELEASE_KEY")
leaks=$(
	find "$OUT" "$BUILD" -type f "${except[@]}" -print0 |
		LC_ALL=C xargs -0 -r grep -laF -f "$WORK/pem-lines" -f "$WORK/der-run" -- 2>/dev/null || true
)
while read -r f; do
	[ -n "$f" ] || continue
	if pub=$(openssl pkey -in "$f" -pubout -outform DER -passin pass: 2>/dev/null | sha256sum | cut -d' ' -f1) &&
		[ "$pub" = "$(key_pubkey "$RELEASE_KEY")" ]; then
		leaks+=$'\n'"$f"
	fi
done < <(find "$OUT" "$BUILD" -type f "${except[@]}" -print0 |
	LC_ALL=C xargs -0 -r grep -lE -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' 2>/dev/null || true)
if [ -n "${leaks//[[:space:]]/}" ]; then
	fail "the release private key is in: $(sort -u <<<"$leaks" | tr '\n' ' ')"
else
	pass "no file under $OUT or $BUILD holds the release private key$([ "$production" = 1 ] || echo " (but $RELEASE_KEY)")"
fi

# GRUB: the development password is kept in build/keys and handed to the
# system tests in out/test, never put in an image; production builds have
# only the hash.
if [ "$production" = 1 ]; then
	if [ -e "$OUT/test/grub-password" ]; then
		fail "a production build left a GRUB password in out/test"
	elif ! grep -q '^grub-password GRUB_PASSWORD_HASH' "$OUT/manifest.txt"; then
		fail "the manifest names another GRUB password"
	else
		pass "the production build used GRUB_PASSWORD_HASH and left no GRUB password in out/test"
	fi
else
	pw=$(cat "$BUILD/keys/grub-password")
	found=$(find "$OUT" "$BUILD" -type f -not -path "$BUILD/keys/grub-password" -not -path "$OUT/test/grub-password" -print0 |
		LC_ALL=C xargs -0 -r grep -laF -- "$pw" 2>/dev/null || true)
	if [ -n "$found" ]; then
		fail "the GRUB password is in clear in: $(tr '\n' ' ' <<<"$found")"
	else
		pass "the GRUB password is in clear only in build/keys and out/test"
	fi
fi

if [ "$failures" -gt 0 ]; then
	die "$failures check(s) failed"
fi
note "keys: all checks passed"
