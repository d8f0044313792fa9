#!/usr/bin/env bash
# The local image build: Debian's kernel and busybox-static in place of
# Buildroot's, the Rust services built here, and the same rootfs-overlay/,
# board/ scripts and genimage layout as the production build.
#
#   ci/build-image.sh [--out DIR] [--build DIR]
#
# Output: DIR/appliance.img (release), DIR/appliance-test.img (root can log
# in on the serial line, for the system tests), their .sha256 files,
# DIR/appliance-<version>.raucb (the field upgrade bundle),
# DIR/manifest.txt (versions of everything that went in) and DIR/test/
# (what the system tests need to make their own bundles).
#
# The release bundle is signed with RAUC_KEY/RAUC_CERT (production; give
# GRUB_PASSWORD_HASH too); without them a development key and GRUB password
# are made once in BUILD/keys. The test image is always signed with the
# test key of BUILD/keys-test (ci/keys.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian.sh"

OUT=$REPO/out
BUILD=$REPO/build
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	-h | --help)
		sed -n '2,17s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

require_tools rauc:rauc openssl:openssl apt-get:apt dpkg-deb:dpkg genimage:genimage grub-mkimage:grub-common \
	grub-editenv:grub-common mksquashfs:squashfs-tools mkdosfs:dosfstools mcopy:mtools \
	mke2fs:e2fsprogs cpio:cpio depmod:kmod modprobe:kmod readelf:binutils cargo:cargo
[ -d /usr/lib/grub/x86_64-efi ] || die "missing GRUB EFI modules: apt-get install grub-efi-amd64-bin"
[ -d /usr/lib/grub/i386-pc ] || die "missing GRUB BIOS modules: apt-get install grub-pc-bin"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
export LC_ALL=C
umask 022

DL=$BUILD/dl
mkdir -p "$DL" "$OUT"

# --- Debian's kernel and BusyBox ----------------------------------------
fetch_deb() { # PACKAGE -> path of its candidate's .deb in the download cache
	local pkg=$1 version
	version=$(apt-cache policy "$pkg" | sed -n 's/ *Candidate: //p')
	if [ -z "$version" ] || [ "$version" = "(none)" ]; then
		die "apt knows no package $pkg (run apt-get update?)"
	fi
	deb_file "$DL" "$pkg" "$version"
}

kmeta=$(fetch_deb linux-image-amd64)
kpkg=$(dpkg-deb -f "$kmeta" Depends | sed -n 's/.*\(linux-image-[0-9][^ ,]*\).*/\1/p')
[ -n "$kpkg" ] || die "cannot tell the kernel package from $kmeta"
kdeb=$(fetch_deb "$kpkg")
bbdeb=$(fetch_deb busybox-static)

KSRC=$BUILD/kernel
if [ ! -f "$KSRC/.extracted-$(basename "$kdeb")" ]; then
	note "extracting $(basename "$kdeb")"
	rm -rf "$KSRC"
	mkdir -p "$KSRC"
	dpkg-deb -x "$kdeb" "$KSRC"
	KVER=$(basename "$(find "$KSRC/lib/modules" -mindepth 1 -maxdepth 1 -type d)")
	depmod -b "$KSRC" "$KVER"
	touch "$KSRC/.extracted-$(basename "$kdeb")"
fi
KVER=$(basename "$(find "$KSRC/lib/modules" -mindepth 1 -maxdepth 1 -type d)")

# --- the Rust services ----------------------------------------------------
# The release's programs, and the test image's own builds
# (board/appliance/rust-test-binaries: test-only programs, and programs
# rebuilt with test features such as recover's fault injection).
board_list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$REPO/board/appliance/$1"; }
mapfile -t BINARIES < <(board_list rust-binaries)
TEST_BINARIES=()
TEST_FEATURES=()
while read -r b features; do
	TEST_BINARIES+=("$b")
	for f in $features; do TEST_FEATURES+=("$f"); done
