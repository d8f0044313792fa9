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
# glibc 2.42 as released, without the manual (GFDL); Buildroot pins the
# release branch 67 commits on (security fixes). patches/glibc has Debian's
# git-updates (that branch, applied as Debian does) and local-remove-manual.
override GLIBC_SOURCE = glibc_2.42.orig.tar.xz
override GLIBC_SITE_METHOD = https
# +dfsg: without the GFDL manual.
override GMP_SOURCE = gmp_6.3.0+dfsg.orig.tar.xz
# +ds: Debian drops generated files.
override JSON_GLIB_SOURCE = json-glib_1.10.8+ds.orig.tar.xz
override LIBFFI_SOURCE = libffi_3.4.8.orig.tar.gz
# +dfsg: Debian drops contrib/ (not built here).
override LIBZLIB_SOURCE = zlib_1.3.dfsg+really1.3.2.orig.tar.gz
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
override DROPBEAR_VERSION = 2026.94
override DROPBEAR_SOURCE = dropbear_2026.94.orig.tar.bz2
override E2FSPROGS_VERSION = 1.47.4
override E2FSPROGS_SOURCE = e2fsprogs_1.47.4.orig.tar.gz
override ELFUTILS_VERSION = 0.192
override ELFUTILS_SOURCE = elfutils_0.192.orig.tar.bz2
# Debian's expat .orig is upstream's git tree: the library in expat/,
# without the generated configure.
override EXPAT_VERSION = 2.8.3
override EXPAT_SOURCE = expat_2.8.3.orig.tar.gz
override EXPAT_SUBDIR = expat
override EXPAT_AUTORECONF = YES
override HOST_EXPAT_AUTORECONF = YES
override EXPAT_LICENSE_FILES = expat/COPYING
override LIBGLIB2_VERSION = 2.88.0
override LIBGLIB2_SOURCE = glib2.0_2.88.0.orig.tar.xz
override LIBOPENSSL_VERSION = 3.6.3
override LIBOPENSSL_SOURCE = openssl_3.6.3.orig.tar.gz
# Buildroot keeps 2.4.6 for the packages it patches; host-libtool is only a
# tool here.
override LIBTOOL_VERSION = 2.4.7
override LIBTOOL_SOURCE = libtool_2.4.7.orig.tar.xz
# Debian's libxcrypt .orig is the git tree, without the generated configure.
override LIBXCRYPT_VERSION = 4.5.1
override LIBXCRYPT_SOURCE = libxcrypt_4.5.1.orig.tar.xz
override LIBXCRYPT_AUTORECONF = YES
override HOST_LIBXCRYPT_AUTORECONF = YES
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
# Buildroot's host patchelf (its fix-rpath needs the --make-rpath-relative
# of its own patch, rebased in pkgdir/patchelf) at Debian 12's 0.14.3.
override PATCHELF_VERSION = 0.14.3
override PATCHELF_SOURCE = patchelf_0.14.3.orig.tar.gz
# Debian's .orig is upstream's git tag, without the generated configure.
override PATCHELF_AUTORECONF = YES
override HOST_PATCHELF_AUTORECONF = YES
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
override HOST_ELFUTILS_PKGDIR = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/pkgdir/elfutils
override E2FSPROGS_PKGDIR = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/pkgdir/e2fsprogs
override HOST_E2FSPROGS_PKGDIR = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/pkgdir/e2fsprogs
override HOST_PATCHELF_PKGDIR = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/pkgdir/patchelf
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

# --- Build-machine tools from its Debian packages ---------------------------------
# No source of fakeroot or genimage is served by the archive here (the pool
# no longer has any of their uploads' .orig, and Buildroot's own sites are
# unreachable). Both only run on the build machine (fakeroot gives the root
# file system its owners, genimage lays out the disk image) and nothing of
# them goes into the image; the local build (ci/build-image.sh) uses Debian
# 12's genimage too. So the host packages install links to the machine's
# /usr/bin/fakeroot and /usr/bin/genimage (ci/buildroot-build.sh requires
# the Debian packages) instead of building them.
define APPLIANCE_HOST_TOOL_FROM_DEBIAN
override HOST_$(1)_VERSION = debian12
override HOST_$(1)_SITE_METHOD = local
override HOST_$(1)_SITE = $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/host-tool
override HOST_$(1)_DEPENDENCIES =
override HOST_$(1)_LICENSE_FILES = README
define HOST_$(1)_CONFIGURE_CMDS
	test -x /usr/bin/$(2)
