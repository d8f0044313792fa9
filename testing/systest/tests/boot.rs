//! The image boots under both firmwares, and the running system is what the
//! design says: read-only root, persistent /data, syslog, USB hot-plug.

use std::time::Duration;
use systest::{Firmware, Vm, VmConfig};

#[test]
fn boots_under_bios_with_persistent_data_and_readonly_root() {
    let mut vm = Vm::boot(VmConfig::new("boot-bios").firmware(Firmware::Bios)).expect("boot");
    vm.login().expect("login");
    assert_eq!(
        vm.ok("cat /proc/cmdline | tr ' ' '\\n' | grep rauc.slot")
            .expect("cmdline")
            .trim(),
        "rauc.slot=A"
    );

    // Root is read-only squashfs; /data is ext4, read-write, with its layout.
    let mounts = vm.ok("cat /proc/mounts").expect("mounts");
    assert!(
        mounts
            .lines()
            .any(|l| l.starts_with("/dev/vda3 / squashfs ro")),
        "{mounts}"
    );
    assert!(
        mounts.lines().any(|l| l.contains(" /data ext4 rw")),
        "{mounts}"
    );
    let w = vm.run("touch /etc/probe").expect("touch");
    assert_ne!(w.status, 0, "root must be read-only");
    assert!(w.output.contains("Read-only file system"), "{}", w.output);
    for dir in [
        "config",
        "store/mail",
        "store/queue/incoming",
        "backup",
        "restore",
    ] {
        vm.ok(&format!("test -d /data/{dir}")).expect(dir);
    }
    vm.ok("test -s /data/config/appliance.toml")
        .expect("default config");

    // Hostname and network come from the configuration: a new unit names
    // itself after its MAC (QEMU's 52:54:00:12:34:56).
    assert_eq!(
        vm.ok("hostname").expect("hostname").trim(),
        "appliance-123456"
    );
    let addr = vm.ok("ip -4 addr show dev eth0").expect("ip");
    assert!(addr.contains("inet 10.0.2.15/24"), "DHCP from QEMU: {addr}");

    // syslog receives what services log.
    vm.ok("logger -t systest hello-from-the-test")
        .expect("logger");
    vm.ok("sleep 1; grep -q 'systest.*hello-from-the-test' /data/log/messages")
        .expect("message in /data/log/messages");

    // The services run, and with them up the slot was marked good.
    vm.ok("pidof hotplugd && pidof backupd")
        .expect("services running");
    let env = vm
        .ok("grub-editenv /boot/efi/grub/grubenv list")
        .expect("grubenv");
    assert!(env.contains("A_OK=1") && env.contains("A_TRY=0"), "{env}");
    let status = vm
        .ok("rauc status --detailed --output-format=shell")
        .expect("rauc status");
    assert!(
        status.contains("RAUC_SYSTEM_BOOTED_BOOTNAME='A'"),
        "{status}"
    );
    assert!(
        status.contains("RAUC_SYSTEM_COMPATIBLE='mail-appliance-x86_64'"),
        "{status}"
    );

    // /data survives a reboot.
    vm.ok("echo kept > /data/state/marker; sync")
        .expect("write marker");
    vm.reboot().expect("reboot");
    vm.login().expect("login again");
    assert_eq!(
        vm.ok("cat /data/state/marker").expect("marker").trim(),
        "kept"
    );
    assert!(
        vm.ok("cat /proc/cmdline")
            .expect("cmdline")
            .contains("rauc.slot=A")
    );

    assert!(
        vm.poweroff(Duration::from_secs(60)).expect("poweroff"),
        "clean power-off"
    );
}

#[test]
fn boots_under_uefi() {
    let mut vm = Vm::boot(VmConfig::new("boot-uefi").firmware(Firmware::Uefi)).expect("boot");
    vm.login().expect("login");
    vm.ok("test -d /sys/firmware/efi")
        .expect("booted through UEFI");
    let mounts = vm.ok("cat /proc/mounts").expect("mounts");
    assert!(mounts.contains(" / squashfs ro"), "{mounts}");
}

#[test]
fn usb_drive_hotplug_appears_and_goes() {
    let mut vm = Vm::boot(VmConfig::new("usb-hotplug")).expect("boot");
    vm.login().expect("login");
    vm.ok("test ! -e /sys/block/sda").expect("no drive yet");
    let img = vm.work_dir().join("usb.img");
    systest::make_fat32_image(&img, 64, "BACKUP").expect("fat32 image");
    vm.usb_plug("usb1", &img).expect("plug");
    vm.ok("for i in $(seq 100); do [ -e /sys/block/sda ] && break; sleep 0.1; done; test -e /sys/block/sda")
        .expect("/dev/sda appears");
    let size = vm.ok("cat /sys/block/sda/size").expect("size");
    assert_eq!(
        size.trim(),
        (64u64 * 2048).to_string(),
        "64 MiB in 512-byte sectors"
    );
    vm.ok("readlink -f /sys/block/sda | grep -q usb")
        .expect("it is a USB device");
    vm.usb_unplug("usb1").expect("pull");
    vm.ok("for i in $(seq 100); do [ -e /sys/block/sda ] || break; sleep 0.1; done; test ! -e /sys/block/sda")
        .expect("/dev/sda goes away");
}
