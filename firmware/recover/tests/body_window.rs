//! Sets written with the product's default body window (24 h), where most
//! messages are stored with their headers only: a restore never puts such
//! a copy over a message that is there, brings it back where the message
//! is missing, and says how many of each. The rule, case by case, is the
//! table in the README ("Messages stored with their headers only").

mod common;

use common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Folders a whole restore leaves alone (not compared).
const OWN: [&str; 5] = ["backup", "restore", "state", "log", "lost+found"];

/// Whether a store-relative path is a message (a file in cur/ or new/ of
/// the mail or public folders).
fn is_message(rel: &str) -> bool {
    backupset::window::is_windowed_message(&format!("store/{rel}"))
}

/// `args` restored into empty folders: what the set holds for them, by
/// store-relative path.
fn as_the_set_has_it(fx: &Fixture, args: &[&str], name: &str) -> Tree {
    let out = fx.path(name);
    let store = out.join("store");
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["-q", "-s", s(&store), "-c", s(&out), s(&fx.dest)]);
    let (ok, stdout, stderr) = run(&a);
    assert!(ok, "{stdout} {stderr}");
    snapshot(&store, &[])
}

fn stubs_in(t: &Tree) -> Vec<String> {
    t.iter()
        .filter(|(k, v)| v.0 == 'f' && is_message(k) && is_stub(&v.3))
        .map(|(k, _)| k.clone())
        .collect()
}

fn inode(p: &Path) -> u64 {
    std::fs::symlink_metadata(p).expect("stat").ino()
}

/// A merge restore with `args` into a live copy of the data that lost a
/// few messages since the backup: every message still there keeps its
/// body (the store is byte for byte as it was), the lost ones come back as
/// the set has them (headers only, or whole when the set has the body),
/// and the summary counts both.
fn a_merge_keeps_every_live_body(fx: &Fixture, args: &[&str]) {
    full_checked(fx, NOW);
    let set_copy = as_the_set_has_it(fx, args, "as-in-the-set");
    let stubs = stubs_in(&set_copy);
    assert!(
        stubs.len() >= 4,
        "{args:?}: only {} headers-only messages",
        stubs.len()
    );
    let whole = set_copy
        .iter()
        .find(|(k, v)| v.0 == 'f' && is_message(k) && !is_stub(&v.3))
        .map(|(k, _)| k.clone());

    let live = live_copy(fx, "live");
    let store = live.join("store");
    let before = snapshot(&store, &[]);
    // Lost since the backup: two messages the set has headers only of and,
    // when the selection has one, a message it has whole.
    let mut lost: Vec<String> = vec![stubs[0].clone(), stubs[stubs.len() / 2].clone()];
    lost.extend(whole);
    for l in &lost {
        std::fs::remove_file(store.join(l)).expect("lose a message");
    }
    let inodes: BTreeMap<&String, u64> = stubs
        .iter()
        .filter(|k| !lost.contains(k))
        .map(|k| (k, inode(&store.join(k))))
        .collect();

    let mut a: Vec<&str> = args.to_vec();
    a.extend(["-g", "-s", s(&store), "-c", s(&live), s(&fx.dest)]);
    let (ok, stdout, stderr) = run(&a);
    assert!(ok, "{args:?}: {stdout} {stderr}");

    let mut expected = before.clone();
    for l in &lost {
        expected.insert(l.clone(), set_copy[l].clone());
    }
    assert_same(&expected, &snapshot(&store, &[]));
    for l in &lost[..2] {
        let restored = std::fs::read(store.join(l)).expect("restored");
        assert!(is_stub(&restored), "{l} comes back with its headers only");
    }
    // Kept means untouched: not even rewritten with the same bytes.
    for (k, ino) in inodes {
        assert_eq!(inode(&store.join(k)), ino, "{k} was rewritten");
    }
    assert!(
        stdout.contains(
            "2 messages restored as headers only: their bodies were older than the set's body window"
        ),
        "{args:?}: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} messages already on the disk kept as they are: the set holds only their headers",
            stubs.len() - 2
        )),
        "{args:?}: {stdout}"
    );
}

