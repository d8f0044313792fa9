//! The SMB destination in the running appliance, against a real Samba
//! server started on the host's loopback (the guest reaches it as
//! 10.0.2.2): Test Connectivity, backups that `md5sum -c` verifies on the
//! host, both user-name forms, a folder in the share, and every failure in
//! plain words without a set that looks complete: wrong password, missing
//! share or folder, access denied, unreachable host, server stopped before
//! and during a backup.

use smbmount::testserver::{SambaOptions, SambaServer};
use std::path::Path;
use std::time::Duration;
use systest::operator::{backup_full, complete_sets, configure_backup, md5sum_check};
use systest::{CmdOutput, Vm, VmConfig};

/// The `[backup]` lines for an SMB destination.
fn smb_settings(host: &str, share: &str, path: &str, user: &str, password: &str) -> Vec<String> {
    // TOML basic strings: a backslash is written twice.
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\"));
    vec![
        "destination = \"smb\"".into(),
        "[backup.smb]".into(),
        format!("host = {}", q(host)),
        format!("share = {}", q(share)),
        format!("path = {}", q(path)),
        format!("username = {}", q(user)),
        format!("password = {}", q(password)),
    ]
}

/// `backupctl test`, with the seconds it took.
fn test_connectivity(vm: &mut Vm) -> CmdOutput {
    vm.run_timeout(
        "s=$(date +%s); backupctl test; rc=$?; echo \"took $(( $(date +%s) - s )) s\"; [ $rc = 0 ]",
        Duration::from_secs(120),
    )
    .expect("backupctl test")
}

/// The files in a folder of the share, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("share folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Sets whose `.md5` file is in `dir`.
fn sets_in(dir: &Path) -> Vec<String> {
    complete_sets(&listing(dir))
}

fn assert_failed_with(out: &CmdOutput, words: &str) {
    assert_ne!(out.status, 0, "must fail:\n{}", out.output);
    assert!(out.output.contains(words), "{words:?} in:\n{}", out.output);
}

