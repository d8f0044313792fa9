mod common;

use backupset::SetKind;
use backupset::SetReader;
use common::*;

#[test]
fn full_plus_differential_restores_the_tree_at_the_differential() {
    let fx = Fixture::new(4 << 20);
    let mut opts = fx.options(SetKind::Full, NOW + 60);
    opts.body_window_hours = 0;
    let full = fx.write(&opts);

    let m = storegen::mutate(
        &fx.data,
        &storegen::MutateOptions {
            percent: 5.0,
            seed: 4,
            now: NOW + 86_400,
        },
    )
    .expect("mutate");
    assert!(
        m.deleted > 0 && m.renamed > 0 && m.added > 0 && m.folders_removed == 1,
        "{m:?}"
    );
    // A new empty folder, a link and a file that becomes a folder.
    std::fs::create_dir_all(fx.data.join("store/mail/new-empty/folder")).expect("mkdir");
    std::os::unix::fs::symlink("users.cfg", fx.data.join("config/users.link")).expect("symlink");
    std::fs::remove_file(fx.data.join("sslcert/server.key")).expect("rm");
    std::fs::create_dir(fx.data.join("sslcert/server.key")).expect("mkdir");
    std::fs::write(fx.data.join("sslcert/server.key/part"), b"now a folder").expect("write");

    let mut dopts = fx.options(SetKind::Differential, NOW + 86_400 + 60);
    dopts.body_window_hours = 0;
    let diff = fx.write(&dopts);
    assert_eq!(
        diff.name.kind,
        SetKind::Differential,
        "{:?}",
        diff.fell_back
    );
    assert_eq!(diff.base.as_deref(), Some(full.name.tar_name().as_str()));
    assert!(
        diff.size() < full.size() / 3,
        "diff {} vs full {}",
        diff.size(),
        full.size()
    );
    assert!(diff.summary.deleted_entries > 0);
    md5sum_check(&fx.dest, &diff.name.md5_name());

    let target = fx.tmp.path().join("restored");
    let f = SetReader::open(&fx.dest, &full.name.tar_name()).expect("open full");
    extract(&f, &target, ".").expect("full");
    let d = SetReader::open(&fx.dest, &diff.name.tar_name()).expect("open diff");
    assert_eq!(
        d.version().expect("version").base.as_deref(),
        Some(full.name.tar_name().as_str())
    );
    let stats = extract(&d, &target, ".").expect("diff");
    assert!(stats.deleted > 0);
    assert_same(
        &snapshot(&fx.data, &["backup", "restore", "state"]),
        &snapshot(&target, &[]),
    );

    // The same by hand, as docs/set-format.md tells an administrator.
    let by_hand = fx.tmp.path().join("by-hand");
    std::fs::create_dir_all(&by_hand).expect("mkdir");
    let script = format!(
        "set -e; tar -xf '{full}'; tar -xf '{diff}' .deleted.txt; \
         (cd @backup && while IFS= read -r p; do rm -rf -- \"./$p\"; done < ../.deleted.txt); \
         tar -xf '{diff}'",
        full = fx.dest.join(full.name.tar_name()).display(),
        diff = fx.dest.join(diff.name.tar_name()).display()
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&by_hand)
        .output()
        .expect("sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(
        &snapshot(&fx.data, &["backup", "restore", "state"]),
        &snapshot(&by_hand.join("@backup"), &[]),
    );

    // Listing shows the chain.
    let sets = backupset::list_sets(&fx.dest).expect("list");
    assert_eq!(sets.len(), 2);
    assert!(sets.iter().all(|s| s.complete));
    assert_eq!(sets[1].base.as_deref(), Some(full.name.tar_name().as_str()));

    // A second differential is again against the full, not the first one.
    std::fs::write(fx.data.join("config/mailserver.cfg"), b"changed again").expect("write");
    let mut d2 = fx.options(SetKind::Differential, NOW + 2 * 86_400);
    d2.body_window_hours = 0;
    let diff2 = fx.write(&d2);
    assert_eq!(diff2.base.as_deref(), Some(full.name.tar_name().as_str()));
    assert!(diff2.summary.count_files >= diff.summary.count_files);
}

