//! The data partition's shared places: the paths more than one program
//! uses, each named once here (with the one environment variable that moves
//! it for host tests) instead of a copy in every program. What a single
//! service keeps to itself stays in that service; where a service owns a
//! place it reports at run time (the USB drive's mount point: hotplugd's
//! status), its clients ask it through the control protocol instead.

use std::path::PathBuf;

/// The data partition (ext4), never touched by upgrades.
pub const DATA: &str = "/data";
/// The appliance's own folder of sets: the local destination, FTP's
/// `backup` folder.
pub const BACKUP_DIR: &str = "/data/backup";
/// Moves [`BACKUP_DIR`] (host tests).
pub const BACKUP_DIR_ENV: &str = "APPLIANCE_BACKUP_DIR";
/// The FTP `restore` folder, where administrators drop sets and firmware
/// bundles.
pub const RESTORE_DIR: &str = "/data/restore";
/// Moves [`RESTORE_DIR`] (host tests).
pub const RESTORE_DIR_ENV: &str = "APPLIANCE_RESTORE_DIR";
/// The system log BusyBox syslogd writes (and rotates into `<name>.0`).
pub const SYSLOG: &str = "/data/log/messages";
/// sshgate's host keys and their `.pub` files (the console shows their
/// fingerprints).
pub const SSH_HOST_KEYS_DIR: &str = "/data/state/sshd";

fn from_env(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// [`BACKUP_DIR`], or where [`BACKUP_DIR_ENV`] puts it.
pub fn backup_dir() -> PathBuf {
    from_env(BACKUP_DIR_ENV, BACKUP_DIR)
}

/// [`RESTORE_DIR`], or where [`RESTORE_DIR_ENV`] puts it.
pub fn restore_dir() -> PathBuf {
    from_env(RESTORE_DIR_ENV, RESTORE_DIR)
}
