//! The whole-system restore on the host: services stopped and started
//! through init scripts, the data swapped in whole, the appliance's own
//! folders kept, -b, failures that leave the old data, and a crash at the
//! two points that matter, finished or cleaned up by `--resume`.

mod common;

use backupset::SetKind;
use common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The folders a whole restore never replaces.
const OWN: [&str; 5] = ["backup", "restore", "state", "log", "lost+found"];

struct System {
    fx: Fixture,
    /// The running appliance's /data.
    cur: PathBuf,
    init: PathBuf,
    appctl: PathBuf,
    log: PathBuf,
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

impl System {
    /// A set of one generated store, and a running appliance holding another.
    /// A unit with the product's defaults (compressed sets).
    fn new() -> System {
        System::with(fixture(1 << 20))
    }

    fn with(fx: Fixture) -> System {
        full_checked(&fx, NOW);
        let cur = fx.path("cur");
        storegen::generate(
            &cur,
            &storegen::Options {
                size: 512 << 10,
                seed: 2,
                hostname: "fresh".into(),
                ..Default::default()
            },
        )
        .expect("generate");
        std::fs::create_dir_all(cur.join("log")).expect("log");
        std::fs::write(cur.join("log/messages"), b"this appliance's log\n").expect("log");
        std::fs::write(cur.join("backup/keep.tar"), b"a set").expect("set");
        std::fs::create_dir_all(cur.join("only-here/sub")).expect("extra");
        std::fs::create_dir_all(cur.join("lost+found")).expect("lost+found");
        let log = fx.path("calls.log");
        let lib = fx.path("root/lib/appliance");
        let init = fx.path("root/etc/init.d");
        std::fs::create_dir_all(&lib).expect("lib");
        std::fs::create_dir_all(&init).expect("init");
        script(
            &lib.join("service"),
            &format!("echo \"${{0##*/}} $1\" >> '{}'", log.display()),
        );
        for s in ["S50hotplugd", "S60backupd", "S70ftpd"] {
            std::os::unix::fs::symlink("../../lib/appliance/service", init.join(s)).expect("link");
        }
        script(
            &init.join("S40network"),
            &format!("echo \"S40network $1\" >> '{}'", log.display()),
        );
        let appctl = fx.path("root/appctl");
        script(
            &appctl,
            &format!("echo \"appctl $*\" >> '{}'", log.display()),
        );
        System {
            fx,
            cur,
            init,
            appctl,
            log,
        }
    }

    fn args<'a>(&'a self, extra: &[&'a str], source: &'a Path) -> Vec<&'a str> {
        let mut a = vec![
            "--system",
            "--init-dir",
            s(&self.init),
            "--appctl",
            s(&self.appctl),
            "-c",
            s(&self.cur),
            "-s",
            self.store(),
        ];
        a.extend_from_slice(extra);
        a.push(s(source));
        a
    }

    fn store(&self) -> &str {
        // Lives as long as self: cur/store.
        Box::leak(
            self.cur
                .join("store")
                .into_os_string()
                .into_string()
                .expect("utf-8")
                .into_boxed_str(),
        )
    }

    fn calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text.lines().map(str::to_string).collect()
    }

    fn data_now(&self) -> Tree {
        snapshot(&self.cur, &OWN)
    }

    fn own_now(&self) -> Tree {
        let mut t = Tree::new();
        for o in ["backup", "restore", "log"] {
            for (k, v) in snapshot(&self.cur.join(o), &[]) {
                t.insert(format!("{o}/{k}"), v);
            }
        }
        t
    }
}

