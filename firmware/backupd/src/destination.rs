//! Choosing where sets go. Every destination backupd uses comes from
//! [`destination_for`]: the local folder, an SMB share or a USB drive.

use crate::paths::Paths;
use appconfig::BackupSettings;
use control::backupd::{ConnectivityReport, SetInfo};
use destinations::{Connectivity, Destination};
use std::net::Ipv4Addr;

/// The configured destination, ready to be opened. `dns` is the appliance's
/// `network.dns`, for an SMB server given by name. The local folder is
/// backupd's own (`--backup-dir`); the SMB mount point and hotplugd's
/// socket and mount point come from the environment (see
/// [`destinations::Paths::from_env`]).
pub fn destination_for(
    settings: &BackupSettings,
    dns: &[Ipv4Addr],
    paths: &Paths,
) -> Result<Box<dyn Destination>, String> {
    Ok(destinations::from_config_with(
        settings,
        dns,
        &destination_paths(paths),
    ))
}

/// The destinations' paths with backupd's own folders (`--backup-dir`,
/// `--restore-dir`).
pub fn destination_paths(paths: &Paths) -> destinations::Paths {
    destinations::Paths {
        local_dir: paths.backup_dir.clone(),
        restore_dir: paths.restore_dir.clone(),
        ..destinations::Paths::from_env()
    }
}

/// Test Connectivity for the control protocol: the destination is opened
/// once, probed, and the sets in it listed before it is closed (one mount
/// of a share, not two).
pub fn test_connectivity(dest: &dyn Destination) -> ConnectivityReport {
    let mut sets = Vec::new();
    let c = dest.test_connectivity_then(&mut |dir| {
        sets = crate::service::sets_in(dir).unwrap_or_default();
    });
    report(c, sets)
}

/// The destination's own report in the control protocol's terms, with the
/// sets found there.
pub fn report(c: Connectivity, sets: Vec<SetInfo>) -> ConnectivityReport {
    ConnectivityReport {
        destination: c.destination,
        ok: c.ok,
        summary: c.summary,
        steps: c.steps,
        free_bytes: c.free_bytes,
        total_bytes: c.total_bytes,
        filesystem: c.filesystem,
        dialect: c.dialect,
        sets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use appconfig::DestinationKind;

    #[test]
    fn every_kind_is_available() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths::under(dir.path().to_path_buf());
        let mut s = BackupSettings::default();
        for kind in [
            DestinationKind::Local,
            DestinationKind::Smb,
            DestinationKind::Usb,
        ] {
            s.destination = kind;
            let d = destination_for(&s, &[], &paths).expect("available");
            assert_eq!(d.kind(), kind);
        }
    }
}
