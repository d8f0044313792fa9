use crate::{Destination, DestinationError, Session, probe_folder, statfs_info};
use appconfig::DestinationKind;
use control::backupd::ConnectivityReport;
use std::path::{Path, PathBuf};

/// The appliance's own backup folder, `/data/backup` (the FTP `backup` folder).
#[derive(Debug, Clone)]
pub struct Local {
    pub dir: PathBuf,
    /// Split sets into volumes of this size (testing and small disks).
    pub volume_size: Option<u64>,
}

pub const LOCAL_DIR: &str = appconfig::layout::BACKUP_DIR;

impl Default for Local {
    fn default() -> Self {
        Local {
            dir: PathBuf::from(LOCAL_DIR),
            volume_size: None,
        }
    }
}

struct LocalSession {
    dir: PathBuf,
    max: Option<u64>,
    fs: String,
}

impl Session for LocalSession {
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn max_file_size(&self) -> Option<u64> {
        self.max
    }
    fn filesystem(&self) -> String {
        self.fs.clone()
    }
}

impl Destination for Local {
    fn kind(&self) -> DestinationKind {
        DestinationKind::Local
    }

    fn open(&self) -> Result<Box<dyn Session>, DestinationError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| DestinationError::Folder {
            path: self.dir.clone(),
            reason: crate::probe::plain_io_error(&e),
        })?;
        let info = statfs_info(&self.dir).map_err(|e| DestinationError::Folder {
            path: self.dir.clone(),
            reason: e.desc().to_string(),
        })?;
        if info.read_only {
            return Err(DestinationError::ReadOnly);
        }
        let fs_limit = (info.filesystem == "vfat").then_some(crate::FAT32_MAX_FILE);
        let max = match (self.volume_size, fs_limit) {
            (Some(v), Some(l)) => Some(v.min(l)),
            (a, b) => a.or(b),
        };
        Ok(Box::new(LocalSession {
            dir: self.dir.clone(),
            max,
            fs: info.filesystem,
        }))
    }

    fn test_connectivity(&self) -> ConnectivityReport {
        let mut report = ConnectivityReport {
            destination: DestinationKind::Local,
            ok: false,
            summary: String::new(),
            steps: Vec::new(),
            free_bytes: None,
            total_bytes: None,
            filesystem: None,
            dialect: None,
            sets: Vec::new(),
        };
        match self.open() {
            Err(e) => {
                report
                    .steps
                    .push(("open the backup folder".into(), format!("failed: {e}")));
                report.summary = e.to_string();
                return report;
            }
            Ok(s) => {
                report.steps.push((
                    "open the backup folder".into(),
                    format!("ok ({})", s.dir().display()),
                ));
                report.filesystem = Some(s.filesystem());
            }
        }
        if let Ok(info) = statfs_info(&self.dir) {
            report.free_bytes = Some(info.free_bytes);
            report.total_bytes = Some(info.total_bytes);
        }
        let (steps, verdict) = probe_folder(&self.dir);
        report.steps.extend(steps);
        match verdict {
            Ok(()) => {
                report.ok = true;
                report.summary = "The local backup folder is ready".into();
            }
            Err(why) => report.summary = why,
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_probe_succeeds_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = Local {
            dir: dir.path().join("backup"),
            volume_size: Some(1 << 20),
        };
        let r = local.test_connectivity();
        assert!(r.ok, "{r:?}");
        assert!(r.free_bytes.is_some_and(|f| f > 0));
        assert_eq!(r.steps.len(), 4);
        assert_eq!(std::fs::read_dir(&local.dir).expect("dir").count(), 0);
        let s = local.open().expect("open");
        assert_eq!(s.max_file_size(), Some(1 << 20));
    }

    #[test]
    fn unwritable_folder_is_reported() {
        // A regular file where the folder should be: cannot be created.
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("backup");
        std::fs::write(&blocker, b"x").expect("write");
        let r = Local {
            dir: blocker,
            volume_size: None,
        }
        .test_connectivity();
        assert!(!r.ok);
        assert!(r.summary.contains("cannot be used"), "{}", r.summary);
    }
}
