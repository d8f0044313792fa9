mod common;

use backupset::SetKind;
use backupset::retention::{Keep, Owner, clean_leftovers, prune};
use backupset::{SetName, list_sets};
use common::*;

const DAY: i64 = 86_400;
const OTHER_UNIT: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
/// The product's defaults: three restore points, three copies.
const DEFAULT_KEEP: Keep = Keep {
    restore_points: 3,
    copies: 3,
};

fn names(fx: &Fixture) -> Vec<String> {
    let mut v: Vec<String> = list_sets(&fx.dest)
        .expect("list")
        .into_iter()
        .map(|s| s.name.tar_name())
        .collect();
    v.sort();
    v
}

/// This unit on a shared folder (an SMB share or a USB drive).
fn us_shared() -> Owner {
    Owner {
        unit: UNIT.into(),
        host: "mail".into(),
        own_folder: false,
    }
}

#[test]
fn prune_keeps_restore_points_and_copies_apart_and_the_fulls_they_need() {
    let fx = Fixture::new(256 << 10);
    let mut made = Vec::new();
    for (i, kind) in [
        SetKind::Full,
        SetKind::Differential,
        SetKind::Differential,
        SetKind::Full,
        SetKind::Differential,
        SetKind::Copy,
        SetKind::Differential,
    ]
    .into_iter()
    .enumerate()
    {
        let out = fx.write(&fx.options(kind, NOW + i as i64 * DAY));
        assert_eq!(out.name.kind, kind);
        if kind != SetKind::Differential {
            assert!(out.summary.headers_only_files > 0, "default body window");
        }
        made.push(out.name.clone());
    }
    // Another appliance's set in the same folder is never touched.
    std::fs::write(fx.dest.join("other-F20200101T000000Z.tar"), b"x").expect("write");
    std::fs::write(fx.dest.join("other-F20200101T000000Z.tar.md5"), b"x").expect("write");

    // Restore points: I(6), I(4), F(3) (the copy C(5) is counted apart);
    // the differentials need F(3).
    let now = NOW + 6 * DAY;
    let pruned = prune(&fx.dest, &us_shared(), DEFAULT_KEEP, &made[6], now).expect("prune");
    assert!(!pruned.removed.is_empty());
    let left = names(&fx);
    let mut want: Vec<String> = [3, 4, 5, 6]
        .iter()
        .map(|&i| made[i].tar_name())
        .chain(["other-F20200101T000000Z.tar".to_string()])
        .collect();
    want.sort();
    assert_eq!(left, want);

    // Keep 1: the newest differential and its full, and the copy.
    let one = Keep {
        restore_points: 1,
        copies: 1,
    };
    prune(&fx.dest, &us_shared(), one, &made[6], now).expect("prune");
    let mut want = vec![
        made[3].tar_name(),
        made[5].tar_name(),
        made[6].tar_name(),
        "other-F20200101T000000Z.tar".to_string(),
    ];
    want.sort();
    assert_eq!(names(&fx), want);
    for s in list_sets(&fx.dest).expect("list") {
        if s.name.host == "mail" {
            md5sum_check(&fx.dest, &s.name.md5_name());
        }
    }
}

/// Writes a full as another unit with the same host name.
fn write_as_other_unit(fx: &Fixture, started: i64) -> SetName {
    let mut o = fx.options(SetKind::Full, started);
    o.unit = OTHER_UNIT.into();
    o.state_dir = fx.path("other-state");
    fx.write(&o).name
}

#[test]
fn a_unit_with_the_same_host_name_and_later_sets_never_makes_us_delete_our_fresh_set() {
    let fx = Fixture::new(256 << 10);
    // The other unit (same default host name) has three newer sets.
    let theirs: Vec<SetName> = (1..=3)
        .map(|i| write_as_other_unit(&fx, NOW + i * DAY))
        .collect();
    let ours = fx.full(NOW);
    let pruned = prune(&fx.dest, &us_shared(), DEFAULT_KEEP, &ours.name, NOW).expect("prune");
    assert!(pruned.removed.is_empty(), "{pruned:?}");
    let left = names(&fx);
    assert!(left.contains(&ours.name.tar_name()));
    for t in &theirs {
        assert!(left.contains(&t.tar_name()), "their set {t} kept");
        md5sum_check(&fx.dest, &t.md5_name());
    }
    md5sum_check(&fx.dest, &ours.name.md5_name());
}

#[test]
fn sets_dated_in_the_future_are_reported_and_never_evict_the_fresh_set() {
    let fx = Fixture::new(256 << 10);
    // The clock was a week ahead when these were made, then corrected.
    let ahead: Vec<SetName> = (0..3)
        .map(|i| fx.full(NOW + 7 * DAY + i * 60).name)
        .collect();
    let older = fx.full(NOW - DAY);
    let fresh = fx.full(NOW);
    let pruned = prune(&fx.dest, &us_shared(), DEFAULT_KEEP, &fresh.name, NOW).expect("prune");
    assert!(pruned.removed.is_empty(), "{pruned:?}");
    let mut future = pruned.future.clone();
    future.sort();
    assert_eq!(
        future,
        ahead.iter().map(SetName::tar_name).collect::<Vec<_>>()
    );
    let left = names(&fx);
    assert!(left.contains(&fresh.name.tar_name()));
    assert!(left.contains(&older.name.tar_name()));
}

