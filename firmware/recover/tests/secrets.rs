//! How secrets come back in a whole restore: they do not come from the
//! set (it has none in clear); the unit keeps its own, or, with the
//! operator's age identity, the set's encrypted ones are opened.

mod common;

use appconfig::Config;
use backupset::SetKind;
use backupset::{Exclude, Sealer, SecretFiles};
use common::*;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug)]
struct Age(age::x25519::Recipient);

impl Sealer for Age {
    fn suffix(&self) -> &str {
        ".age"
    }
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        age::encrypt(&self.0, plain).map_err(|e| e.to_string())
    }
}

/// Gives the data folder's configuration secrets of its own.
fn give_secrets(data: &Path, console_pw: &str, smb_pw: &str) {
    let path = data.join("config/appliance.toml");
    let mut c = Config::load(&path).expect("config");
    c.accounts.sysconfig = appconfig::hash_password(console_pw).expect("hash");
    c.accounts.sysarchive = appconfig::hash_password("ftp-Pw-2026").expect("hash");
    c.backup.smb.password = smb_pw.into();
    c.save(&path).expect("save");
}

/// A full of the fixture written as backupd writes it: the secrets file
/// and TLS keys left out, or sealed to `to`.
fn backupd_like_set(fx: &Fixture, started: i64, to: Option<&age::x25519::Identity>) -> String {
    let mut opts = fx.options(SetKind::Full, started);
    opts.exclude.push(Exclude::Secrets(SecretFiles {
        patterns: vec![
            fx.data.join("config/secrets.toml"),
            fx.data.join("config/.secrets.toml*"),
            fx.data.join("sslcert/*.key"),
            fx.data.join("sslca/*.key"),
        ],
        sealer: to.map(|i| Arc::new(Age(i.to_public())) as Arc<dyn Sealer>),
    }));
    let o = fx.write(&opts);
    fx.set_path(&o).display().to_string()
}

/// A unit with data and secrets of its own.
fn unit(fx: &Fixture, name: &str) -> std::path::PathBuf {
    let cur = fx.path(name);
    storegen::generate(
        &cur,
        &storegen::Options {
            size: 256 << 10,
            seed: 7,
            hostname: "fresh".into(),
            ..Default::default()
        },
    )
    .expect("generate");
    give_secrets(&cur, "unit-Console-1", "unit-share-pw");
    cur
}

fn restore(cur: &Path, set: &str, extra: &[&str]) -> String {
    let store = cur.join("store").display().to_string();
    let cfg = cur.display().to_string();
    let mut args = vec!["-c", &cfg, "-s", &store];
    args.extend_from_slice(extra);
    args.push(set);
    let (ok, out, err) = run(&args);
    assert!(ok, "{out} {err}");
    out
}

#[test]
fn a_whole_restore_keeps_the_units_own_secrets_and_its_login() {
    let fx = fixture(512 << 10);
    give_secrets(&fx.data, "old-Console-1", "old-share-pw");
    let set = backupd_like_set(&fx, NOW, None);
    let cur = unit(&fx, "cur");
    let own_key = std::fs::read(cur.join("sslcert/server.key")).expect("key");
    let own_crt = std::fs::read(cur.join("sslcert/server.crt")).expect("crt");
    let out = restore(&cur, &set, &[]);
    assert!(
        out.contains("Kept this unit's own TLS key sslcert/server.key"),
        "{out}"
    );
    let c = Config::load(&cur.join("config/appliance.toml")).expect("restored config");
    // The configuration is the set's ...
    assert_eq!(c.system.hostname.as_str(), "mail");
    // ... the secrets the unit's own: the console login still verifies.
    assert!(appconfig::verify_password(
        "unit-Console-1",
        &c.accounts.sysconfig
    ));
    assert!(!appconfig::verify_password(
        "old-Console-1",
        &c.accounts.sysconfig
    ));
    assert_eq!(c.backup.smb.password, "unit-share-pw");
    let shadow = c.accounts.render_shadow("root:*:20000:0:99999:7:::\n");
    assert!(shadow.contains(&format!("sysconfig:{}:", c.accounts.sysconfig)));
    // The TLS pair still matches: the unit's key with the unit's certificate.
    assert_eq!(
        std::fs::read(cur.join("sslcert/server.key")).expect("key"),
        own_key
    );
    assert_eq!(
        std::fs::read(cur.join("sslcert/server.crt")).expect("crt"),
        own_crt
    );
    let on_disk = std::fs::read_to_string(cur.join("config/appliance.toml")).expect("toml");
    assert!(!appconfig::holds_secrets(&on_disk), "{on_disk}");
}

