//! The nightly archive inside the appliance: a set made by backupd verifies
//! with md5sum -c and reads back with tar; a power cut in the middle of a
//! backup leaves no set that looks complete, the older set intact, and the
//! next run succeeds and cleans up.

use std::time::{Duration, Instant};
use systest::{Vm, VmConfig};

const LONG: Duration = Duration::from_secs(600);

#[test]
fn backup_verifies_and_survives_a_power_cut() {
    let mut vm = Vm::boot(VmConfig::new("backup-power-cut")).expect("boot");
    vm.login().expect("login");

    // A store large enough that writing a set takes a while under TCG.
    vm.ok_timeout(
        "d=/data/store/mail/example.com/smith/INBOX/cur; mkdir -p $d && \
         for i in $(seq 120); do dd if=/dev/urandom of=$d/$i.eml bs=64k count=12 2>/dev/null; done; \
         mkdir -p '/data/store/mail/example.com/smith/Sent Items/cur' && \
         echo 'Subject: hello' > '/data/store/mail/example.com/smith/Sent Items/cur/1.eml'; sync",
        LONG,
    )
    .expect("store");

    // A full backup with a new unit's settings: compressed, md5sum -c
    // passes, recover lists it (the stock tools open compressed sets in
    // backupset's host tests: the unit has no zstd program).
    vm.ok_timeout("backupctl backup full --wait", LONG)
        .expect("backup");
    let check = vm
        .ok("cd /data/backup && md5sum -c *.md5")
        .expect("md5sum -c");
    assert!(check.contains(": OK"), "{check}");
    let listing = vm
        .ok("cd /data/backup && ls *.tar.zst && recover -l *.tar.zst")
        .expect("a compressed set, listed");
    assert!(listing.contains(" compressed; "), "{listing}");
    assert!(listing.contains("smith"), "{listing}");
    let first = vm.ok("ls /data/backup").expect("ls");

    // A second backup, and the power goes in the middle of writing it.
    vm.ok("backupctl backup copy --no-wait").expect("start");
    let start = Instant::now();
    loop {
        let status = vm.ok("backupctl status").expect("status");
        if status.contains("Running:") && !status.contains(" 0 B") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the copy never got going:\n{status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    vm.power_off_hard().expect("power cut");
    vm.power_on().expect("power on");
    vm.login().expect("login");

    // Only the first set is there and complete; it still verifies.
    let after = vm.ok("ls /data/backup").expect("ls");
    assert_eq!(
        after, first,
        "no new set may look complete after the power cut"
    );
    vm.ok("cd /data/backup && md5sum -c *.md5")
        .expect("older set intact");

    // The next run succeeds and removes what the interrupted one left.
    vm.ok_timeout("backupctl backup full --wait", LONG)
        .expect("next backup");
    let check = vm
        .ok("cd /data/backup && md5sum -c *.md5")
        .expect("md5sum -c");
    assert_eq!(check.matches(": OK").count(), 2, "{check}");
    let hidden = vm
        .ok("ls -A /data/backup | grep '^\\.' || true")
        .expect("ls -A");
    assert_eq!(
        hidden.trim(),
        "",
        "leftovers of the interrupted run are gone"
    );
}
