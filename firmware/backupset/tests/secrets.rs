//! Files that hold secrets, named by the caller, never go into a set as
//! they are: left out (counted), or sealed under another name.

mod common;

use backupset::SetKind;
use backupset::{Exclude, Sealer, SecretFiles, SetReader};
use common::*;
use std::sync::Arc;

/// A stand-in for age: reverses the bytes.
#[derive(Debug)]
struct Reverse;

impl Sealer for Reverse {
    fn suffix(&self) -> &str {
        ".sealed"
    }
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        Ok(plain.iter().rev().copied().collect())
    }
}

fn secret_rules(fx: &Fixture, sealer: Option<Arc<dyn Sealer>>) -> Vec<Exclude> {
    vec![Exclude::Secrets(SecretFiles {
        patterns: vec![
            fx.data.join("sslcert/*.key"),
            fx.data.join("config/secrets.toml"),
            fx.data.join("config/.secrets.toml*"),
        ],
        sealer,
    })]
}

fn all_bytes(fx: &Fixture, o: &backupset::Outcome) -> Vec<u8> {
    o.volumes
        .iter()
        .flat_map(|v| std::fs::read(fx.dest.join(&v.name)).expect("volume"))
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secret_files_are_left_out_of_fulls_and_differentials() {
    let fx = Fixture::new(1 << 20);
    std::fs::write(
        fx.data.join("config/secrets.toml"),
        b"password = \"pw-in-file\"\n",
    )
    .expect("secrets");
    std::fs::write(fx.data.join("config/.secrets.toml.undo"), b"pw-in-undo").expect("undo");
    let key = std::fs::read(fx.data.join("sslcert/server.key")).expect("key");
    let mut opts = fx.options(SetKind::Full, NOW + 60);
    opts.exclude.extend(secret_rules(&fx, None));
    let full = fx.write(&opts);
    assert_eq!(
        full.secrets_left_out,
        [
            "config/.secrets.toml.undo",
            "config/secrets.toml",
            "sslcert/server.key"
        ]
    );
    assert_eq!(full.problem_count, 0, "{:?}", full.problems);
    assert_eq!(full.summary.skipped_files, 0, "not counted as a problem");
    let bytes = all_bytes(&fx, &full);
    assert!(!contains(&bytes, b"pw-in-file") && !contains(&bytes, b"pw-in-undo"));
    assert!(!contains(&bytes, &key[40..120]), "no part of the key");
    let names = tar_list(&fx.dest, &[full.name.tar_name()]);
    assert!(
        names.iter().any(|n| n == "@backup/sslcert/server.crt"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("server.key")), "{names:?}");

    // A differential after the key changed: left out again, and never
    // recorded as deleted (it is not in the full's record either).
    std::fs::write(fx.data.join("sslcert/server.key"), b"new key").expect("key");
    let mut dopts = fx.options(SetKind::Differential, NOW + 120);
    dopts.exclude.extend(secret_rules(&fx, None));
    let diff = fx.write(&dopts);
    assert_eq!(diff.name.kind, SetKind::Differential);
    assert_eq!(diff.secrets_left_out.len(), 3);
    let r = SetReader::open(&fx.dest, &diff.name.tar_name()).expect("open");
    assert!(r.deleted().expect("deleted").is_empty());
    assert!(!contains(&all_bytes(&fx, &diff), b"new key"));
}

#[test]
fn secret_files_are_sealed_under_another_name() {
    let fx = Fixture::new(1 << 20);
    std::fs::write(fx.data.join("config/secrets.toml"), b"pw-in-file").expect("secrets");
    let mut opts = fx.options(SetKind::Full, NOW + 60);
    opts.exclude
        .extend(secret_rules(&fx, Some(Arc::new(Reverse))));
    let full = fx.write(&opts);
    assert!(full.secrets_left_out.is_empty());
    assert_eq!(full.secrets_sealed, 2);
    md5sum_check(&fx.dest, &full.name.md5_name());
    let out = fx.tmp.path().join("x");
    gnu_extract(&fx.dest, &[full.name.tar_name()], &out);
    assert_eq!(
        std::fs::read(out.join("@backup/config/secrets.toml.sealed")).expect("sealed"),
        b"elif-ni-wp"
    );
    assert!(!out.join("@backup/config/secrets.toml").exists());
    assert!(out.join("@backup/sslcert/server.key.sealed").exists());
    assert!(!contains(&all_bytes(&fx, &full), b"pw-in-file"));
    // Folder ranges still hold: the index finds the folder with the sealed file.
    let r = SetReader::open(&fx.dest, &full.name.tar_name()).expect("open");
    assert!(r.find("sslcert").expect("index").is_some());
}

#[test]
fn a_folder_or_link_named_like_a_secret_is_left_out_whole() {
    let fx = Fixture::new(1 << 20);
    std::fs::remove_file(fx.data.join("sslcert/server.key")).expect("rm");
    std::fs::create_dir(fx.data.join("sslcert/server.key")).expect("mkdir");
    std::fs::write(fx.data.join("sslcert/server.key/part"), b"key part").expect("write");
    std::os::unix::fs::symlink("/etc/shadow", fx.data.join("sslcert/other.key")).expect("link");
    let mut opts = fx.options(SetKind::Full, NOW + 60);
    opts.exclude
        .extend(secret_rules(&fx, Some(Arc::new(Reverse))));
    let full = fx.write(&opts);
    assert_eq!(
        full.secrets_left_out,
        ["sslcert/other.key", "sslcert/server.key"]
    );
    let names = tar_list(&fx.dest, &[full.name.tar_name()]);
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("@backup/sslcert/") && n.contains(".key")),
        "{names:?}"
    );
}
