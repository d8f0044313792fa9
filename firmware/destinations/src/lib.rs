//! Backup destinations.
//!
//! A destination is opened into a [`Session`]: a folder that is ready to
//! receive sets (mounted if needed) together with the limits of its file
//! system. The session unmounts, if it mounted anything, when dropped.
//! [`Destination::test_connectivity`] is Sendio's "Test Connectivity": it
//! opens the destination, writes, reads back and deletes a probe file, and
//! reports free space and file system in plain words.

mod local;
mod probe;

pub use local::Local;
pub use probe::{FsInfo, probe_folder, statfs_info};

use control::backupd::ConnectivityReport;
use std::path::{Path, PathBuf};

/// Largest file FAT32 can hold (4 GiB - 1).
pub const FAT32_MAX_FILE: u64 = (4 << 30) - 1;

/// Why a destination could not be used, in words an administrator acts on.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("the backup folder {path} cannot be used: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("the destination is read-only")]
    ReadOnly,
    #[error("the destination is full ({free} bytes free)")]
    Full { free: u64 },
    #[error("{0}")]
    Other(String),
}

/// A destination opened for use.
pub trait Session {
    /// The folder sets are written to.
    fn dir(&self) -> &Path;
    /// Largest single file the file system holds, when it has a limit:
    /// sets are split into volumes below it.
    fn max_file_size(&self) -> Option<u64>;
    /// File system type as the kernel names it ("ext4", "vfat", "cifs").
    fn filesystem(&self) -> String;
}

/// A configured place for backup sets.
pub trait Destination {
    fn kind(&self) -> appconfig::DestinationKind;
    /// Makes the destination ready (mounts it if needed).
    fn open(&self) -> Result<Box<dyn Session>, DestinationError>;
    /// Checks that sets can be written here, without writing one.
    fn test_connectivity(&self) -> ConnectivityReport;
}
