################################################################################
#
# Debian's sources in place of the pinned ones, for the offline build here
#
# Included by package-override.mk only when the build lists
# debian-sources/patches in BR2_GLOBAL_PATCH_DIR (ci/buildroot-build.sh
# does, through debian-sources.config). The upstream sites are unreachable
# on the build machines; Debian's archive is not. Where Debian's .orig
# tarball is Buildroot's file byte for byte, ci/buildroot-mirror.sh copies
# it under Buildroot's name and nothing here is needed. The packages below
# are the others: the file gets Debian's name (a second hash for Buildroot's
# own name would fail its check), and patches/<pkg>/<pkg>.hash holds the
# hash from Debian's signed Sources index. Each says why it differs.
# docs/buildroot.md lists them; a build with internet leaves this file out.
#
################################################################################

# --- Same upstream version, other bytes ---------------------------------------
# Debian repacks (the +dfsg ones drop the GFDL manuals, the others are
# recompressed or regenerated from upstream's tree). The version stays, so
# Buildroot's version-specific patches still apply.

# Debian's binutils .orig is made from the release branch's tree.
override BINUTILS_SOURCE = binutils_2.44.orig.tar.xz
# +dfsg: without the GFDL manual.
override BISON_SOURCE = bison_3.8.2+dfsg.orig.tar.xz
# Recompressed by Debian (.tar.gz of the same tree).
override BZIP2_SOURCE = bzip2_1.0.8.orig.tar.gz
# Debian's upload of the same release, other bytes.
override GAWK_SOURCE = gawk_5.3.2.orig.tar.xz
# GCC 14.3.0 repacked without the GFDL manuals: the member of Debian's
# gcc-14 source (buildroot/mirror/members.txt).
override GCC_SOURCE = gcc-14.3.0-dfsg.tar.xz
# glibc 2.42 as released; Buildroot pins the release branch 67 commits on
# (security fixes), which Debian carries as its git-updates patch.
override GLIBC_SOURCE = glibc_2.42.orig.tar.xz
override GLIBC_SITE_METHOD = https
# +dfsg: without the GFDL manual.
override GMP_SOURCE = gmp_6.3.0+dfsg.orig.tar.xz
# +ds: Debian drops generated files.
override JSON_GLIB_SOURCE = json-glib_1.10.8+ds.orig.tar.xz
override LIBCONFUSE_SOURCE = libconfuse_3.3.orig.tar.xz
override LIBFFI_SOURCE = libffi_3.4.8.orig.tar.gz
# +dfsg: Debian drops contrib/ (not built here).
override LIBZLIB_SOURCE = zlib_1.3.dfsg+really1.3.2.orig.tar.gz
override LZIP_SOURCE = lzip_1.25.orig.tar.xz
override XZ_SOURCE = xz-utils_5.8.3.orig.tar.xz
# +dfsg: Debian drops the bundled third-party sources.
override ZSTD_SOURCE = libzstd_1.5.7+dfsg.orig.tar.xz

# --- A nearby version ----------------------------------------------------------
# Debian has no upload of the pinned version: the nearest one, newer where
# there is one in the same series, among those the archive here still
# serves (ci/buildroot-mirror.sh --candidates SRCPKG lists them; Debian's
# archive drops the .orig of superseded uploads, so the newest upload in an
# index is not always there). Older than the pin: elfutils 0.192, pkgconf
# 1.8.1, libxcrypt 4.5.1, m4 1.4.19, kernel 6.12.90.

