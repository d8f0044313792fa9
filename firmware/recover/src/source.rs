//! Reaching a set on the configured backup location. The console names a
//! set on the SMB share by its path under the share's mount point, but
//! backupd mounts the share only while it uses it: when such a path is not
//! there, the share is mounted (as backupd would, from the configuration)
//! for as long as the restore runs.

use crate::error::RecoverError;
use crate::report::Reporter;
use crate::targets::Targets;
use appconfig::{Config, DestinationKind};
use destinations::Session;
use std::path::Path;

/// Keeps the share mounted while alive; `None` when nothing was needed.
pub fn reach(
    path: &Path,
    targets: &Targets,
    report: &Reporter,
) -> Result<Option<Box<dyn Session>>, RecoverError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(None);
    }
    let paths = destinations::Paths::from_env();
    let config_path = targets.cfgdir.join("config/appliance.toml");
    if path.starts_with(&paths.usb_mount_point) {
        return Err(RecoverError::Source {
            path: path.to_path_buf(),
            reason: format!(
                "not there: is the USB drive plugged in? (it is mounted at {})",
                paths.usb_mount_point.display()
            ),
        });
    }
    if !path.starts_with(&paths.smb_mount_point) {
        return Ok(None);
    }
    let Ok(config) = Config::load(&config_path) else {
        return Ok(None);
    };
    if config.backup.destination != DestinationKind::Smb {
        return Ok(None);
    }
    report.info(format!(
        "Mounting the backup share \\\\{}\\{}",
        config.backup.smb.host, config.backup.smb.share
    ));
    let dest = destinations::from_config_with(&config.backup, &config.network.dns, &paths);
    let session = dest.open().map_err(|e| RecoverError::Source {
        path: path.to_path_buf(),
        reason: format!("the backup share cannot be mounted: {e}"),
    })?;
    Ok(Some(session))
}
