//! The attack on secrets at rest: whoever holds a set (a USB stick, the
//! SMB share) must find in it neither the SMB password nor the account
//! hashes nor the TLS private key, in any volume, raw or extracted.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const SMB_PASSWORD: &str = "Sh4re-S3cret,pw";

struct Secrets {
    console_hash: String,
    ftp_hash: String,
    /// The body of the TLS key's PEM (its base64 lines).
    key_lines: Vec<String>,
}

/// A unit whose configuration holds an SMB password and both hashes, in
/// the current layout (`legacy: false`) or as older firmware wrote it.
fn unit_with_secrets(legacy: bool, extra_backup: &str) -> (Appliance, Secrets) {
    // Older firmware's configuration has no compression key: plain sets.
    // The current one has a new unit's compressed sets.
    let compression = if legacy {
        "compression = \"none\"\n"
    } else {
        ""
    };
    let a = Appliance::new(
        8 << 20,
        &format!("destination = \"local\"\nvolume_size_mib = 1\n{compression}{extra_backup}"),
    );
    let console_hash = appconfig::hash_password("console-Pw-2026").expect("hash");
    let ftp_hash = appconfig::hash_password("ftp-Pw-2026").expect("hash");
    if legacy {
        let mut text = std::fs::read_to_string(&a.config).expect("config");
        text.push_str(&format!(
            "\n[backup.smb]\nhost = \"10.0.0.5\"\nshare = \"b\"\nusername = \"u\"\npassword = \"{SMB_PASSWORD}\"\n\n[accounts]\nsysconfig = \"{console_hash}\"\nsysarchive = \"{ftp_hash}\"\n"
        ));
        std::fs::write(&a.config, text).expect("legacy config");
    } else {
        let mut c = appconfig::Config::load(&a.config).expect("config");
        c.backup.smb.host = "10.0.0.5".into();
        c.backup.smb.share = "b".into();
        c.backup.smb.username = "u".into();
        c.backup.smb.password = SMB_PASSWORD.into();
        c.accounts.sysconfig = console_hash.clone();
        c.accounts.sysarchive = ftp_hash.clone();
        c.save(&a.config).expect("save");
    }
    let key = std::fs::read_to_string(a.data.join("sslcert/server.key")).expect("key");
    assert!(key.contains("PRIVATE KEY"), "storegen makes a key");
    let key_lines = key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(str::to_string)
        .collect();
    (
        a,
        Secrets {
            console_hash,
            ftp_hash,
            key_lines,
        },
    )
}

fn needles(s: &Secrets) -> Vec<(String, Vec<u8>)> {
    let mut v = vec![
        ("SMB password".to_string(), SMB_PASSWORD.as_bytes().to_vec()),
        ("console hash".into(), s.console_hash.as_bytes().to_vec()),
        ("FTP hash".into(), s.ftp_hash.as_bytes().to_vec()),
    ];
    // A hash's salt and digest alone are enough to attack it offline.
    for (what, h) in [("console", &s.console_hash), ("FTP", &s.ftp_hash)] {
        let digest = h.rsplit('$').next().expect("digest");
        v.push((format!("{what} hash digest"), digest.as_bytes().to_vec()));
    }
    for (i, l) in s.key_lines.iter().enumerate() {
        v.push((format!("TLS key line {i}"), l.as_bytes().to_vec()));
    }
    v
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of every set in `dir`: each volume and .md5 raw, then every
/// file GNU tar extracts from the joined volumes.
fn assert_no_secret_in_sets(dir: &Path, s: &Secrets, work: &Path) -> usize {
    let files = files_in(dir);
    let mut blobs: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.clone(), std::fs::read(dir.join(f)).expect("read")))
        .collect();
    let mut sets = 0;
    for md5 in files.iter().filter(|f| f.ends_with(".md5")) {
        sets += 1;
        let tar = md5.trim_end_matches(".md5");
        // A compressed set is decompressed first: the secrets must not be
        // in what it holds, not only in the bytes as written.
        let unzstd = if tar.ends_with(".tar.zst") {
            "zstd -dc |"
        } else {
            ""
        };
        let out = work.join(format!("x-{tar}"));
        std::fs::create_dir_all(&out).expect("mkdir");
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cat '{0}/{tar}' '{0}/{tar}'.[0-9]* 2>/dev/null | {unzstd} tar -xf - -C '{1}'",
                dir.display(),
                out.display()
            ))
            .status()
            .expect("tar");
        assert!(st.success(), "GNU tar extracts {tar}");
        let walk = Command::new("find")
            .arg(&out)
            .args(["-type", "f"])
            .output()
            .expect("find");
        for p in String::from_utf8_lossy(&walk.stdout).lines() {
            blobs.push((p.to_string(), std::fs::read(p).expect("read")));
        }
        assert!(
            !tar.contains("-F") || out.join("@backup/config/appliance.toml").exists(),
            "the configuration itself is in a full"
        );
    }
    for (name, bytes) in &blobs {
        for (what, n) in needles(s) {
            assert!(!find(bytes, &n), "{what} found in {name}");
        }
    }
    sets
}

