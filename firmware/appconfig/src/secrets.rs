//! The appliance's secrets, kept apart from `appliance.toml` in
//! `secrets.toml` beside it (mode 0600), so that a backup set, which carries
//! the configuration, never carries them: the SMB password and the password
//! hashes of the console and FTP accounts.
//!
//! [`Config`](crate::Config) keeps one API: `load` reads both files, `save`
//! writes both. The two writes are made one by an undo file: before the
//! secrets file is replaced, `.secrets.toml.undo` records what both files
//! held; it is removed once `appliance.toml` is written. A reader that finds
//! it compares `appliance.toml` with the recorded one: unchanged means the
//! save never got that far, and the recorded secrets are the ones that go
//! with it. So a power cut at any moment leaves the old pair or the new one.
//!
//! An older `appliance.toml` may still hold `[accounts]` or
//! `backup.smb.password` itself: such a value is used (it wins over the
//! secrets file, as a hand-written one must) and moves to the secrets file
//! on the next save.

use crate::accounts::Accounts;
use crate::error::ConfigError;
use atomicfile::write_atomically;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The secrets file's name, beside the configuration.
pub const SECRETS_FILE: &str = "secrets.toml";

/// The undo record of a save in progress, beside the configuration.
const UNDO_FILE: &str = ".secrets.toml.undo";

/// Largest secrets or undo file read.
const MAX_FILE: u64 = 1 << 20;

/// The values that never go into a backup set.
#[derive(Clone, PartialEq, Default)]
pub struct Secrets {
    /// Password hashes of `sysconfig` and `sysarchive`.
    pub accounts: Accounts,
    /// The SMB share's password (`backup.smb.password`).
    pub smb_password: String,
    /// The SMTP relay's password (`alerts.smtp.password`).
    pub smtp_password: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("accounts", &self.accounts)
            .field(
                "smb_password",
                &if self.smb_password.is_empty() {
                    "unset"
                } else {
                    "<hidden>"
                },
            )
            .field(
                "smtp_password",
                &if self.smtp_password.is_empty() {
                    "unset"
                } else {
                    "<hidden>"
                },
            )
            .finish()
    }
}

impl Secrets {
    /// No secret is set.
    pub fn is_empty(&self) -> bool {
        *self == Secrets::default()
    }

    /// The secrets file's text.
    pub fn to_toml(&self) -> String {
        let file = SecretsFile {
            accounts: self.accounts.clone(),
            backup: SecretsBackup {
                smb: SecretsSmb {
                    password: self.smb_password.clone(),
                },
            },
            alerts: SecretsAlerts {
                smtp: SecretsSmb {
                    password: self.smtp_password.clone(),
                },
            },
        };
        let body = toml::to_string_pretty(&file).unwrap_or_default();
        format!(
            "# This appliance's secrets (see appliance.toml beside it). Backup sets never\n\
             # carry this file as it is. Mode 0600.\n\n{body}"
        )
    }