#[test]
fn a_domain_merged_into_the_live_store_keeps_every_live_body() {
    let fx = fixture(2 << 20);
    let (d, _) = some_user(&fx.data);
    a_merge_keeps_every_live_body(&fx, &["-d", &d]);
}

#[test]
fn a_user_merged_into_the_live_store_keeps_every_live_body() {
    let fx = fixture(2 << 20);
    let (_, u) = some_user(&fx.data);
    a_merge_keeps_every_live_body(&fx, &["-u", &u]);
}

#[test]
fn a_folder_merged_into_the_live_store_keeps_every_live_body() {
    let fx = fixture(2 << 20);
    let (d, u) = some_user(&fx.data);
    a_merge_keeps_every_live_body(&fx, &["-d", &d, "-u", &u, "-f", "INBOX"]);
}

#[test]
fn mail_and_public_masks_merged_into_the_live_store_keep_every_live_body() {
    a_merge_keeps_every_live_body(&fixture(2 << 20), &["-m", "mail,public"]);
}

// ---- the rule, case by case ----

const OLD: i64 = NOW - 10 * 86_400;
const RECENT: i64 = NOW - 3600;
/// Newer than the set.
const NEWER: i64 = NOW + 3600;

fn message(subject: &str) -> Vec<u8> {
    let mut m =
        format!("From: Rule <rule@example.com>\nTo: smith@example.com\nSubject: {subject}\n\n")
            .into_bytes();
    for i in 0..200 {
        m.extend_from_slice(format!("body line {i} of {subject}\n").as_bytes());
    }
    m
}

fn put(path: &Path, data: &[u8], mtime: i64) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, data).expect("write");
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_times(std::fs::FileTimes::new().set_modified(t))
        .expect("mtime");
}

/// Every case of the README's table, as files in one mailbox folder:
/// (name, the set's copy is whole, what the live data has).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Live {
    Absent,
    Equal,
    Different,
    Newer,
}

const CASES: [(&str, bool, Live); 8] = [
    ("1.rule-old-absent:2,S", false, Live::Absent),
    ("2.rule-old-equal:2,S", false, Live::Equal),
    ("3.rule-old-different:2,S", false, Live::Different),
    ("4.rule-old-newer:2,S", false, Live::Newer),
    ("5.rule-recent-absent:2,S", true, Live::Absent),
    ("6.rule-recent-equal:2,S", true, Live::Equal),
    ("7.rule-recent-different:2,S", true, Live::Different),
    ("8.rule-recent-newer:2,S", true, Live::Newer),
];

/// A store with the cases added to a user's INBOX before the backup;
/// returns the fixture and the INBOX's store-relative path.
fn with_cases() -> (Fixture, String) {
    let fx = fixture(1 << 20);
    let (d, u) = some_user(&fx.data);
    let inbox = format!("mail/{d}/{u}/INBOX/cur");
    for (name, whole, _) in CASES {
        put(
            &fx.data.join("store").join(&inbox).join(name),
            &message(name),
            if whole { RECENT } else { OLD },
        );
    }
    let out = full_checked(&fx, NOW);
    // The set has them as the table says.
    let reader = backupset::SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let mut seen = 0;
    reader
        .entries(0..reader.tar_len().expect("length"), |e, data| {
            if let Some((_, whole, _)) = CASES
                .iter()
                .find(|c| e.path == format!("store/{inbox}/{}", c.0))
            {
                let mut text = Vec::new();
                data.read_to_end(&mut text).expect("read");
                assert_eq!(!is_stub(&text), *whole, "{}", e.path);
                seen += 1;
            }
            Ok(())
        })
        .expect("read the set");
    assert_eq!(seen, CASES.len());
    (fx, inbox)
}

/// The live data for each case: removed, left, changed in place (same
/// time), changed later (newer than the set's copy).
fn make_live_cases(store: &Path, inbox: &str) {
    for (name, _, live) in CASES {
        let p = store.join(inbox).join(name);
        match live {
            Live::Absent => std::fs::remove_file(&p).expect("rm"),
            Live::Equal => {}
            Live::Different => {
                let mtime = std::fs::metadata(&p).expect("stat").mtime();
                put(&p, b"Subject: edited here\n\nanother body\n", mtime);
            }
            Live::Newer => put(&p, b"Subject: newer here\n\na newer body\n", NEWER),
        }
    }
}