override AUTOCONF_ARCHIVE_VERSION = 20241016
override AUTOCONF_ARCHIVE_SOURCE = autoconf-archive_20241016.orig.tar.xz
override CMAKE_VERSION = 4.3.4
override CMAKE_SOURCE = cmake_4.3.4.orig.tar.gz
override DROPBEAR_VERSION = 2026.94
override DROPBEAR_SOURCE = dropbear_2026.94.orig.tar.bz2
override E2FSPROGS_VERSION = 1.47.4
override E2FSPROGS_SOURCE = e2fsprogs_1.47.4.orig.tar.gz
override ELFUTILS_VERSION = 0.192
override ELFUTILS_SOURCE = elfutils_0.192.orig.tar.bz2
override EXPAT_VERSION = 2.8.3
override EXPAT_SOURCE = expat_2.8.3.orig.tar.gz
override FAKEROOT_VERSION = 1.37.1.1
override FAKEROOT_SOURCE = fakeroot_1.37.1.1.orig.tar.gz
override GENIMAGE_VERSION = 20
override GENIMAGE_SOURCE = genimage_20.orig.tar.gz
override KMOD_VERSION = 34.2
override KMOD_SOURCE = kmod_34.2.orig.tar.xz
override LIBGLIB2_VERSION = 2.88.0
override LIBGLIB2_SOURCE = glib2.0_2.88.0.orig.tar.xz
override LIBOPENSSL_VERSION = 3.6.3
override LIBOPENSSL_SOURCE = openssl_3.6.3.orig.tar.gz
# Buildroot keeps 2.4.6 for the packages it patches; host-libtool is only a
# tool here.
override LIBTOOL_VERSION = 2.4.7
override LIBTOOL_SOURCE = libtool_2.4.7.orig.tar.xz
override LIBXCRYPT_VERSION = 4.5.1
override LIBXCRYPT_SOURCE = libxcrypt_4.5.1.orig.tar.xz
# The kernel and its headers: Debian's 6.12.90 (+dfsg: without the
# firmware blobs the kernel tree still carries).
override LINUX_VERSION = 6.12.90
override LINUX_SOURCE = linux_6.12.90.orig.tar.xz
override LINUX_HEADERS_VERSION = 6.12.90
override LINUX_HEADERS_SOURCE = linux_6.12.90.orig.tar.xz
# Debian's m4 1.4.21 is Buildroot's file byte for byte, but the archive
# here no longer serves it; 1.4.19 is the one it has.
override M4_VERSION = 1.4.19
override M4_SOURCE = m4_1.4.19.orig.tar.xz
# The archive here serves only Debian 12's mtools (4.0.32, named
# 4.0.33-1+really4.0.32); a host tool for post-image.sh (mcopy).
override MTOOLS_VERSION = 4.0.32
override MTOOLS_SOURCE = mtools_4.0.33-1+really4.0.32.orig.tar.bz2
override MPFR_VERSION = 4.2.2
override MPFR_SOURCE = mpfr4_4.2.2.orig.tar.xz
override PCRE2_VERSION = 10.48
override PCRE2_SOURCE = pcre2_10.48.orig.tar.gz
override PKGCONF_VERSION = 1.8.1
override PKGCONF_SOURCE = pkgconf_1.8.1.orig.tar.xz
# Host Python only (meson and the PEP 517 helpers run on it): the archive
# here serves no 3.14, so 3.13, with Buildroot's own patches of its last 3.13
# (pkgdir/python3, from the commit before "bump version to 3.14.2").
override PYTHON3_VERSION = 3.13.15
override PYTHON3_VERSION_MAJOR = 3.13
override PYTHON3_SOURCE = python3.13_3.13.15.orig.tar.xz
override UTIL_LINUX_VERSION = 2.41.5
override UTIL_LINUX_SOURCE = util-linux_2.41.5.orig.tar.xz

# --- Buildroot's patches rebased -------------------------------------------------
# A package's own patches always apply, whatever the version; where one does
# not apply to the substitute, the package directory (patches and hashes
# only: the .mk stays Buildroot's) is one of ours with the patch rebased.
override HOST_PYTHON3_PKGDIR = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/pkgdir/python3
override HOST_PKGCONF_PKGDIR = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/pkgdir/pkgconf

# --- A provider with a Debian source ----------------------------------------------
# gettext-tiny (the default host gettext) is not in Debian: GNU gettext,
# Buildroot's other provider, is, at 0.23.1 (Buildroot's 0.22.4 is not
# served). A host tool only: the target has no NLS either way.
override BR2_PACKAGE_PROVIDES_HOST_GETTEXT = "host-gettext-gnu"
override GETTEXT_GNU_VERSION = 0.23.1
override GETTEXT_GNU_SOURCE = gettext_0.23.1.orig.tar.xz
# host-gettext-gnu builds with host-libxml2: Debian's 2.15.4 (+dfsg: without
# the test suite's third-party files).
override LIBXML2_VERSION = 2.15.4
override LIBXML2_SOURCE = libxml2_2.15.4+dfsg.orig.tar.xz