#[test]
fn smb_share_backups_and_failures_in_plain_words() {
    let mut srv = SambaServer::start(SambaOptions::default()).expect("smbd starts");
    let server = format!("10.0.2.2:{}", srv.port);
    let pw = srv.options.password.clone();
    let share_dir = srv.share_dir();
    let mut vm = Vm::boot(VmConfig::new("smb-destination")).expect("boot");
    vm.login().expect("login");
    vm.ok(
        "mkdir -p /data/store/mail/example.com/alice/INBOX/cur && \
         printf 'From: a@example.com\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n' \
           > /data/store/mail/example.com/alice/INBOX/cur/1.eml && \
         for i in 1 2 3; do dd if=/dev/urandom of=/data/store/queue/incoming/m$i bs=1024 count=1000 2>/dev/null; done",
    )
    .expect("data");
    let good = smb_settings(&server, "backups", "", "TESTDOM\\backup", &pw);

    // Test Connectivity tells the truth, and leaves nothing behind.
    configure_backup(&mut vm, &good);
    let t = test_connectivity(&mut vm);
    assert_eq!(t.status, 0, "{}\n{}", t.output, srv.log());
    for want in [
        "OK (smb): Connected to \\\\10.0.2.2\\backups (SMB 3.",
        &format!("connect to 10.0.2.2 port {}: ok", srv.port),
        "mount \\\\10.0.2.2\\backups as TESTDOM\\backup: ok (SMB 3.",
        "write a probe file: ok",
        "read it back: ok",
        "delete it: ok",
        "unmount: ok",
        "free space: ",
        "SMB dialect: 3.",
    ] {
        assert!(t.output.contains(want), "{want:?} in:\n{}", t.output);
    }
    assert!(listing(&share_dir).is_empty(), "{:?}", listing(&share_dir));

    // A backup lands on the share and verifies on the host; the share is
    // unmounted afterwards.
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    let sets = sets_in(&share_dir);
    assert_eq!(sets.len(), 1, "{:?}", listing(&share_dir));
    md5sum_check(&share_dir, &sets[0]);
    vm.ok("! grep -q ' /run/smb ' /proc/mounts")
        .expect("unmounted after the backup");

    // user@fqdn: the kernel is given user and domain apart (the default);
    // the whole name as the user is refused by Samba, which is why.
    configure_backup(
        &mut vm,
        &smb_settings(&server, "backups", "", "backup@testdom.example.com", &pw),
    );
    let t = test_connectivity(&mut vm);
    assert_eq!(t.status, 0, "{}", t.output);
    let whole = vm
        .run(&format!(
            "echo '{pw}' | smbtest --server {server} --share backups \
             --user backup@testdom.example.com --upn whole"
        ))
        .expect("smbtest");
    assert_failed_with(&whole, "bad user name or password");

    // A folder inside the share: sets go there, and a missing one is named.
    std::fs::create_dir(share_dir.join("nightly")).expect("folder on the share");
    configure_backup(
        &mut vm,
        &smb_settings(&server, "backups", "nightly", "TESTDOM\\backup", &pw),
    );
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    let nightly = sets_in(&share_dir.join("nightly"));
    assert_eq!(
        nightly.len(),
        1,
        "{:?}",
        listing(&share_dir.join("nightly"))
    );
    md5sum_check(&share_dir.join("nightly"), &nightly[0]);
    assert_eq!(sets_in(&share_dir), sets, "nothing new in the root");
    configure_backup(
        &mut vm,
        &smb_settings(&server, "backups", "no/such", "TESTDOM\\backup", &pw),
    );
    assert_failed_with(
        &test_connectivity(&mut vm),
        "FAILED (smb): the folder no/such does not exist in the share",
    );

    // Wrong password, missing share, a share the user may not use, a host
    // that does not answer: each in plain words, and no set written.
    let before = listing(&share_dir);
    for (settings, words) in [
        (
            smb_settings(&server, "backups", "", "TESTDOM\\backup", "wrong"),
            "bad user name or password".to_string(),
        ),
        (
            smb_settings(&server, "nope", "", "TESTDOM\\backup", &pw),
            "the share nope does not exist on the server".to_string(),
        ),
        (
            smb_settings(&server, "private", "", "TESTDOM\\backup", &pw),
            "access denied: this user may not use the share".to_string(),
        ),
        (
            // On QEMU's network nobody answers for this address: the
            // connection attempt times out inside the guest.
            smb_settings("10.0.2.77", "backups", "", "TESTDOM\\backup", &pw),
            "host unreachable: 10.0.2.77 does not answer on port 445".to_string(),
        ),
    ] {
        configure_backup(&mut vm, &settings);
        let t = test_connectivity(&mut vm);
        assert_failed_with(&t, &format!("FAILED (smb): {words}"));
        println!("{words}: {}", t.output.lines().last().unwrap_or(""));
        let b = backup_full(&mut vm);
        assert_failed_with(&b, &words);
        assert_eq!(listing(&share_dir), before, "nothing written");
    }

    // The server stopped before a backup.
    configure_backup(&mut vm, &good);
    srv.stop();
    let b = backup_full(&mut vm);
    assert_failed_with(
        &b,
        &format!(
            "the server 10.0.2.2 refuses connections on port {} (is file sharing on?)",
            srv.port
        ),
    );
    srv.resume().expect("smbd starts again");

    // The server stopped during a backup: enough data to take a while.
    vm.run_timeout(
        "dd if=/dev/urandom of=/tmp/r bs=1M count=1 2>/dev/null && \
         for i in $(seq 1 80); do cp /tmp/r /data/store/queue/incoming/big$i; done; rm /tmp/r",
        Duration::from_secs(180),
    )
    .expect("more data");
    let backupd_pid = vm.ok("pidof backupd").expect("pid");
    let started = vm
        .run_timeout(
            "backupctl backup full --no-wait && \
             until backupctl status | grep -Eq 'writing: [0-9]+ files, [0-9.]+ MiB'; do sleep 0.2; done",
            Duration::from_secs(120),
        )
        .expect("backup running");
    assert_eq!(started.status, 0, "{}", started.output);
    srv.stop();
    vm.run_timeout(
        "until backupctl status | grep -q '^Running: *nothing'; do sleep 1; done; backupctl status",
        Duration::from_secs(240),
    )
    .expect("the backup ends");
    let status = vm.ok("backupctl status").expect("status");
    let last = status
        .lines()
        .find(|l| l.contains("FAILED") || l.contains(" OK "))
        .unwrap_or_default();
    assert!(
        last.contains("FAILED")
            && last.contains("the SMB server 10.0.2.2 went away during the backup")
            && last.contains("no set was published"),
        "{status}"
    );
    assert_eq!(vm.ok("pidof backupd").expect("pid"), backupd_pid);
    vm.ok("! grep -q ' /run/smb ' /proc/mounts")
        .expect("nothing left mounted");
    let after = listing(&share_dir);
    assert_eq!(sets_in(&share_dir), sets, "no new set: {after:?}");
    assert!(
        !after
            .iter()
            .any(|n| n.ends_with(".tar") && !before.contains(n)),
        "no volume under its final name: {after:?}"
    );

    // The server is back: the next backup works and clears the leftovers.
    srv.resume().expect("smbd starts again");
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}\n{}", b.output, srv.log());
    let after = listing(&share_dir);
    assert!(
        !after.iter().any(|n| n.starts_with('.')),
        "leftovers of the interrupted backup removed: {after:?}"
    );
    let sets = sets_in(&share_dir);
    assert_eq!(sets.len(), 2, "{after:?}");
    for s in &sets {
        md5sum_check(&share_dir, s);
    }
}