endef
define HOST_$(1)_BUILD_CMDS
	/usr/bin/$(2) --version
endef
define HOST_$(1)_INSTALL_CMDS
	mkdir -p $$(HOST_DIR)/bin
	ln -sf /usr/bin/$(2) $$(HOST_DIR)/bin/$(2)
endef
endef
$(eval $(call APPLIANCE_HOST_TOOL_FROM_DEBIAN,FAKEROOT,fakeroot))
$(eval $(call APPLIANCE_HOST_TOOL_FROM_DEBIAN,GENIMAGE,genimage))
# kmod: Debian serves 34.2, which builds only with meson (Buildroot's
# package is autotools, for 33), and 30. Only depmod runs (on the kernel's
# modules); the package's own hook links sbin/depmod to bin/kmod.
$(eval $(call APPLIANCE_HOST_TOOL_FROM_DEBIAN,KMOD,kmod))

# --- Firmware from Debian's binary package ------------------------------------------
# linux-firmware (appliance_x86_64_defconfig: RTL8169 firmware): the archive
# here serves no firmware-nonfree source, but its binary package
# firmware-realtek holds the same upstream files, unchanged, under
# /usr/lib/firmware. The package takes them from the .deb; the WHENCE file
# Buildroot reads for links is not in it (rtl_nic/ has no links).
override LINUX_FIRMWARE_VERSION = 20260916-1
override LINUX_FIRMWARE_SOURCE = firmware-realtek_20260916-1_all.deb
define LINUX_FIRMWARE_EXTRACT_CMDS
	ar p $(LINUX_FIRMWARE_DL_DIR)/$(LINUX_FIRMWARE_SOURCE) data.tar.xz | \
		$(TAR) -xJ -C $(@D) --strip-components=4 ./usr/lib/firmware
	touch $(@D)/WHENCE
endef

# --- What a +dfsg repack removed ------------------------------------------------------
# As Debian's own builds do (debian/rules, debian/patches of each package):
# the GFDL manuals are gone, so nothing may try to rebuild them.
# bison: a stub manual, and the files made from it dated old enough that
# make does not remake them (examples/ are extracted from the manual).
define APPLIANCE_BISON_DFSG_STUBS
	echo '@setfilename bison.info' > $(@D)/doc/bison.texi
endef
HOST_BISON_POST_PATCH_HOOKS += APPLIANCE_BISON_DFSG_STUBS
define APPLIANCE_BISON_DFSG_DATES
	install -d $(@D)/doc/figs
	touch --date="Jan 01 2000" $(@D)/doc/bison.info $(@D)/doc/bison.help \
		$(@D)/doc/figs/example.txt $(@D)/doc/figs/example-reduce.txt \
		$(@D)/doc/figs/example-shift.txt $(@D)/doc/*.texi \
		$(@D)/build-aux/cross-options.pl $(@D)/src/getargs.c
endef
HOST_BISON_PRE_BUILD_HOOKS += APPLIANCE_BISON_DFSG_DATES
# gawk: Debian's .orig has the manuals, with dates that ask for makeinfo.
define APPLIANCE_GAWK_DOC_DATES
	cd $(@D) && touch --date="Jan 01 2000" \
		doc/gawktexi.in doc/sidebar.awk doc/gawk.texi doc/gawk.info \
		doc/gawkinet.texi doc/gawkinet.info doc/gawkworkflow.texi \
		doc/gawkworkflow.info doc/pm-gawk.texi doc/pm-gawk.info
endef
HOST_GAWK_POST_CONFIGURE_HOOKS += APPLIANCE_GAWK_DOC_DATES
# gmp: patches/gmp/0001-Exclude-doc-Makefile.patch (Debian's).