#[test]
fn compressed_leftovers_are_told_apart_by_the_unit_in_their_first_frame() {
    // A new unit's sets: compressed, cut into volumes so that the first
    // holds neither the end of its frame nor the seek table.
    let mut fx = Fixture::new(512 << 10);
    fx.compress = Some(UNIT_LEVEL);
    let us = backupset::name::unit_tag(UNIT).expect("tag");
    let mut o = fx.options(SetKind::Full, NOW + DAY);
    o.volume_size = Some(8 << 10);
    let mine = fx.write(&o);
    o.unit = OTHER_UNIT.into();
    o.started = NOW + 2 * DAY;
    o.state_dir = fx.path("other-state");
    let foreign = fx.write(&o);
    assert!(mine.name.compressed && mine.volumes.len() > 2);
    for s in [&mine, &foreign] {
        std::fs::remove_file(fx.dest.join(s.name.md5_name())).expect("rm md5");
    }
    let mut removed = clean_leftovers(&fx.dest, &us_shared(), None).expect("clean");
    removed.sort();
    let mut want: Vec<String> = mine.volumes.iter().map(|v| v.name.clone()).collect();
    want.sort();
    assert_eq!(removed, want, "only ours ({us})");
    assert!(fx.dest.join(foreign.name.tar_name()).exists());
}

#[test]
fn leftovers_of_interrupted_runs_are_cleaned_only_for_this_unit() {
    let fx = Fixture::new(256 << 10);
    let good = fx.full(NOW);
    let us = backupset::name::unit_tag(UNIT).expect("tag");
    let them = backupset::name::unit_tag(OTHER_UNIT).expect("tag");
    let ours = [
        format!(".mail-F20261201T000000Z.tar.{us}.tmp"),
        format!(".mail-F20261201T000000Z.tar.001.{us}.tmp"),
        format!(".mail-F20261201T000000Z.tar.md5.{us}.tmp"),
    ];
    // Another unit with the same host name is writing right now.
    let theirs = [
        format!(".mail-F20261201T000000Z.tar.{them}.tmp"),
        format!(".mail-F20261202T000000Z.tar.md5.{them}.tmp"),
        // Written before units had tags, and fresh: someone may be writing it.
        ".mail-F20261203T000000Z.tar.tmp".to_string(),
        ".other-F20261201T000000Z.tar.tmp".to_string(),
        "notes.txt".to_string(),
    ];
    for f in ours.iter().chain(&theirs) {
        std::fs::write(fx.dest.join(f), b"partial").expect("write");
    }
    // Volumes of sets that never got their .md5: one of ours (its first
    // volume names our unit), one of the other unit's.
    let mut o = fx.options(SetKind::Full, NOW + DAY);
    let mine = fx.write(&o);
    o.unit = OTHER_UNIT.into();
    o.started = NOW + 2 * DAY;
    o.state_dir = fx.path("other-state");
    let foreign = fx.write(&o);
    for s in [&mine, &foreign] {
        std::fs::remove_file(fx.dest.join(s.name.md5_name())).expect("rm md5");
    }
    let mut removed = clean_leftovers(&fx.dest, &us_shared(), None).expect("clean");
    removed.sort();
    let mut want: Vec<String> = ours
        .iter()
        .cloned()
        .chain(mine.volumes.iter().map(|v| v.name.clone()))
        .collect();
    want.sort();
    assert_eq!(removed, want);
    let mut left: Vec<String> = std::fs::read_dir(&fx.dest)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut want: Vec<String> = theirs
        .iter()
        .cloned()
        .chain([good.name.tar_name(), good.name.md5_name()])
        .chain(foreign.volumes.iter().map(|v| v.name.clone()))
        .collect();
    want.sort();
    assert_eq!(left, want);

    // An untagged leftover untouched for more than a day is abandoned.
    let old = fx.dest.join(".mail-F20261203T000000Z.tar.tmp");
    let f = std::fs::File::options()
        .write(true)
        .open(&old)
        .expect("open");
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400))
        .expect("age it");
    let removed = clean_leftovers(&fx.dest, &us_shared(), None).expect("clean");
    assert_eq!(removed, vec![".mail-F20261203T000000Z.tar.tmp".to_string()]);
}

#[test]
fn two_units_with_one_host_name_in_one_second_never_overwrite_each_other() {
    let fx = Fixture::new(256 << 10);
    let ours = fx.full(NOW);
    let mut o = fx.options(SetKind::Full, NOW);
    o.unit = OTHER_UNIT.into();
    o.state_dir = fx.path("other-state");
    let err = backupset::write_set(&o, &backupset::Progress::default())
        .expect_err("the name is taken")
        .to_string();
    assert!(err.contains("already at the destination"), "{err}");
    md5sum_check(&fx.dest, &ours.name.md5_name());
}
