//! The appliance's configuration, `/data/config/appliance.toml`, and its
//! secrets, `/data/config/secrets.toml`.
//!
//! One [`Config`] holds everything the console edits: network, system, FTP
//! and backup settings, and the hashed passwords of the console and FTP
//! accounts. The secrets (the password hashes and the SMB password) are
//! kept in a second file beside the first, which backups leave out (see
//! [`secrets`](crate::secrets_path)); `load` and `save` handle both. Every
//! value is checked while it is parsed, so a bad file is refused with its
//! line, column and reason; [`Config::save`] replaces the files atomically
//! so a power cut never leaves half a configuration.

mod accounts;
mod alerts;
mod backup;
mod error;
mod ftp;
pub mod layout;
mod network;
mod persist;
mod secrets;
pub mod smb;
mod ssh;
mod system;
mod timezone;

pub use accounts::{
    Accounts, CONSOLE_USER, FTP_USER, HASH_ROUNDS, MIN_PASSWORD_LEN, hash_password, hash_problem,
    password_problem, verify_password,
};
pub use alerts::{
    AlertSettings, RemoteSyslog, SmtpSecurity, SmtpSettings, SyslogTransport, address_problem,
    host_problem, parse_pin,
};
pub use backup::{
    BackupSettings, BackupType, COMPRESSION_LEVELS, Compression, DestinationKind, SmbEncrypt,
    SmbSettings, TimeOfDay, Weekday, recipient_problem,
};
pub use error::ConfigError;
pub use ftp::{AccessList, AccessRule, FtpSettings, PortRange};
pub use network::{AddressMode, NetworkSettings, netmask_prefix};
// Callers not yet moved to `atomicfile` (recover) reach it here.
pub use persist::lock_beside;
pub use secrets::{SECRETS_FILE, Secrets, secret_file_patterns, secrets_path};
pub use ssh::{
    AuthorizedKey, KEY_TYPES, MAX_KEYS, SshSettings, fingerprint as key_fingerprint,
    fingerprint_of_blob,
};
pub use system::{
    FACTORY_HOSTNAME, Hostname, NTP_PORT, NtpServer, SystemSettings, UnitId, parse_ntp_servers,
};
pub use timezone::{tzif, zone, zone_names};

use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// Where the running appliance keeps its configuration.
pub const DEFAULT_PATH: &str = "/data/config/appliance.toml";

/// The version of the file layout this build writes. Older files are
/// migrated on load (see [`Config::from_toml`]); newer ones are refused.
pub const CONFIG_VERSION: u32 = 1;

/// What the two files held when they were read (`None`: there was none),
/// so a save can tell whether someone else wrote either meanwhile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    appliance: Option<Vec<u8>>,
    secrets: Option<Vec<u8>>,
}

thread_local! {
    /// Set while [`Config::to_toml`] serialises: the secrets stay out.
    static WRITING_FILE: Cell<bool> = const { Cell::new(false) };
}

/// `skip_serializing_if` of the secret fields: left out of
/// `appliance.toml`, kept everywhere else (the control socket carries the
/// SMB password of settings under test).
pub(crate) fn omitted_from_file<T>(_: &T) -> bool {
    WRITING_FILE.with(Cell::get)
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Layout version of the file; see [`CONFIG_VERSION`].
    #[serde(default = "default_version")]
    pub version: u32,
    #[serde(default)]
    pub system: SystemSettings,
    #[serde(default)]
    pub network: NetworkSettings,
    #[serde(default)]
    pub ftp: FtpSettings,
    #[serde(default)]
    pub backup: BackupSettings,
    /// Left out while default, so that firmware from before alerts (a slot
    /// fallen back to) still reads the file.
    #[serde(default, skip_serializing_if = "AlertSettings::is_default")]
    pub alerts: AlertSettings,
    #[serde(default)]
    pub ssh: SshSettings,
    /// Kept in the secrets file; read here too from older files.
    #[serde(default, skip_serializing_if = "omitted_from_file")]
    pub accounts: Accounts,
}

