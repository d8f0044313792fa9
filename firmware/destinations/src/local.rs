use crate::{Connectivity, Destination, DestinationError, Opened, Session, noted, statfs_info};
use appconfig::DestinationKind;
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
        let max = crate::split_size(self.volume_size, fs_limit);
        Ok(Box::new(LocalSession {
            dir: self.dir.clone(),
            max,
            fs: info.filesystem,
        }))
    }

    fn test_connectivity_then(&self, while_open: &mut dyn FnMut(&Path)) -> Connectivity {
        let open = |steps: &mut Vec<crate::Step>| {
            let session = noted(steps, "open the backup folder".into(), self.open(), |s| {
                Some(s.dir().display().to_string())
            })?;
            Ok(Opened {
                filesystem: session.filesystem(),
                session,
                dialect: None,
                ready: "The local backup folder is ready".into(),
            })
        };
        crate::test_connectivity(DestinationKind::Local, open, while_open)
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

    /// What runs while the destination is open sees the folder tested,
    /// after the probe; a failed probe runs nothing.
    #[test]
    fn the_open_folder_is_handed_on_after_a_good_probe() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = Local {
            dir: dir.path().join("backup"),
            volume_size: None,
        };
        std::fs::create_dir_all(&local.dir).expect("mkdir");
        std::fs::write(local.dir.join("mx1-F20261204T010000Z.tar"), b"set").expect("set");
        let mut seen = Vec::new();
        let r = local.test_connectivity_then(&mut |d| {
            seen = std::fs::read_dir(d)
                .expect("open folder")
                .map(|e| e.expect("entry").file_name())
                .collect();
        });
        assert!(r.ok, "{r:?}");
        assert_eq!(
            seen,
            ["mx1-F20261204T010000Z.tar"],
            "the probe file is gone"
        );
        assert_eq!(r.summary, "The local backup folder is ready");
        assert_eq!(
            r.steps[0],
            (
                "open the backup folder".to_string(),
                format!("ok ({})", local.dir.display())
            )
        );

        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").expect("write");
        let mut ran = false;
        let r = Local {
            dir: blocker,
            volume_size: None,
        }
        .test_connectivity_then(&mut |_| ran = true);
        assert!(!r.ok && !ran, "{r:?}");
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
