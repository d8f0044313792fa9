mod common;

use backupset::SetKind;
use backupset::{SetReader, window};
use common::*;

#[test]
fn full_backup_round_trips_through_gnu_tar() {
    let fx = Fixture::new(4 << 20);
    let started = NOW + 3600;
    let opts = fx.options(SetKind::Full, started);
    let out = fx.write(&opts);
    assert_eq!(out.name.tar_name(), "mail-F20261122T041815Z.tar");
    assert_eq!(out.volumes.len(), 1);
    assert_eq!(out.problem_count, 0, "{:?}", out.problems);

    let check = md5sum_check(&fx.dest, &out.name.md5_name());
    assert!(check.contains(": OK"), "{check}");

    let names: Vec<String> = out.volumes.iter().map(|v| v.name.clone()).collect();
    let listing = tar_list(&fx.dest, &names);
    assert_eq!(listing.first().map(String::as_str), Some(".version.txt"));
    assert_eq!(listing.last().map(String::as_str), Some(".summary.txt"));
    assert!(listing.iter().any(|l| l == ".index.txt"));
    assert!(
        listing
            .iter()
            .all(|l| l.starts_with("@backup") || l.starts_with('.')),
        "everything else under @backup/"
    );
    for excluded in ["@backup/backup/", "@backup/restore/", "@backup/state/"] {
        assert!(
            !listing.iter().any(|l| l.starts_with(excluded)),
            "{excluded} must be left out"
        );
    }

    let restored = fx.tmp.path().join("restored");
    gnu_extract(&fx.dest, &names, &restored);
    let source = snapshot(&fx.data, &["backup", "restore", "state"]);
    let back = snapshot(&restored.join("@backup"), &[]);
    let cutoff = started - 24 * 3600;
    let mut headers_only = 0;
    let mut whole = 0;
    for (path, (kind, mode, mtime, data)) in &source {
        let Some((k2, m2, t2, d2)) = back.get(path) else {
            panic!("{path} missing after extraction");
        };
        assert_eq!((kind, mode), (k2, m2), "{path}");
        if *kind != 'f' {
            continue;
        }
        assert_eq!(mtime, t2, "{path}: modification time");
        if window::is_windowed_message(path) && *mtime < cutoff {
            // Headers only: the marker, then the original header section.
            let hl = window::header_len(data).expect("message has headers");
            assert!(window::is_headers_only(d2), "{path} should be headers-only");
            let marker_end = d2.iter().position(|&b| b == b'\n').expect("marker line") + 1;
            assert_eq!(
                &d2[marker_end..],
                &data[..hl],
                "{path}: header section kept"
            );
            headers_only += 1;
        } else {
            assert!(d2 == data, "{path}: contents differ");
            whole += 1;
        }
    }
    assert_eq!(back.len(), source.len(), "nothing extra");
    assert!(
        headers_only > 0 && whole > 0,
        "{headers_only} headers-only, {whole} whole"
    );

    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let summary = set.summary().expect("summary");
    assert_eq!(summary.headers_only_files, headers_only);
    assert_eq!(summary, out.summary);
    let v = set.version().expect("version");
    assert_eq!(
        (v.hostname.as_str(), v.kind, v.body_window_hours, v.base),
        ("mail", SetKind::Full, 24, None)
    );
    let root = set.find(".").expect("index").expect("root in index");
    assert_eq!(root.headers_only, headers_only);
    assert!(
        set.verify(&Default::default())
            .expect("verify")
            .iter()
            .all(|c| c.ok)
    );
    // The check's progress counts every byte of every volume once.
    let done = std::sync::atomic::AtomicU64::new(0);
    assert!(
        set.verify_counting(&Default::default(), &done)
            .expect("verify")
            .iter()
            .all(|c| c.ok)
    );
    assert_eq!(done.into_inner(), set.total_size());
    // The state a differential needs was committed; nothing temporary is left.
    assert!(fx.state.join("full.state").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&fx.dest)
        .expect("dest")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every file of `expected` is in `got`, the same, or (with a body window)
/// stored as headers only; returns how many are headers only.
fn same_or_headers_only(
    expected: &storegen::tree::Tree,
    got: &storegen::tree::Tree,
    window: u32,
) -> usize {
    if window == 0 {
        assert_same(expected, got);
        return 0;
    }
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    let mut headers_only = 0;
    for (path, (_, _, _, want)) in expected {
        let (_, _, _, have) = &got[path];
        if have != want {
            assert!(window::is_headers_only(have), "{path} differs");
            headers_only += 1;
        }
    }
    headers_only
}

#[test]
fn volumes_split_join_and_verify_each() {
    // The product's default body window, then none (every body).
    for window in [24, 0] {
        volumes_with_window(window);
    }
}

fn volumes_with_window(window: u32) {
    // More data than the writer's buffers hold at once, so they are reused.
    let fx = Fixture::new(10 << 20);
    let mut opts = fx.options(SetKind::Copy, NOW + 60);
    opts.volume_size = Some(1024 * 1024 + 7);
    assert_eq!(opts.body_window_hours, 24, "the default window");
    opts.body_window_hours = window;
    let out = fx.write(&opts);
    // Headers-only messages make the set smaller.
    let least = if window == 0 { 5 } else { 2 };
    assert!(out.volumes.len() >= least, "{} volumes", out.volumes.len());
    assert_eq!(out.volumes[1].name, format!("{}.001", out.name.tar_name()));
    for v in &out.volumes[..out.volumes.len() - 1] {
        assert_eq!(v.size, 1024 * 1024 + 7);
    }
    let check = md5sum_check(&fx.dest, &out.name.md5_name());
    assert_eq!(check.matches(": OK").count(), out.volumes.len(), "{check}");
    let names: Vec<String> = out.volumes.iter().map(|v| v.name.clone()).collect();
    let restored = fx.tmp.path().join("restored");
    gnu_extract(&fx.dest, &names, &restored);
    let headers_only = same_or_headers_only(
        &snapshot(&fx.data, &["backup", "restore", "state"]),
        &snapshot(&restored.join("@backup"), &[]),
        window,
    );
    assert_eq!(
        headers_only > 0,
        window > 0,
        "the default window keeps old messages as headers only"
    );
    // A copy is outside the chain: no state for differentials.
    assert!(!fx.state.join("full.state").exists());
    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    assert_eq!(set.volumes().len(), out.volumes.len());
    assert!(set.summary().is_ok());
}

#[test]
fn one_user_is_read_by_its_byte_range_only() {
    // The product's default body window, then none (every body).
    for window in [24, 0] {
        one_user_with_window(window);
    }
}

fn one_user_with_window(window: u32) {
    let fx = Fixture::new(4 << 20);
    let mut opts = fx.options(SetKind::Full, NOW + 60);
    opts.body_window_hours = window;
    opts.volume_size = Some(512 * 1024);
    let out = fx.write(&opts);
    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let index = set.index().expect("index");
    let user = index
        .iter()
        .filter(|e| e.path.starts_with("store/mail/") && e.path.matches('/').count() == 3)
        .filter(|e| e.files > 0)
        .min_by_key(|e| e.bytes)
        .expect("a user in the index")
        .clone();
    assert!(
        user.end - user.start < set.total_size() / 2,
        "a user is a fraction of the set"
    );
    let mut seen = Vec::new();
    set.entries(user.start..user.end, |e, data| {
        assert!(
            e.path.starts_with(&user.path),
            "{} outside {}",
            e.path,
            user.path
        );
        let mut buf = Vec::new();
        std::io::Read::read_to_end(data, &mut buf).expect("read");
        seen.push((e.path.clone(), buf));
        Ok(())
    })
    .expect("entries");
    let files = seen
        .iter()
        .filter(|(p, _)| std::fs::metadata(fx.data.join(p)).is_ok_and(|m| m.is_file()))
        .count() as u64;
    assert_eq!(files, user.files);
    for (p, data) in &seen {
        let src = fx.data.join(p);
        if src.is_file() {
            let whole = std::fs::read(&src).expect("read") == *data;
            assert!(
                whole || (window > 0 && window::is_headers_only(data)),
                "{p}"
            );
        }
    }
    // The same through the applier.
    let target = fx.tmp.path().join("one-user");
    let stats = extract(&set, &target, &user.path).expect("extract");
    assert_eq!(stats.files, user.files);
    let a = snapshot(&fx.data.join(&user.path), &[]);
    let b = snapshot(&target.join(&user.path), &[]);
    same_or_headers_only(&a, &b, window);
    assert_eq!(set.find("store/mail/no.such/domain").expect("find"), None);
}

/// A summary longer than the eight blocks the reader looks at first (a
/// later writer's extra lines) is still found: the search widens.
#[test]
fn a_summary_longer_than_eight_blocks_is_found() {
    let fx = Fixture::new(256 << 10);
    let out = fx.write(&fx.options(SetKind::Full, NOW));
    let name = out.name.tar_name();
    let before = SetReader::open(&fx.dest, &name)
        .expect("open")
        .summary()
        .expect("summary");
    let path = fx.dest.join(&name);
    let bytes = std::fs::read(&path).expect("read");
    // The summary's header: the last entry before the two end blocks.
    let end = bytes.len() - 1024;
    let at = (0..end)
        .step_by(512)
        .rev()
        .find(|&at| bytes[at..].starts_with(b".summary.txt\0"))
        .expect("the summary's header");
    let text = std::str::from_utf8(&bytes[at + 512..end])
        .expect("utf-8")
        .trim_end_matches('\0');
    let longer = format!("{text}note={}\n", "x".repeat(6000));
    let mut h = tar::Header::new_ustar();
    h.set_path(".summary.txt").expect("name");
    h.set_size(longer.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut set = bytes[..at].to_vec();
    set.extend_from_slice(h.as_bytes());
    set.extend_from_slice(longer.as_bytes());
    set.resize(set.len().div_ceil(512) * 512 + 1024, 0);
    assert!(set.len() - 1024 - at > 8 * 512, "longer than eight blocks");
    std::fs::write(&path, &set).expect("write");
    let after = SetReader::open(&fx.dest, &name)
        .expect("open")
        .summary()
        .expect("the longer summary is found");
    assert_eq!(after, before);
}