fn default_version() -> u32 {
    CONFIG_VERSION
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: CONFIG_VERSION,
            system: SystemSettings::default(),
            network: NetworkSettings::default(),
            ftp: FtpSettings::default(),
            backup: BackupSettings::default(),
            alerts: AlertSettings::default(),
            ssh: SshSettings::default(),
            accounts: Accounts::default(),
        }
    }
}

impl Config {
    /// Parses and checks a configuration. `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::parse(origin, text, e))?;
        if config.version > CONFIG_VERSION {
            return Err(ConfigError::TooNew {
                path: origin.to_path_buf(),
                found: config.version,
                supported: CONFIG_VERSION,
            });
        }
        // Version 0 never shipped; every older layout is migrated here as it appears.
        let config = Config {
            version: CONFIG_VERSION,
            ..config
        };
        config.check(origin)?;
        Ok(config)
    }

    /// Checks the rules that span several fields.
    pub fn check(&self, origin: &Path) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            path: origin.to_path_buf(),
            reason,
        };
        self.system.check().map_err(invalid)?;
        self.accounts.check().map_err(invalid)?;
        self.network.check().map_err(invalid)?;
        self.backup.check().map_err(invalid)?;
        self.ftp.check().map_err(invalid)?;
        self.alerts.check().map_err(invalid)?;
        self.ssh.check().map_err(invalid)?;
        Ok(())
    }

    /// Reads the file at `path` and the secrets file beside it. A missing
    /// file gives the factory defaults; a missing secrets file, no secrets.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_revision(path).map(|(c, _)| c)
    }

    /// Reads both files and remembers what they held, for
    /// [`Config::save_if_unchanged`]. A missing file gives the defaults.
    pub fn load_with_revision(path: &Path) -> Result<(Config, Revision), ConfigError> {
        let pair = secrets::read_pair(path)?;
        let config = Config::from_pair(path, &pair)?;
        Ok((
            config,
            Revision {
                appliance: pair.appliance,
                secrets: pair.secrets,
            },
        ))
    }

    fn from_pair(path: &Path, pair: &secrets::Pair) -> Result<Config, ConfigError> {
        let utf8 = |b: &[u8], p: &Path| -> Result<String, ConfigError> {
            String::from_utf8(b.to_vec()).map_err(|_| ConfigError::Invalid {
                path: p.to_path_buf(),
                reason: "the file is not UTF-8".into(),
            })
        };
        let (mut config, inline) = match &pair.appliance {
            None => (Config::default(), secrets::Inline::default()),
            Some(b) => {
                let text = utf8(b, path)?;
                (Config::from_toml(&text, path)?, secrets::inline_keys(&text))
            }
        };
        if let Some(b) = &pair.secrets {
            let spath = secrets_path(path);
            let s = Secrets::from_toml(&utf8(b, &spath)?, &spath)?;
            // A value appliance.toml holds itself wins: an older file not
            // saved since, or one written by hand.
            if !inline.sysconfig {
                config.accounts.sysconfig = s.accounts.sysconfig;
            }
            if !inline.sysarchive {
                config.accounts.sysarchive = s.accounts.sysarchive;
            }
            if !inline.smb_password {
                config.backup.smb.password = s.smb_password;
            }
            if !inline.smtp_password {
                config.alerts.smtp.password = s.smtp_password;
            }
            config
                .accounts
                .check()
                .map_err(|reason| ConfigError::Invalid {
                    path: spath.clone(),
                    reason,
                })?;
        }
        Ok(config)
    }

    /// The secrets: what the secrets file holds.
    pub fn secrets(&self) -> Secrets {
        Secrets {
            accounts: self.accounts.clone(),
            smb_password: self.backup.smb.password.clone(),
            smtp_password: self.alerts.smtp.password.clone(),
        }
    }

    /// Puts other secrets in (a restore keeps the unit's own).
    pub fn set_secrets(&mut self, s: Secrets) {
        self.accounts = s.accounts;
        self.backup.smb.password = s.smb_password;
        self.alerts.smtp.password = s.smtp_password;
    }

    /// Saves only if the files still hold what `base` was read from, so that
    /// two editors (the consoles on the screen and the serial line) never
    /// silently undo each other; writers are serialised by a lock beside the
    /// file. Returns the new revision.
    pub fn save_if_unchanged(&self, path: &Path, base: &Revision) -> Result<Revision, ConfigError> {
        self.write(path, Some(base))
    }

    /// Serialises the configuration as `appliance.toml`'s TOML: everything
    /// but the secrets (see [`Config::secrets`]).
    pub fn to_toml(&self) -> String {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                WRITING_FILE.with(|f| f.set(false));
            }
        }
        WRITING_FILE.with(|f| f.set(true));
        let _reset = Reset;
        // Serialising plain structs of strings, numbers and tables cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks, then writes both files atomically with mode 0600 (see
    /// [`secrets_path`] for how the pair stays one across a power cut).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.write(path, None).map(drop)
    }

    fn write(&self, path: &Path, base: Option<&Revision>) -> Result<Revision, ConfigError> {
        self.check(path)?;
        let _lock = persist::lock_beside(path).map_err(|source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let now = secrets::read_pair(path)?;
        if let Some(base) = base
            && (now.appliance != base.appliance || now.secrets != base.secrets)
        {
            return Err(ConfigError::ChangedElsewhere {
                path: path.to_path_buf(),
            });
        }
        let appliance = self.to_toml().into_bytes();
        let s = self.secrets();
        // A unit without secrets (new, or never given any) needs no file.
        let secrets = (!s.is_empty() || now.secrets.is_some()).then(|| s.to_toml().into_bytes());
        secrets::write_pair(path, &now, &appliance, secrets.as_deref())?;
        Ok(Revision {
            appliance: Some(appliance),
            secrets,
        })
    }

    /// Moves secrets an older `appliance.toml` still holds into the secrets
    /// file (the next save does it too). Returns whether there were any.
    pub fn move_secrets_out(path: &Path) -> Result<bool, ConfigError> {
        let (config, rev) = Config::load_with_revision(path)?;
        let inline = rev
            .appliance
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(secrets::inline_keys)
            .unwrap_or_default();
        if inline == secrets::Inline::default() {
            return Ok(false);
        }
        config.save_if_unchanged(path, &rev)?;
        Ok(true)
    }
}

