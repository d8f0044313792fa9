# shellcheck shell=bash
# Signing keys and GRUB's recovery password for the local build
# (ci/build-image.sh), apart so that ci/test-keys.sh can check them alone.
#
# Three keys, never mixed up:
#   release  RAUC_KEY/RAUC_CERT (production, the caller keeps them), or the
#            development key made once in BUILD/keys; signs
#            out/appliance-<version>.raucb; release images trust RAUC_KEYRING.
#   test     made once in BUILD/keys-test, its certificate marked
#            OU=$TEST_CERT_OU; signs the test image's bundle and the system
#            tests' bundles (out/test/); only the test image trusts it.
# The production key is only ever read by rauc when it signs: nothing here
# copies it.

# TEST_CERT_OU and certs_include_test come from board/appliance/lib.sh.
# shellcheck source=../board/appliance/lib.sh
. "$REPO/board/appliance/lib.sh"

# make_signing_key KEY CERT SUBJECT: a key and its self-signed certificate,
# made once (the key readable by its owner only).
make_signing_key() {
	local key=$1 cert=$2 subject=$3
	[ -f "$key" ] && [ -f "$cert" ] && return 0
	mkdir -p "$(dirname "$key")" "$(dirname "$cert")"
	chmod 0700 "$(dirname "$key")"
	(umask 077 && openssl req -x509 -newkey rsa:3072 -nodes -days 36500 -subj "$subject" \
		-keyout "$key" -out "$cert" 2>/dev/null) || die "openssl could not make a key in $(dirname "$key")"
}

# make_test_key DIR: the test key (DIR/test.key.pem, DIR/test.cert.pem).
make_test_key() {
	make_signing_key "$1/test.key.pem" "$1/test.cert.pem" \
		"/O=Mail appliance/OU=$TEST_CERT_OU/CN=system tests"
}

# cert_pubkey CERT: SHA-256 of the certificate's public key (DER), the
# first one of the file.
cert_pubkey() {
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

# key_pubkey KEY: SHA-256 of a private key file's public key (DER).
key_pubkey() {
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# certs_pubkeys PEMFILE: cert_pubkey of every certificate in the file.
certs_pubkeys() {
	local tmp
	tmp=$(mktemp -d)
	awk -v dir="$tmp" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (dir "/" n ".pem") }' "$1"
	for f in "$tmp"/*.pem; do
		[ -f "$f" ] && cert_pubkey "$f"
	done
	rm -rf "$tmp"
}

same_file() {
	[ -e "$1" ] && [ -e "$2" ] && [ "$(realpath "$1")" = "$(realpath "$2")" ]
}

# check_test_key_apart TEST_KEY TEST_CERT RELEASE_KEY RELEASE_CERT KEYRING:
# dies unless the test key is a test key and nothing like the release key
# (RELEASE_KEY may be a PKCS#11 URI: it is compared by name only), and the
# release images' keyring does not trust it.
check_test_key_apart() {
	local tkey=$1 tcert=$2 rkey=$3 rcert=$4 keyring=$5 tpub rpub
	if [ "$tkey" = "$rkey" ] || same_file "$tkey" "$rkey"; then
		die "the test key is the release key ($rkey): refusing to sign the test image with it"
	fi
	! same_file "$tcert" "$rcert" ||
		die "the test certificate is the release certificate ($rcert): refusing to sign the test image with it"
	# sha256sum of nothing: what cert_pubkey gives for an unreadable file.
	local none
	none=$(printf '' | sha256sum | cut -d' ' -f1)
	tpub=$(cert_pubkey "$tcert")
	rpub=$(cert_pubkey "$rcert")
	[ "$tpub" != "$none" ] || die "cannot read the test certificate $tcert"
	[ "$rpub" != "$none" ] || die "cannot read the release certificate $rcert"
	[ "$(key_pubkey "$tkey")" = "$tpub" ] ||
		die "the test key $tkey does not belong to the test certificate $tcert"
	[ "$tpub" != "$rpub" ] ||
		die "the test certificate $tcert has the release key's public key: refusing to sign the test image with it"
	certs_include_test "$tcert" ||
		die "the test certificate $tcert is not marked OU=$TEST_CERT_OU"
	! certs_include_test "$rcert" ||
		die "the release certificate $rcert is a test certificate (OU=$TEST_CERT_OU)"
	! certs_pubkeys "$keyring" | grep -qx "$tpub" ||
		die "the release keyring $keyring trusts the test key: test bundles would install in the field"
}

# dev_grub_password DIR: GRUB's recovery password of development builds,
# made once in DIR/grub-password (its hash in DIR/grub-password.pbkdf2) and
# printed when made; sets GRUB_PASSWORD_HASH.
dev_grub_password() {
	local dir=$1 pw
	if [ ! -s "$dir/grub-password" ] || [ ! -s "$dir/grub-password.pbkdf2" ]; then
		mkdir -p "$dir"
		chmod 0700 "$dir"
		pw=$(openssl rand -base64 24 | tr -dc 'A-Za-z0-9' | head -c 20)
		[ ${#pw} -eq 20 ] || die "openssl rand gave no password"
		(umask 077 && printf '%s\n' "$pw" >"$dir/grub-password")
		printf '%s\n%s\n' "$pw" "$pw" | grub-mkpasswd-pbkdf2 2>/dev/null |
			sed -n 's/^PBKDF2 hash of your password is //p' >"$dir/grub-password.pbkdf2"
		note "GRUB recovery password of this build folder's images (user recovery): $pw (kept in $dir/grub-password)"
	fi
	GRUB_PASSWORD_HASH=$(cat "$dir/grub-password.pbkdf2")
	grub_password_hash_valid "$GRUB_PASSWORD_HASH" || die "$dir/grub-password.pbkdf2 holds no GRUB password hash"
}
