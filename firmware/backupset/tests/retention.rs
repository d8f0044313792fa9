mod common;

use appconfig::BackupType;
use backupset::retention::{clean_leftovers, prune};
use common::*;

fn names(fx: &Fixture) -> Vec<String> {
    let mut v: Vec<String> = backupset::list_sets(&fx.dest)
        .expect("list")
        .into_iter()
        .map(|s| s.name.tar_name())
        .collect();
    v.sort();
    v
}

#[test]
fn prune_keeps_restore_points_and_the_fulls_they_need() {
    let fx = Fixture::new(256 << 10);
    let day = 86_400;
    let mut made = Vec::new();
    for (i, kind) in [
        BackupType::Full,
        BackupType::Differential,
        BackupType::Differential,
        BackupType::Full,
        BackupType::Differential,
        BackupType::Copy,
        BackupType::Differential,
    ]
    .into_iter()
    .enumerate()
    {
        let out = fx.write(&fx.options(kind, NOW + i as i64 * day));
        assert_eq!(out.name.kind, kind);
        made.push(out.name.tar_name());
    }
    // Another appliance's set in the same folder is never touched.
    std::fs::write(fx.dest.join("other-F20200101T000000Z.tar"), b"x").expect("write");
    std::fs::write(fx.dest.join("other-F20200101T000000Z.tar.md5"), b"x").expect("write");

    // Newest 3: I(6), C(5), I(4); the differentials need F(3).
    let removed = prune(&fx.dest, "mail", 3).expect("prune");
    assert!(!removed.is_empty());
    let left = names(&fx);
    let mut want = vec![
        made[3].clone(),
        made[4].clone(),
        made[5].clone(),
        made[6].clone(),
        "other-F20200101T000000Z.tar".to_string(),
    ];
    want.sort();
    assert_eq!(left, want);

    // Keep 1: the newest differential and its full.
    prune(&fx.dest, "mail", 1).expect("prune");
    let mut want = vec![
        made[3].clone(),
        made[6].clone(),
        "other-F20200101T000000Z.tar".to_string(),
    ];
    want.sort();
    assert_eq!(names(&fx), want);
    for s in backupset::list_sets(&fx.dest).expect("list") {
        if s.name.host == "mail" {
            md5sum_check(&fx.dest, &s.name.md5_name());
        }
    }
}

#[test]
fn leftovers_of_interrupted_runs_are_cleaned() {
    let fx = Fixture::new(256 << 10);
    let good = fx.write(&fx.options(BackupType::Full, NOW));
    for f in [
        ".mail-F20261201T000000Z.tar.tmp",
        ".mail-F20261201T000000Z.tar.001.tmp",
        ".mail-F20261201T000000Z.tar.md5.tmp",
        "mail-I20261202T000000Z.tar",
        "mail-I20261202T000000Z.tar.001",
        ".other-F20261201T000000Z.tar.tmp",
        "notes.txt",
    ] {
        std::fs::write(fx.dest.join(f), b"partial").expect("write");
    }
    let mut removed = clean_leftovers(&fx.dest, "mail", None).expect("clean");
    removed.sort();
    assert_eq!(removed.len(), 5, "{removed:?}");
    let mut left: Vec<String> = std::fs::read_dir(&fx.dest)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            ".other-F20261201T000000Z.tar.tmp".to_string(),
            good.name.tar_name(),
            good.name.md5_name(),
            "notes.txt".into()
        ]
    );
}
