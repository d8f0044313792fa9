//! Field upgrades with RAUC: signed verity bundles into the other slot, boot
//! counting and automatic fallback, refusals that leave the running slot
//! alone, and /data untouched throughout.

use std::time::Duration;
use systest::bundle::{BundleSpec, copy_to_fat, make_bundle};
use systest::{Vm, VmConfig};

const DATA_SUM: &str = "cd /data && find . -path ./log -prune -o -path ./state -prune -o -type f -print \
    | sort | xargs md5sum | md5sum";

fn rauc_status(vm: &mut Vm) -> String {
    vm.ok("rauc status --detailed --output-format=shell")
        .expect("rauc status")
}

#[test]
fn upgrade_fallback_and_refusals() {
    let mut vm = Vm::boot(VmConfig::new("upgrade")).expect("boot");
    vm.login().expect("login");
    let work = vm.work_dir().to_path_buf();

    // Bundles: a good upgrade, one whose services fail, and three bad ones.
    let good = make_bundle(&work, "good-0.2.0", &BundleSpec::new("0.2.0")).expect("good bundle");
    let broken = make_bundle(
        &work,
        "broken-0.3.0",
        &BundleSpec {
            broken_services: true,
            ..BundleSpec::new("0.3.0")
        },
    )
    .expect("broken bundle");
    let untrusted = make_bundle(
        &work,
        "untrusted",
        &BundleSpec {
            untrusted_key: true,
            ..BundleSpec::new("0.9.0")
        },
    )
    .expect("untrusted bundle");
    let foreign = make_bundle(
        &work,
        "foreign",
        &BundleSpec {
            compatible: "some-other-box".into(),
            ..BundleSpec::new("0.9.0")
        },
    )
    .expect("foreign bundle");
    let truncated = work.join("truncated.raucb");
    let bytes = std::fs::read(&good).expect("read bundle");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("truncate");
    let usb = work.join("usb.img");
    systest::make_fat32_image(&usb, 256, "UPDATES").expect("fat32");
    copy_to_fat(&usb, &[&good, &broken, &untrusted, &foreign, &truncated]).expect("copy bundles");

    // Data and configuration that the upgrade must not touch.
    vm.ok("mkdir -p /data/store/mail/example.com/smith/INBOX/cur && \
           echo 'Subject: kept' > /data/store/mail/example.com/smith/INBOX/cur/1.eml && \
           sed -i 's/^hostname = .*/hostname = \"mx-upgrade\"/' /data/config/appliance.toml && sync")
        .expect("seed data");
    let before = vm.ok(DATA_SUM).expect("checksum");

    vm.usb_plug("updates", &usb).expect("plug");
    vm.ok(
        "for i in $(seq 100); do grep -q ' /media/usb ' /proc/mounts && break; sleep 0.2; done; \
           test -f /media/usb/good-0.2.0.raucb",
    )
    .expect("hotplugd mounts the drive");

    // Refusals: each says why, and slot B stays as it was (never written).
    let b_before = vm
        .ok("md5sum < /dev/disk/by-partlabel/rootfs-b")
        .expect("slot B");
    for (bundle, reason) in [
        ("untrusted.raucb", "signature"),
        ("foreign.raucb", "ompatible"),
        ("truncated.raucb", ""),
    ] {
        let out = vm
            .run_timeout(
                &format!("rauc install /media/usb/{bundle}"),
                Duration::from_secs(300),
            )
            .expect("rauc install");
        assert_ne!(out.status, 0, "{bundle} must be refused: {}", out.output);
        assert!(out.output.contains(reason), "{bundle}: {}", out.output);
    }
    assert_eq!(
        vm.ok("md5sum < /dev/disk/by-partlabel/rootfs-b")
            .expect("slot B"),
        b_before
    );
    let st = rauc_status(&mut vm);
    assert!(st.contains("RAUC_SYSTEM_BOOTED_BOOTNAME='A'"), "{st}");

    // A good upgrade goes to B, which boots next and is marked good.
    let out = vm
        .run_timeout(
            "rauc install /media/usb/good-0.2.0.raucb",
            Duration::from_secs(600),
        )
        .expect("install");
    assert_eq!(out.status, 0, "{}", out.output);
    vm.reboot().expect("reboot into B");
    vm.login().expect("login on B");
    assert_eq!(
        vm.ok("cat /etc/appliance-version").expect("version").trim(),
        "0.2.0"
    );
    let st = rauc_status(&mut vm);
    assert!(st.contains("RAUC_SYSTEM_BOOTED_BOOTNAME='B'"), "{st}");
    let env = vm
        .ok("grub-editenv /boot/efi/grub/grubenv list")
        .expect("grubenv");
    assert!(
        env.contains("B_OK=1") && env.contains("B_TRY=0") && env.contains("ORDER=B A"),
        "{env}"
    );
    assert_eq!(
        vm.ok(DATA_SUM).expect("checksum"),
        before,
        "/data unchanged by the upgrade"
    );
    assert_eq!(
        vm.ok("hostname").expect("hostname").trim(),
        "mx-upgrade",
        "config kept"
    );

    // An upgrade whose services fail: it boots once, is marked bad, and the
    // appliance comes back on B by itself.
    vm.ok("for i in $(seq 100); do grep -q ' /media/usb ' /proc/mounts && break; sleep 0.2; done")
        .expect("drive mounted on B");
    let out = vm
        .run_timeout(
            "rauc install /media/usb/broken-0.3.0.raucb",
            Duration::from_secs(600),
        )
        .expect("install broken");
    assert_eq!(out.status, 0, "{}", out.output);
    let from = vm.cursor();
    vm.reboot().expect("reboot into A, which falls back to B");
    let seen = vm.console_since(from);
    assert!(
        seen.contains("slot A is not healthy"),
        "the faulty slot was tried:\n{seen}"
    );
    vm.login().expect("login after the fallback");
    assert_eq!(
        vm.ok("cat /etc/appliance-version").expect("version").trim(),
        "0.2.0"
    );
    let st = rauc_status(&mut vm);
    assert!(st.contains("RAUC_SYSTEM_BOOTED_BOOTNAME='B'"), "{st}");
    assert_eq!(
        vm.ok(DATA_SUM).expect("checksum"),
        before,
        "/data unchanged by the failed upgrade"
    );
}