#[test]
fn the_whole_system_comes_back_and_the_services_restart() {
    let sys = System::new();
    let expected = snapshot(&sys.fx.data, &["backup", "restore", "state"]);
    let own = sys.own_now();
    let (ok, stdout, stderr) = run(&sys.args(&[], &sys.fx.dest));
    assert!(ok, "{stdout} {stderr}");
    // A unit with other data: every headers-only message comes back so.
    let stubs = assert_restored(&sys.fx, &expected, &sys.data_now());
    assert!(
        stdout.contains(&format!("{stubs} messages restored as headers only"))
            && !stdout.contains("kept as they are"),
        "{stdout}"
    );
    // The appliance's own folders stay as they were.
    assert_same(&own, &sys.own_now());
    assert!(!sys.cur.join("only-here").exists());
    assert_eq!(
        sys.calls(),
        [
            "S70ftpd stop",
            "S60backupd stop",
            "S50hotplugd stop",
            "appctl accounts",
            "appctl hostname",
            "S50hotplugd start",
            "S60backupd start",
            "S70ftpd start",
        ]
    );
    assert!(
        stdout.contains("takes effect when the interface restarts"),
        "{stdout}"
    );
    assert_eq!(all_paths(&sys.cur.join("state/recover")), ["lock"]);

    // --restart-network applies the address now; -b keeps what was replaced.
    std::fs::write(sys.cur.join("config/mailserver.cfg"), b"edited since").expect("edit");
    let before = sys.data_now();
    let (ok, stdout, stderr) = run(&sys.args(&["-b", "--restart-network"], &sys.fx.dest));
    assert!(ok, "{stdout} {stderr}");
    let baks = [
        "config.BAK",
        "license.BAK",
        "sslca.BAK",
        "sslcert.BAK",
        "store.BAK",
    ];
    let skip: Vec<&str> = OWN.iter().chain(baks.iter()).copied().collect();
    assert_restored(&sys.fx, &expected, &snapshot(&sys.cur, &skip));
    let calls = sys.calls();
    assert_eq!(
        calls[3..6],
        ["appctl accounts", "appctl hostname", "S40network restart"]
    );
    for top in ["config", "license", "sslca", "sslcert", "store"] {
        let bak = sys.cur.join(format!("{top}.BAK"));
        assert!(bak.is_dir(), "{top}.BAK");
        let mut t = Tree::new();
        for (k, v) in snapshot(&bak, &[]) {
            t.insert(format!("{top}/{k}"), v);
        }
        assert_same(&subtree_of(&before, top), &t);
    }
    assert!(stdout.contains("kept as"), "{stdout}");
}

