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
mod smb;
mod usb;

pub use local::Local;
pub use probe::{FsInfo, probe_folder, statfs_info};
pub use smb::Smb;
pub use usb::Usb;

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
    /// The folder sets are written to. For an SMB share, a mount point of
    /// this session's own: other sessions (a backup and the console's
    /// listing, say) use the share at the same time in folders of theirs.
    fn dir(&self) -> &Path;
    /// Largest single file the file system holds, when it has a limit:
    /// sets are split into volumes below it.
    fn max_file_size(&self) -> Option<u64>;
    /// File system type as the kernel names it ("ext4", "vfat", "cifs").
    fn filesystem(&self) -> String;
    /// Asked after writing failed: whether the destination itself went
    /// away (drive pulled, server gone), in plain words. The raw error
    /// ("Input/output error", "Host is down") does not say so.
    fn gone(&self) -> Option<String> {
        None
    }
}

/// A configured place for backup sets.
pub trait Destination {
    fn kind(&self) -> appconfig::DestinationKind;
    /// Makes the destination ready (mounts it if needed).
    fn open(&self) -> Result<Box<dyn Session>, DestinationError>;
    /// Checks that sets can be written here, without writing one.
    fn test_connectivity(&self) -> ConnectivityReport;
}

/// Where the destinations live on the appliance; each path can be
/// overridden from the environment so host tests run the same code.
#[derive(Debug, Clone)]
pub struct Paths {
    /// [`appconfig::layout::backup_dir`]: `/data/backup` unless
    /// `APPLIANCE_BACKUP_DIR` moves it.
    pub local_dir: PathBuf,
    /// `APPLIANCE_SMB_MOUNT_BASE`, default `/run/smb`: each SMB session
    /// mounts the share in a private folder under it
    /// (`/run/smb/<pid>-<start>-<n>`, see [`smbmount::mountpoint`]).
    pub smb_mount_base: PathBuf,
    /// `HOTPLUGD_MOUNT_POINT`, default `/media/usb`.
    pub usb_mount_point: PathBuf,
    /// `HOTPLUGD_SOCKET`, default `/run/hotplugd.sock`.
    pub hotplug_socket: PathBuf,
    /// [`appconfig::layout::restore_dir`]: the FTP `restore` folder, where
    /// administrators drop sets to restore from.
    pub restore_dir: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            local_dir: PathBuf::from(local::LOCAL_DIR),
            smb_mount_base: PathBuf::from(smbmount::DEFAULT_MOUNT_BASE),
            usb_mount_point: PathBuf::from(control::hotplug::MOUNT_POINT),
            hotplug_socket: PathBuf::from(control::hotplug::SOCKET),
            restore_dir: PathBuf::from(RESTORE_DIR),
        }
    }
}

/// The FTP `restore` folder on the appliance.
pub const RESTORE_DIR: &str = appconfig::layout::RESTORE_DIR;

impl Paths {
    pub fn from_env() -> Paths {
        let d = Paths::default();
        let var = |name: &str, default: PathBuf| {
            std::env::var_os(name).map(PathBuf::from).unwrap_or(default)
        };
        Paths {
            local_dir: appconfig::layout::backup_dir(),
            smb_mount_base: var("APPLIANCE_SMB_MOUNT_BASE", d.smb_mount_base),
            usb_mount_point: var("HOTPLUGD_MOUNT_POINT", d.usb_mount_point),
            hotplug_socket: control::hotplug::socket_path(),
            restore_dir: appconfig::layout::restore_dir(),
        }
    }
}

/// The configured destination, as backupd and the console use it. `dns` is
/// `network.dns`, for an SMB server given by name. Paths come from
/// [`Paths::from_env`].
pub fn from_config(
    backup: &appconfig::BackupSettings,
    dns: &[std::net::Ipv4Addr],
) -> Box<dyn Destination> {
    from_config_with(backup, dns, &Paths::from_env())
}

/// [`from_config`] with explicit paths.
pub fn from_config_with(
    backup: &appconfig::BackupSettings,
    dns: &[std::net::Ipv4Addr],
    paths: &Paths,
) -> Box<dyn Destination> {
    let volume_size =
        (backup.volume_size_mib > 0).then_some(backup.volume_size_mib.saturating_mul(1 << 20));
    match backup.destination {
        appconfig::DestinationKind::Local => Box::new(Local {
            dir: paths.local_dir.clone(),
            volume_size,
        }),
        appconfig::DestinationKind::Smb => Box::new(Smb {
            mount_base: paths.smb_mount_base.clone(),
            volume_size,
            ..Smb::new(backup.smb.clone(), dns)
        }),
        appconfig::DestinationKind::Usb => Box::new(Usb {
            mount_point: paths.usb_mount_point.clone(),
            hotplug_socket: paths.hotplug_socket.clone(),
            volume_size,
            ..Usb::default()
        }),
    }
}

pub use control::backupd::Location;

/// The restore folder as a session: nothing to mount, only read.
struct FolderSession {
    dir: PathBuf,
}

impl Session for FolderSession {
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn max_file_size(&self) -> Option<u64> {
        None
    }
    fn filesystem(&self) -> String {
        statfs_info(&self.dir)
            .map(|i| i.filesystem)
            .unwrap_or_default()
    }
}

/// Opens a folder of sets for backupd, recover and the console alike: the
/// configured destination (mounted for as long as the session lives), the
/// FTP `restore` folder or the local folder of sets.
pub fn open_location(
    location: &Location,
    backup: &appconfig::BackupSettings,
    dns: &[std::net::Ipv4Addr],
    paths: &Paths,
) -> Result<Box<dyn Session>, DestinationError> {
    match location {
        Location::Configured => from_config_with(backup, dns, paths).open(),
        Location::RestoreFolder => folder_session(&paths.restore_dir),
        Location::Local => folder_session(&paths.local_dir),
    }
}

/// A folder of sets read as it is: never made, nothing mounted.
fn folder_session(dir: &Path) -> Result<Box<dyn Session>, DestinationError> {
    if !dir.is_dir() {
        return Err(DestinationError::Folder {
            path: dir.to_path_buf(),
            reason: "is not there".into(),
        });
    }
    Ok(Box::new(FolderSession {
        dir: dir.to_path_buf(),
    }))
}