/// The same chain with the product's 24-hour body window: every file
/// comes back as it was at the differential, except messages older than
/// the window when their set was made, which come back as exactly their
/// headers-only form.
#[test]
fn full_plus_differential_with_the_default_body_window() {
    let fx = Fixture::new(4 << 20);
    assert_eq!(fx.body_window_hours, 24);
    let full = fx.full(NOW + 60);
    assert!(full.summary.headers_only_files > 0, "{:?}", full.summary);
    storegen::mutate(
        &fx.data,
        &storegen::MutateOptions {
            percent: 5.0,
            seed: 4,
            now: NOW + 86_400,
        },
    )
    .expect("mutate");
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 86_400 + 60));
    assert_eq!(
        diff.name.kind,
        SetKind::Differential,
        "{:?}",
        diff.fell_back
    );
    md5sum_check(&fx.dest, &full.name.md5_name());
    md5sum_check(&fx.dest, &diff.name.md5_name());

    let target = fx.tmp.path().join("restored");
    for set in [&full, &diff] {
        let r = SetReader::open(&fx.dest, &set.name.tar_name()).expect("open");
        extract(&r, &target, ".").expect("extract");
    }
    let expected = snapshot(&fx.data, &["backup", "restore", "state"]);
    let got = snapshot(&target, &[]);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "the same files"
    );
    let mut stubs = 0;
    for (path, (kind, _, _, data)) in &expected {
        let (_, _, _, restored) = &got[path];
        if restored == data {
            continue;
        }
        assert!(
            *kind == 'f' && backupset::window::is_windowed_message(path),
            "{path} differs and is not a message"
        );
        let headers = &data[..backupset::window::header_len(data).expect("headers")];
        assert_eq!(
            restored,
            &backupset::window::headers_only(headers, data.len() as u64, 24),
            "{path}: neither the message nor its headers-only form"
        );
        stubs += 1;
    }
    assert!(stubs > 0, "old messages come back as headers only");
}

/// A full made while the clock was a day ahead judged the body window by
/// that clock: a differential after the clock was put back would keep
/// messages that are inside the window now as the full's headers only.
/// A full is written instead, and says why.
#[test]
fn after_the_clock_was_put_back_a_differential_becomes_a_full() {
    let fx = Fixture::new(1 << 20);
    fx.full(NOW + 86_400);
    let out = fx.write(&fx.options(SetKind::Differential, NOW + 60));
    assert_eq!(out.name.kind, SetKind::Full);
    let why = out.fell_back.expect("a reason");
    assert!(why.contains("clock was put back"), "{why}");
}

#[test]
fn differential_without_state_falls_back_to_a_full() {
    let fx = Fixture::new(1 << 20);
    let out = fx.write(&fx.options(SetKind::Differential, NOW + 60));
    assert_eq!(out.name.kind, SetKind::Full);
    assert!(
        out.fell_back
            .as_deref()
            .is_some_and(|w| w.contains("last full")),
        "{:?}",
        out.fell_back
    );
    // The full's set removed by hand: the next differential is a full again.
    std::fs::remove_file(fx.dest.join(out.name.md5_name())).expect("rm");
    let again = fx.write(&fx.options(SetKind::Differential, NOW + 120));
    assert_eq!(again.name.kind, SetKind::Full);
    assert!(
        again
            .fell_back
            .as_deref()
            .is_some_and(|w| w.contains("not complete")),
        "{:?}",
        again.fell_back
    );
}

#[test]
fn unchanged_tree_gives_an_almost_empty_differential() {
    let fx = Fixture::new(2 << 20);
    let full = fx.write(&fx.options(SetKind::Full, NOW + 60));
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 120));
    assert_eq!(diff.name.kind, SetKind::Differential);
    assert_eq!(diff.summary.count_files, 0);
    assert_eq!(diff.summary.deleted_entries, 0);
    assert!(diff.size() < 16 << 10, "{} bytes", diff.size());
    assert!(full.size() > 256 << 10, "{}", full.size());
}
