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
# glibc, exactly as .cargo/config.toml builds them for the local image and
# the tests (the services avoid glibc's NSS, see docs/architecture.md). The
# workspace's release profile is kept: Buildroot's cargo infrastructure sets
# opt-level, LTO and codegen-units from BR2_OPTIMIZE_* and BR2_ENABLE_LTO,
# and these put back Cargo.toml's values (ci/check-buildroot.sh compares).
APPLIANCE_SERVICES_CARGO_ENV = \
	CARGO_TARGET_$(call UPPERCASE,$(RUSTC_TARGET_NAME))_RUSTFLAGS="-C target-feature=+crt-static" \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
	CARGO_PROFILE_RELEASE_LTO=thin \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4

APPLIANCE_SERVICES_CARGO_BUILD_OPTS = \
	--config 'source.crates-io.replace-with="appliance-vendor"' \
	--config 'source.appliance-vendor.directory="$(APPLIANCE_SERVICES_VENDOR_DIR)"' \
	$(foreach b,$(APPLIANCE_SERVICES_BINARIES),--bin $(b))

APPLIANCE_SERVICES_BIN_DIR = \
	$(@D)/target/$(RUSTC_TARGET_NAME)/$(if $(BR2_ENABLE_DEBUG),debug,release)

# The workspace is not one package, so "cargo install" (the infrastructure's
# default) cannot install it: copy the binaries, to the local build's paths.
define APPLIANCE_SERVICES_INSTALL_TARGET_CMDS
	$(foreach b,$(APPLIANCE_SERVICES_BINARIES),\
		$(INSTALL) -D -m 0755 $(APPLIANCE_SERVICES_BIN_DIR)/$(b) \
			$(TARGET_DIR)/usr/bin/$(b)$(sep))
endef

# Static means no program interpreter and no shared libraries (the same
# test as ci/build-image.sh).
define APPLIANCE_SERVICES_CHECK_STATIC
	$(foreach b,$(APPLIANCE_SERVICES_BINARIES),\
		if $(TARGET_READELF) -lW $(TARGET_DIR)/usr/bin/$(b) | grep -q 'program interpreter' || \
			$(TARGET_READELF) -dW $(TARGET_DIR)/usr/bin/$(b) | grep -q '(NEEDED)'; then \
			echo "appliance-services: $(b) is not statically linked" >&2; \
			exit 1; \
		fi$(sep))
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