#[test]
fn a_set_from_older_firmware_does_not_bring_its_passwords_back() {
    let fx = fixture(512 << 10);
    // Older firmware kept the passwords in appliance.toml, and sets had them.
    let old_hash = appconfig::hash_password("old-Console-1").expect("hash");
    let path = fx.data.join("config/appliance.toml");
    let mut text = std::fs::read_to_string(&path).expect("config");
    text.push_str(&format!("\n[accounts]\nsysconfig = \"{old_hash}\"\n"));
    std::fs::write(&path, text).expect("old layout");
    let set = full_checked(&fx, NOW);
    let cur = unit(&fx, "cur");
    restore(&cur, &fx.set_path(&set).display().to_string(), &[]);
    let c = Config::load(&cur.join("config/appliance.toml")).expect("config");
    assert!(appconfig::verify_password(
        "unit-Console-1",
        &c.accounts.sysconfig
    ));
    // Selectively too (-m system).
    let cur2 = unit(&fx, "cur2");
    let store = cur2.join("store").display().to_string();
    let (ok, out, err) = run(&[
        "-m",
        "system",
        "-c",
        &cur2.display().to_string(),
        "-s",
        &store,
        &fx.set_path(&set).display().to_string(),
    ]);
    assert!(ok, "{out} {err}");
    let c = Config::load(&cur2.join("config/appliance.toml")).expect("config");
    assert_eq!(c.system.hostname.as_str(), "mail");
    assert!(appconfig::verify_password(
        "unit-Console-1",
        &c.accounts.sysconfig
    ));
}

#[test]
fn the_operators_identity_brings_the_sets_secrets_back() {
    let fx = fixture(512 << 10);
    give_secrets(&fx.data, "old-Console-1", "old-share-pw");
    let key = std::fs::read(fx.data.join("sslcert/server.key")).expect("key");
    let id = age::x25519::Identity::generate();
    let set = backupd_like_set(&fx, NOW, Some(&id));
    let keyfile = fx.path("key.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &keyfile,
            format!("# created: test\n{}\n", id.to_string().expose_secret()),
        )
        .expect("key.txt");
    }
    // Without the identity: the unit's own, and no .age file left behind.
    let cur = unit(&fx, "cur");
    let out = restore(&cur, &set, &[]);
    assert!(out.contains("were not opened"), "{out}");
    assert!(!cur.join("sslcert/server.key.age").exists());
    assert!(!cur.join("config/secrets.toml.age").exists());
    let c = Config::load(&cur.join("config/appliance.toml")).expect("config");
    assert!(appconfig::verify_password(
        "unit-Console-1",
        &c.accounts.sysconfig
    ));

    // With it: the set's secrets and key, in clear, private.
    let cur = unit(&fx, "cur2");
    let k = keyfile.display().to_string();
    let out = restore(&cur, &set, &["--secrets-identity", &k]);
    assert!(out.contains("Decrypted the set's secrets (2)"), "{out}");
    let c = Config::load(&cur.join("config/appliance.toml")).expect("config");
    assert!(appconfig::verify_password(
        "old-Console-1",
        &c.accounts.sysconfig
    ));
    assert_eq!(c.backup.smb.password, "old-share-pw");
    assert_eq!(
        std::fs::read(cur.join("sslcert/server.key")).expect("key"),
        key
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(cur.join("sslcert/server.key"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!cur.join("sslcert/server.key.age").exists());

    // A wrong identity changes nothing and says why.
    let other = fx.path("other.txt");
    {
        use age::secrecy::ExposeSecret;
        let o = age::x25519::Identity::generate();
        std::fs::write(&other, format!("{}\n", o.to_string().expose_secret())).expect("other");
    }
    let cur = unit(&fx, "cur3");
    let before = snapshot(&cur, &["state"]);
    let store = cur.join("store").display().to_string();
    let (ok, out, err) = run(&[
        "-c",
        &cur.display().to_string(),
        "-s",
        &store,
        "--secrets-identity",
        &other.display().to_string(),
        &set,
    ]);
    assert!(!ok, "{out}");
    assert!(err.contains("cannot be decrypted"), "{err}");
    assert_eq!(snapshot(&cur, &["state"]), before, "nothing changed");
}
