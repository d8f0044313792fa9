//! The set is a plain tar: bsdtar and 7-Zip read it as GNU tar does.

mod common;

use backupset::SetKind;
use common::*;
use std::process::Command;

/// With the product's default body window (old messages stored as headers
/// only) bsdtar extracts exactly what GNU tar does.
#[test]
fn bsdtar_reads_a_set_with_the_default_window_as_gnu_tar_does() {
    let fx = Fixture::new(1 << 20);
    let opts = fx.options(SetKind::Full, NOW + 60);
    assert_eq!(opts.body_window_hours, 24, "the default window");
    let out = fx.write(&opts);
    assert!(out.summary.headers_only_files > 0, "{:?}", out.summary);
    let gnu = fx.tmp.path().join("gnu");
    gnu_extract(&fx.dest, &[out.name.tar_name()], &gnu);
    let bsd = fx.tmp.path().join("bsdtar");
    std::fs::create_dir_all(&bsd).expect("mkdir");
    let o = Command::new("bsdtar")
        .arg("-xf")
        .arg(fx.dest.join(out.name.tar_name()))
        .arg("-C")
        .arg(&bsd)
        .output()
        .expect("bsdtar runs");
    assert!(
        o.status.success(),
        "bsdtar: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_same(&snapshot(&gnu, &[]), &snapshot(&bsd, &[]));
}

/// With every body (window 0) both read back the source exactly.
#[test]
fn bsdtar_and_7zip_extract_the_same_tree() {
    let fx = Fixture::new(1 << 20);
    // Names that need PAX headers: a deep path and a long non-ASCII name.
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
    opts.body_window_hours = 0;
    let out = fx.write(&opts);
    let tar = fx.dest.join(out.name.tar_name());
    let source = snapshot(&fx.data, &["backup", "restore", "state"]);

    let bsd = fx.tmp.path().join("bsdtar");
    std::fs::create_dir_all(&bsd).expect("mkdir");
    let o = Command::new("bsdtar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(&bsd)
        .output()
        .expect("bsdtar runs");
    assert!(
        o.status.success(),
        "bsdtar: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_same(&source, &snapshot(&bsd.join("@backup"), &[]));

    let seven = fx.tmp.path().join("7z");
    let o = Command::new("7zz")
        .arg("x")
        .arg("-y")
        .arg(format!("-o{}", seven.display()))
        .arg(&tar)
        .output()
        .expect("7zz runs");
    assert!(
        o.status.success(),
        "7-Zip: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    // 7-Zip keeps names and contents (modes and folder times are its own business).
    let got = snapshot(&seven.join("@backup"), &[]);
    for (path, (kind, _, _, data)) in &source {
        let Some((k2, _, _, d2)) = got.get(path) else {
            panic!("7-Zip lost {path}");
        };
        assert_eq!(kind, k2, "{path}");
        assert!(data == d2, "{path}: contents differ after 7-Zip");
    }
    assert_eq!(got.len(), source.len());
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
