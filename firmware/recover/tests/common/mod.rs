#![allow(dead_code)]
//! Shared by the recover tests: generated stores (storegen) written as
//! real sets (the backupset writer), the real `recover` binary, trees
//! compared byte for byte, and hand-made sets for hostile cases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use backupset::testing::{Fixture, NOW};

/// A generated store of about `size` bytes whose sets are what a new unit
/// writes: the product's default body window (24 h: storegen dates
/// messages over two weeks, so most of them are stored with their headers
/// only) and compression (zstd). Compare restored trees with
/// [`assert_restored`].
pub fn fixture(size: u64) -> Fixture {
    let mut fx = fixture_plain(size);
    let defaults = appconfig::BackupSettings::default();
    assert_eq!(defaults.compression, appconfig::Compression::Zstd);
    fx.compress = Some(defaults.compression_level);
    fx
}

/// The default window with plain `.tar` sets: what older firmware wrote,
/// and a unit with compression off writes.
pub fn fixture_plain(size: u64) -> Fixture {
    let fx = Fixture::new(size);
    assert_eq!(fx.body_window_hours, 24, "the product's default window");
    fx
}

/// The same with the body window off, for the tests that need restored
/// trees byte for byte (each also runs with [`fixture`]).
pub fn fixture_all_bodies(size: u64) -> Fixture {
    let mut fx = Fixture::new(size);
    fx.body_window_hours = 0;
    fx
}

/// Writes a full set at `started` and checks that its body window did
/// what it says: with a window, some messages are headers only (so a test
/// of them cannot pass for want of any); without, none.
pub fn full_checked(fx: &Fixture, started: i64) -> backupset::Outcome {
    let out = fx.full(started);
    if fx.body_window_hours > 0 {
        assert!(
            out.summary.headers_only_files > 0,
            "the set has no headers-only message: {:?}",
            out.summary
        );
    } else {
        assert_eq!(out.summary.headers_only_files, 0);
    }
    out
}

/// What a set stores of `message` (older than a `hours` window): its
/// headers-only form, or `None` if it is stored whole (no header section
/// ending within it, or nothing after it).
pub fn stub_of(message: &[u8], hours: u32) -> Option<Vec<u8>> {
    use backupset::window;
    let len = window::header_len(&message[..message.len().min(window::MAX_HEADER)])?;
    (len < message.len())
        .then(|| window::headers_only(&message[..len], message.len() as u64, hours))
}

/// Whether a restored file is a headers-only copy.
pub fn is_stub(data: &[u8]) -> bool {
    backupset::window::is_headers_only(data)
}

/// Panics with the first difference between a tree that was backed up and
/// the tree restored from its set: equal, except that with a body window a
/// file may be the exact headers-only form of the message (same mode and
/// time). Returns how many are; byte for byte without a window.
pub fn assert_restored(fx: &Fixture, expected: &Tree, got: &Tree) -> usize {
    if fx.body_window_hours == 0 {
        assert_same(expected, got);
        return 0;
    }
    let mut stubs = 0;
    for (k, v) in expected {
        let Some(w) = got.get(k) else {
            panic!("{k} missing in the restored tree");
        };
        if v == w {
            continue;
        }
        let stub = if v.0 == 'f' {
            stub_of(&v.3, fx.body_window_hours)
        } else {
            None
        };
        assert!(
            (v.0, v.1, v.2) == (w.0, w.1, w.2) && stub.as_deref() == Some(&w.3[..]),
            "{k} differs and is not its headers-only form: {:?} vs {:?}",
            (v.0, v.1, v.2, v.3.len()),
            (w.0, w.1, w.2, w.3.len())
        );
        stubs += 1;
    }
    for k in got.keys() {
        assert!(
            expected.contains_key(k),
            "{k} is extra in the restored tree"
        );
    }
    stubs
}

/// A copy of the data, as a live appliance's /data would be.
pub fn live_copy(fx: &Fixture, name: &str) -> PathBuf {
    let live = fx.path(name);
    let st = Command::new("cp")
        .arg("-a")
        .arg(&fx.data)
        .arg(&live)
        .status()
        .expect("cp");
    assert!(st.success());
    live
}

/// Changes, adds and deletes a share of the files.
pub fn mutate(fx: &Fixture, seed: u64) {
    storegen::mutate(
        &fx.data,
        &storegen::MutateOptions {
            percent: 5.0,
            seed,
            now: NOW + 86_400,
        },
    )
    .expect("mutate");
}

/// Runs the real binary.
pub fn recover(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recover"))
        .args(args)
        .output()
        .expect("recover runs")
}

/// Runs the binary with string arguments; returns (status ok, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let out = recover(&os);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a tree holds: path → (kind, mode, mtime for files, contents or link target).
// Not every test file uses all of them.
#[allow(unused_imports)]
pub use storegen::tree::{Tree, assert_same, snapshot};

/// The part of a tree under `prefix`, with paths relative to it.
pub fn subtree(t: &Tree, prefix: &str) -> Tree {
    t.iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('/'))
                .map(|r| (r.to_string(), v.clone()))
        })
        .collect()
}

