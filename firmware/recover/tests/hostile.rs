//! Hostile and damaged sets: refused with a message that says why, never
//! a panic, never a byte written outside the target, and (for a whole
//! restore) the old data left as it was.

mod common;

use backupset::SetKind;
use common::*;
use rand::{Rng, SeedableRng};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

struct Arena {
    tmp: tempfile::TempDir,
    sets: PathBuf,
    target: PathBuf,
    outside: PathBuf,
}

impl Arena {
    fn new() -> Arena {
        let tmp = tempfile::tempdir().expect("tempdir");
        let sets = tmp.path().join("sets");
        let target = tmp.path().join("target");
        let outside = tmp.path().join("outside");
        for d in [&sets, &target, &outside] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(target.join("old"), b"old data").expect("old");
        Arena {
            tmp,
            sets,
            target,
            outside,
        }
    }

    /// Restores `set` whole into the target; returns stderr. Checks that it
    /// failed cleanly and touched nothing.
    fn refused(&self, set: &Path, says: &str) -> String {
        let out = recover(&[
            "-c".as_ref(),
            self.target.as_os_str(),
            "-s".as_ref(),
            self.target.join("store").as_os_str(),
            set.as_os_str(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{set:?} not refused cleanly: {stderr}"
        );
        assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        self.untouched();
        stderr
    }

    fn untouched(&self) {
        assert!(
            all_paths(&self.outside).is_empty(),
            "written outside the target"
        );
        let mut t = all_paths(&self.target);
        t.retain(|p| !p.starts_with("state"));
        assert!(
            t == ["old"] || t == ["old", "store"],
            "the target changed: {t:?}"
        );
        assert_eq!(
            std::fs::read(self.target.join("old")).expect("old"),
            b"old data"
        );
        let staging: Vec<String> = all_paths(&self.target.join("state/recover"))
            .into_iter()
            .filter(|p| p != "lock")
            .collect();
        assert!(staging.is_empty(), "staging left: {staging:?}");
    }
}

#[test]
fn path_traversal_absolute_paths_and_links_out_are_refused() {
    let a = Arena::new();
    let outside = a.outside.to_str().expect("utf-8").to_string();
    let rel_outside = "../../outside/evil";
    let cases: Vec<(&str, Vec<Raw>, &str)> = vec![
        (
            "20260101T000001Z",
            vec![raw_file(b"@backup/../outside/evil", b"x")],
            "'..'",
        ),
        (
            "20260101T000002Z",
            vec![
                raw_dir("@backup/store"),
                raw_file(b"@backup/store/../../outside/evil", b"x"),
            ],
            "'..'",
        ),
        (
            "20260101T000003Z",
            vec![raw_file(b"@backup//abs/evil", b"x")],
            "absolute or empty path",
        ),
        (
            "20260101T000004Z",
            vec![
                raw_dir("@backup/store"),
                raw_link("@backup/store/link", &outside),
            ],
            "points outside the restored tree",
        ),
        (
            "20260101T000005Z",
            vec![
                raw_dir("@backup/store"),
                raw_link("@backup/store/link", rel_outside),
            ],
            "points outside the restored tree",
        ),
        (
            "20260101T000006Z",
            vec![
                raw_dir("@backup/store"),
                raw_dir("@backup/store/mail"),
                // A link inside the tree, then a file through it.
                raw_link("@backup/store/l", "mail"),
                raw_file(b"@backup/store/l/evil", b"x"),
            ],
            "a restore never writes through links",
        ),
        (
            "20260101T000007Z",
            vec![
                raw_dir("@backup/store"),
                raw_special("@backup/store/h", b'1', "/etc/passwd"),
            ],
            "a type this format never writes",
        ),
        (
            "20260101T000008Z",
            vec![raw_special("@backup/dev", b'3', "")],
            "a type this format never writes",
        ),
        (
            "20260101T000009Z",
            vec![raw_special("@backup/blk", b'4', "")],
            "a type this format never writes",
        ),
        (
            "20260101T000010Z",
            vec![raw_special("@backup/fifo", b'6', "")],
            "a type this format never writes",
        ),
        (
            "20260101T000011Z",
            vec![
                raw_dir("@backup/store"),
                raw_file(b"@backup/store/\xff\xfename", b"x"),
            ],
            "not UTF-8",
        ),
        (
            "20260101T000012Z",
            vec![raw_dir("@backup/a"), raw_file(b"@backup/a", b"x")],
            "appears twice",
        ),
    ];
    for (time, entries, says) in cases {
        let set = craft_set(&a.sets, time, &entries);
        a.refused(&set, says);
        // And nothing appeared at the absolute path named in the set.
        assert!(!Path::new("/abs/evil").exists());
    }
    // Entries outside @backup/ (an absolute name) are not data: never written.
    let set = craft_set(
        &a.sets,
        "20260101T000013Z",
        &[raw_file(
            format!("{}/abs", a.outside.display()).as_bytes(),
            b"x",
        )],
    );
    let out = recover(&[
        "-c".as_ref(),
        a.tmp.path().join("t2").as_os_str(),
        set.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all_paths(&a.outside).is_empty());
}

#[test]
fn huge_headers_are_refused() {
    let a = Arena::new();
    let mut pax = header(b"@PaxHeader", b'x', 4 << 20, b"");
    pax.extend(std::iter::repeat_n(b'a', 4 << 20));
    let set = craft_set(
        &a.sets,
        "20260101T000001Z",
        &[Raw { blocks: pax }, raw_file(b"@backup/x", b"x")],
    );
    a.refused(&set, "headers take more than");
}

#[test]
fn damaged_real_sets_are_refused() {
    let fx = fixture_plain(1 << 20); // finds tar headers in the raw bytes
    let o = fx.full(NOW);
    let a = Arena::new();
    let set = a.sets.join(o.name.tar_name());
    std::fs::copy(fx.set_path(&o), &set).expect("copy");
    std::fs::copy(
        fx.dest.join(o.name.md5_name()),
        a.sets.join(o.name.md5_name()),
    )
    .expect("md5");
    let good = std::fs::read(&set).expect("read");

    // A wrong MD5 in the .md5 file.
    let md5 = a.sets.join(o.name.md5_name());
    let text = std::fs::read_to_string(&md5).expect("md5");
    std::fs::write(&md5, format!("{}{}", "0".repeat(32), &text[32..])).expect("md5");
    a.refused(&set, "does not match its .md5 file");
    // A selective restore reads only its part: --verify checks the MD5 first.
    let (d, u) = some_user(&fx.data);
    let sel = |verify: bool| {
        let mut args = vec!["-d", &d, "-u", &u, "-s", s(&a.target)];
        if verify {
            args.push("--verify");
        }
        args.push(s(&set));
        run(&args)
    };
    let (ok, _, stderr) = sel(true);
    assert!(
        !ok && stderr.contains("does not match its .md5 file"),
        "{stderr}"
    );
    a.untouched();
    std::fs::write(&md5, &text).expect("md5 back");

    // Truncated.
    std::fs::write(&set, &good[..good.len() * 2 / 3 / 512 * 512]).expect("cut");
    refresh_md5(&set);
    a.refused(&set, "cut short");

    // A flipped bit in a tar header of the chosen mailbox: even without
    // --verify the header checksum catches it.
    let needle = format!("@backup/store/mail/{d}/{u}/");
    let at = good
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("a header of the mailbox");
    let mut bad = good.clone();
    bad[at + 3] ^= 0x01;
    std::fs::write(&set, &bad).expect("flip");
    std::fs::write(&md5, &text).expect("md5");
    let (ok, _, stderr) = sel(false);
    assert!(!ok && stderr.contains("is damaged"), "{stderr}");
    assert!(all_paths(&a.outside).is_empty());
    a.refused(&set, "does not match its .md5 file");

    // Random damage anywhere: a clean refusal every time, never a panic.
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    for round in 0..24 {
        let mut bad = good.clone();
        for _ in 0..rng.random_range(1..12) {
            let i = if round % 2 == 0 {
                rng.random_range(0..bad.len())
            } else {
                bad.len() - 1 - rng.random_range(0..8192.min(bad.len()))
            };
            bad[i] = rng.random();
        }
        if bad == good {
            continue;
        }
        std::fs::write(&set, &bad).expect("write");
        // The .md5 matches the damage half the time: then only the
        // structure checks stand between the damage and the disk.
        if round % 4 < 2 {
            refresh_md5(&set);
        } else {
            std::fs::write(&md5, &text).expect("md5");
        }
        let out = recover(&[
            "-q".as_ref(),
            "-c".as_ref(),
            a.target.as_os_str(),
            "-s".as_ref(),
            a.target.join("store").as_os_str(),
            set.as_os_str(),
        ]);
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "round {round}: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all_paths(&a.outside).is_empty(), "round {round}");
        if out.status.success() {
            // Damage the structure checks could not see (inside a file):
            // restored whole, over the old data. Start again.
            std::fs::remove_dir_all(&a.target).expect("rm");
            std::fs::create_dir_all(&a.target).expect("mkdir");
            std::fs::write(a.target.join("old"), b"old data").expect("old");
        } else {
            a.untouched();
        }
        let out = recover(&["-l".as_ref(), set.as_os_str()]);
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "listing, round {round}"
        );
    }
}

#[test]
fn names_that_are_not_utf8_in_the_current_data_are_kept_or_moved_whole() {
    let fx = fixture(512 << 10);
    fx.full(NOW);
    let cur = fx.path("cur");
    std::fs::create_dir_all(cur.join("store/mail")).expect("mkdir");
    let odd = std::ffi::OsStr::from_bytes(b"\xff\xfe odd");
    std::fs::write(cur.join("store/mail").join(odd), b"odd").expect("odd name");
    std::fs::create_dir_all(cur.join("config")).expect("mkdir");
    std::fs::write(cur.join("config").join(odd), b"odd").expect("odd name");
    let (ok, _, stderr) = run(&[
        "-b",
        "-q",
        "-c",
        s(&cur),
        "-s",
        s(&cur.join("store")),
        s(&fx.dest),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(cur.join("store.BAK/mail").join(odd)).expect("kept"),
        b"odd"
    );
    assert_eq!(
        std::fs::read(cur.join("config.BAK").join(odd)).expect("kept"),
        b"odd"
    );
    assert!(!cur.join("store/mail").join(odd).exists());
    // A selective -b copies such names too.
    let (d, u) = some_user(&fx.data);
    let user = cur.join(format!("store/mail/{d}/{u}"));
    std::fs::write(user.join(odd), b"odd").expect("odd");
    let (ok, _, stderr) = run(&[
        "-b",
        "-q",
        "-d",
        &d,
        "-u",
        &u,
        "-s",
        s(&cur.join("store")),
        s(&fx.dest),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(cur.join(format!("store/mail/{d}/{u}.BAK")).join(odd)).expect("kept"),
        b"odd"
    );
    assert!(
        user.join(odd).exists(),
        "a selective restore keeps what the set does not have"
    );
    let _ = SetKind::Full;
}

#[test]
fn links_in_the_live_target_are_never_followed() {
    let fx = fixture(512 << 10);
    fx.full(NOW);
    let (d, u) = some_user(&fx.data);
    let a = Arena::new();
    let store = a.target.join("store");
    // A link where the user's domain folder would be: refused, not followed.
    std::fs::create_dir_all(store.join("mail")).expect("mkdir");
    std::os::unix::fs::symlink(&a.outside, store.join(format!("mail/{d}"))).expect("link");
    let (ok, _, stderr) = run(&["-d", &d, "-u", &u, "-s", s(&store), s(&fx.dest)]);
    assert!(
        !ok && stderr.contains("never writes through links"),
        "{stderr}"
    );
    assert!(all_paths(&a.outside).is_empty());
    std::fs::remove_file(store.join(format!("mail/{d}"))).expect("rm");

    // A link where a restored message goes is replaced, its target untouched.
    let msg = snapshot(&fx.data.join(format!("store/mail/{d}/{u}")), &[])
        .into_iter()
        .find(|(k, v)| v.0 == 'f' && k.contains("/cur/"))
        .map(|(k, _)| k)
        .expect("a message");
    let dest = store.join(format!("mail/{d}/{u}/{msg}"));
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::write(a.outside.join("victim"), b"victim").expect("victim");
    std::os::unix::fs::symlink(a.outside.join("victim"), &dest).expect("link");
    let (ok, _, stderr) = run(&["-q", "-d", &d, "-u", &u, "-s", s(&store), s(&fx.dest)]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(a.outside.join("victim")).expect("victim"),
        b"victim"
    );
    assert!(std::fs::symlink_metadata(&dest).expect("dest").is_file());
}

/// A message the set has with its headers only keeps the live file at its
/// path, but never one reached through a link in the live data: a whole
/// restore stages the headers-only copy instead and leaves the file the
/// link leads to alone; a merge replaces the link, as always.
#[test]
fn links_in_the_live_data_never_lend_a_file_to_a_restore() {
    let fx = fixture(512 << 10);
    full_checked(&fx, NOW);
    let (d, u) = some_user(&fx.data);
    let user_rel = format!("store/mail/{d}/{u}");
    let set_user = {
        let out = fx.path("as-in-the-set");
        let (ok, _, stderr) = run(&["-q", "-d", &d, "-u", &u, "-s", s(&out), s(&fx.dest)]);
        assert!(ok, "{stderr}");
        snapshot(&out.join(format!("mail/{d}/{u}")), &[])
    };
    let (stub_rel, stub) = set_user
        .iter()
        .find(|(_, v)| v.0 == 'f' && is_stub(&v.3))
        .map(|(k, v)| (k.clone(), v.3.clone()))
        .expect("a headers-only message");

    let a = Arena::new();
    let cur = &a.target;
    std::fs::create_dir_all(cur.join(format!("store/mail/{d}"))).expect("mkdir");
    // The user's folder is a link to a folder outside that has a file
    // where the message would be.
    let victim = a.outside.join(&stub_rel);
    std::fs::create_dir_all(victim.parent().expect("parent")).expect("mkdir");
    std::fs::write(&victim, b"not the store's").expect("victim");
    std::os::unix::fs::symlink(&a.outside, cur.join(&user_rel)).expect("link");
    let (ok, stdout, stderr) = run(&["-g", "-c", s(cur), "-s", s(&cur.join("store")), s(&fx.dest)]);
    assert!(ok, "{stdout} {stderr}");
    let restored = cur.join(&user_rel).join(&stub_rel);
    assert!(
        !std::fs::symlink_metadata(cur.join(&user_rel))
            .expect("user")
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&restored).expect("restored"), stub);
    assert_eq!(std::fs::read(&victim).expect("victim"), b"not the store's");
    assert_eq!(
        std::fs::metadata(&victim).expect("victim").nlink(),
        1,
        "linked from outside the store"
    );
    assert!(!stdout.contains("kept as they are"), "{stdout}");

    // A merge: the link where the user's folder goes is replaced by a
    // folder, and the file it led to is neither kept nor touched.
    std::fs::remove_dir_all(cur.join(&user_rel)).expect("rm");
    std::os::unix::fs::symlink(&a.outside, cur.join(&user_rel)).expect("link");
    let (ok, stdout, stderr) = run(&[
        "-g",
        "-d",
        &d,
        "-u",
        &u,
        "-s",
        s(&cur.join("store")),
        s(&fx.dest),
    ]);
    assert!(ok, "{stdout} {stderr}");
    assert!(cur.join(&user_rel).is_dir() && !cur.join(&user_rel).is_symlink());
    assert_eq!(std::fs::read(&restored).expect("restored"), stub);
    assert_eq!(std::fs::read(&victim).expect("victim"), b"not the store's");
    assert!(!stdout.contains("kept as they are"), "{stdout}");
}

/// A folder whose name holds terminal escape sequences (a window title
/// change, a screen clear) is listed with the escapes shown, never sent to
/// the terminal as they are.
#[test]
fn names_with_terminal_escapes_are_listed_harmlessly() {
    let fx = fixture(256 << 10);
    let (domain, user) = some_user(&fx.data);
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}1m";
    let folder = fx
        .data
        .join("store/mail")
        .join(&domain)
        .join(&user)
        .join(evil);
    std::fs::create_dir_all(folder.join("cur")).expect("folder");
    std::fs::write(folder.join("cur/1.eml"), b"Subject: x\n\nbody\n").expect("message");
    let o = full_checked(&fx, NOW);
    let (ok, stdout, stderr) = run(&[
        "-l",
        "-d",
        &domain,
        "-u",
        &user,
        fx.set_path(&o).to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        !stdout.contains(['\u{1b}', '\u{7}', '\u{9b}']),
        "raw escapes reached the terminal: {stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}]0;pwned"), "{stdout}");
}

/// A compressed set whose `.md5` matches but whose frames lie: a zstd bomb
/// (1 GiB of zeros in a few KiB, the table saying 8 MiB at most) and a
/// frame that says it holds fewer bytes than it does. Refused in one line,
/// nothing placed, no memory or disk filled.
#[test]
fn compressed_sets_whose_frames_lie_are_refused() {
    use backupset::zst::{SeekTable, seek_table};
    let fx = fixture(512 << 10);
    let o = fx.full(NOW);
    assert!(o.name.compressed, "the product's default");
    let a = Arena::new();
    let set = a.sets.join(o.name.tar_name());
    let good = std::fs::read(fx.set_path(&o)).expect("read");
    let table = SeekTable::read(&mut std::io::Cursor::new(&good)).expect("table");
    let frames_of = |data: &[u8], f: &dyn Fn(&mut Vec<backupset::zst::FrameSize>, &mut Vec<u8>)| {
        let mut sizes = table.sizes();
        let mut bytes = data[..table.compressed_len() as usize].to_vec();
        f(&mut sizes, &mut bytes);
        bytes.extend(seek_table(&sizes));
        std::fs::write(&set, &bytes).expect("write");
        refresh_md5(&set);
    };
    // The bomb replaces the first frame: its own bytes, then 1 GiB of zeros.
    let mut first = vec![0u8; table.sizes()[0].plain as usize];
    {
        use std::io::Read;
        let mut u = backupset::zst::Unzstd::new(
            std::io::Cursor::new(&good),
            std::sync::Arc::new(table.clone()),
        )
        .expect("reader");
        u.read_exact(&mut first).expect("first frame");
    }
    frames_of(&good, &|sizes, bytes| {
        let mut bomb = Vec::new();
        {
            let mut w = zstd::stream::write::Encoder::new(&mut bomb, 3).expect("encoder");
            std::io::Write::write_all(&mut w, &first).expect("write");
            let zeros = vec![0u8; 16 << 20];
            for _ in 0..64 {
                std::io::Write::write_all(&mut w, &zeros).expect("write");
            }
            w.finish().expect("finish");
        }
        let old = sizes[0].compressed as usize;
        bytes.splice(0..old, bomb.iter().copied());
        sizes[0].compressed = bomb.len() as u32;
    });
    a.refused(&set, "holds more than");
    // A frame that says it holds fewer bytes than it does.
    // (The tar then seems shorter: its summary no longer fits.)
    frames_of(&good, &|sizes, _| sizes[0].plain -= 512);
    a.refused(&set, "damaged or not a backup set");
    // No seek table (cut short and the .md5 made to match).
    std::fs::write(&set, &good[..good.len() - 20]).expect("cut");
    refresh_md5(&set);
    a.refused(&set, "no zstd seek table");
}
