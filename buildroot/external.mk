################################################################################
#
# The mail appliance's BR2_EXTERNAL tree
#
# Besides its packages, the hooks below make Buildroot's output the layout
# the shared board/appliance/ scripts expect, the same as the local build's
# (ci/build-image.sh).
#
################################################################################

include $(sort $(wildcard $(BR2_EXTERNAL_APPLIANCE_PATH)/package/*/*.mk))

APPLIANCE_CHECK_FRAGMENT = $(BR2_EXTERNAL_APPLIANCE_PATH)/scripts/check-kconfig-fragment.sh

# GRUB. post-image.sh writes boot.img's first 440 bytes into the MBR, but
# Buildroot's grub2 package only installs it with BR2_TARGET_GRUB2_INSTALL_TOOLS
# (to the target, with every module and tool): copy it to the images, where
# the local build puts it too. The sample grub.cfg files the package installs
# are not used (the appliance's is board/appliance/grub.cfg, on the ESP).
ifeq ($(BR2_TARGET_GRUB2_I386_PC),y)
define APPLIANCE_GRUB2_INSTALL_BOOT_IMG
	$(INSTALL) -D -m 0644 $(@D)/build-i386-pc/grub-core/boot.img $(BINARIES_DIR)/boot.img
endef
GRUB2_POST_INSTALL_IMAGES_HOOKS += APPLIANCE_GRUB2_INSTALL_BOOT_IMG
endif

define APPLIANCE_GRUB2_REMOVE_SAMPLE_CFG
	rm -f $(TARGET_DIR)/boot/grub/grub.cfg $(BINARIES_DIR)/efi-part/EFI/BOOT/grub.cfg
	rmdir $(TARGET_DIR)/boot/grub 2>/dev/null || true
endef
GRUB2_POST_INSTALL_IMAGES_HOOKS += APPLIANCE_GRUB2_REMOVE_SAMPLE_CFG

# Init scripts. The appliance's are rootfs-overlay/etc/init.d, in both
# builds; those Buildroot's packages install (BusyBox's S01syslogd and
# S02klogd, which S10syslog replaces; D-Bus's S30dbus, which S15dbus
# replaces, ...) would run the same daemons twice. Dropped before the
# overlays are copied, unless an overlay has the same name. A new service
# gets its link in rootfs-overlay/etc/init.d.
APPLIANCE_OVERLAYS = $(call qstrip,$(BR2_ROOTFS_OVERLAY))
define APPLIANCE_DROP_PACKAGE_INIT_SCRIPTS
	for s in $(TARGET_DIR)/etc/init.d/S[0-9][0-9]*; do \
		[ -e "$$s" ] || [ -L "$$s" ] || continue; \
		name=$${s##*/}; \
		for o in $(APPLIANCE_OVERLAYS); do \
			[ -e "$$o/etc/init.d/$$name" ] && continue 2; \
		done; \
		echo "appliance: not running $$name (a package's init script; the appliance's are in rootfs-overlay/etc/init.d)"; \
		rm -f "$$s"; \
	done
endef
TARGET_FINALIZE_HOOKS += APPLIANCE_DROP_PACKAGE_INIT_SCRIPTS

# Users. Buildroot's mkusers adds packages' users (D-Bus's) to /etc/shadow
# when it makes the root file system; here /etc/shadow links to /run/shadow,
# which appctl writes at boot. Give mkusers that file to write to: /run is
# emptied in the image.
define APPLIANCE_SHADOW_FOR_MKUSERS
	mkdir -p $(TARGET_DIR)/run
	touch $(TARGET_DIR)/run/shadow
endef
TARGET_FINALIZE_HOOKS += APPLIANCE_SHADOW_FOR_MKUSERS

# Kernel and BusyBox: kconfig drops an option whose dependencies are
# missing without a word; stop the build when a fragment's option did not
# make it into the configuration.
define APPLIANCE_LINUX_CHECK_FRAGMENTS
	$(APPLIANCE_CHECK_FRAGMENT) $(@D)/.config \
		$(call qstrip,$(BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES))
endef
ifneq ($(call qstrip,$(BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES)),)
LINUX_POST_CONFIGURE_HOOKS += APPLIANCE_LINUX_CHECK_FRAGMENTS
endif

define APPLIANCE_BUSYBOX_CHECK_FRAGMENTS
	$(APPLIANCE_CHECK_FRAGMENT) $(@D)/.config \
		$(call qstrip,$(BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES))
endef
ifneq ($(call qstrip,$(BR2_PACKAGE_BUSYBOX_CONFIG_FRAGMENT_FILES)),)
BUSYBOX_POST_CONFIGURE_HOOKS += APPLIANCE_BUSYBOX_CHECK_FRAGMENTS
endif