/// A user with mail in the generated data: (domain, user), the one with
/// the most folders so folder tests have nesting.
pub fn some_user(data: &Path) -> (String, String) {
    let mail = data.join("store/mail");
    let mut best = (String::new(), String::new(), 0usize);
    for d in std::fs::read_dir(&mail).expect("mail") {
        let d = d.expect("domain");
        for u in std::fs::read_dir(d.path()).expect("users") {
            let u = u.expect("user");
            let n = snapshot(&u.path(), &[]).len();
            if n > best.2 {
                best = (
                    d.file_name().to_string_lossy().into_owned(),
                    u.file_name().to_string_lossy().into_owned(),
                    n,
                );
            }
        }
    }
    (best.0, best.1)
}

/// Messages (files) directly in a mail folder's cur/ and new/.
pub fn count_messages(folder: &Path) -> usize {
    ["cur", "new"]
        .iter()
        .map(|m| {
            std::fs::read_dir(folder.join(m))
                .map(|r| r.count())
                .unwrap_or(0)
        })
        .sum()
}

// ---- hand-made sets ----

/// One raw entry of a hand-made set: its header block(s) and data.
pub struct Raw {
    pub blocks: Vec<u8>,
}

fn pad(v: &mut Vec<u8>) {
    let n = (512 - v.len() % 512) % 512;
    v.extend(std::iter::repeat_n(0u8, n));
}

/// A ustar header with any name bytes (no checks: hostile names too).
pub fn header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(NOW as u64);
    {
        let b = h.as_mut_bytes();
        b[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        b[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    }
    h.set_cksum();
    h.as_bytes().to_vec()
}

pub fn raw_dir(name: &str) -> Raw {
    let mut blocks = header(format!("{name}/").as_bytes(), b'5', 0, b"");
    if let Some(b) = blocks.get_mut(100..108) {
        b.copy_from_slice(b"0000755\0");
    }
    fix_checksum(&mut blocks[..512]);
    Raw { blocks }
}

pub fn raw_file(name: &[u8], data: &[u8]) -> Raw {
    let mut blocks = header(name, b'0', data.len() as u64, b"");
    blocks.extend_from_slice(data);
    pad(&mut blocks);
    Raw { blocks }
}

pub fn raw_link(name: &str, target: &str) -> Raw {
    Raw {
        blocks: header(name.as_bytes(), b'2', 0, target.as_bytes()),
    }
}

pub fn raw_special(name: &str, kind: u8, link: &str) -> Raw {
    Raw {
        blocks: header(name.as_bytes(), kind, 0, link.as_bytes()),
    }
}

pub fn fix_checksum(block: &mut [u8]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `entries` as a set named `mail-F<time>` in `dir`, with the
/// version, index (one line for the root), summary and a correct `.md5`:
/// everything a reader checks is in order, so only the entries are hostile.
pub fn craft_set(dir: &Path, time: &str, entries: &[Raw]) -> PathBuf {
    let mut tar = Vec::new();
    let version = b"started=2026-11-22 22:00:00\nversion=test\nhostname=mail\ntype=full\nformat=1\nbody_window_hours=0\n";
    tar.extend(header(b".version.txt", b'0', version.len() as u64, b""));
    tar.extend_from_slice(version);
    pad(&mut tar);
    let start = tar.len() as u64;
    tar.extend(raw_dir("@backup").blocks);
    for e in entries {
        tar.extend_from_slice(&e.blocks);
    }
    let end = tar.len() as u64;
    let index = format!(
        "# backupset index 1\n{start}\t{end}\t{}\t0\t0\t.\n",
        entries.len()
    );
    tar.extend(header(b".index.txt", b'0', index.len() as u64, b""));
    let index_offset = tar.len();
    tar.extend_from_slice(index.as_bytes());
    pad(&mut tar);
    let summary = format!(
        "started=2026-11-22 22:00:00\nfinished=2026-11-22 22:00:01\ncount_files={}\ntotal_size=0\nduration=00:00:01:000\nheaders_only_files=0\nskipped_files=0\nchanged_files=0\ndeleted_entries=0\nindex_offset={index_offset}\nindex_size={}\ndeleted_offset=0\ndeleted_size=0\n",
        entries.len(),
        index.len()
    );
    tar.extend(header(b".summary.txt", b'0', summary.len() as u64, b""));
    tar.extend_from_slice(summary.as_bytes());
    pad(&mut tar);
    tar.extend(std::iter::repeat_n(0u8, 1024));
    let name = format!("mail-F{time}.tar");
    std::fs::write(dir.join(&name), &tar).expect("write set");
    std::fs::write(
        dir.join(format!("mail-F{time}.tar.md5")),
        format!("{}  {name}\n", md5_hex(&tar)),
    )
    .expect("write md5");
    dir.join(name)
}

/// Rewrites a set's `.md5` so it matches the volumes as they are now.
pub fn refresh_md5(set: &Path) {
    let dir = set.parent().expect("dir");
    let name = set.file_name().and_then(|n| n.to_str()).expect("name");
    let md5_name = backupset::SetName::parse_tar(name)
        .map(|n| n.md5_name())
        .unwrap_or_else(|| format!("{name}.md5"));
    let mut lines = String::new();
    let mut i = 0;
    loop {
        let v = if i == 0 {
            name.to_string()
        } else {
            format!("{name}.{i:03}")
        };
        let Ok(data) = std::fs::read(dir.join(&v)) else {
            break;
        };
        lines.push_str(&format!("{}  {v}\n", md5_hex(&data)));
        i += 1;
    }
    std::fs::write(dir.join(md5_name), lines).expect("md5");
}

/// Every path under `dir` (to check nothing appeared outside a target).
pub fn all_paths(dir: &Path) -> Vec<String> {
    snapshot(dir, &[]).into_keys().collect()
}
