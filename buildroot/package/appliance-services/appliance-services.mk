################################################################################
#
# appliance-services
#
################################################################################

# The source is this repository: the Cargo workspace one level above the
# external tree. Only what cargo reads is copied into the build directory
# (not target/, out/, build/ or .git).
APPLIANCE_SERVICES_SITE = $(realpath $(BR2_EXTERNAL_APPLIANCE_PATH)/..)
APPLIANCE_SERVICES_SITE_METHOD = local
APPLIANCE_SERVICES_LICENSE = MIT
APPLIANCE_SERVICES_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--include=/Cargo.toml \
	--include=/Cargo.lock \
	--include=/.cargo/*** \
	--include=/firmware/*** \
	--include=/testing/*** \
	--exclude=/*

# The programs to build and install: the list the local build uses too.
APPLIANCE_SERVICES_BINARIES := $(shell sed -e 's/$(SHARP_SIGN).*//' -e '/^[[:space:]]*$$/d' \
	$(APPLIANCE_SERVICES_SITE)/board/appliance/rust-binaries 2>/dev/null)

# Crates. A local package has no download step, so Buildroot's cargo
# vendoring (support/download/cargo-post-process) never runs for it. This
# package does the same itself: "make source" (or the first "make") runs
# cargo vendor for Cargo.lock into the download directory, one directory per
# Cargo.lock content, and the build uses that directory through cargo's
# source replacement with --offline --locked. cargo checks every vendored
# crate against the checksums in Cargo.lock, as Buildroot's hash files would.
APPLIANCE_SERVICES_LOCK_ID := $(shell sha256sum $(APPLIANCE_SERVICES_SITE)/Cargo.lock 2>/dev/null | cut -c1-16)
APPLIANCE_SERVICES_VENDOR_DIR = $(APPLIANCE_SERVICES_DL_DIR)/vendor-$(APPLIANCE_SERVICES_LOCK_ID)
APPLIANCE_SERVICES_VENDOR_STAMP = $(APPLIANCE_SERVICES_VENDOR_DIR)/.stamp_vendored

# Static binaries: Rust's gnu target with +crt-static against Buildroot's
# glibc, from the workspace's .cargo/config.toml (copied with the source),
# as for the local image and the tests (the services avoid glibc's NSS, see
# docs/architecture.md). The release profile is Cargo.toml's: Buildroot's
# cargo infrastructure sets opt-level and codegen-units from BR2_OPTIMIZE_*
# in the environment, so the values are read back from Cargo.toml and put
# in the environment after it.
appliance-services-profile = $(shell sed -n '/^\[profile\.release\]/,/^\[/s/^$(1) *= *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p' \
	$(APPLIANCE_SERVICES_SITE)/Cargo.toml 2>/dev/null)
APPLIANCE_SERVICES_CARGO_ENV = \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=$(call appliance-services-profile,opt-level) \
	CARGO_PROFILE_RELEASE_LTO=$(call appliance-services-profile,lto) \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$(call appliance-services-profile,codegen-units)

APPLIANCE_SERVICES_CARGO_BUILD_OPTS = \
	--config 'source.crates-io.replace-with="appliance-vendor"' \
	--config 'source.appliance-vendor.directory="$(APPLIANCE_SERVICES_VENDOR_DIR)"' \
	$(foreach b,$(APPLIANCE_SERVICES_BINARIES),--bin $(b))

APPLIANCE_SERVICES_BIN_DIR = \
	$(@D)/target/$(RUSTC_TARGET_NAME)/$(if $(BR2_ENABLE_DEBUG),debug,release)

# The test image's own builds (BR2_PACKAGE_APPLIANCE_SERVICES_TEST_BUILDS):
# board/appliance/rust-test-binaries, "<program> [<package>/<feature>...]"
# a line. As in ci/build-image.sh: the release programs are kept aside, then
# the same selection is built again with the test features (only the
# packages that have one compile again) and the test programs are taken
# from that build.
ifeq ($(BR2_PACKAGE_APPLIANCE_SERVICES_TEST_BUILDS),y)
APPLIANCE_SERVICES_TEST_LINES = sed -e 's/$(SHARP_SIGN).*//' -e '/^[[:space:]]*$$/d' \
	$(APPLIANCE_SERVICES_SITE)/board/appliance/rust-test-binaries 2>/dev/null
APPLIANCE_SERVICES_TEST_BINARIES := $(shell $(APPLIANCE_SERVICES_TEST_LINES) | awk '{ print $$1 }')
APPLIANCE_SERVICES_TEST_FEATURES := $(shell $(APPLIANCE_SERVICES_TEST_LINES) | \
	awk '{ for (i = 2; i <= NF; i++) print $$i }' | paste -sd, -)
endif

APPLIANCE_SERVICES_CARGO_BUILD_OPTS = \
	--config 'source.crates-io.replace-with="appliance-vendor"' \
	--config 'source.appliance-vendor.directory="$(APPLIANCE_SERVICES_VENDOR_DIR)"' \
	$(foreach b,$(APPLIANCE_SERVICES_BINARIES) $(APPLIANCE_SERVICES_TEST_BINARIES),--bin $(b))

APPLIANCE_SERVICES_BIN_DIR = \
	$(@D)/target/$(RUSTC_TARGET_NAME)/$(if $(BR2_ENABLE_DEBUG),debug,release)