fn subtree_of(t: &Tree, top: &str) -> Tree {
    t.iter()
        .filter(|(k, _)| k.starts_with(&format!("{top}/")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn a_failed_restore_leaves_the_old_data_and_restarts_the_services() {
    // Edits the tar's own bytes (its format line): a plain set.
    let sys = System::with(fixture_plain(1 << 20));
    let fx = &sys.fx;
    let set = fx.dest.join(
        std::fs::read_dir(&fx.dest)
            .expect("sets")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(".tar"))
            .expect("a set"),
    );
    let good = std::fs::read(&set).expect("read");
    let before = sys.data_now();
    let check_untouched = |what: &str| {
        assert_same(&before, &sys.data_now());
        let left = all_paths(&sys.cur.join("state/recover"));
        assert_eq!(left, ["lock"], "{what}: staging left behind");
    };

    // One flipped bit in a message: the MD5 check, in the same pass, refuses.
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x10;
    std::fs::write(&set, &bad).expect("write");
    let (ok, _, stderr) = run(&sys.args(&[], &set));
    assert!(!ok);
    assert!(
        stderr.contains("does not match its .md5 file") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    check_untouched("md5");
    let calls = sys.calls();
    assert!(
        calls.first().is_some_and(|c| c.ends_with("stop"))
            && calls.last().is_some_and(|c| c.ends_with("start")),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.starts_with("appctl")), "{calls:?}");

    // Cut short.
    std::fs::write(&set, &good[..good.len() / 2]).expect("write");
    let (ok, _, stderr) = run(&sys.args(&[], &set));
    assert!(!ok && stderr.contains("cut short"), "{stderr}");
    check_untouched("cut short");

    // Written by a newer firmware.
    let mut newer = good.clone();
    let pos = newer
        .windows(9)
        .position(|w| w == b"format=1\n")
        .expect("format line");
    newer[pos + 7] = b'7';
    std::fs::write(&set, &newer).expect("write");
    refresh_md5(&set);
    let (ok, _, stderr) = run(&sys.args(&[], &set));
    assert!(
        !ok && stderr.contains("written by a newer firmware (set format 7"),
        "{stderr}"
    );
    check_untouched("newer");
    std::fs::write(&set, &good).expect("write");
    refresh_md5(&set);

    // No .md5 file, then a missing volume.
    let md5 = set.with_extension("tar.md5");
    let md5_text = std::fs::read(&md5).expect("md5");
    std::fs::remove_file(&md5).expect("rm");
    let (ok, _, stderr) = run(&sys.args(&[], &set));
    assert!(
        !ok && stderr.contains("is missing its .md5 file"),
        "{stderr}"
    );
    std::fs::write(&md5, &md5_text).expect("md5 back");
    let split = fixture(1 << 20);
    let mut o = split.options(SetKind::Full, NOW);
    o.volume_size = Some(16 << 10);
    let out = split.write(&o);
    std::fs::remove_file(split.dest.join(&out.volumes[1].name)).expect("rm volume");
    let (ok, _, stderr) = run(&sys.args(&[], &split.set_path(&out)));
    assert!(
        !ok && stderr.contains(&format!("is missing volume {}", out.volumes[1].name)),
        "{stderr}"
    );
    check_untouched("missing volume");

    // A configuration this firmware cannot run.
    let cfg = fixture(256 << 10);
    std::fs::write(
        cfg.data.join("config/appliance.toml"),
        "[network]\nmode = \"static\"\n",
    )
    .expect("config");
    let o = cfg.full(NOW);
    let (ok, _, stderr) = run(&sys.args(&[], &cfg.set_path(&o)));
    assert!(
        !ok && stderr.contains("configuration cannot be used"),
        "{stderr}"
    );
    check_untouched("config");
}

#[test]
fn not_enough_room_for_the_staging_copy_is_refused_up_front() {
    // The set's files alone (a block each) need more than the tmpfs has,
    // whatever the body window left of their bytes.
    let sys = System::new();
    let small = sys.fx.path("small");
    std::fs::create_dir_all(&small).expect("mkdir");
    nix::mount::mount(
        Some("tmpfs"),
        &small,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=400k"),
    )
    .expect("mount a small tmpfs (tests run as root)");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(&small);
    std::fs::write(small.join("old"), b"old data").expect("old");
    let (ok, _, stderr) = run(&[
        "-c",
        s(&small),
        "-s",
        s(&small.join("store")),
        s(&sys.fx.dest),
    ]);
    assert!(!ok && stderr.contains("not enough free space"), "{stderr}");
    assert_eq!(std::fs::read(small.join("old")).expect("old"), b"old data");

    // -b in a selective restore needs room for the copy too.
    let (d, u) = some_user(&sys.fx.data);
    let store = small.join("store");
    std::fs::create_dir_all(store.join(format!("mail/{d}"))).expect("mkdir");
    let big = store.join(format!("mail/{d}/{u}/big"));
    std::fs::create_dir_all(big.parent().expect("p")).expect("mkdir");
    std::fs::write(&big, vec![7u8; 200 << 10]).expect("big");
    let (ok, _, stderr) = run(&[
        "-b",
        "-d",
        &d,
        "-u",
        &u,
        "-s",
        s(&store),
        "-c",
        s(&small),
        s(&sys.fx.dest),
    ]);
    assert!(
        !ok && stderr.contains("not enough free space") && stderr.contains(".BAK"),
        "{stderr}"
    );
    assert!(big.is_file());
}

/// Runs a whole restore that pauses at `point`, and kills it there.
fn crash_at(sys: &System, point: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recover"))
        .args(["-c", s(&sys.cur), "-s", sys.store(), s(&sys.fx.dest)])
        .env("RECOVER_TEST_PAUSE", format!("{point}:60"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    for line in BufReader::new(out).lines() {
        if line.expect("line").contains("(test) pausing") {
            break;
        }
    }
    child.kill().expect("kill");
    let _ = child.wait();
}

#[test]
fn a_crash_before_the_commit_leaves_the_old_data_and_after_it_the_new() {
    let sys = System::new();
    let expected = snapshot(&sys.fx.data, &["backup", "restore", "state"]);
    let before = sys.data_now();

    crash_at(&sys, "staged");
    assert_same(&before, &sys.data_now());
    assert!(
        sys.cur.join("state/recover/new").is_dir(),
        "staged data is there"
    );
    let (ok, stdout, stderr) = run(&["--resume", "-c", s(&sys.cur)]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("old data was never touched"), "{stdout}");
    assert_same(&before, &sys.data_now());
    assert_eq!(all_paths(&sys.cur.join("state/recover")), ["lock"]);

    crash_at(&sys, "swapping");
    let mid = sys.data_now();
    assert!(mid != before && mid != expected, "half swapped");
    assert!(sys.cur.join("state/recover/journal").is_file());
    // A boot step that recreates missing folders may run before the resume.
    for d in ["config", "license", "sslca", "sslcert", "store"] {
        std::fs::create_dir_all(sys.cur.join(d)).expect("layout");
    }
    let (ok, stdout, stderr) = run(&["--resume", "-c", s(&sys.cur)]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Finished the interrupted restore"),
        "{stdout}"
    );
    assert_restored(&sys.fx, &expected, &sys.data_now());
    assert_eq!(all_paths(&sys.cur.join("state/recover")), ["lock"]);
    // Nothing to do the next time.
    let (ok, stdout, _) = run(&["--resume", "-c", s(&sys.cur)]);
    assert!(ok && stdout.is_empty(), "{stdout}");
}

#[test]
fn ctrl_c_before_the_commit_changes_nothing() {
    let sys = System::new();
    let before = sys.data_now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_recover"))
        .args(["-c", s(&sys.cur), "-s", sys.store(), s(&sys.fx.dest)])
        .env("RECOVER_TEST_PAUSE", "staged:3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    for line in lines.by_ref() {
        if line.expect("line").contains("(test) pausing") {
            break;
        }
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("interrupted before the restored data was committed: nothing was changed"),
        "{stderr}"
    );
    assert_same(&before, &sys.data_now());
    assert_eq!(all_paths(&sys.cur.join("state/recover")), ["lock"]);
}

/// A message the set has with its headers only whose live file is on
/// another file system than the staging area (so it cannot be linked in)
/// is copied in, with its mode and time; one reached through a link in
/// the live data is not taken at all.
#[test]
fn a_live_file_that_cannot_be_linked_into_the_staging_area_is_copied() {
    use backupset::SetEntry;
    use backupset::tarfmt::EntryKind;
    use recover::place::{Mode, Placement, Placer};
    use std::os::unix::fs::MetadataExt;

    let tmp = tempfile::tempdir().expect("tempdir");
    let live = tmp.path().join("live");
    std::fs::create_dir_all(&live).expect("mkdir");
    nix::mount::mount(
        Some("tmpfs"),
        &live,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .expect("mount a tmpfs (tests run as root)");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(&live);
    let rel = "mail/a.com/bob/INBOX/cur/1.M1P1.mail:2,S";
    let msg = live.join(rel);
    std::fs::create_dir_all(msg.parent().expect("parent")).expect("mkdir");
    std::fs::write(&msg, b"From: a\n\nthe live body\n").expect("live");
    std::fs::set_permissions(&msg, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let old = NOW - 10 * 86_400;
    std::fs::File::options()
        .write(true)
        .open(&msg)
        .expect("open")
        .set_times(
            std::fs::FileTimes::new()
                .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(old as u64)),
        )
        .expect("mtime");

    let stage = tmp.path().join("stage/new");
    std::fs::create_dir_all(&stage).expect("stage");
    let stub =
        b"X-Backup-Body-Omitted: body of 23 bytes older than 24 h not backed up\nFrom: a\n\n";
    let entry = |path: &str| SetEntry {
        path: format!("store/{path}"),
        kind: EntryKind::File,
        size: stub.len() as u64,
        mode: 0o600,
        uid: 0,
        gid: 0,
        mtime: NOW as u64,
        link: None,
    };
    let mut placer = Placer::new(Mode::Fresh);
    let e = entry(rel);
    let to = Placement {
        root: stage.clone(),
        dest: stage.join(&e.path),
        current: Some((live.clone(), msg.clone())),
    };
    let kept = placer
        .place_headers_only("test", &to, &e, &mut &stub[..])
        .expect("placed");
    assert!(kept);
    let m = std::fs::metadata(&to.dest).expect("staged");
    assert_eq!(
        std::fs::read(&to.dest).expect("staged"),
        b"From: a\n\nthe live body\n"
    );
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o640, old));
    assert_ne!(m.dev(), std::fs::metadata(&msg).expect("live").dev());

    // Through a link in the live data: the headers-only copy is staged.
    std::fs::create_dir_all(live.join("mail/b.com")).expect("mkdir");
    std::os::unix::fs::symlink(live.join("mail/a.com/bob"), live.join("mail/b.com/bob"))
        .expect("link");
    let rel_b = "mail/b.com/bob/INBOX/cur/1.M1P1.mail:2,S";
    let e = entry(rel_b);
    let to = Placement {
        root: stage.clone(),
        dest: stage.join(&e.path),
        current: Some((live.clone(), live.join(rel_b))),
    };
    let kept = placer
        .place_headers_only("test", &to, &e, &mut &stub[..])
        .expect("placed");
    assert!(!kept);
    assert_eq!(std::fs::read(&to.dest).expect("staged"), stub);
    let stats = placer.finish().expect("finish");
    assert_eq!(
        (stats.files, stats.headers_only, stats.kept_current),
        (1, 1, 1)
    );
}

/// Writes `[system]` with a unit identity (or none) into a data folder's
/// configuration.
fn set_identity(data: &Path, unit: Option<&str>) {
    let line = unit
        .map(|u| format!("unit_id = \"{u}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        data.join("config/appliance.toml"),
        format!("[system]\n{line}hostname = \"mail\"\n"),
    )
    .expect("config");
}

fn identity_of(data: &Path) -> String {
    appconfig::Config::load(&data.join("config/appliance.toml"))
        .expect("restored config")
        .system
        .unit_id
        .to_string()
}

/// A replacement unit takes over the old unit's identity (and so manages
/// its sets); `--keep-identity` keeps its own (a second unit made from
/// another's set); a set from before identities leaves the unit its own.
#[test]
fn the_unit_identity_is_taken_over_or_kept_as_the_operator_chooses() {
    const OLD: &str = "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f";
    const NEW: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    let sys = System::new();
    let fx = fixture(256 << 10);
    set_identity(&fx.data, Some(OLD));
    let with_id = full_checked(&fx, NOW);
    set_identity(&fx.data, None);
    let without_id = full_checked(&fx, NOW + 60);

    set_identity(&sys.cur, Some(NEW));
    let (ok, _, stderr) = run(&sys.args(&[], &fx.set_path(&with_id)));
    assert!(ok, "{stderr}");
    assert_eq!(identity_of(&sys.cur), OLD, "the replacement takes over");

    set_identity(&sys.cur, Some(NEW));
    let (ok, _, stderr) = run(&sys.args(&["--keep-identity"], &fx.set_path(&with_id)));
    assert!(ok, "{stderr}");
    assert_eq!(identity_of(&sys.cur), NEW, "kept as asked");

    set_identity(&sys.cur, Some(NEW));
    let (ok, _, stderr) = run(&sys.args(&[], &fx.set_path(&without_id)));
    assert!(ok, "{stderr}");
    assert_eq!(identity_of(&sys.cur), NEW, "a set without one leaves ours");

    // Nothing to keep: refused, nothing changed.
    set_identity(&sys.cur, None);
    let before = sys.data_now();
    let (ok, _, stderr) = run(&sys.args(&["--keep-identity"], &fx.set_path(&with_id)));
    assert!(!ok && stderr.contains("no identity to keep"), "{stderr}");
    assert_eq!(sys.data_now(), before);
}
