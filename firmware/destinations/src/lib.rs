//! Backup destinations.
//!
//! A destination is opened into a [`Session`]: a folder that is ready to
//! receive sets (mounted if needed) together with the limits of its file
//! system. The session unmounts, if it mounted anything, when dropped.
//! [`Destination::test_connectivity`] is Sendio's "Test Connectivity": it
//! opens the destination, writes, reads back and deletes a probe file, and
//! reports free space and file system in plain words, as a [`Connectivity`]
//! of this crate's own (backupd turns it into the control protocol's
//! answer).

mod local;
mod probe;
mod smb;
mod usb;

pub use local::Local;
pub use probe::{FsInfo, probe_folder, statfs_info};
pub use smb::Smb;
pub use usb::Usb;

use appconfig::DestinationKind;
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
    /// The size sets are split into, if they are: the configured volume
    /// size, below the largest file the file system holds. The one place
    /// it is worked out (backupd writes with it as it is).
    fn max_file_size(&self) -> Option<u64>;
    /// File system type as the kernel names it ("ext4", "vfat", "cifs").
    fn filesystem(&self) -> String;
    /// Asked after writing failed: whether the destination itself went
    /// away (drive pulled, server gone), in plain words. The raw error
    /// ("Input/output error", "Host is down") does not say so.
    fn gone(&self) -> Option<String> {
        None
    }
    /// A watch on the destination for the length of a backup, where a
    /// writer can be left waiting on it (an SMB share whose server is
    /// gone); `None` where writes fail by themselves (a local disk, a
    /// pulled USB drive). Dropped before the session is closed.
    fn watch(&self) -> Option<Box<dyn Watch + '_>> {
        None
    }
    /// Ends the session now, where ending it is a step that can fail (an
    /// SMB share's unmount): that step's name and outcome. Dropping the
    /// session ends it too, without telling.
    fn close(self: Box<Self>) -> Option<(String, Result<(), String>)> {
        None
    }
}

/// What backupd's stall watch asks of a session (see [`Session::watch`]).
pub trait Watch: Send + Sync {
    /// Whether the destination is gone now, in plain words (asks it).
    fn gone(&self) -> Option<String>;
    /// Makes every write still queued for the destination, and every later
    /// one, fail at once, so that a writer waiting on it returns.
    fn cut_off(&self) -> Result<(), String>;
}

/// One step of Test Connectivity and its outcome: `ok`, `ok (detail)` or
/// `failed: why`.
pub type Step = (String, String);

/// The result of Test Connectivity: what was checked, and the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connectivity {
    pub destination: DestinationKind,
    pub ok: bool,
    /// In plain words: what is ready, or what went wrong.
    pub summary: String,
    /// The steps taken, in order.
    pub steps: Vec<Step>,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub filesystem: Option<String>,
    /// SMB dialect negotiated, e.g. "3.1.1".
    pub dialect: Option<String>,
}

/// A destination opened for Test Connectivity, with what the report says
/// of it.
pub(crate) struct Opened {
    pub session: Box<dyn Session>,
    pub filesystem: String,
    pub dialect: Option<String>,
    /// The summary when every step passes.
    pub ready: String,
}

/// A configured place for backup sets.
pub trait Destination {
    fn kind(&self) -> DestinationKind;
    /// Makes the destination ready (mounts it if needed).
    fn open(&self) -> Result<Box<dyn Session>, DestinationError>;
    /// Checks that sets can be written here, without writing one.
    fn test_connectivity(&self) -> Connectivity {
        self.test_connectivity_then(&mut |_| {})
    }
    /// [`Destination::test_connectivity`] that, once the probe passed,
    /// hands the open folder to `while_open` before the destination is
    /// closed: backupd lists the sets there, on the same mount.
    fn test_connectivity_then(&self, while_open: &mut dyn FnMut(&Path)) -> Connectivity;
}

/// Test Connectivity, the same for every destination: `open` opens it
/// noting each step; then a probe file is written, read back and deleted,
/// the free space read, `while_open` run (if the probe passed) and the
/// session closed.
pub(crate) fn test_connectivity(
    destination: DestinationKind,
    open: impl FnOnce(&mut Vec<Step>) -> Result<Opened, String>,
    while_open: &mut dyn FnMut(&Path),
) -> Connectivity {
    let mut c = Connectivity {
        destination,
        ok: false,
        summary: String::new(),
        steps: Vec::new(),
        free_bytes: None,
        total_bytes: None,
        filesystem: None,
        dialect: None,
    };
    let opened = match open(&mut c.steps) {
        Ok(o) => o,
        Err(why) => {
            c.summary = why;
            return c;
        }
    };
    c.filesystem = Some(opened.filesystem);
    c.dialect = opened.dialect;
    let dir = opened.session.dir().to_path_buf();
    let (steps, verdict) = probe_folder(&dir);
    c.steps.extend(steps);
    if let Ok(info) = statfs_info(&dir) {
        c.free_bytes = Some(info.free_bytes);
        c.total_bytes = Some(info.total_bytes);
    }
    if verdict.is_ok() {
        while_open(&dir);
    }
    let closed = match opened.session.close() {
        Some((step, outcome)) => {
            let text = match &outcome {
                Ok(()) => "ok".into(),
                Err(why) => format!("failed: {why}"),
            };
            c.steps.push((step, text));
            outcome
        }
        None => Ok(()),
    };
    match verdict.and(closed) {
        Ok(()) => {
            c.ok = true;
            c.summary = opened.ready;
        }
        Err(why) => c.summary = why,
    }
    c
}

/// Notes a step of opening for Test Connectivity, `ok`, `ok (detail)` or
/// `failed: why`, and passes its result on with the error in words.
pub(crate) fn noted<T, E: std::fmt::Display>(
    steps: &mut Vec<Step>,
    step: String,
    result: Result<T, E>,
    detail: impl FnOnce(&T) -> Option<String>,
) -> Result<T, String> {
    match result {
        Ok(t) => {
            let outcome = detail(&t).map_or_else(|| "ok".into(), |d| format!("ok ({d})"));
            steps.push((step, outcome));
            Ok(t)
        }
        Err(e) => Err(failed(steps, step, e)),
    }
}

/// Notes a failed step (`failed: why`) and gives the why.
pub(crate) fn failed(steps: &mut Vec<Step>, step: String, e: impl std::fmt::Display) -> String {
    let why = e.to_string();
    steps.push((step, format!("failed: {why}")));
    why
}

/// The size sets are split into: the configured volume size, kept below
/// the file system's largest file where it has one.
pub(crate) fn split_size(volume_size: Option<u64>, fs_limit: Option<u64>) -> Option<u64> {
    match (volume_size, fs_limit) {
        (Some(v), Some(l)) => Some(v.min(l)),
        (v, l) => v.or(l),
    }
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

/// The configured destination in a few words: "local folder", "USB
/// drive" or the share's `\\server\share`.
pub fn describe(backup: &appconfig::BackupSettings) -> String {
    match backup.destination {
        DestinationKind::Local => "local folder".into(),
        DestinationKind::Usb => "USB drive".into(),
        DestinationKind::Smb => format!("\\\\{}\\{}", backup.smb.host, backup.smb.share),
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
    let volume_size = backup.volume_size();
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
