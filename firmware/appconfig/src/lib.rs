//! The appliance's configuration, `/data/config/appliance.toml`.
//!
//! One file holds everything the console edits: network, system, FTP and
//! backup settings, and the hashed passwords of the console and FTP accounts.
//! Every value is checked while it is parsed, so a bad file is refused with
//! its line, column and reason; [`Config::save`] replaces the file atomically
//! so a power cut never leaves half a configuration.

mod accounts;
mod backup;
mod error;
mod ftp;
mod network;
mod persist;
mod system;

pub use accounts::{
    Accounts, CONSOLE_USER, FTP_USER, HASH_ROUNDS, MIN_PASSWORD_LEN, hash_password, hash_problem,
    password_problem, verify_password,
};
pub use backup::{BackupSettings, BackupType, DestinationKind, SmbSettings, TimeOfDay, Weekday};
pub use error::ConfigError;
pub use ftp::{AccessList, AccessRule, FtpSettings, PortRange};
pub use network::{AddressMode, NetworkSettings, netmask_prefix};
pub use persist::{lock_beside, write_atomically};
pub use system::{
    FACTORY_HOSTNAME, Hostname, NTP_PORT, NtpServer, SystemSettings, UnitId, parse_ntp_servers,
};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where the running appliance keeps its configuration.
pub const DEFAULT_PATH: &str = "/data/config/appliance.toml";

/// The version of the file layout this build writes. Older files are
/// migrated on load (see [`Config::from_toml`]); newer ones are refused.
pub const CONFIG_VERSION: u32 = 1;

/// What the file held when it was read (`None`: there was none), so a save
/// can tell whether someone else wrote it meanwhile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision(Option<Vec<u8>>);

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
    #[serde(default)]
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
        Ok(())
    }

    /// Reads the file at `path`. A missing file gives the factory defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Reads the file and remembers what it held, for
    /// [`Config::save_if_unchanged`]. A missing file gives the defaults.
    pub fn load_with_revision(path: &Path) -> Result<(Config, Revision), ConfigError> {
        let text = match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let config = match &text {
            None => Config::default(),
            Some(b) => {
                let t = std::str::from_utf8(b).map_err(|_| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    reason: "the file is not UTF-8".into(),
                })?;
                Config::from_toml(t, path)?
            }
        };
        Ok((config, Revision(text)))
    }

    /// Saves only if the file still holds what `base` was read from, so that
    /// two editors (the consoles on the screen and the serial line) never
    /// silently undo each other; writers are serialised by a lock beside the
    /// file. Returns the new revision.
    pub fn save_if_unchanged(&self, path: &Path, base: &Revision) -> Result<Revision, ConfigError> {
        self.check(path)?;
        let _lock = persist::lock_beside(path).map_err(|source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let now = match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if now != base.0 {
            return Err(ConfigError::ChangedElsewhere {
                path: path.to_path_buf(),
            });
        }
        let text = self.to_toml().into_bytes();
        write_atomically(path, &text, 0o600).map_err(|source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Revision(Some(text)))
    }

    /// Serialises the configuration as TOML.
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of strings, numbers and tables cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks, then writes the whole file atomically with mode 0600 (it holds
    /// the SMB password and password hashes).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.check(path)?;
        write_atomically(path, self.to_toml().as_bytes(), 0o600).map_err(|source| {
            ConfigError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    }
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
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
    }
}
