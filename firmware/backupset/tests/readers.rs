//! The set is a plain tar: bsdtar and 7-Zip read it as GNU tar does.

mod common;

use backupset::SetKind;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fixture with names that need PAX headers (a deep path and a long
/// non-ASCII name) and its full set, written with the body window given or
/// else the product's default; the set's path and outcome.
fn deep_named_set(window: Option<u32>) -> (Fixture, PathBuf, backupset::Outcome) {
    let fx = Fixture::new(1 << 20);
    let mut deep = fx.data.join("store/mail/example.com/long");
    for i in 0..8 {
        deep.push(format!("Входящие {i} {}", "z".repeat(30)));
    }
    std::fs::create_dir_all(&deep).expect("deep");
    std::fs::write(
        deep.join(format!("{}.eml", "ü".repeat(100))),
        b"Subject: deep\n\nbody\n",
    )
    .expect("write");
    let mut opts = fx.options(SetKind::Full, NOW + 60);
    match window {
        Some(hours) => opts.body_window_hours = hours,
        None => assert_eq!(opts.body_window_hours, 24, "the default window"),
    }
    let out = fx.write(&opts);
    let tar = fx.dest.join(out.name.tar_name());
    (fx, tar, out)
}

/// Extracts with bsdtar; the whole extracted tree.
fn bsdtar_extract(tar: &Path, into: &Path) -> Tree {
    std::fs::create_dir_all(into).expect("mkdir");
    let o = Command::new("bsdtar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(into)
        .output()
        .expect("bsdtar runs");
    assert!(
        o.status.success(),
        "bsdtar: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    snapshot(into, &[])
}

/// 7-Zip keeps names and contents (modes and folder times are its own
/// business): checks those against `expected`.
fn assert_7zip_extracts(tar: &Path, into: &Path, expected: &Tree) {
    let o = Command::new("7zz")
        .arg("x")
        .arg("-y")
        .arg(format!("-o{}", into.display()))
        .arg(tar)
        .output()
        .expect("7zz runs");
    assert!(
        o.status.success(),
        "7-Zip: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let got = snapshot(&into.join("@backup"), &[]);
    for (path, (kind, _, _, data)) in expected {
        let Some((k2, _, _, d2)) = got.get(path) else {
            panic!("7-Zip lost {path}");
        };
        assert_eq!(kind, k2, "{path}");
        assert!(data == d2, "{path}: contents differ after 7-Zip");
    }
    assert_eq!(got.len(), expected.len());
}

/// With every body (window 0) both read back the source exactly.
#[test]
fn bsdtar_and_7zip_extract_the_same_tree() {
    let (fx, tar, _) = deep_named_set(Some(0));
    let source = snapshot(&fx.data, &["backup", "restore", "state"]);
    let bsd = fx.tmp.path().join("bsdtar");
    bsdtar_extract(&tar, &bsd);
    assert_same(&source, &snapshot(&bsd.join("@backup"), &[]));
    assert_7zip_extracts(&tar, &fx.tmp.path().join("7z"), &source);
}

/// With the product's default body window (old messages stored as headers
/// only) and the same deep names, bsdtar extracts exactly what GNU tar
/// does, and 7-Zip the same names and contents.
#[test]
fn bsdtar_and_7zip_extract_a_default_window_set_as_gnu_tar_does() {
    let (fx, tar, out) = deep_named_set(None);
    assert!(out.summary.headers_only_files > 0, "{:?}", out.summary);
    let gnu = fx.tmp.path().join("gnu");
    gnu_extract(&fx.dest, &[out.name.tar_name()], &gnu);
    assert_same(
        &snapshot(&gnu, &[]),
        &bsdtar_extract(&tar, &fx.tmp.path().join("bsdtar")),
    );
    let expected = snapshot(&gnu.join("@backup"), &[]);
    assert!(
        expected
            .keys()
            .any(|k| k.ends_with(&format!("{}.eml", "ü".repeat(100)))),
        "the deep name is in the set"
    );
    assert_7zip_extracts(&tar, &fx.tmp.path().join("7z"), &expected);
}

/// A set replaced under its name after it was opened (an FTP upload of the
/// same name into the restore folder) changes nothing for the reader: what
/// it checks against the `.md5` file and what it reads are the bytes it
/// opened, so nothing can be swapped between the check and the restore.
#[test]
fn a_set_replaced_after_it_was_opened_is_read_as_it_was_opened() {
    let fx = Fixture::new(256 << 10);
    let first = fx.full(NOW);
    let second = fx.full(NOW + 60);
    let reader =
        backupset::SetReader::open(&fx.dest, &first.name.tar_name()).expect("open the first set");
    let before = reader.version().expect("version");
    // The second set's files under the first set's names.
    for (from, to) in [
        (second.name.tar_name(), first.name.tar_name()),
        (second.name.md5_name(), first.name.md5_name()),
    ] {
        std::fs::rename(fx.dest.join(from), fx.dest.join(to)).expect("swap");
    }
    let checks = reader
        .verify(&std::sync::atomic::AtomicBool::new(false))
        .expect("verify");
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(reader.version().expect("version"), before);
    assert_eq!(before.started, NOW);
}