/// What each case must be after the restore: the set's copy, the live
/// file (kept untouched), or the headers-only copy.
fn check_cases(fx: &Fixture, store: &Path, inbox: &str, live_before: &Tree, inodes: &[u64]) {
    for (i, (name, whole, live)) in CASES.iter().enumerate() {
        let rel = format!("{inbox}/{name}");
        let p = store.join(&rel);
        let got = std::fs::read(&p).unwrap_or_else(|_| panic!("{name} missing"));
        let text = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(120)]).into_owned();
        let original = message(name);
        let mtime = std::fs::metadata(&p).expect("stat").mtime();
        match (whole, live) {
            // A whole copy from the set replaces what is there.
            (true, _) => {
                assert_eq!(text(&got), text(&original), "{name}: the set's copy");
                assert_eq!(got, original, "{name}: the set's copy");
                assert_eq!(mtime, RECENT, "{name}: the set's time");
            }
            // Headers only and nothing there: restored as it is.
            (false, Live::Absent) => {
                let stub = stub_of(&original, fx.body_window_hours).expect("a header section");
                assert_eq!(text(&got), text(&stub), "{name}: headers only");
                assert_eq!(got, stub, "{name}: headers only");
                assert_eq!(mtime, OLD, "{name}: the set's time");
            }
            // Headers only and a file there: the file stays, untouched.
            (false, _) => {
                assert_eq!(
                    text(&got),
                    text(&live_before[&rel].3),
                    "{name}: the live file"
                );
                assert_eq!(got, live_before[&rel].3, "{name}: the live file");
                assert_eq!(mtime, live_before[&rel].2, "{name}: the live time");
                assert_eq!(inode(&p), inodes[i], "{name}: the same file");
            }
        }
    }
}

fn inodes_of(store: &Path, inbox: &str) -> Vec<u64> {
    CASES
        .iter()
        .map(|(name, _, _)| {
            std::fs::symlink_metadata(store.join(inbox).join(name))
                .map(|m| m.ino())
                .unwrap_or(0)
        })
        .collect()
}

#[test]
fn the_rule_case_by_case_in_a_merge_with_b() {
    let (fx, inbox) = with_cases();
    let user = Path::new(&inbox)
        .parent()
        .and_then(Path::parent)
        .expect("user")
        .to_path_buf();
    let mut parts = inbox.split('/').skip(1);
    let (d, u) = (
        parts.next().expect("domain").to_string(),
        parts.next().expect("user").to_string(),
    );
    let stubs = stubs_in(&as_the_set_has_it(
        &fx,
        &["-d", &d, "-u", &u],
        "as-in-the-set",
    ));
    let live = live_copy(&fx, "live");
    let store = live.join("store");
    make_live_cases(&store, &inbox);
    let live_before = snapshot(&store, &[]);
    let inodes = inodes_of(&store, &inbox);

    let (ok, stdout, stderr) = run(&[
        "-b",
        "-d",
        &d,
        "-u",
        &u,
        "-s",
        s(&store),
        "-c",
        s(&live),
        s(&fx.dest),
    ]);
    assert!(ok, "{stdout} {stderr}");
    check_cases(&fx, &store, &inbox, &live_before, &inodes);
    // -b kept the mailbox as it was, the files replaced included.
    let bak = store.join(format!("{}.BAK", user.display()));
    let mut was = Tree::new();
    for (k, v) in &live_before {
        if let Some(r) = k.strip_prefix(&format!("{}/", user.display())) {
            was.insert(r.to_string(), v.clone());
        }
    }
    assert_same(&was, &snapshot(&bak, &[]));
    // One restored as headers only (old-absent); every other headers-only
    // copy of the mailbox had a file there.
    assert!(
        stdout.contains(
            "1 message restored as headers only: its body was older than the set's body window"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} messages already on the disk kept as they are",
            stubs.len() - 1
        )),
        "{stdout}"
    );
}

