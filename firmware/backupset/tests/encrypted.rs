//! Sets encrypted whole with age (`backup.encrypt_recipient`): the stock
//! tools open them by hand, the reader opens them with the identity only,
//! and damage is refused.

mod common;

use age::secrecy::ExposeSecret;
use backupset::SetKind;
use backupset::crypt::Keys;
use backupset::{SetError, SetReader, list_sets};
use common::*;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

fn key_file(dir: &Path, id: &age::x25519::Identity) -> std::path::PathBuf {
    let path = dir.join("key.txt");
    std::fs::write(
        &path,
        format!(
            "# created: by the test\n# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        ),
    )
    .expect("key file");
    path
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_age() -> bool {
    Command::new("age").arg("--version").output().is_ok()
}

/// What GNU tar extracts, as a snapshot of `@backup`.
fn tree_of(root: &Path) -> Tree {
    snapshot(&root.join("@backup"), &[])
}

/// With the real `age` and GNU tar: `md5sum -c` passes on the encrypted
/// volumes, `cat vols | age -d | tar -x` (and `age -d set.tar.age | tar -x`
/// for one volume) gives what a plain set of the same store gives.
#[test]
fn the_stock_age_and_tar_open_an_encrypted_set() {
    assert!(
        has_age(),
        "the age tool is needed (Debian package age; ci/setup.sh)"
    );
    let mut fx = Fixture::new(3 << 20);
    let id = age::x25519::Identity::generate();
    let key = key_file(fx.tmp.path(), &id);
    let started = NOW + 60;

    let plain = fx.full(started);
    fx.encrypt_to = Some(id.to_public());
    let mut opts = fx.options(SetKind::Copy, started);
    opts.volume_size = Some(64 << 10);
    let split = fx.write(&opts);
    assert!(split.name.encrypted);
    assert!(split.volumes.len() > 3, "{} volumes", split.volumes.len());
    assert_eq!(split.volumes[0].name, "mail-C20261122T031915Z.tar.age");
    assert_eq!(split.volumes[1].name, "mail-C20261122T031915Z.tar.age.001");
    let check = md5sum_check(&fx.dest, &split.name.md5_name());
    assert_eq!(
        check.matches(": OK").count(),
        split.volumes.len(),
        "{check}"
    );
    let md5 = std::fs::read_to_string(fx.dest.join(split.name.md5_name())).expect("md5");
    assert!(md5.lines().all(|l| l.contains(".tar.age")), "{md5}");
    // Not a tar: the bytes on the share are age's.
    let head = std::fs::read(fx.dest.join(&split.volumes[0].name)).expect("read");
    assert!(head.starts_with(b"age-encryption.org/v1\n"));

    let by_hand = fx.path("by-hand");
    std::fs::create_dir_all(&by_hand).expect("mkdir");
    let vols: Vec<String> = split
        .volumes
        .iter()
        .map(|v| format!("'{}'", fx.dest.join(&v.name).display()))
        .collect();
    sh(&format!(
        "cat {} | age -d -i '{}' | tar -xf - -C '{}'",
        vols.join(" "),
        key.display(),
        by_hand.display()
    ));
    let reference = fx.path("plain");
    let names: Vec<String> = plain.volumes.iter().map(|v| v.name.clone()).collect();
    gnu_extract(&fx.dest, &names, &reference);
    assert_same(&tree_of(&reference), &tree_of(&by_hand));

    // One volume: `age -d -i key set.tar.age | tar -x`.
    let one = fx.write(&fx.options(SetKind::Copy, started + 1));
    assert_eq!(one.volumes.len(), 1);
    md5sum_check(&fx.dest, &one.name.md5_name());
    let single = fx.path("single");
    std::fs::create_dir_all(&single).expect("mkdir");
    sh(&format!(
        "cd '{}' && age -d -i '{}' '{}' | tar -xf -",
        single.display(),
        key.display(),
        fx.dest.join(one.name.tar_name()).display()
    ));
    assert_same(&tree_of(&reference), &tree_of(&single));
    // Another key is refused by age itself.
    let other = age::x25519::Identity::generate();
    let other_key = key_file(&fx.path(""), &other);
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&other_key)
        .arg(fx.dest.join(one.name.tar_name()))
        .output()
        .expect("age runs");
    assert!(!out.status.success());
}

/// The reader: version, summary, index and a subtree by range with the
/// identity; a clear refusal without it or with another one; the MD5
/// check and the listing need no key.
#[test]
fn the_reader_opens_an_encrypted_set_with_its_identity_only() {
    let mut fx = Fixture::new(3 << 20);
    let started = NOW + 120;
    let plain = fx.full(started);
    let id = age::x25519::Identity::generate();
    fx.encrypt_to = Some(id.to_public());
    let mut opts = fx.options(SetKind::Copy, started);
    opts.volume_size = Some(100 << 10);
    let enc = fx.write(&opts);
    let keys = Keys::new(vec![id.clone()]);

    let p = SetReader::open(&fx.dest, &plain.name.tar_name()).expect("open plain");
    let raw = SetReader::open(&fx.dest, &enc.name.tar_name()).expect("open encrypted");
    assert!(raw.is_encrypted());
    // No key: the MD5 check and the header check work, the contents say which key.
    let checks = raw.verify(&AtomicBool::new(false)).expect("verify");
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    raw.check_readable().expect("the age header reads");
    let err = raw.summary().expect_err("no key");
    assert!(matches!(err, SetError::Encrypted { .. }), "{err}");
    assert!(
        err.to_string().contains(&id.to_public().to_string()),
        "{err}"
    );
    let other = Keys::new(vec![age::x25519::Identity::generate()]);
    let err = raw
        .clone()
        .with_keys(Some(&other))
        .expect_err("another key");
    assert!(matches!(err, SetError::WrongIdentity { .. }), "{err}");
    assert!(
        err.to_string().contains(&id.to_public().to_string()),
        "{err}"
    );

    let e = raw.with_keys(Some(&keys)).expect("opens with its key");
    let (ve, vp) = (e.version().expect("version"), p.version().expect("version"));
    assert_eq!((ve.kind, vp.kind), (SetKind::Copy, SetKind::Full));
    assert_eq!((ve.started, ve.unit), (vp.started, vp.unit));
    let (se, sp) = (e.summary().expect("summary"), p.summary().expect("summary"));
    assert_eq!(se.index_offset, sp.index_offset);
    assert_eq!(se.count_files, sp.count_files);
    let (ie, ip) = (e.index().expect("index"), p.index().expect("index"));
    assert_eq!(ie, ip);
    // A mailbox read by its byte range alone gives the same entries.
    let user = ip
        .iter()
        .filter(|i| i.path.starts_with("store/mail/") && i.path.matches('/').count() == 3)
        .max_by_key(|i| i.end - i.start)
        .expect("a mailbox");
    let read = |r: &SetReader| {
        let mut out = Vec::new();
        r.entries(user.start..user.end, |m, data| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(data, &mut bytes).expect("read");
            out.push((m.clone(), bytes));
            Ok(())
        })
        .expect("entries");
        out
    };
    let (a, b) = (read(&e), read(&p));
    assert!(!a.is_empty());
    assert_eq!(a, b);

    // The listing tells whose set it is and that it is complete, without a key.
    let sets = list_sets(&fx.dest).expect("list");
    let s = sets
        .iter()
        .find(|s| s.name == enc.name)
        .expect("listed apart from the plain set of the same second");
    assert!(s.complete, "{:?}", s.problem);
    assert_eq!(s.unit.as_deref(), Some(UNIT));
    assert_eq!(sets.len(), 2);
}

