//! The set is a plain tar: bsdtar and 7-Zip read it as GNU tar does.

mod common;

use appconfig::BackupType;
use common::*;
use std::process::Command;

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
    let mut opts = fx.options(BackupType::Full, NOW + 60);
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