/// The whole-system restore onto a unit that still has its data
/// (non-default targets: no services are touched): a message the set has
/// with its headers only keeps the live file, linked into the staging
/// area and swapped in with it; everything else is the set's.
#[test]
fn the_rule_case_by_case_in_a_whole_restore_onto_a_unit_with_data() {
    let (fx, inbox) = with_cases();
    let set_copy = {
        let out = fx.path("as-in-the-set");
        let (ok, stdout, stderr) = run(&[
            "-q",
            "-c",
            s(&out),
            "-s",
            s(&out.join("store")),
            s(&fx.dest),
        ]);
        assert!(ok, "{stdout} {stderr}");
        snapshot(&out, &OWN)
    };
    let set_stubs: Vec<&String> = set_copy
        .iter()
        .filter(|(k, v)| {
            v.0 == 'f' && k.strip_prefix("store/").is_some_and(is_message) && is_stub(&v.3)
        })
        .map(|(k, _)| k)
        .collect();
    assert!(
        set_stubs.len() > 20,
        "{} headers-only messages",
        set_stubs.len()
    );

    let cur = live_copy(&fx, "cur");
    let store = cur.join("store");
    make_live_cases(&store, &inbox);
    // Lost since the backup, beside the cases: a few more old messages;
    // and mail only this unit has, which a whole restore does not keep.
    let others: Vec<&String> = set_stubs
        .iter()
        .filter(|k| !k.contains(".rule-"))
        .copied()
        .collect();
    let lost: Vec<&String> = others.iter().step_by(7).copied().collect();
    for l in &lost {
        std::fs::remove_file(cur.join(l)).unwrap_or_else(|e| panic!("{l}: {e}"));
    }
    put(
        &store.join(&inbox).join("9.only-here:2,S"),
        &message("only here"),
        NOW,
    );

    for (round, keep_bak) in [(0, false), (1, true)] {
        if round == 1 {
            // Lost and changed again before the second restore.
            std::fs::remove_file(cur.join(others[1])).expect("rm");
            make_live_cases(&store, &inbox);
        }
        let live_before = snapshot(&cur, &OWN);
        let live_store_before = snapshot(&store, &[]);
        let inodes = inodes_of(&store, &inbox);
        let mut args = vec!["-g", "-c", s(&cur), "-s", s(&store)];
        if keep_bak {
            args.push("-b");
        }
        args.push(s(&fx.dest));
        let (ok, stdout, stderr) = run(&args);
        assert!(ok, "{stdout} {stderr}");

        // The set's tree, with the live file wherever the set has headers
        // only and the live data has the message.
        let mut expected = set_copy.clone();
        let mut kept = 0;
        let mut restored = 0;
        for k in &set_stubs {
            match live_before.get(*k) {
                Some(v) if v.0 == 'f' => {
                    expected.insert((*k).clone(), v.clone());
                    kept += 1;
                }
                _ => restored += 1,
            }
        }
        let skip: Vec<&str> = OWN
            .iter()
            .copied()
            .chain([
                "config.BAK",
                "license.BAK",
                "sslca.BAK",
                "sslcert.BAK",
                "store.BAK",
            ])
            .collect();
        assert_same(&expected, &snapshot(&cur, &skip));
        check_cases(&fx, &store, &inbox, &live_store_before, &inodes);
        assert!(!store.join(&inbox).join("9.only-here:2,S").exists());
        // The old case that is absent, and what was lost before this round.
        let lost_now = if round == 0 { lost.len() } else { 1 };
        assert_eq!(restored, 1 + lost_now);
        assert!(
            stdout.contains(&format!(
                "{restored} messages restored as headers only: their bodies were older than the set's body window"
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!(
                "{kept} messages already on the disk kept as they are: the set holds only their headers"
            )),
            "{stdout}"
        );
        // Nothing is left of the staging area but the lock.
        assert_eq!(all_paths(&cur.join("state/recover")), ["lock"]);
        if keep_bak {
            // -b keeps what it replaced; the kept messages are the same
            // files in both (hard links).
            let mut bak = Tree::new();
            for (k, v) in snapshot(&cur.join("store.BAK"), &[]) {
                bak.insert(k, v);
            }
            assert_same(&live_store_before, &bak);
            let (name, _, _) = CASES[2];
            assert_eq!(
                inode(&store.join(&inbox).join(name)),
                inode(&cur.join("store.BAK").join(&inbox).join(name))
            );
        }
    }
}
