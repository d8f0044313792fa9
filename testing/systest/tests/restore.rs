//! Whole-system restore onto a freshly flashed appliance, as Sendio's guide
//! describes it: a set made on one appliance is carried over on a USB
//! drive, dropped in /data/restore of a fresh one and restored with
//! `recover --system` (what the console's Restore From Backup runs). The
//! configuration and data come back, the host name applies at once, the
//! old address when the interface restarts. Then the power is cut during
//! a restore, before and after its commit point: each time the appliance
//! boots, with the old data or the new one, never a mix.

use std::path::Path;
use std::time::Duration;
use systest::{Vm, VmConfig};

/// The old appliance's data: its own configuration (host name and a
/// static address), mail server files and 160 messages.
const MAKE_OLD_DATA: &str = r#"set -e
cat > /data/config/appliance.toml <<'EOF'
[system]
hostname = "restored-mx"
[network]
mode = "static"
address = "10.0.2.16/24"
gateway = "10.0.2.2"
dns = ["10.0.2.3"]
EOF
echo '<config marker="from-the-old-appliance"/>' > /data/config/mailserver.cfg
echo '<users><user name="alice"/><user name="bob"/></users>' > /data/config/users.cfg
echo 'LICENSE of the old appliance' > /data/license/license.key
body=$(head -c 1500 /dev/zero | tr '\0' x)
for u in alice bob; do
  for f in INBOX "Sent Items"; do
    d="/data/store/mail/example.com/$u/$f/cur"
    mkdir -p "$d"
    i=0
    while [ $i -lt 40 ]; do
      printf 'From: someone@example.org\nSubject: %s %s %d\n\n%s\n' "$u" "$f" $i "$body" > "$d/$i.eml"
      i=$((i + 1))
    done
  done
done
sync"#;

const MESSAGES: &str = "find /data/store/mail/example.com -type f | wc -l";

fn set_name(listing: &str) -> String {
    listing
        .split_whitespace()
        .find(|n| n.starts_with("restored-mx-F") && systest::operator::is_first_volume(n))
        .unwrap_or_else(|| panic!("no set in {listing:?}"))
        .to_string()
}

/// Makes the set on a first appliance and carries it out on a USB drive.
fn set_on_usb(usb: &Path) -> String {
    systest::make_fat32_image(usb, 64, "CARRY").expect("fat32 image");
    let mut vm = Vm::boot(VmConfig::new("restore-old-unit").usb_at_boot(usb)).expect("boot");
    vm.login().expect("login");
    vm.ok_timeout(MAKE_OLD_DATA, Duration::from_secs(120))
        .expect("old data");
    vm.ok_timeout("backupd --once full", Duration::from_secs(300))
        .expect("backup");
    let set = set_name(&vm.ok("ls /data/backup").expect("ls"));
    vm.ok("grep -q ' /media/usb vfat ' /proc/mounts")
        .expect("the drive is mounted");
    vm.ok(&format!(
        "cp /data/backup/{set} /data/backup/{}.md5 /media/usb/ && usbctl eject",
        set
    ))
    .expect("copy to the drive");
    let _ = vm.poweroff(Duration::from_secs(60));
    set
}

/// Runs a whole-system restore in the background that pauses at `point`
/// (`staged` or `swapping`), and cuts the power there.
fn cut_power_during_restore(vm: &mut Vm, set: &str, point: &str) {
    vm.ok(&format!(
        "RECOVER_TEST_PAUSE={point}:600 recover --system -g /data/restore/{set} > /tmp/recover.log 2>&1 &"
    ))
    .expect("start the restore");
    vm.ok_timeout(
        "i=0; while ! grep -q 'pausing' /tmp/recover.log; do sleep 1; i=$((i + 1)); \
         if [ $i -gt 240 ]; then cat /tmp/recover.log; exit 1; fi; done",
        Duration::from_secs(300),
    )
    .expect("the restore reaches the point");
    vm.power_off_hard().expect("cut the power");
    vm.power_on().expect("it boots again");
    vm.login().expect("login after the power cut");
}