    /// Reads a secrets file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Secrets, ConfigError> {
        let f: SecretsFile =
            toml::from_str(text).map_err(|e| ConfigError::parse(origin, text, e))?;
        Ok(Secrets {
            accounts: f.accounts,
            smb_password: f.backup.smb.password,
            smtp_password: f.alerts.smtp.password,
        })
    }
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SecretsFile {
    accounts: Accounts,
    backup: SecretsBackup,
    /// Written only when set, so that firmware from before alerts (a slot
    /// fallen back to) still reads the file of a unit without a relay password.
    #[serde(skip_serializing_if = "SecretsAlerts::is_empty")]
    alerts: SecretsAlerts,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SecretsAlerts {
    smtp: SecretsSmb,
}

impl SecretsAlerts {
    fn is_empty(&self) -> bool {
        self.smtp.password.is_empty()
    }
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SecretsBackup {
    smb: SecretsSmb,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SecretsSmb {
    password: String,
}

/// What a save records before it replaces the secrets file.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct Undo {
    /// `appliance.toml` before the save (absent: there was none).
    appliance: Option<String>,
    /// The secrets file before the save (absent: there was none).
    secrets: Option<String>,
}

/// The secrets file of the configuration at `config`: `secrets.toml` in
/// the same folder.
pub fn secrets_path(config: &Path) -> PathBuf {
    dir_of(config).join(SECRETS_FILE)
}

/// Every file beside the configuration at `config` that may hold its
/// secrets, as patterns (`*` within a name): the secrets file, its undo
/// record and their temporary files. A backup leaves these out.
pub fn secret_file_patterns(config: &Path) -> Vec<PathBuf> {
    let dir = dir_of(config);
    vec![
        dir.join(SECRETS_FILE),
        // `.secrets.toml.tmp<pid>`, `.secrets.toml.undo`
        dir.join(format!(".{SECRETS_FILE}*")),
        // the undo record's temporary file
        dir.join(format!("..{SECRETS_FILE}*")),
    ]
}

fn dir_of(config: &Path) -> &Path {
    match config.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The two files as one consistent pair: `appliance.toml` and the secrets
/// that go with it (after an interrupted save, the recorded ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pair {
    pub appliance: Option<Vec<u8>>,
    pub secrets: Option<Vec<u8>>,
    /// An undo record was found (a save was interrupted).
    pub interrupted: bool,
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    use std::io::Read;
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut b = Vec::new();
    f.take(MAX_FILE)
        .read_to_end(&mut b)
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(Some(b))
}

/// Reads the pair. A save may run meanwhile (readers take no lock): the
/// secrets file and the undo record are read before and after
/// `appliance.toml`, and the read is repeated until they held still.
pub(crate) fn read_pair(config: &Path) -> Result<Pair, ConfigError> {
    let secrets = secrets_path(config);
    let undo = dir_of(config).join(UNDO_FILE);
    let mut tries = 0;
    loop {
        let (u1, s1) = (read_opt(&undo)?, read_opt(&secrets)?);
        let appliance = read_opt(config)?;
        let (u2, s2) = (read_opt(&undo)?, read_opt(&secrets)?);
        tries += 1;
        if (u1 != u2 || s1 != s2) && tries < 20 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        let mut pair = Pair {
            appliance,
            secrets: s2,
            interrupted: false,
        };
        if let Some(record) = u2
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|t| toml::from_str::<Undo>(t).ok())
        {
            pair.interrupted = true;
            let before = record.appliance.map(String::into_bytes);
            if before == pair.appliance {
                // The save stopped before appliance.toml: the old secrets
                // go with it.
                pair.secrets = record.secrets.map(String::into_bytes);
            }
        }
        return Ok(pair);
    }
}

/// Writes the new pair over `now` (read under the writers' lock): one
/// atomic write when only `appliance.toml` changes, else under an undo
/// record (see the module's text).
pub(crate) fn write_pair(
    config: &Path,
    now: &Pair,
    appliance: &[u8],
    secrets: Option<&[u8]>,
) -> Result<(), ConfigError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ConfigError::Write { path, source }
    };
    let secrets_file = secrets_path(config);
    let undo = dir_of(config).join(UNDO_FILE);
    if !now.interrupted && secrets == now.secrets.as_deref() {
        if now.appliance.as_deref() != Some(appliance) {
            write_atomically(config, appliance, 0o600).map_err(werr(config))?;
        }
        return Ok(());
    }
    let as_text = |b: &Option<Vec<u8>>| -> Result<Option<String>, ConfigError> {
        b.clone()
            .map(String::from_utf8)
            .transpose()
            .map_err(|_| ConfigError::Invalid {
                path: config.to_path_buf(),
                reason: "the file is not UTF-8".into(),
            })
    };
    let record = Undo {
        appliance: as_text(&now.appliance)?,
        secrets: as_text(&now.secrets)?,
    };
    let text = toml::to_string(&record).unwrap_or_default();
    write_atomically(&undo, text.as_bytes(), 0o600).map_err(werr(&undo))?;
    cut_here(1)?;
    match secrets {
        Some(s) => write_atomically(&secrets_file, s, 0o600).map_err(werr(&secrets_file))?,
        None => match std::fs::remove_file(&secrets_file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(werr(&secrets_file)(e)),
        },
    }
    cut_here(2)?;
    write_atomically(config, appliance, 0o600).map_err(werr(config))?;
    cut_here(3)?;
    std::fs::remove_file(&undo).map_err(werr(&undo))?;
    File::open(dir_of(config))
        .and_then(|d| d.sync_all())
        .map_err(werr(dir_of(config)))
}