fn run_once(a: &Appliance, kind: &str) -> String {
    let o = a.once(kind).output().expect("backupd");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    t
}

#[test]
fn no_set_carries_a_password_a_hash_or_the_tls_key() {
    for legacy in [false, true] {
        let (a, s) = unit_with_secrets(legacy, "");
        let out = run_once(&a, "full");
        assert!(
            out.contains("2 secret files left out: set a secrets key to keep them"),
            "{out}"
        );
        let result = out.lines().next().expect("the result line");
        assert_eq!(result.matches("secret files").count(), 1, "once: {result}");
        let out = run_once(&a, "differential");
        assert!(out.contains("secret files left out"), "{out}");
        let dir = a.backup_dir();
        assert!(
            !legacy || files_in(&dir).iter().any(|f| f.ends_with(".tar.001")),
            "volumes"
        );
        assert_eq!(
            files_in(&dir).iter().any(|f| f.ends_with(".tar.zst.md5")),
            !legacy,
            "compressed sets with the current configuration"
        );
        let sets = assert_no_secret_in_sets(&dir, &s, a.tmp.path());
        assert_eq!(sets, 2, "legacy {legacy}");
        // Nothing was lost: the unit still has every secret.
        let c = appconfig::Config::load(&a.config).expect("config");
        assert_eq!(c.backup.smb.password, SMB_PASSWORD);
        assert_eq!(c.accounts.sysconfig, s.console_hash);
        assert!(appconfig::verify_password(
            "console-Pw-2026",
            &c.accounts.sysconfig
        ));
        let on_disk = std::fs::read_to_string(&a.config).expect("config");
        assert!(!appconfig::holds_secrets(&on_disk), "moved out: {on_disk}");
    }
}

#[test]
fn with_a_secrets_key_the_secrets_travel_encrypted() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let (a, s) = unit_with_secrets(true, &format!("secrets_recipient = \"{recipient}\"\n"));
    let out = run_once(&a, "full");
    assert!(out.contains("2 secret files encrypted"), "{out}");
    assert!(!out.contains("left out"), "{out}");
    let dir = a.backup_dir();
    assert_no_secret_in_sets(&dir, &s, a.tmp.path());
    // The operator's identity opens them: the same bytes as on the unit.
    let x = std::fs::read_dir(a.tmp.path())
        .expect("ls")
        .map(|e| e.expect("e").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("x-"))
        })
        .expect("extracted");
    for (sealed, live) in [
        (
            "config/secrets.toml.age",
            a.data.join("config/secrets.toml"),
        ),
        ("sslcert/server.key.age", a.data.join("sslcert/server.key")),
    ] {
        let bytes = std::fs::read(x.join("@backup").join(sealed)).expect(sealed);
        let plain = age::decrypt(&identity, &bytes).expect("decrypts");
        assert_eq!(plain, std::fs::read(&live).expect("live"), "{sealed}");
    }
    // Another identity does not.
    let other = age::x25519::Identity::generate();
    let bytes = std::fs::read(x.join("@backup/config/secrets.toml.age")).expect("sealed");
    assert!(age::decrypt(&other, &bytes).is_err());
}

#[test]
fn a_bad_secrets_key_is_refused_with_the_setting_named() {
    let a = Appliance::new(1 << 20, "secrets_recipient = \"age1notakey\"\n");
    let o = a.once("full").output().expect("backupd");
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("secrets_recipient"), "{t}");
}
