//! Choosing where sets go. Every destination backupd uses comes from
//! [`destination_for`], so the SMB and USB destinations plug in here.

use crate::paths::Paths;
use appconfig::{BackupSettings, DestinationKind};
use destinations::{Destination, Local};

/// The configured destination, ready to be opened.
pub fn destination_for(
    settings: &BackupSettings,
    paths: &Paths,
) -> Result<Box<dyn Destination>, String> {
    match settings.destination {
        DestinationKind::Local => Ok(Box::new(Local {
            dir: paths.backup_dir.clone(),
            volume_size: None,
        })),
        other => Err(format!(
            "the {other} destination is not available in this firmware build"
        )),
    }
}