#[cfg(test)]
thread_local! {
    /// Tests stop a save after this step (a power cut).
    static CUT_AFTER: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
fn cut_here(step: u8) -> Result<(), ConfigError> {
    if CUT_AFTER.with(|c| c.get()) == step {
        return Err(ConfigError::Invalid {
            path: PathBuf::from("(test)"),
            reason: format!("power cut after step {step}"),
        });
    }
    Ok(())
}

#[cfg(not(test))]
fn cut_here(_: u8) -> Result<(), ConfigError> {
    Ok(())
}

/// Which secrets `appliance.toml`'s text holds itself (an older layout, or
/// written by hand).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Inline {
    pub sysconfig: bool,
    pub sysarchive: bool,
    pub smb_password: bool,
    pub smtp_password: bool,
}

pub(crate) fn inline_keys(text: &str) -> Inline {
    let Ok(t) = toml::from_str::<toml::Table>(text) else {
        return Inline::default();
    };
    let accounts = t.get("accounts").and_then(|a| a.as_table());
    let has = |k: &str| accounts.is_some_and(|a| a.contains_key(k));
    let smb_pw = t
        .get("backup")
        .and_then(|b| b.as_table())
        .and_then(|b| b.get("smb"))
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key("password"));
    let smtp_pw = t
        .get("alerts")
        .and_then(|b| b.as_table())
        .and_then(|b| b.get("smtp"))
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key("password"));
    Inline {
        sysconfig: has("sysconfig"),
        sysarchive: has("sysarchive"),
        smb_password: smb_pw,
        smtp_password: smtp_pw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use std::os::unix::fs::PermissionsExt;

    const HASH_A: &str = "$6$rounds=5000$saltsaltsaltsalt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF2kIh6OlR6m/uzDnSQx6xb7hAGHwOZR/dQ35cNNVsrQ.tRPBMw/";
    const HASH_B: &str = "$6$rounds=5000$pepperpepperpepp$8iQbUoZX8Xl2qTe8kP1HRjGhZwKdoXxkZTXCBFTTpJkZ8tvwyRs8eHYuW7zSbF4mF2k8HkWbOVLY2ZnFNqD4n.";

    fn with_secrets(pw: &str, hash: &str) -> Config {
        let mut c = Config::default();
        c.system.hostname = "mx1".parse().expect("name");
        c.backup.smb.password = pw.into();
        c.accounts.sysconfig = hash.into();
        c.accounts.sysarchive = hash.into();
        c
    }

    #[test]
    fn secrets_live_in_their_own_private_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config/appliance.toml");
        let c = with_secrets("Sh4re-pw,\"x", HASH_A);
        c.save(&path).expect("save");
        let appliance = std::fs::read_to_string(&path).expect("appliance");
        assert!(!appliance.contains("Sh4re-pw"), "{appliance}");
        assert!(!appliance.contains(HASH_A), "{appliance}");
        assert!(!appliance.contains("[accounts]"), "{appliance}");
        assert!(!appliance.contains("password"), "{appliance}");
        let spath = secrets_path(&path);
        assert_eq!(spath, dir.path().join("config/secrets.toml"));
        let secrets = std::fs::read_to_string(&spath).expect("secrets");
        assert!(
            secrets.contains(HASH_A) && secrets.contains("Sh4re-pw"),
            "{secrets}"
        );
        let mode = std::fs::metadata(&spath)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Config::load(&path).expect("load"), c);
        // Serialised anywhere else (the control socket), the password stays.
        let elsewhere = toml::to_string(&c.backup).expect("ser");
        assert!(elsewhere.contains("Sh4re-pw"), "{elsewhere}");
    }

    #[test]
    fn an_older_file_is_migrated_and_nothing_is_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("appliance.toml");
        // What the firmware before secrets.toml wrote.
        let old = format!(
            "version = 1\n\n[system]\nhostname = \"mx-old\"\n\n[backup]\ndestination = \"smb\"\n\n\
             [backup.smb]\nhost = \"10.0.0.5\"\nshare = \"b\"\npath = \"\"\nusername = \"u\"\n\
             password = \"old-share-pw\"\n\n[accounts]\nsysconfig = \"{HASH_A}\"\nsysarchive = \"{HASH_B}\"\n"
        );
        std::fs::write(&path, &old).expect("old file");
        let c = Config::load(&path).expect("an older file loads");
        assert_eq!(c.backup.smb.password, "old-share-pw");
        assert_eq!(c.accounts.sysconfig, HASH_A);
        assert_eq!(c.accounts.sysarchive, HASH_B);
        assert!(crate::holds_secrets(&old));
        assert!(Config::move_secrets_out(&path).expect("migrates"));
        assert!(
            !Config::move_secrets_out(&path).expect("again"),
            "nothing left to move"
        );
        let now = std::fs::read_to_string(&path).expect("read");
        assert!(!crate::holds_secrets(&now), "{now}");
        assert!(
            !now.contains("old-share-pw") && !now.contains(HASH_A),
            "{now}"
        );
        assert_eq!(Config::load(&path).expect("load"), c, "nothing lost");
        assert!(!dir.path().join(UNDO_FILE).exists());
    }

    #[test]
    fn a_value_written_into_appliance_toml_by_hand_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("appliance.toml");
        with_secrets("file-pw", HASH_A).save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(
            &path,
            text.replace("[backup.smb]\n", "[backup.smb]\npassword = \"typed-pw\"\n"),
        )
        .expect("edit");
        let c = Config::load(&path).expect("load");
        assert_eq!(c.backup.smb.password, "typed-pw");
        assert_eq!(c.accounts.sysconfig, HASH_A, "the rest from secrets.toml");
    }

    #[test]
    fn a_secrets_only_change_is_seen_by_the_other_console() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("appliance.toml");
        with_secrets("pw-1", HASH_A).save(&path).expect("save");
        let (mut a, rev_a) = Config::load_with_revision(&path).expect("a");
        let (mut b, rev_b) = Config::load_with_revision(&path).expect("b");
        a.accounts.sysconfig = HASH_B.into();
        a.save_if_unchanged(&path, &rev_a).expect("a saves");
        b.backup.smb.password = "pw-2".into();
        let err = b.save_if_unchanged(&path, &rev_b).expect_err("b is stale");
        assert!(matches!(err, ConfigError::ChangedElsewhere { .. }), "{err}");
    }

    #[test]
    fn a_power_cut_between_the_two_writes_leaves_one_pair() {
        for (step, new_wins) in [(1, false), (2, false), (3, true)] {
            for migrate in [false, true] {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("appliance.toml");
                let old = with_secrets("old-pw", HASH_A);
                if migrate {
                    // The secrets still in appliance.toml, as older firmware wrote it.
                    let text = old.to_toml()
                        + &format!(
                            "\n[accounts]\nsysconfig = \"{HASH_A}\"\nsysarchive = \"{HASH_A}\"\n"
                        );
                    let text =
                        text.replace("[backup.smb]\n", "[backup.smb]\npassword = \"old-pw\"\n");
                    std::fs::write(&path, text).expect("old file");
                    assert_eq!(Config::load(&path).expect("old"), old);
                } else {
                    old.save(&path).expect("old");
                }
                let mut new = with_secrets("new-pw", HASH_B);
                new.system.hostname = "mx2".parse().expect("name");
                CUT_AFTER.with(|c| c.set(step));
                let cut = new.save(&path);
                CUT_AFTER.with(|c| c.set(0));
                assert!(cut.is_err(), "step {step}");
                let seen = Config::load(&path).expect("loads after the cut");
                let want = if new_wins { &new } else { &old };
                assert_eq!(&seen, want, "cut after step {step}, migrate {migrate}");
                // The next save cleans up, and its result is what is read.
                let (mut again, rev) = Config::load_with_revision(&path).expect("again");
                again.ftp.allow_plain = true;
                again.save_if_unchanged(&path, &rev).expect("next save");
                assert_eq!(Config::load(&path).expect("load"), again);
                assert!(!dir.path().join(UNDO_FILE).exists());
            }
        }
    }

    #[test]
    fn a_change_outside_the_secrets_writes_one_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("appliance.toml");
        let mut c = with_secrets("pw", HASH_A);
        c.save(&path).expect("save");
        let before = std::fs::metadata(secrets_path(&path)).expect("meta");
        c.system.timezone = "Europe/Prague".into();
        CUT_AFTER.with(|x| x.set(1));
        let r = c.save(&path);
        CUT_AFTER.with(|x| x.set(0));
        r.expect("no undo record is needed, so no step 1 to cut after");
        let after = std::fs::metadata(secrets_path(&path)).expect("meta");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(before.ino(), after.ino(), "secrets.toml not rewritten");
    }

    #[test]
    fn patterns_cover_every_file_with_secrets() {
        let p = secret_file_patterns(Path::new("/data/config/appliance.toml"));
        let names: Vec<_> = p.iter().map(|x| x.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "/data/config/secrets.toml",
                "/data/config/.secrets.toml*",
                "/data/config/..secrets.toml*"
            ]
        );
    }
}
