################################################################################
#
# Package overrides of the appliance build
#
# The defconfigs name this file in BR2_PACKAGE_OVERRIDE_FILE: Buildroot
# includes it before any package's .mk file, the only point where a bundled
# package's version can still be changed from an external tree (external.mk
# comes after the packages). The `override` directive makes the packages'
# own assignments give way.
#
################################################################################

# The Rust services need rustc 1.95 (rust-version in the workspace's
# Cargo.toml); Buildroot 2026.02.3 ships 1.88.0. Buildroot's rust-bin recipe
# is unchanged up to 1.95.0 (its own bump to 1.95.0 only changed the version
# and the hashes), and those hashes are in patches/rust-bin/rust-bin.hash.
# appliance-services.mk stops the build early if the version falls short.
override RUST_BIN_VERSION = 1.95.0

# Offline builds here: the pinned sources swapped for Debian's where
# Debian's tarball is not byte for byte Buildroot's (ci/buildroot-mirror.sh,
# docs/buildroot.md). Only when the build lists the substitutes' hash folder
# (debian-sources/debian-sources.config); a build with internet leaves it
# out and gets the pinned sources.
ifneq ($(filter %/debian-sources/patches,$(call qstrip,$(BR2_GLOBAL_PATCH_DIR))),)
include $(call qstrip,$(BR2_EXTERNAL_APPLIANCE_PATH))/debian-sources/debian-sources.mk
endif

# What this file replaces: the usual local.mk, for <pkg>_OVERRIDE_SRCDIR.
-include $(CONFIG_DIR)/local.mk
