//! Where ftpd keeps things, and what one session is told by the supervisor.

use crate::cert::TlsFiles;
use appconfig::Config;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The control port FTP clients connect to.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:21";

/// The environment variable that carries a session's [`SessionSettings`].
pub const SESSION_ENV: &str = "FTPD_SESSION";

/// A session that sends no command for this long is closed.
pub const IDLE_SECS: u64 = 300;

/// Every path ftpd uses, with the appliance's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The configuration (`APPLIANCE_CONFIG` overrides the default).
    pub config: PathBuf,
    /// The local sets: the FTP `backup` folder.
    pub backup_dir: PathBuf,
    /// The FTP `restore` folder.
    pub restore_dir: PathBuf,
    /// The appliance's certificate and key (`server.crt`, `server.key`).
    pub sslcert_dir: PathBuf,
    /// ftpd's own state: the stand-in certificate when the appliance's is unusable.
    pub state_dir: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            config: appconfig::config_path(),
            ..Paths::under(PathBuf::from("/data"))
        }
    }
}

impl Paths {
    /// The appliance's layout under another data root (tests, tools).
    pub fn under(data_root: PathBuf) -> Paths {
        Paths {
            config: data_root.join("config/appliance.toml"),
            backup_dir: data_root.join("backup"),
            restore_dir: data_root.join("restore"),
            sslcert_dir: data_root.join("sslcert"),
            state_dir: data_root.join("state/ftpd"),
        }
    }
}

/// Everything a session process needs; the supervisor makes one from the
/// last good configuration for every connection it accepts. The password
/// hash is not in it: the supervisor checks logins itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    pub allow_plain: bool,
    /// The certificate for FTPS; `None` when none is usable.
    pub tls: Option<TlsFiles>,
    pub passive_ports: (u16, u16),
    /// Address advertised in `PASV` replies; `None`: the one the client reached.
    pub passive_address: Option<Ipv4Addr>,
    pub backup_dir: PathBuf,
    pub restore_dir: PathBuf,
    pub idle_secs: u64,
    pub stall_secs: u64,
    /// Log lines also go to standard error (service run in the foreground).
    pub echo_stderr: bool,
}

impl SessionSettings {
    pub fn new(
        config: &Config,
        paths: &Paths,
        tls: Option<TlsFiles>,
        echo_stderr: bool,
    ) -> SessionSettings {
        SessionSettings {
            allow_plain: config.ftp.allow_plain,
            tls,
            passive_ports: (
                config.ftp.passive_ports.first,
                config.ftp.passive_ports.last,
            ),
            passive_address: config.ftp.passive_address,
            backup_dir: paths.backup_dir.clone(),
            restore_dir: paths.restore_dir.clone(),
            idle_secs: IDLE_SECS,
            stall_secs: crate::storage::DEFAULT_STALL.as_secs(),
            echo_stderr,
        }
    }

    pub fn to_env(&self) -> String {
        // Plain data: strings, numbers and paths always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_env(text: &str) -> Result<SessionSettings, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_travel_through_the_environment() {
        let mut c = Config::default();
        c.accounts.sysarchive = appconfig::hash_password("blue-harbour-42").expect("hash");
        c.ftp.passive_address = Some(Ipv4Addr::new(127, 0, 0, 1));
        let s = SessionSettings::new(&c, &Paths::under("/tmp/x".into()), None, false);
        assert_eq!(SessionSettings::from_env(&s.to_env()).expect("parse"), s);
        assert!(!s.to_env().contains("$6$"), "sessions never see the hash");
        assert_eq!(s.passive_ports, (50000, 50100));
    }
}
