//! The writer killed with SIGKILL at many points, and files it cannot read.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The files of complete sets (leftovers of killed runs may be cleaned).
fn contents(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for s in backupset::list_sets(dir)
        .expect("list")
        .into_iter()
        .filter(|s| s.complete)
    {
        for f in s
            .volumes
            .iter()
            .map(|v| v.0.clone())
            .chain([s.name.md5_name()])
        {
            let data = std::fs::read(dir.join(&f)).expect("read");
            out.insert(f, data);
        }
    }
    out
}

/// Whether `set` (a first volume's name) may have gone between two looks
/// at the folder: only when retention keeps `keep` newer restore points.
fn pruned_by_retention(set: &str, dir: &Path, keep: usize) -> bool {
    let Some(gone) = backupset::SetName::parse_tar(set) else {
        return false;
    };
    let newer = backupset::list_sets(dir)
        .expect("list")
        .into_iter()
        .filter(|s| s.complete && s.name.kind != backupset::SetKind::Copy)
        .filter(|s| s.name.time > gone.time)
        .count();
    newer >= keep
}

/// Kills `backupd --once` with SIGKILL at `points` moments spread over a
/// run (publish phase included): no set that looks complete is bad, older
/// sets are untouched unless retention (`keep` restore points) removed
/// them after a newer one verified, and the next run cleans up.
fn kill_9_campaign(app: &Appliance, points: u32, keep: usize) {
    let dir = app.backup_dir();
    // Undisturbed runs: older sets to protect, and the time each kind of
    // run takes (a differential is much shorter than a full).
    let timed = |kind: &str| {
        std::thread::sleep(Duration::from_millis(1000));
        let t0 = Instant::now();
        let o = app.once(kind).output().expect("runs");
        assert!(o.status.success(), "{}", text(&o));
        t0.elapsed()
    };
    let full = timed("full");
    let differential = timed("differential");
    let mut killed_mid_run = 0;
    for i in 0..points {
        let before = contents(&dir);
        // Set names carry seconds: never two runs in the same second.
        std::thread::sleep(Duration::from_millis(1000));
        let (kind, whole) = if i % 3 == 2 {
            ("differential", differential)
        } else {
            ("full", full)
        };
        let mut child = app
            .once(kind)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Spread the kills over the whole run, publish phase included.
        let delay = whole.mul_f64(f64::from(i) / f64::from(points - 1) * 1.1);
        std::thread::sleep(delay);
        let finished = child.try_wait().expect("try_wait").is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished {
            killed_mid_run += 1;
        }
        // Older sets untouched, unless retention removed them for newer ones.
        let after = contents(&dir);
        for (name, data) in &before {
            match after.get(name) {
                Some(d) => assert!(d == data, "kill #{i}: older file {name} changed"),
                None => {
                    let first = backupset::SetName::parse_file(name)
                        .map(|(set, _)| set.tar_name())
                        .unwrap_or_else(|| name.to_string());
                    assert!(
                        pruned_by_retention(&first, &dir, keep),
                        "kill #{i}: older file {name} vanished without {keep} newer restore points"
                    );
                }
            }
        }
        // Whatever has a .md5 verifies; nothing else looks complete.
        every_complete_set_verifies(&dir);
        for s in backupset::list_sets(&dir).expect("list") {
            if s.complete {
                let set = backupset::SetReader::open(&dir, &s.name.tar_name()).expect("open");
                set.summary().expect("a complete-looking set reads whole");
            }
        }
    }
    assert!(
        killed_mid_run >= points / 2,
        "only {killed_mid_run} kills hit a running backup"
    );
    // The next run succeeds and cleans what the killed ones left.
    std::thread::sleep(Duration::from_millis(1000));
    let o = app.once("full").output().expect("runs");
    assert!(o.status.success(), "{}", text(&o));
    let left: Vec<String> = files_in(&dir)
        .into_iter()
        .filter(|f| f.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "leftovers: {left:?}");
    for s in backupset::list_sets(&dir).expect("list") {
        assert!(s.complete, "{} incomplete after a successful run", s.name);
    }
    every_complete_set_verifies(&dir);
}

/// The settings a customer has: 24-hour body window, 3 restore points, no
/// forced volumes.
#[test]
fn kill_9_at_many_points_with_the_default_settings() {
    let app = Appliance::new(24 << 20, "");
    kill_9_campaign(&app, 10, 3);
}

/// Every body kept, many small volumes and every set kept: a longer run
/// with more files to cut, beside the default case above.
#[test]
fn kill_9_at_many_points_never_leaves_a_complete_looking_set() {
    let app = Appliance::new(
        24 << 20,
        "body_window_hours = 0\nretention = 100\nvolume_size_mib = 1",
    );
    kill_9_campaign(&app, 10, 100);
}

#[test]
fn unreadable_files_are_reported_and_the_rest_backed_up() {
    // Root reads everything, so the backup runs as an unprivileged user
    // (setpriv) over a tree it owns, with one file and one folder mode 000.
    let app = Appliance::new(2 << 20, "");
    let secret = app.data.join("store/mail/secret.eml");
    std::fs::write(&secret, b"Subject: x\n\nbody\n").expect("write");
    let closed = app.data.join("store/closed");
    std::fs::create_dir_all(&closed).expect("mkdir");
    std::fs::write(closed.join("inside"), b"x").expect("write");
    let o = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(app.tmp.path())
        .output()
        .expect("chown");
    assert!(o.status.success(), "{}", text(&o));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(app.tmp.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).expect("chmod");

    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BACKUPD]);
    cmd.args([
        "--data",
        &app.data.display().to_string(),
        "--config",
        &app.config.display().to_string(),
        "--once",
        "full",
    ]);
    let o = cmd.output().expect("setpriv runs");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("2 problems"), "{t}");
    assert!(
        t.contains("store/mail/secret.eml: cannot be read") && t.contains("Permission denied"),
        "{t}"
    );
    assert!(t.contains("store/closed: folder cannot be read"), "{t}");
    let dir = app.backup_dir();
    every_complete_set_verifies(&dir);
    let set_name = files_in(&dir)
        .into_iter()
        .find(|f| f.ends_with(".tar.zst"))
        .expect("a set");
    let o = std::process::Command::new("tar")
        .arg("--zstd")
        .arg("-tf")
        .arg(dir.join(&set_name))
        .output()
        .expect("tar");
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(
        !listing.contains("secret.eml") && !listing.contains("store/closed/inside"),
        "{listing}"
    );
    assert!(
        listing.contains("@backup/config/users.cfg") && listing.lines().count() > 100,
        "the rest is there"
    );
    let summary = backupset::SetReader::open(&dir, &set_name)
        .expect("open")
        .summary()
        .expect("summary");
    assert_eq!(summary.skipped_files, 2);
}
