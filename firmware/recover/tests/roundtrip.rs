//! Sets written by the real writer from generated stores come back byte
//! for byte: full, full + differential, split volumes; whole and selective.
//! Each runs with the body window off (every byte compared) and with the
//! product's default window (messages older than it come back as their
//! exact headers-only form, [`assert_restored`]).

mod common;

use backupset::SetKind;
use common::*;

const SKIP: [&str; 3] = ["backup", "restore", "state"];

fn whole_into(fx: &Fixture, source: &std::path::Path, out: &str) -> std::path::PathBuf {
    let out = fx.path(out);
    let store = out.join("store");
    let (ok, stdout, stderr) = run(&[
        "-g",
        "-c",
        out.to_str().expect("utf-8"),
        "-s",
        store.to_str().expect("utf-8"),
        source.to_str().expect("utf-8"),
    ]);
    assert!(ok, "recover failed: {stdout} {stderr}");
    out
}

/// The fixtures: the body window off, the default window with plain sets,
/// and the product's defaults (compressed).
fn both(size: u64) -> [Fixture; 3] {
    [fixture_all_bodies(size), fixture_plain(size), fixture(size)]
}

#[test]
fn a_full_set_comes_back_whole() {
    for fx in both(3 << 20) {
        full_checked(&fx, NOW);
        let expected = snapshot(&fx.data, &SKIP);
        let out = whole_into(&fx, &fx.dest, "out");
        let stubs = assert_restored(&fx, &expected, &snapshot(&out, &["state"]));
        assert_eq!(stubs > 0, fx.body_window_hours > 0);
        // Nothing is left of the staging area but the lock.
        let left = all_paths(&out.join("state/recover"));
        assert_eq!(left, ["lock"], "{left:?}");
    }
}

#[test]
fn full_plus_differential_gives_the_tree_at_the_differential() {
    for fx in both(3 << 20) {
        full_plus_differential(&fx);
    }
}

fn full_plus_differential(fx: &Fixture) {
    let full = full_checked(fx, NOW + 60);
    mutate(fx, 4);
    // A new empty folder, a link inside the tree, a file that becomes a folder.
    std::fs::create_dir_all(fx.data.join("store/mail/new-empty/folder")).expect("mkdir");
    std::os::unix::fs::symlink("users.cfg", fx.data.join("config/users.link")).expect("symlink");
    std::fs::remove_file(fx.data.join("sslcert/server.key")).expect("rm");
    std::fs::create_dir(fx.data.join("sslcert/server.key")).expect("mkdir");
    std::fs::write(fx.data.join("sslcert/server.key/part"), b"now a folder").expect("write");
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 86_400 + 60));
    assert_eq!(
        diff.name.kind,
        SetKind::Differential,
        "{:?}",
        diff.fell_back
    );
    assert!(diff.summary.deleted_entries > 0);
    let expected = snapshot(&fx.data, &SKIP);

    // The folder means the newest point: the full and its differential.
    let out = whole_into(fx, &fx.dest, "whole");
    let stubs = assert_restored(fx, &expected, &snapshot(&out, &["state"]));
    assert_eq!(stubs > 0, fx.body_window_hours > 0);

    // The differential's file means the same.
    let out = whole_into(fx, &fx.set_path(&diff), "by-file");
    assert_restored(fx, &expected, &snapshot(&out, &["state"]));

    // One user, selectively, from the chain, into an empty folder.
    let (d, u) = some_user(&fx.data);
    let tmp = fx.path("user");
    let (ok, stdout, stderr) = run(&[
        "-d",
        &d,
        "-u",
        &u,
        "-s",
        tmp.to_str().expect("utf-8"),
        "-c",
        fx.path("user-cfg").to_str().expect("utf-8"),
        fx.dest.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stdout} {stderr}");
    let user_rel = format!("store/mail/{d}/{u}");
    assert_restored(
        fx,
        &subtree(&expected, &user_rel),
        &snapshot(&tmp.join(format!("mail/{d}/{u}")), &[]),
    );
    // Only that mailbox and the user's contacts were written.
    let written = all_paths(&tmp);
    let allowed = [
        "mail".to_string(),
        format!("mail/{d}"),
        "contacts".into(),
        format!("contacts/{d}"),
        format!("contacts/{d}/{u}.vcf"),
    ];
    for p in &written {
        assert!(
            allowed.contains(p)
                || p.starts_with(&format!("mail/{d}/{u}/"))
                || *p == format!("mail/{d}/{u}"),
            "{p} was written"
        );
    }
    assert!(!fx.path("user-cfg").join("config").exists());

    // The full alone is the tree before the changes.
    let full_out = whole_into(fx, &fx.set_path(&full), "full-only");
    assert!(snapshot(&full_out, &["state"]) != expected);
    assert!(!full_out.join("config/users.link").exists());
}