#[test]
fn whole_system_restore_onto_a_fresh_unit_and_power_cuts_during_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let usb = work.path().join("carry.img");
    let set = set_on_usb(&usb);

    // The replacement unit: freshly flashed, the set on a drive.
    let mut vm = Vm::boot(VmConfig::new("restore-fresh-unit").usb_at_boot(&usb)).expect("boot");
    vm.login().expect("login");
    vm.ok(&format!(
        "cp /media/usb/{set} /media/usb/{set}.md5 /data/restore/"
    ))
    .expect("drop the set in the FTP restore folder");
    vm.ok("mkdir -p /data/store/mail/fresh.org/x/INBOX/cur && echo fresh > /data/store/mail/fresh.org/x/INBOX/cur/1")
        .expect("something only the fresh unit has");
    // A fresh unit names itself after its MAC address.
    let fresh = vm.ok("hostname").expect("hostname").trim().to_string();
    assert!(fresh.starts_with("appliance-"), "{fresh}");

    // What the console's Restore From Backup runs.
    let out = vm
        .ok_timeout(
            &format!("recover --system /data/restore/{set}"),
            Duration::from_secs(600),
        )
        .expect("recover --system");
    assert!(out.contains("the restored data is in place"), "{out}");
    assert!(
        out.contains("takes effect when the interface restarts"),
        "{out}"
    );
    assert_eq!(
        vm.ok("cat /data/config/mailserver.cfg")
            .expect("cfg")
            .trim(),
        r#"<config marker="from-the-old-appliance"/>"#
    );
    assert_eq!(
        vm.ok("cat /data/license/license.key")
            .expect("license")
            .trim(),
        "LICENSE of the old appliance"
    );
    assert_eq!(vm.ok(MESSAGES).expect("count").trim(), "160");
    vm.ok("test ! -e /data/store/mail/fresh.org")
        .expect("the fresh unit's data was replaced");
    vm.ok(&format!("test -f /data/restore/{set}"))
        .expect("the restore folder is kept");
    vm.ok("grep -q 'recover.*committed' /data/log/messages")
        .expect("this unit's log is kept, with the restore in it");
    vm.ok("pidof hotplugd && pidof backupd")
        .expect("services running again");
    assert_eq!(
        vm.ok("ls -A /data/state/recover").expect("ls").trim(),
        "lock"
    );

    // The host name applies at once; the old address when the interface restarts.
    assert_eq!(vm.ok("hostname").expect("hostname").trim(), "restored-mx");
    let before = vm.ok("ip -4 addr show dev eth0").expect("ip");
    assert!(before.contains("inet 10.0.2.15/24"), "{before}");
    vm.ok("/etc/init.d/S40network restart")
        .expect("restart the interface");
    let after = vm.ok("ip -4 addr show dev eth0").expect("ip");
    assert!(after.contains("inet 10.0.2.16/24"), "{after}");

    // Old data that differs from the set in every top-level folder.
    let make_old = "echo old-cfg > /data/config/mailserver.cfg && echo old > /data/license/old-marker \
         && echo old > /data/store/mail/example.com/alice/INBOX/cur/old-marker && sync";
    let old_data = "grep -qx old-cfg /data/config/mailserver.cfg && test -f /data/license/old-marker \
         && test -f /data/store/mail/example.com/alice/INBOX/cur/old-marker";
    let new_data = format!(
        "grep -q from-the-old-appliance /data/config/mailserver.cfg && test ! -e /data/license/old-marker \
         && test ! -e /data/store/mail/example.com/alice/INBOX/cur/old-marker && test \"$({MESSAGES})\" = 160"
    );
    let healthy = "pidof hotplugd && pidof backupd && test \"$(ls -A /data/state/recover)\" = lock";

    // Power cut with the new data staged but not committed: the old data.
    vm.ok(make_old).expect("old data");
    cut_power_during_restore(&mut vm, &set, "staged");
    vm.ok(old_data).expect("the old data, whole");
    vm.ok(healthy).expect("services up, staging removed");

    // Power cut half-way through the swap: the boot finishes it.
    cut_power_during_restore(&mut vm, &set, "swapping");
    let boot = vm.console_since(0);
    assert!(
        boot.contains("Finished the interrupted restore"),
        "the boot did not report finishing the restore:\n{boot}"
    );
    vm.ok(&new_data).expect("the new data, whole");
    vm.ok(healthy).expect("services up, journal gone");
    let env = vm
        .ok("grub-editenv /boot/efi/grub/grubenv list")
        .expect("grubenv");
    assert!(env.contains("A_OK=1"), "the slot stays good: {env}");
}

/// A restore journal that `recover --resume` cannot finish (here a damaged
/// one) holds the appliance at boot: no service starts on a `/data` that
/// may be half swapped, the reason is in the log, and the booted slot is
/// marked neither good nor bad. Once the journal is dealt with, the next
/// boot starts everything again.
#[test]
fn a_failed_resume_at_boot_holds_the_services() {
    let mut vm = Vm::boot(VmConfig::new("restore-resume-fails")).expect("boot");
    vm.login().expect("login");
    vm.ok("pidof backupd && pidof ftpd && pidof hotplugd")
        .expect("the services run at first");
    vm.ok("mkdir -p /data/state/recover && echo 'not a restore journal' > /data/state/recover/journal && sync")
        .expect("a damaged journal");
    vm.reboot().expect("reboot");
    vm.login().expect("login");

    let hold = vm.ok("cat /run/appliance-hold").expect("held");
    assert!(hold.contains("recover --resume failed"), "{hold}");
    for service in ["backupd", "ftpd", "hotplugd", "timesyncd"] {
        let r = vm.run(&format!("pidof {service}")).expect("pidof");
        assert_ne!(r.status, 0, "{service} runs on a held /data: {}", r.output);
    }
    let log = vm
        .ok("grep -E 'recover|not started|neither marked' /data/log/messages | tail -n 20")
        .expect("log");
    assert!(log.contains("is damaged"), "{log}");
    assert!(log.contains("backupd not started"), "{log}");
    assert!(log.contains("neither marked good nor bad"), "{log}");
    // The journal is left for a person to look at, never run.
    assert_eq!(
        vm.ok("cat /data/state/recover/journal")
            .expect("journal")
            .trim(),
        "not a restore journal"
    );

    vm.ok("rm /data/state/recover/journal && sync")
        .expect("the journal dealt with");
    vm.reboot().expect("reboot");
    vm.login().expect("login");
    vm.ok("test ! -e /run/appliance-hold && pidof backupd && pidof ftpd && pidof hotplugd")
        .expect("the services run again");
}
