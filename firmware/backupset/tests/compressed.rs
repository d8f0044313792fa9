//! Compressed sets (`.tar.zst`) with the product's defaults (24 h body
//! window, zstd level 3): the stock tools open them, they hold what a
//! plain set holds, one user is read from its own frames only, and a set
//! whose frames lie is refused.

mod common;
use backupset::SetKind;
use backupset::SetReader;
use backupset::zst::{FrameSize, SeekTable, seek_table};
use common::*;

use std::path::Path;
use std::process::Command;

fn sh(dir: &Path, cmd: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_compressed_set_opens_with_the_stock_tools_and_holds_what_a_plain_one_holds() {
    let mut fx = Fixture::new(10 << 20);
    let started = NOW + 60;
    let plain = fx.write(&fx.options(SetKind::Full, started));
    assert!(!plain.name.compressed);
    // The same store and start time, compressed, in volumes.
    fx.compress = Some(UNIT_LEVEL);
    let zdir = fx.path("zdest");
    std::fs::create_dir_all(&zdir).expect("mkdir");
    let mut opts = fx.options(SetKind::Copy, started);
    opts.dest_dir = zdir.clone();
    opts.volume_size = Some(64 * 1024 + 3);
    let z = fx.write(&opts);
    assert!(z.name.tar_name().ends_with(".tar.zst"), "{}", z.name);
    assert!(z.volumes.len() >= 2, "{} volumes", z.volumes.len());
    assert!(
        z.size() * 2 < plain.size(),
        "compressed {} against plain {}",
        z.size(),
        plain.size()
    );
    let check = md5sum_check(&zdir, &z.name.md5_name());
    assert_eq!(check.matches(": OK").count(), z.volumes.len(), "{check}");

    // cat | zstd -dc | tar -x gives the tree the plain set gives.
    let names = |o: &backupset::Outcome| -> Vec<String> {
        o.volumes.iter().map(|v| v.name.clone()).collect()
    };
    let from_plain = fx.path("from-plain");
    gnu_extract(&fx.dest, &names(&plain), &from_plain);
    let from_z = fx.path("from-zst");
    gnu_extract(&zdir, &names(&z), &from_z);
    assert_same(
        &snapshot(&from_plain.join("@backup"), &[]),
        &snapshot(&from_z.join("@backup"), &[]),
    );

    // One volume: GNU tar's --zstd and zstd -dc open it as they are.
    let one = fx.path("one");
    std::fs::create_dir_all(&one).expect("mkdir");
    let mut opts = fx.options(SetKind::Copy, started + 1);
    opts.dest_dir = one.clone();
    let single = fx.write(&opts);
    assert_eq!(single.volumes.len(), 1);
    let s = single.name.tar_name();
    sh(
        &one,
        &format!("mkdir a b && tar --zstd -xf {s} -C a && zstd -dc {s} | tar -xf - -C b"),
    );
    for d in ["a", "b"] {
        assert_same(
            &snapshot(&from_plain.join("@backup"), &[]),
            &snapshot(&one.join(d).join("@backup"), &[]),
        );
    }

    // The reader sees the same set in both.
    let p = SetReader::open(&fx.dest, &plain.name.tar_name()).expect("open plain");
    let r = SetReader::open(&zdir, &z.name.tar_name()).expect("open compressed");
    assert!(r.is_compressed() && !p.is_compressed());
    assert_eq!(r.index().expect("index"), p.index().expect("index"));
    assert_eq!(
        r.version().expect("version").unit,
        p.version().expect("version").unit
    );
    assert_eq!(
        r.summary().expect("summary").count_files,
        p.summary().expect("summary").count_files
    );
    assert!(
        r.verify(&Default::default())
            .expect("verify")
            .iter()
            .all(|v| v.ok)
    );
    assert!(r.check_readable().is_ok());
    let table = r.seek_table().expect("table");
    assert_eq!(
        table.compressed_len() + 8 + 8 * table.frames() as u64 + 9,
        r.total_size()
    );
    let t = SeekTable::read(&mut r.joined()).expect("table");
    assert_eq!(t, *table);
    // The set's own files at the end have a frame of their own.
    let last = *t.sizes().last().expect("frames");
    assert!((last.plain as usize) < backupset::zst::FRAME, "{last:?}");
}

/// A compressed set of enough frames that one user lies in a few of them.
fn many_frames() -> (Fixture, backupset::Outcome) {
    let mut fx = Fixture::new(96 << 20);
    fx.compress = Some(UNIT_LEVEL);
    let out = fx.full(NOW + 60);
    (fx, out)
}

#[test]
fn one_user_of_a_compressed_set_is_read_from_its_own_frames_only() {
    let (fx, out) = many_frames();
    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let table = set.seek_table().expect("table");
    assert!(table.frames() >= 4, "{} frames", table.frames());
    // The smallest user with mail, and a frame it does not touch.
    let index = set.index().expect("index");
    let user = index
        .iter()
        .filter(|e| e.path.starts_with("store/mail/") && e.path.matches('/').count() == 3)
        .filter(|e| e.files > 0)
        .min_by_key(|e| e.bytes)
        .expect("a user")
        .clone();
    let mine = table.compressed_range(user.start..user.end);
    assert!(
        mine.end - mine.start <= 2 * (table.compressed_len() / table.frames() as u64) + (1 << 20),
        "a small user's frames are a few of the set's: {mine:?} of {}",
        table.compressed_len()
    );
    let far = if mine.start > table.compressed_len() / 2 {
        mine.start / 2
    } else {
        (mine.end + table.compressed_len()) / 2
    };
    // Damage one byte there, in the file itself.
    let first = fx.set_path(&out);
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[far as usize] ^= 0x5a;
    std::fs::write(&first, bytes).expect("write");

    // The set as a whole is found damaged...
    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    assert!(!set.verify(&Default::default()).expect("verify")[0].ok);
    let mut whole = set.plain_stream().expect("stream");
    assert!(
        std::io::copy(&mut whole, &mut std::io::sink()).is_err(),
        "a damaged frame stops a whole read"
    );
    // ...yet the user's own frames read, byte for byte.
    let mut files = 0;
    set.entries(user.start..user.end, |e, data| {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(data, &mut buf).expect("read");
        let src = fx.data.join(&e.path);
        if src.is_file() {
            files += 1;
            let orig = std::fs::read(&src).expect("source");
            assert!(
                orig == buf || backupset::window::is_headers_only(&buf),
                "{}",
                e.path
            );
        }
        Ok(())
    })
    .expect("the user's frames are intact");
    assert_eq!(files, user.files);
}

/// Rewrites a set's seek table with `f` applied to its frame sizes (and
/// the frames' bytes) and writes a matching `.md5`: a hostile set, not a
/// damaged one.
fn retable(dir: &Path, out: &backupset::Outcome, f: impl Fn(&mut Vec<FrameSize>, &mut Vec<u8>)) {
    let path = dir.join(out.name.tar_name());
    let mut bytes = std::fs::read(&path).expect("read");
    let t = SeekTable::read(&mut std::io::Cursor::new(&bytes)).expect("table");
    let mut frames = t.sizes();
    bytes.truncate(t.compressed_len() as usize);
    f(&mut frames, &mut bytes);
    bytes.extend(seek_table(&frames));
    std::fs::write(&path, &bytes).expect("write");
    let md5 = Command::new("md5sum")
        .arg(out.name.tar_name())
        .current_dir(dir)
        .output()
        .expect("md5sum");
    std::fs::write(dir.join(out.name.md5_name()), md5.stdout).expect("md5");
}

fn refused(dir: &Path, out: &backupset::Outcome) -> String {
    let set = SetReader::open(dir, &out.name.tar_name()).expect("open");
    assert!(
        set.verify(&Default::default())
            .expect("verify")
            .iter()
            .all(|v| v.ok)
    );
    let mut s = match set.plain_stream() {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let whole = std::io::copy(&mut s, &mut std::io::sink());
    let meta = set.check_readable();
    match (whole, meta) {
        (Err(e), _) => e.to_string(),
        (Ok(_), Err(e)) => e.to_string(),
        (Ok(n), Ok(())) => panic!("a hostile set read as {n} good bytes"),
    }
}

#[test]
fn compressed_sets_whose_frames_lie_are_refused() {
    let mut fx = Fixture::new(2 << 20);
    fx.compress = Some(UNIT_LEVEL);
    // A frame that says it holds fewer bytes than it does.
    let a = fx.full(NOW + 60);
    retable(&fx.dest, &a, |f, _| f[0].plain -= 512);
    let why = refused(&fx.dest, &a);
    assert!(
        why.contains("holds more than") || why.contains("frame"),
        "{why}"
    );

    // A zstd bomb: the first frame replaced by 1 GiB of zeros in a few
    // KiB, the table claiming the old size.
    let b = fx.full(NOW + 120);
    retable(&fx.dest, &b, |f, data| {
        let mut bomb = Vec::new();
        {
            let mut w = zstd::stream::write::Encoder::new(&mut bomb, 3).expect("encoder");
            let zeros = vec![0u8; 16 << 20];
            for _ in 0..64 {
                std::io::Write::write_all(&mut w, &zeros).expect("write");
            }
            w.finish().expect("finish");
        }
        let old = f[0].compressed as usize;
        data.splice(0..old, bomb.iter().copied());
        f[0].compressed = bomb.len() as u32;
    });
    let why = refused(&fx.dest, &b);
    assert!(why.contains("holds more than"), "{why}");

    // A table that claims a frame larger than any reader accepts.
    let c = fx.full(NOW + 180);
    retable(&fx.dest, &c, |f, _| f[0].plain = u32::MAX);
    let why = refused(&fx.dest, &c);
    assert!(why.contains("allowed"), "{why}");
}