#[test]
fn split_volumes_are_joined() {
    for fx in both(2 << 20) {
        split_volumes(&fx);
    }
}

fn split_volumes(fx: &Fixture) {
    let mut opts = fx.options(SetKind::Full, NOW);
    // Headers-only messages make a set of the same store much smaller.
    // Compression makes it smaller again.
    opts.volume_size = Some(if fx.compress.is_some() {
        16 << 10
    } else if fx.body_window_hours > 0 {
        80 << 10
    } else {
        300 << 10
    });
    let out = fx.write(&opts);
    assert!(out.volumes.len() > 3, "{} volumes", out.volumes.len());
    assert_eq!(
        out.summary.headers_only_files > 0,
        fx.body_window_hours > 0,
        "{:?}",
        out.summary
    );
    let expected = snapshot(&fx.data, &SKIP);
    let restored = whole_into(fx, &fx.dest, "whole");
    assert_restored(fx, &expected, &snapshot(&restored, &["state"]));

    // A selection whose bytes span volumes.
    let (d, u) = some_user(&fx.data);
    let tmp = fx.path("user");
    let (ok, stdout, stderr) = run(&[
        "-d",
        &d,
        "-u",
        &u,
        "-m",
        "mail",
        "-s",
        tmp.to_str().expect("utf-8"),
        fx.set_path(&out).to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stdout} {stderr}");
    assert_restored(
        fx,
        &subtree(&expected, &format!("store/mail/{d}/{u}")),
        &snapshot(&tmp.join(format!("mail/{d}/{u}")), &[]),
    );
    // Any volume names the set.
    let third = fx.dest.join(&out.volumes[2].name);
    let (ok, _, stderr) = run(&["-l", third.to_str().expect("utf-8")]);
    assert!(ok, "{stderr}");
}

#[test]
fn a_folder_means_its_newest_restore_point() {
    let fx = fixture(1 << 20);
    let f1 = fx.full(NOW);
    std::fs::write(fx.data.join("config/mailserver.cfg"), b"after the full").expect("w");
    let i1 = fx.write(&fx.options(SetKind::Differential, NOW + 3600));
    std::fs::write(fx.data.join("config/mailserver.cfg"), b"in the copy").expect("w");
    let c1 = fx.write(&fx.options(SetKind::Copy, NOW + 7200));
    let sets = fx.dest.to_str().expect("utf-8").to_string();
    let point = |args: &[&str]| {
        let (ok, stdout, stderr) = run(args);
        assert!(ok, "{stderr}");
        stdout
            .lines()
            .find(|l| l.starts_with("Restore point:"))
            .unwrap_or_default()
            .to_string()
    };
    // The copy is the newest restore point.
    assert!(point(&["-l", &sets]).contains(&c1.name.tar_name()));
    // A newer differential of the full makes the full + differential newest.
    std::fs::write(fx.data.join("config/mailserver.cfg"), b"in the second diff").expect("w");
    let i2 = fx.write(&fx.options(SetKind::Differential, NOW + 9000));
    let p = point(&["-l", &sets]);
    assert!(
        p.contains(&i2.name.tar_name()) && p.contains(&f1.name.tar_name()),
        "{p}"
    );
    // A differential whose full is gone is passed over.
    std::fs::rename(fx.set_path(&f1), fx.path("f1.tar")).expect("hide full");
    assert!(point(&["-l", &sets]).contains(&c1.name.tar_name()));
    let (ok, _, stderr) = run(&["-l", fx.set_path(&i1).to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(
        stderr.contains("needs its full backup") && stderr.contains(&f1.name.tar_name()),
        "{stderr}"
    );
    std::fs::rename(fx.path("f1.tar"), fx.set_path(&f1)).expect("back");

    // A file means that set: the first differential's state, from its .md5.
    let md5 = fx.dest.join(i1.name.md5_name());
    let out = fx.path("i1");
    let (ok, _, stderr) = run(&[
        "-g",
        "-m",
        "cfg",
        "-c",
        out.to_str().expect("utf-8"),
        md5.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(out.join("config/mailserver.cfg")).expect("cfg"),
        b"after the full"
    );
}

/// The proof that a selective restore reads only the index and its range:
/// every other byte of the set is overwritten, and the mailbox still comes
/// back (while --verify, which reads everything, refuses the set).
#[test]
fn a_selective_restore_reads_only_the_index_and_its_range() {
    // Byte offsets of the tar itself: a plain set (the compressed case is
    // a_selective_restore_of_a_compressed_set_reads_only_its_frames).
    let fx = fixture_plain(3 << 20);
    let out = full_checked(&fx, NOW);
    // The smallest mailbox, so most of the set is someone else's.
    let mut users: Vec<(usize, String, String)> = Vec::new();
    for dom in std::fs::read_dir(fx.data.join("store/mail")).expect("mail") {
        let dom = dom.expect("domain");
        for user in std::fs::read_dir(dom.path()).expect("users") {
            let user = user.expect("user");
            users.push((
                snapshot(&user.path(), &[]).len(),
                dom.file_name().to_string_lossy().into_owned(),
                user.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    users.sort();
    let (_, d, u) = users.into_iter().find(|x| x.0 > 3).expect("a mailbox");
    let user_rel = format!("store/mail/{d}/{u}");
    let expected = subtree(&snapshot(&fx.data, &SKIP), &user_rel);
    let reader = backupset::SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let summary = reader.summary().expect("summary");
    let range = reader
        .find(&user_rel)
        .expect("index")
        .expect("the user's line");
    let path = fx.set_path(&out);
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len() as u64;
    // Kept: the version's header and text, the user's range, the index, and
    // the summary with the end-of-archive blocks.
    let keep = [
        0..1024,
        range.start..range.end,
        summary.index_offset - 512..summary.index_offset + summary.index_size + 512,
        len - 4096..len,
    ];
    let mut spoiled = 0u64;
    for (i, b) in bytes.iter_mut().enumerate() {
        if !keep.iter().any(|r| r.contains(&(i as u64))) {
            *b = 0xA5;
            spoiled += 1;
        }
    }
    assert!(spoiled > len * 8 / 10, "{spoiled} of {len} bytes spoiled");
    std::fs::write(&path, &bytes).expect("write");

    let tmp = fx.path("user");
    let (ok, stdout, stderr) = run(&[
        "-d",
        &d,
        "-u",
        &u,
        "-m",
        "mail",
        "-s",
        tmp.to_str().expect("utf-8"),
        path.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stdout} {stderr}");
    assert_restored(
        &fx,
        &expected,
        &snapshot(&tmp.join(format!("mail/{d}/{u}")), &[]),
    );
    let (ok, _, stderr) = run(&[
        "--verify",
        "-d",
        &d,
        "-u",
        &u,
        "-m",
        "mail",
        "-s",
        fx.path("v").to_str().expect("utf-8"),
        path.to_str().expect("utf-8"),
    ]);
    assert!(
        !ok && stderr.contains("does not match its .md5 file"),
        "{stderr}"
    );
}

/// One user of a compressed set comes back from its own frames: every
/// other frame of the set is spoiled first. Every body is kept so that a
/// small store makes many frames; the default window's case follows.
#[test]
fn a_selective_restore_of_a_compressed_set_reads_only_its_frames() {
    let mut fx = fixture_all_bodies(48 << 20);
    fx.compress = fixture(0).compress;
    selective_restore_reads_only_its_frames(&fx);
}

/// The same with the settings a customer has (24-hour body window).
#[test]
fn a_selective_restore_of_a_default_compressed_set_reads_only_its_frames() {
    let fx = fixture(256 << 20);
    assert_eq!(fx.body_window_hours, 24, "the default window");
    assert!(fx.compress.is_some(), "compressed, as a new unit writes");
    selective_restore_reads_only_its_frames(&fx);
}

fn selective_restore_reads_only_its_frames(fx: &Fixture) {
    let out = full_checked(fx, NOW);
    let reader = backupset::SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let table = reader.seek_table().expect("table");
    assert!(table.frames() >= 5, "{:?}", table.sizes());
    let index = reader.index().expect("index");
    let user = index
        .iter()
        .filter(|e| e.path.starts_with("store/mail/") && e.path.matches('/').count() == 3)
        .filter(|e| e.files > 3)
        .min_by_key(|e| e.bytes)
        .expect("a mailbox")
        .clone();
    let summary = reader.summary().expect("summary");
    let keep = [
        table.compressed_range(0..1024),
        table.compressed_range(user.start..user.end),
        table.compressed_range(summary.index_offset..reader.tar_len().expect("len")),
        table.compressed_len()..reader.total_size(),
    ];
    let path = fx.set_path(&out);
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len() as u64;
    let mut spoiled = 0u64;
    for (i, b) in bytes.iter_mut().enumerate() {
        if !keep.iter().any(|r| r.contains(&(i as u64))) {
            *b = 0xA5;
            spoiled += 1;
        }
    }
    assert!(spoiled > len / 2, "{spoiled} of {len} bytes spoiled");
    std::fs::write(&path, &bytes).expect("write");
    let mut parts = user.path.split('/').skip(2);
    let (d, u) = (
        parts.next().expect("domain").to_string(),
        parts.next().expect("user").to_string(),
    );
    let expected = subtree(&snapshot(&fx.data, &SKIP), &user.path);
    let tmp = fx.path("user");
    let (ok, stdout, stderr) = run(&[
        "-d",
        &d,
        "-u",
        &u,
        "-m",
        "mail",
        "-s",
        tmp.to_str().expect("utf-8"),
        path.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{stdout} {stderr}");
    assert_restored(
        fx,
        &expected,
        &snapshot(&tmp.join(format!("mail/{d}/{u}")), &[]),
    );
}
