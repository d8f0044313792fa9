//! Every path backupd uses, with the appliance's defaults; each can be
//! overridden so host tests run the service in a temporary folder.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    /// The configuration file (`APPLIANCE_CONFIG` overrides the default).
    pub config: PathBuf,
    /// The data partition that is backed up.
    pub data_root: PathBuf,
    /// The local destination (`/data/backup`).
    pub backup_dir: PathBuf,
    /// The FTP `restore` folder.
    pub restore_dir: PathBuf,
    /// backupd's own state: the last full's record, run history.
    pub state_dir: PathBuf,
    pub socket: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            config: appconfig::config_path(),
            data_root: appconfig::layout::DATA.into(),
            backup_dir: appconfig::layout::BACKUP_DIR.into(),
            restore_dir: appconfig::layout::RESTORE_DIR.into(),
            state_dir: "/data/state/backupd".into(),
            socket: control::backupd::SOCKET.into(),
        }
    }
}

impl Paths {
    /// Defaults placed under another data root (for tests and tools).
    pub fn under(data_root: PathBuf) -> Paths {
        Paths {
            backup_dir: data_root.join("backup"),
            restore_dir: data_root.join("restore"),
            state_dir: data_root.join("state/backupd"),
            config: data_root.join("config/appliance.toml"),
            socket: data_root.join("backupd.sock"),
            data_root,
        }
    }
}
