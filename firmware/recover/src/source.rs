//! Reaching a set on the configured backup location. The console names a
//! set on the SMB share by its path under the share's mount base
//! (`/run/smb/<set>`), but every session mounts the share in a private
//! folder of its own under that base, only while it uses it: when such a
//! path is not there, the share is mounted (as backupd would, from the
//! configuration) for as long as the restore runs, and the path is taken
//! relative to that session's folder.

use crate::error::RecoverError;
use crate::report::Reporter;
use crate::targets::Targets;
use appconfig::{Config, DestinationKind};
use destinations::Session;
use std::path::{Path, PathBuf};

/// The session keeps the share mounted while alive (`None` when nothing was
/// needed); the path is where the set is read from meanwhile.
pub fn reach(
    path: &Path,
    targets: &Targets,
    report: &Reporter,
) -> Result<(Option<Box<dyn Session>>, PathBuf), RecoverError> {
    let unchanged = Ok((None, path.to_path_buf()));
    let paths = destinations::Paths::from_env();
    let inside = path.strip_prefix(&paths.smb_mount_base).ok();
    // The base itself holds sessions' folders, never sets: `recover
    // /run/smb` means the newest sets on the share.
    if std::fs::symlink_metadata(path).is_ok() && inside != Some(Path::new("")) {
        return unchanged;
    }
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
    let Some(inside) = inside else {
        return unchanged;
    };
    let Ok(config) = Config::load(&config_path) else {
        return unchanged;
    };
    if config.backup.destination != DestinationKind::Smb {
        return unchanged;
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
    let path = session.dir().join(inside);
    Ok((Some(session), path))
}