/// A differential's base and unit come from the age header.
#[test]
fn an_encrypted_differential_names_its_full_without_a_key() {
    let mut fx = Fixture::new(2 << 20);
    fx.encrypt_to = Some(age::x25519::Identity::generate().to_public());
    let full = fx.full(NOW + 10);
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 20));
    assert_eq!(diff.name.kind, SetKind::Differential);
    assert_eq!(diff.base.as_deref(), Some(full.name.tar_name().as_str()));
    let sets = list_sets(&fx.dest).expect("list");
    let d = sets
        .iter()
        .find(|s| s.name == diff.name)
        .expect("diff listed");
    assert_eq!(d.base.as_deref(), Some(full.name.tar_name().as_str()));
    assert_eq!(d.unit.as_deref(), Some(UNIT));
}

/// Cut short or changed (with the `.md5` made to match): the reader
/// refuses it cleanly, never reads other bytes.
#[test]
fn truncated_or_tampered_encrypted_sets_are_refused() {
    let mut fx = Fixture::new(2 << 20);
    let id = age::x25519::Identity::generate();
    fx.encrypt_to = Some(id.to_public());
    let keys = Keys::new(vec![id]);
    let out = fx.full(NOW + 30);
    let path = fx.set_path(&out);
    let good = std::fs::read(&path).expect("read");
    let md5_path = fx.dest.join(out.name.md5_name());
    let write = |bytes: &[u8]| {
        std::fs::write(&path, bytes).expect("write");
        // The .md5 made to match, as an attacker on the share could.
        sh(&format!(
            "cd '{}' && md5sum '{}' > '{}'",
            fx.dest.display(),
            out.name.tar_name(),
            md5_path.display()
        ));
    };
    for cut in [good.len() - 1, good.len() - 17, good.len() / 2, 200] {
        write(&good[..cut]);
        let r = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
        let err = r.with_keys(Some(&keys)).expect_err("cut short");
        let text = err.to_string();
        assert!(
            text.contains("damaged or cut short") || text.contains("cannot be opened"),
            "cut at {cut}: {text}"
        );
    }
    let mut bad = good.clone();
    let at = good.len() / 2;
    bad[at] ^= 0x20;
    write(&bad);
    let r = SetReader::open(&fx.dest, &out.name.tar_name())
        .expect("open")
        .with_keys(Some(&keys))
        .expect("the end is intact");
    let err = r
        .entries(
            0..r.index().expect("index").last().expect("root").end,
            |_, d| {
                std::io::copy(d, &mut std::io::sink())
                    .map(|_| ())
                    .map_err(|e| SetError::Io {
                        path: "x".into(),
                        source: e,
                    })
            },
        )
        .expect_err("the changed chunk is refused");
    assert!(err.to_string().contains("damaged or cut short"), "{err}");
    // Not an age file at all.
    write(b"age-encryption.org/v1\n-> X25519 junk\n--- nope\n");
    let r = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    assert!(r.check_readable().is_err());
    assert!(r.with_keys(Some(&keys)).is_err());
}