done < <(board_list rust-test-binaries)
note "building ${BINARIES[*]} (test image: ${TEST_BINARIES[*]})"
pkgs=()
for b in "${BINARIES[@]}" "${TEST_BINARIES[@]}"; do pkgs+=(--bin "$b"); done
RUST_OUT=$REPO/target/x86_64-unknown-linux-gnu/release
RUST_RELEASE=$BUILD/rust-release
RUST_TEST=$BUILD/rust-test
rm -rf "$RUST_RELEASE" "$RUST_TEST"
mkdir -p "$RUST_RELEASE" "$RUST_TEST"
(cd "$REPO" && cargo build --release --locked --quiet "${pkgs[@]}")
for b in "${BINARIES[@]}" "${TEST_BINARIES[@]}"; do cp "$RUST_OUT/$b" "$RUST_RELEASE/"; done
if [ ${#TEST_FEATURES[@]} -gt 0 ]; then
	# The same selection of programs, so every shared crate keeps its
	# features: only the packages with a test feature compile again.
	test_start=$(date +%s)
	(cd "$REPO" && cargo build --release --locked --quiet "${pkgs[@]}" \
		--features "$(IFS=,; echo "${TEST_FEATURES[*]}")")
	note "test features ${TEST_FEATURES[*]} built in $(($(date +%s) - test_start)) s"
fi
for b in "${TEST_BINARIES[@]}"; do cp "$RUST_OUT/$b" "$RUST_TEST/"; done
"$REPO/board/appliance/check-static.sh" "$RUST_RELEASE"/* "$RUST_TEST"/* || die "a Rust program is not static"
note "all ${#BINARIES[@]} binaries (and ${#TEST_BINARIES[@]} test builds) are static"

# --- signing keys and GRUB's recovery password ----------------------------
# ci/keys.sh: the release key (RAUC_KEY/RAUC_CERT, or the development key in
# BUILD/keys) signs the release bundle; the test key in BUILD/keys-test the
# test image's; the release key is never copied.
. "$REPO/ci/keys.sh"
if [ -n "${RAUC_KEY:-}${RAUC_CERT:-}" ]; then
	if [ -z "${RAUC_KEY:-}" ] || [ -z "${RAUC_CERT:-}" ]; then
		die "give both RAUC_KEY and RAUC_CERT, or neither"
	fi
	release=production
else
	release=development
	RAUC_KEY=$BUILD/keys/development.key.pem
	RAUC_CERT=$BUILD/keys/development.cert.pem
	[ -f "$RAUC_KEY" ] || note "making a development signing key in $BUILD/keys"
	make_signing_key "$RAUC_KEY" "$RAUC_CERT" "/O=Mail appliance/CN=development"
fi
RAUC_KEYRING=${RAUC_KEYRING:-$RAUC_CERT}
TEST_KEY=$BUILD/keys-test/test.key.pem
TEST_CERT=$BUILD/keys-test/test.cert.pem
make_test_key "$BUILD/keys-test"
check_test_key_apart "$TEST_KEY" "$TEST_CERT" "$RAUC_KEY" "$RAUC_CERT" "$RAUC_KEYRING"
export RAUC_KEY RAUC_CERT RAUC_KEYRING

[ -z "${GRUB_PASSWORD:-}" ] ||
	die "GRUB_PASSWORD is not read: give its grub-mkpasswd-pbkdf2 hash as GRUB_PASSWORD_HASH"
GRUB_DEV_PASSWORD=
if [ -z "${GRUB_PASSWORD_HASH:-}" ]; then
	[ "$release" = development ] ||
		die "a release build (RAUC_KEY given) needs GRUB_PASSWORD_HASH, the grub-mkpasswd-pbkdf2 hash of GRUB's recovery password (README, How the image boots)"
	dev_grub_password "$BUILD/keys"
	GRUB_DEV_PASSWORD=$BUILD/keys/grub-password
fi
grub_password_hash_valid "$GRUB_PASSWORD_HASH" ||
	die "GRUB_PASSWORD_HASH is not what grub-mkpasswd-pbkdf2 prints (grub.pbkdf2.sha512.<iterations>.<salt>.<hash>)"
export GRUB_PASSWORD_HASH

# --- the root file system -------------------------------------------------
TARGET=$BUILD/target
IMAGES=$BUILD/images
rm -rf "$TARGET" "$IMAGES" "$BUILD/target-test" "$BUILD/images-test"
mkdir -p "$TARGET"/{bin,sbin,usr/bin,usr/sbin,lib,etc,boot} "$IMAGES"

dpkg-deb --fsys-tarfile "$bbdeb" | tar -x -C "$BUILD" ./bin/busybox
install -m 0755 "$BUILD/bin/busybox" "$TARGET/bin/busybox"
"$TARGET/bin/busybox" --list-full | while read -r applet; do
	[ -e "$TARGET/$applet" ] || ln -s "$(realpath -m --relative-to="$(dirname "/$applet")" /bin/busybox)" "$TARGET/$applet"
done

# The module closure the image needs, soft dependencies included.
modules_closure() {
	local -A seen=()
	local queue=("$@") m path dep
	while [ ${#queue[@]} -gt 0 ]; do
		m=${queue[0]}
		queue=("${queue[@]:1}")
		[ -n "${seen[$m]:-}" ] && continue
		seen[$m]=1
		while read -r path; do
			echo "$path"
			for dep in $(modinfo -b "$KSRC" -k "$KVER" -F softdep "$path" | tr ' ' '\n' | grep -v ':$'); do
				queue+=("$dep")
			done
		done < <(modprobe -d "$KSRC" -S "$KVER" --show-depends "$m" 2>/dev/null |
			sed -n 's/^insmod \([^ ]*\).*/\1/p')
	done
}
mapfile -t WANTED < <(cat "$REPO/rootfs-overlay/etc/modules" "$REPO/board/appliance/initramfs/modules" |
	grep -v '^#' | sed '/^$/d' | sort -u)
mapfile -t MODPATHS < <(modules_closure "${WANTED[@]}" | sort -u)
for path in "${MODPATHS[@]}"; do
	rel=${path#"$KSRC"}
	mkdir -p "$TARGET$(dirname "$rel")"
	cp "$path" "$TARGET$rel"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	cp "$KSRC/lib/modules/$KVER/$f" "$TARGET/lib/modules/$KVER/"
done
depmod -b "$TARGET" "$KVER"
note "kernel $KVER with ${#MODPATHS[@]} modules"
cp "$KSRC/boot/vmlinuz-$KVER" "$TARGET/boot/bzImage"

for b in "${BINARIES[@]}"; do
	install -m 0755 "$RUST_RELEASE/$b" "$TARGET/usr/bin/$b"
done
cp -a "$REPO/rootfs-overlay/." "$TARGET/"
# RAUC: Buildroot builds it; here Debian's, with D-Bus and their libraries.
"$REPO/ci/install-debian-rauc.sh" "$TARGET" "$BUILD" >"$BUILD/rauc-packages.txt"
# Dropbear (SSH to the console, behind sshgate): Debian's, as RAUC.
"$REPO/ci/install-debian-dropbear.sh" "$TARGET" "$BUILD" >"$BUILD/dropbear-packages.txt"
# fsck.fat (a USB drive not ejected, the EFI partition): Debian's, as RAUC.
"$REPO/ci/install-debian-dosfstools.sh" "$TARGET" "$BUILD" >"$BUILD/dosfstools-packages.txt"

BINARIES_DIR=$IMAGES TARGET_DIR=$TARGET "$REPO/board/appliance/post-build.sh" "$TARGET"

# --- boot loader images (what Buildroot's grub2 package makes) -------------
grub_modules() { sed -n "s/^$1: //p" "$REPO/board/appliance/grub-modules"; }
# GRUB runs the embedded configuration with its rescue parser, which knows
# no comments: a quote in one swallows the lines after it (the BIOS image,
# which cannot fall back on its own partition, then finds no grub.cfg).
if grep -n "^[[:space:]]*#.*[\"'\`]" "$REPO/board/appliance/grub-early.cfg"; then
	die "board/appliance/grub-early.cfg: no quotes in comments (GRUB's rescue parser reads them)"
fi
# shellcheck disable=SC2046 # module names are words
make_grub() { # IMAGES_DIR
	mkdir -p "$1/efi-part/EFI/BOOT"
	grub-mkimage -O x86_64-efi -o "$1/efi-part/EFI/BOOT/bootx64.efi" -p /grub \
		-c "$REPO/board/appliance/grub-early.cfg" $(grub_modules common) $(grub_modules efi)
	grub-mkimage -O i386-pc -o "$1/grub.img" -p /grub \
		-c "$REPO/board/appliance/grub-early.cfg" $(grub_modules common) $(grub_modules pc)
	cp /usr/lib/grub/i386-pc/boot.img "$1/boot.img"
}

# --- images: release, then the test variant ---------------------------------
make_disk() { # TARGET_DIR IMAGES_DIR OUTPUT_NAME SIGNING_KEY SIGNING_CERT
	note "laying out $3"
	# SOURCE_DATE_EPOCH sets the creation time and clamps file times.
	# shellcheck disable=SC2046 # the options file holds words to split
	mksquashfs "$1" "$2/rootfs.squashfs" -noappend $(grep -v '^#' "$REPO/board/appliance/squashfs-options") \
		-all-root -no-xattrs -quiet -no-progress >/dev/null
	make_grub "$2"
	if ! BINARIES_DIR=$2 TARGET_DIR=$1 RAUC_KEY=$4 RAUC_CERT=$5 \
		"$REPO/board/appliance/post-image.sh" "$2" >"$2/post-image.log" 2>&1; then
		tail -n 40 "$2/post-image.log" >&2
		die "post-image.sh failed (log: $2/post-image.log)"
	fi
	cp "$2/disk.img" "$OUT/$3"
	(cd "$OUT" && sha256sum "$3" >"$3.sha256")
}
version=$(cat "$TARGET/etc/appliance-version")

"$REPO/ci/check-test-hooks.sh" release "$TARGET"
make_disk "$TARGET" "$IMAGES" appliance.img "$RAUC_KEY" "$RAUC_CERT"
cp "$IMAGES/appliance-$version.raucb" "$OUT/"
# The test image: the release root plus board/appliance/test-overlay (root's public test
# password, the test-image marker) and the test builds of
# board/appliance/rust-test-binaries, trusting only the test certificate; its
# bundle is signed with the test key. Same GRUB configuration and password.
cp -a "$TARGET" "$BUILD/target-test"
cp -a "$REPO/board/appliance/test-overlay/." "$BUILD/target-test/"
for b in "${TEST_BINARIES[@]}"; do
	install -m 0755 "$RUST_TEST/$b" "$BUILD/target-test/usr/bin/$b"
done
"$REPO/ci/check-test-hooks.sh" test "$BUILD/target-test"
install -m 0644 "$TEST_CERT" "$BUILD/target-test/etc/rauc/keyring.pem"
mkdir -p "$BUILD/images-test"
make_disk "$BUILD/target-test" "$BUILD/images-test" appliance-test.img "$TEST_KEY" "$TEST_CERT"
# The system tests build upgrade bundles from the test image's root file
# system, signed with the test key (never the release key); in development
# builds they also get GRUB's recovery password (production builds have
# only its hash).
rm -rf "$OUT/test"
mkdir -p "$OUT/test"
cp "$BUILD/images-test/rootfs.squashfs" "$OUT/test/rootfs.squashfs"
cp "$TEST_KEY" "$OUT/test/signing.key.pem"
cp "$TEST_CERT" "$OUT/test/signing.cert.pem"
cp "$REPO/board/appliance/rauc/manifest.raucm.in" "$OUT/test/"
if [ -n "$GRUB_DEV_PASSWORD" ]; then
	install -m 0600 "$GRUB_DEV_PASSWORD" "$OUT/test/grub-password"
fi

{
	echo "firmware $(cat "$TARGET/etc/appliance-version")"
	echo "source-date-epoch $SOURCE_DATE_EPOCH"
	echo "kernel $(dpkg-deb -f "$kdeb" Package) $(dpkg-deb -f "$kdeb" Version)"
	echo "busybox $(dpkg-deb -f "$bbdeb" Package) $(dpkg-deb -f "$bbdeb" Version)"
	echo "grub $(dpkg-query -W -f='${Version}' grub-common)"
	echo "grub-password $([ -n "$GRUB_DEV_PASSWORD" ] && echo development || echo GRUB_PASSWORD_HASH)"
	echo "release-signer $release $(openssl x509 -in "$RAUC_CERT" -noout -subject)"
	echo "test-signer $(openssl x509 -in "$TEST_CERT" -noout -subject)"
	sed 's/^/rauc-image /' "$BUILD/rauc-packages.txt"
	sed 's/^/dropbear-image /' "$BUILD/dropbear-packages.txt"
	sed 's/^/dosfstools-image /' "$BUILD/dosfstools-packages.txt"
	echo "rootfs $(stat -c %s "$IMAGES/rootfs.squashfs") bytes"
	for b in "${BINARIES[@]}"; do echo "bin $b $(stat -c %s "$TARGET/usr/bin/$b") bytes"; done
} >"$OUT/manifest.txt"
note "done: $OUT/appliance.img ($(cut -d' ' -f1 "$OUT/appliance.img.sha256"))"
