//! Sets encrypted whole with age (`.tar.age`): `recover --identity FILE`
//! restores them whole or in part and lists them; without the identity, or
//! with another one, it says which key is needed; damage is refused and
//! nothing of it reaches the target.

mod common;

use age::secrecy::ExposeSecret;
use backupset::SetKind;
use common::*;
use std::path::{Path, PathBuf};

const SKIP: [&str; 3] = ["backup", "restore", "state"];

/// An encrypting fixture (the product's default body window) and its key file.
/// Encrypted plain `.tar.age` sets (the tests below find age chunks by the
/// tar's offsets); compressed and encrypted ones are tested apart.
fn encrypted_fixture(size: u64) -> (Fixture, age::x25519::Identity, PathBuf) {
    let mut fx = fixture_plain(size);
    let id = age::x25519::Identity::generate();
    fx.encrypt_to = Some(id.to_public());
    let key = fx.path("key.txt");
    std::fs::write(
        &key,
        format!(
            "# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        ),
    )
    .expect("key file");
    (fx, id, key)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

/// `md5sum` of the first volume into its `.md5`, as someone who changed the
/// set on the share could.
fn forge_md5(dir: &Path, tar: &str, md5: &str) {
    let out = std::process::Command::new("md5sum")
        .arg(tar)
        .current_dir(dir)
        .output()
        .expect("md5sum");
    std::fs::write(dir.join(md5), out.stdout).expect("write .md5");
}

#[test]
fn whole_restore_and_listing_of_an_encrypted_chain() {
    let (fx, id, key) = encrypted_fixture(3 << 20);
    let full = full_checked(&fx, NOW + 60);
    assert!(full.name.tar_name().ends_with(".tar.age"));
    mutate(&fx, 4);
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 120));
    assert_eq!(diff.name.kind, SetKind::Differential);
    let expected = snapshot(&fx.data, &SKIP);

    let out = fx.path("out");
    let store = out.join("store");
    let (ok, stdout, stderr) = run(&[
        "-g",
        "--identity",
        s(&key),
        "-c",
        s(&out),
        "-s",
        s(&store),
        s(&fx.dest),
    ]);
    assert!(ok, "recover failed: {stdout} {stderr}");
    assert_restored(&fx, &expected, &snapshot(&out, &["state"]));

    let (ok, listing, stderr) = run(&["-l", "--identity", s(&key), s(&fx.dest)]);
    assert!(ok, "{stderr}");
    let (d, _) = some_user(&fx.data);
    assert!(listing.contains(&d), "{listing}");

    // Without the identity: one line that names the key.
    let recipient = id.to_public().to_string();
    for args in [
        vec!["-l", s(&fx.dest)],
        vec!["-g", "-c", s(&out), "-s", s(&store), s(&fx.dest)],
    ] {
        let (ok, _, stderr) = run(&args);
        assert!(!ok);
        let want = format!("is encrypted to {recipient}; give its identity with --identity");
        assert!(stderr.contains(&want), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    // Another key is refused with the same clarity.
    let (other_fx, _, other_key) = encrypted_fixture(64 << 10);
    let (ok, _, stderr) = run(&["-l", "--identity", s(&other_key), s(&fx.dest)]);
    assert!(!ok);
    assert!(
        stderr.contains("does not open") && stderr.contains(&recipient),
        "{stderr}"
    );
    drop(other_fx);
    // Not an identity file.
    let (ok, _, stderr) = run(&[
        "-l",
        "--identity",
        s(&fx.data.join("config/users.cfg")),
        s(&fx.dest),
    ]);
    assert!(!ok);
    assert!(stderr.contains("identity"), "{stderr}");
}

/// Start of the STREAM payload: after the header's `--- mac` line and the
/// 16-byte nonce.
fn payload_start(bytes: &[u8]) -> u64 {
    let mac = bytes
        .windows(5)
        .position(|w| w == b"\n--- ")
        .expect("age header")
        + 1;
    let eol = mac
        + bytes[mac..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("mac line");
    (eol + 1 + 16) as u64
}

const CHUNK: u64 = 64 << 10;
const ENC_CHUNK: u64 = CHUNK + 16;

/// A selective restore decrypts only the chunks its ranges touch: every
/// other byte of the set spoiled, it still restores the mailbox.
#[test]
fn a_selective_restore_of_an_encrypted_set_reads_only_its_chunks() {
    let (fx, id, key) = encrypted_fixture(16 << 20);
    let out = full_checked(&fx, NOW);
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
    let keys = backupset::crypt::Keys::new(vec![id]);
    let reader = backupset::SetReader::open(&fx.dest, &out.name.tar_name())
        .and_then(|r| r.with_keys(Some(&keys)))
        .expect("open");
    let summary = reader.summary().expect("summary");
    let range = reader
        .find(&user_rel)
        .expect("index")
        .expect("the user's line");
    let path = fx.set_path(&out);
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len() as u64;
    let start = payload_start(&bytes);
    let chunks = (len - start).div_ceil(ENC_CHUNK);
    // Plain ranges read: the version, the user's range, the index, the
    // summary found from the end (up to 256 blocks) and the last chunk.
    let plain = [
        0..1024,
        range.start..range.end,
        summary.index_offset..summary.index_offset + summary.index_size,
    ];
    let mut keep: Vec<u64> = Vec::new();
    for r in &plain {
        keep.extend(r.start / CHUNK..=(r.end.max(r.start + 1) - 1) / CHUNK);
    }
    keep.extend(chunks.saturating_sub(4)..chunks);
    let mut spoiled = 0u64;
    for c in 0..chunks {
        if keep.contains(&c) {
            continue;
        }
        let a = (start + c * ENC_CHUNK) as usize;
        let b = ((start + (c + 1) * ENC_CHUNK) as usize).min(bytes.len());
        bytes[a..b].fill(0xA5);
        spoiled += (b - a) as u64;
    }
    assert!(spoiled > len / 2, "{spoiled} of {len} bytes spoiled");
    std::fs::write(&path, &bytes).expect("write");

    let tmp = fx.path("user");
    let (ok, stdout, stderr) = run(&[
        "--identity",
        s(&key),
        "-d",
        &d,
        "-u",
        &u,
        "-m",
        "mail",
        "-s",
        s(&tmp),
        s(&path),
    ]);
    assert!(ok, "{stdout} {stderr}");
    assert_restored(
        &fx,
        &expected,
        &snapshot(&tmp.join(format!("mail/{d}/{u}")), &[]),
    );
    // The MD5 of the bytes as written tells the spoiling, without a key too.
    let (ok, _, stderr) = run(&[
        "--verify",
        "--identity",
        s(&key),
        "-d",
        &d,
        "-s",
        s(&fx.path("v")),
        s(&path),
    ]);
    assert!(
        !ok && stderr.contains("does not match its .md5 file"),
        "{stderr}"
    );
}

/// Changed or cut short, with a `.md5` forged to match: a whole restore
/// over a live tree fails and leaves it as it was.
#[test]
fn tampered_or_truncated_encrypted_sets_change_nothing() {
    let (fx, _, key) = encrypted_fixture(2 << 20);
    let out = full_checked(&fx, NOW);
    let tar = out.name.tar_name();
    let path = fx.set_path(&out);
    let good = std::fs::read(&path).expect("read");
    let start = payload_start(&good) as usize;
    let live = live_copy(&fx, "live");
    std::fs::write(live.join("store/mail/marker"), b"live data").expect("marker");
    let before = snapshot(&live, &["state"]);
    let mut tampered = good.clone();
    tampered[start + 70_000] ^= 0x01;
    let mut header = good.clone();
    header[30] ^= 0x01;
    for (what, bytes) in [
        ("a changed chunk", tampered),
        ("cut short", good[..good.len() - 100].to_vec()),
        (
            "cut at a chunk boundary",
            good[..start + ENC_CHUNK as usize].to_vec(),
        ),
        ("a changed header", header),
    ] {
        std::fs::write(&path, &bytes).expect("write");
        forge_md5(&fx.dest, &tar, &out.name.md5_name());
        let (ok, stdout, stderr) = run(&[
            "-g",
            "--identity",
            s(&key),
            "-c",
            s(&live),
            "-s",
            s(&live.join("store")),
            s(&path),
        ]);
        assert!(!ok, "{what}: restored: {stdout}");
        // A changed header reads as another key's (age cannot tell them apart).
        assert!(
            stderr.contains("damaged")
                || stderr.contains("cannot be opened")
                || stderr.contains("does not open"),
            "{what}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
        assert_eq!(
            before,
            snapshot(&live, &["state"]),
            "{what}: the live tree changed"
        );
    }
}

/// A new unit's sets compressed, then encrypted (`.tar.zst.age`): a whole
/// chain and one user come back with the identity.
#[test]
fn compressed_and_encrypted_sets_restore_whole_and_in_part() {
    let (mut fx, _, key) = encrypted_fixture(3 << 20);
    fx.compress = fixture(0).compress;
    assert!(fx.compress.is_some());
    let full = full_checked(&fx, NOW + 60);
    assert!(
        full.name.tar_name().ends_with(".tar.zst.age"),
        "{}",
        full.name
    );
    mutate(&fx, 4);
    let diff = fx.write(&fx.options(SetKind::Differential, NOW + 120));
    assert_eq!(diff.name.kind, SetKind::Differential);
    let expected = snapshot(&fx.data, &SKIP);
    let out = fx.path("out");
    let (ok, stdout, stderr) = run(&[
        "-g",
        "--identity",
        s(&key),
        "-c",
        s(&out),
        "-s",
        s(&out.join("store")),
        s(&fx.dest),
    ]);
    assert!(ok, "recover failed: {stdout} {stderr}");
    assert_restored(&fx, &expected, &snapshot(&out, &["state"]));
    let (d, u) = some_user(&fx.data);
    let one = fx.path("one");
    let (ok, stdout, stderr) = run(&[
        "--identity",
        s(&key),
        "-d",
        &d,
        "-u",
        &u,
        "-m",
        "mail",
        "-s",
        s(&one),
        s(&fx.set_path(&diff)),
    ]);
    assert!(ok, "{stdout} {stderr}");
    let rel = format!("store/mail/{d}/{u}");
    assert_restored(
        &fx,
        &subtree(&expected, &rel),
        &snapshot(&one.join(format!("mail/{d}/{u}")), &[]),
    );
}