/// Whether `appliance.toml`'s text still holds secrets itself (an older
/// layout, or written by hand).
pub fn holds_secrets(text: &str) -> bool {
    secrets::inline_keys(text) != secrets::Inline::default()
}

/// The configuration path, overridable with `APPLIANCE_CONFIG` so that host
/// tests and tools can run outside an appliance.
pub fn config_path() -> PathBuf {
    std::env::var_os("APPLIANCE_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip() {
        let text = Config::default().to_toml();
        let back = Config::from_toml(&text, Path::new("x.toml")).expect("defaults parse");
        assert_eq!(back, Config::default());
    }

    #[test]
    fn empty_file_is_defaults() {
        let c = Config::from_toml("", Path::new("x.toml")).expect("empty parses");
        assert_eq!(c, Config::default());
        assert_eq!(c.backup.schedule.to_string(), "22:00");
        assert_eq!(c.backup.retention, 3);
        assert_eq!(c.backup.body_window_hours, 24);
    }

    /// What the services would refuse at work (the SMB mount, the
    /// resolver) is refused here, where the console and every service
    /// check, with the setting named, in one line.
    #[test]
    fn what_a_service_would_refuse_is_refused_by_the_check() {
        let smb = |host: &str, share: &str, path: &str, user: &str| {
            format!(
                "[backup]\ndestination = \"smb\"\n[backup.smb]\nhost = {host:?}\n\
                 share = {share:?}\npath = {path:?}\nusername = {user:?}\n"
            )
        };
        for (text, words) in [
            (
                smb("fs1:99999", "b", "", "u"),
                "backup.smb.host: server \"fs1:99999\": the port must be a number from 1 to 65535",
            ),
            (
                smb("fs1", "a,b", "", "u"),
                "backup.smb.share: share names and paths with commas cannot be mounted",
            ),
            (
                smb("fs1", "b", "x,y", "u"),
                "backup.smb.path: share names and paths with commas cannot be mounted",
            ),
            (
                smb("fs1", "b", "", "CORP\\"),
                "backup.smb.username: user name \"CORP\\\\\": the user part is empty",
            ),
            (
                smb("fs1", "b", "", "A\\b@c"),
                "backup.smb.username: user name \"A\\\\b@c\": use DOMAIN\\user or user@domain, not both",
            ),
            (
                "[network]\ndns = [\"10.0.0.1\", \"10.0.0.2\", \"10.0.0.3\", \"10.0.0.4\"]\n"
                    .to_string(),
                "network.dns: at most 3 DNS servers",
            ),
        ] {
            let err = Config::from_toml(&text, Path::new("a.toml"))
                .expect_err("refused")
                .to_string();
            assert!(err.ends_with(words), "{words:?} in {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        // The same settings a mount takes pass.
        let text = smb(
            "fs1.example.com:4450",
            "backups",
            "nightly/a",
            "CORP\\backup",
        );
        Config::from_toml(&text, Path::new("a.toml")).expect("accepted");
    }

    #[test]
    fn bad_time_names_line_and_reason() {
        let text = "[backup]\nretention = 3\nschedule = \"25:00\"\n";
        let err = Config::from_toml(text, Path::new("/data/config/appliance.toml"))
            .expect_err("25:00 is refused")
            .to_string();
        assert!(err.contains("/data/config/appliance.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("hour"), "{err}");
    }

    #[test]
    fn negative_retention_refused() {
        let err = Config::from_toml("[backup]\nretention = -1\n", Path::new("a.toml"))
            .expect_err("negative")
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_destination_refused() {
        let err = Config::from_toml("[backup]\ndestination = \"cloud\"\n", Path::new("a.toml"))
            .expect_err("unknown destination")
            .to_string();
        assert!(err.contains("cloud"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn newer_version_refused() {
        let err = Config::from_toml("version = 99\n", Path::new("a.toml"))
            .expect_err("too new")
            .to_string();
        assert!(err.contains("99"), "{err}");
    }

    #[test]
    fn a_save_based_on_an_older_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config/appliance.toml");
        // Two consoles read the same (missing: factory) file.
        let (mut a, rev_a) = Config::load_with_revision(&path).expect("a");
        let (mut b, rev_b) = Config::load_with_revision(&path).expect("b");
        a.system.hostname = "from-a".parse().expect("name");
        let rev_a2 = a.save_if_unchanged(&path, &rev_a).expect("a saves first");
        b.accounts.sysconfig = "$6$x$y".into();
        let err = b.save_if_unchanged(&path, &rev_b).expect_err("b is stale");
        assert!(matches!(err, ConfigError::ChangedElsewhere { .. }), "{err}");
        assert!(err.to_string().contains("changed elsewhere"), "{err}");
        assert_eq!(
            Config::load(&path).expect("load").system.hostname.as_str(),
            "from-a",
            "a's change was not undone"
        );
        // Based on a fresh read, it goes through.
        let (mut fresh, rev) = Config::load_with_revision(&path).expect("again");
        assert_eq!(rev, rev_a2);
        fresh.accounts.sysconfig = "$6$x$y".into();
        fresh.save_if_unchanged(&path, &rev).expect("fresh save");
        let c = Config::load(&path).expect("load");
        assert_eq!(c.system.hostname.as_str(), "from-a");
        assert_eq!(c.accounts.sysconfig, "$6$x$y");
    }

    #[test]
    fn save_is_atomic_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config/appliance.toml");
        let mut c = Config::default();
        c.system.hostname = "mx1".parse().expect("hostname");
        c.save(&path).expect("save");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            Config::load(&path).expect("load").system.hostname.as_str(),
            "mx1"
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("readdir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".appliance.toml.lock")
            .collect();
        assert_eq!(
            leftovers,
            ["appliance.toml"],
            "no temporary files left behind, no secrets file without secrets"
        );
    }
}