ifeq ($(BR2_PACKAGE_APPLIANCE_SERVICES_TEST_BUILDS),y)
define APPLIANCE_SERVICES_BUILD_TEST_PROGRAMS
	rm -rf $(@D)/release-programs $(@D)/test-programs
	mkdir -p $(@D)/release-programs $(@D)/test-programs
	cp $(foreach b,$(APPLIANCE_SERVICES_BINARIES),$(APPLIANCE_SERVICES_BIN_DIR)/$(b)) \
		$(@D)/release-programs/
	cd $(@D) && \
	$(TARGET_MAKE_ENV) $(TARGET_CONFIGURE_OPTS) $(PKG_CARGO_ENV) $(APPLIANCE_SERVICES_CARGO_ENV) \
		cargo build --offline $(if $(BR2_ENABLE_DEBUG),,--release) \
			--manifest-path Cargo.toml --locked $(APPLIANCE_SERVICES_CARGO_BUILD_OPTS) \
			$(if $(APPLIANCE_SERVICES_TEST_FEATURES),--features $(APPLIANCE_SERVICES_TEST_FEATURES))
	cp $(foreach b,$(APPLIANCE_SERVICES_TEST_BINARIES),$(APPLIANCE_SERVICES_BIN_DIR)/$(b)) \
		$(@D)/test-programs/
	cp $(@D)/release-programs/* $(APPLIANCE_SERVICES_BIN_DIR)/
endef
APPLIANCE_SERVICES_POST_BUILD_HOOKS += APPLIANCE_SERVICES_BUILD_TEST_PROGRAMS
endif

# The workspace is not one package, so "cargo install" (the infrastructure's
# default) cannot install it: copy the binaries, to the local build's paths,
# the test image's own builds over them.
define APPLIANCE_SERVICES_INSTALL_TARGET_CMDS
	$(foreach b,$(APPLIANCE_SERVICES_BINARIES),\
		$(INSTALL) -D -m 0755 $(APPLIANCE_SERVICES_BIN_DIR)/$(b) \
			$(TARGET_DIR)/usr/bin/$(b)$(sep))
	$(foreach b,$(APPLIANCE_SERVICES_TEST_BINARIES),\
		$(INSTALL) -D -m 0755 $(@D)/test-programs/$(b) \
			$(TARGET_DIR)/usr/bin/$(b)$(sep))
endef

# Static: the check both builds run (board/appliance/check-static.sh).
define APPLIANCE_SERVICES_CHECK_STATIC
	READELF=$(TARGET_READELF) $(APPLIANCE_SERVICES_SITE)/board/appliance/check-static.sh \
		$(foreach b,$(APPLIANCE_SERVICES_BINARIES) $(APPLIANCE_SERVICES_TEST_BINARIES),\
			$(TARGET_DIR)/usr/bin/$(b))
endef
APPLIANCE_SERVICES_POST_INSTALL_TARGET_HOOKS += APPLIANCE_SERVICES_CHECK_STATIC

$(eval $(cargo-package))

# The vendoring step, a download: it needs crates.io, and host-rustc's cargo.
$(APPLIANCE_SERVICES_VENDOR_STAMP): PKG = APPLIANCE_SERVICES
$(APPLIANCE_SERVICES_VENDOR_STAMP): | host-rustc
	@$(call MESSAGE,"Vendoring the crates of Cargo.lock")
	rm -rf $(APPLIANCE_SERVICES_VENDOR_DIR).tmp
	mkdir -p $(APPLIANCE_SERVICES_DL_DIR) $(BR_CARGO_HOME)
	cd $(APPLIANCE_SERVICES_SITE) && \
		$(HOST_MAKE_ENV) CARGO_HOME=$(BR_CARGO_HOME) \
		flock $(BR_CARGO_HOME)/.br-lock \
		cargo vendor --locked --versioned-dirs --manifest-path Cargo.toml \
			$(APPLIANCE_SERVICES_VENDOR_DIR).tmp >/dev/null
	touch $(APPLIANCE_SERVICES_VENDOR_DIR).tmp/.stamp_vendored
	rm -rf $(APPLIANCE_SERVICES_VENDOR_DIR)
	mv $(APPLIANCE_SERVICES_VENDOR_DIR).tmp $(APPLIANCE_SERVICES_VENDOR_DIR)

appliance-services-source: $(APPLIANCE_SERVICES_VENDOR_STAMP)
$(APPLIANCE_SERVICES_TARGET_CONFIGURE): $(APPLIANCE_SERVICES_VENDOR_STAMP)

# Fail at once, not deep in cargo, when the Rust that Buildroot provides is
# older than the workspace's rust-version (package-override.mk sets it).
ifeq ($(BR2_PACKAGE_APPLIANCE_SERVICES),y)
APPLIANCE_SERVICES_RUST_NEEDED := $(shell sed -n 's/^rust-version *= *"\(.*\)"/\1/p' \
	$(APPLIANCE_SERVICES_SITE)/Cargo.toml 2>/dev/null)
APPLIANCE_SERVICES_RUST_HAVE = $(if $(BR2_PACKAGE_HOST_RUST_BIN),$(RUST_BIN_VERSION),$(RUST_VERSION))
ifneq ($(firstword $(shell printf '%s\n' $(APPLIANCE_SERVICES_RUST_NEEDED) $(APPLIANCE_SERVICES_RUST_HAVE) | sort -V)),$(APPLIANCE_SERVICES_RUST_NEEDED))
$(error appliance-services needs Rust $(APPLIANCE_SERVICES_RUST_NEEDED) or newer, this configuration has $(APPLIANCE_SERVICES_RUST_HAVE): use host-rust-bin and BR2_PACKAGE_OVERRIDE_FILE="$$(BR2_EXTERNAL_APPLIANCE_PATH)/package-override.mk", as the appliance defconfigs do)
endif
endif
