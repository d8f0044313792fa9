//! Mounting a FAT32 drive with safe options, flushing and unmounting it.

use crate::repair::{FSCK_FAT, FSCK_LIMIT, Repair, repair_fat};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use std::path::Path;

/// File-system options: write through at close (`flush`) so a pulled drive
/// loses least, UTF-8 names, files private to root, and read-only instead
/// of further damage when the kernel finds the file system inconsistent.
/// `utf8` leaves the I/O charset at the kernel's default (`nls_ascii` on
/// Debian kernels, plus `nls_cp437` for the short-name code page).
pub const FAT_OPTIONS: &str = "flush,utf8,shortname=mixed,umask=0077,errors=remount-ro";

/// Mount flags: nothing on a drive from outside may act as a device,
/// gain privileges or run.
pub fn fat_flags() -> MsFlags {
    MsFlags::MS_NODEV | MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NOATIME
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MountError {
    #[error("the drive is in use (a backup may be writing to it); try again when it has finished")]
    Busy,
    #[error("the kernel cannot mount FAT file systems (vfat support is missing)")]
    NoVfat,
    #[error("{0}")]
    Failed(String),
}

impl MountError {
    fn from_errno(what: &str, e: Errno) -> MountError {
        match e {
            Errno::EBUSY => MountError::Busy,
            Errno::ENODEV => MountError::NoVfat,
            Errno::EINVAL if what == "mount" => MountError::Failed(
                "the kernel refused the FAT file system (damaged, or an option is not supported)"
                    .into(),
            ),
            e => MountError::Failed(format!("{what} failed: {}", e.desc())),
        }
    }
}

/// What hotplugd does to file systems; the kernel in the service, a
/// recording stand-in in host tests (this sandbox's kernel has no vfat).
pub trait Mounter: Send {
    /// Mounts the FAT32 file system on `device` at `target`.
    fn mount_fat(&mut self, device: &Path, target: &Path) -> Result<(), MountError>;
    /// Writes everything out and unmounts; fails with [`MountError::Busy`]
    /// while files are open.
    fn unmount(&mut self, target: &Path) -> Result<(), MountError>;
    /// Detaches at once (the drive is already gone); open files see errors.
    fn detach(&mut self, target: &Path) -> Result<(), MountError>;
    /// The check and repair of the FAT file system on `device` (not
    /// mounted), which was left mounted last time (see [`crate::repair`]),
    /// to be run on a thread of its own: it may take up to its time limit.
    fn repair_job(&self, device: &Path) -> RepairJob;
}

/// A check of one drive, run away from the service's loop.
pub type RepairJob = Box<dyn FnOnce() -> Repair + Send>;

/// The real thing: mount(2) and umount2(2).
#[derive(Debug, Default)]
pub struct KernelMounter;

impl Mounter for KernelMounter {
    fn mount_fat(&mut self, device: &Path, target: &Path) -> Result<(), MountError> {
        std::fs::create_dir_all(target)
            .map_err(|e| MountError::Failed(format!("cannot create {}: {e}", target.display())))?;
        nix::mount::mount(
            Some(device),
            target,
            Some("vfat"),
            fat_flags(),
            Some(FAT_OPTIONS),
        )
        .map_err(|e| MountError::from_errno("mount", e))
    }

    fn unmount(&mut self, target: &Path) -> Result<(), MountError> {
        // syncfs first so a failure to write shows here, not as a silent
        // loss after the drive is pulled.
        let dir = std::fs::File::open(target)
            .map_err(|e| MountError::Failed(format!("cannot open {}: {e}", target.display())))?;
        nix::unistd::syncfs(&dir).map_err(|e| MountError::from_errno("flushing the drive", e))?;
        drop(dir);
        nix::mount::umount2(target, MntFlags::empty())
            .map_err(|e| MountError::from_errno("unmount", e))
    }

    fn detach(&mut self, target: &Path) -> Result<(), MountError> {
        match nix::mount::umount2(target, MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(MountError::from_errno("unmount", e)),
        }
    }

    fn repair_job(&self, device: &Path) -> RepairJob {
        let device = device.to_path_buf();
        Box::new(move || repair_fat(Path::new(FSCK_FAT), &device, FSCK_LIMIT))
    }
}

/// The device mounted at `target` according to a `/proc/self/mountinfo`
/// text, if any (the last mount there wins, as the kernel stacks them).
pub fn mounted_source(mountinfo: &str, target: &Path) -> Option<String> {
    mountinfo::mount_entry(mountinfo, target).map(|e| e.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_the_safe_ones() {
        for opt in ["flush", "utf8", "umask=0077", "errors=remount-ro"] {
            assert!(FAT_OPTIONS.split(',').any(|o| o == opt), "{opt}");
        }
        let f = fat_flags();
        assert!(f.contains(MsFlags::MS_NODEV | MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC));
    }

    #[test]
    fn errno_words() {
        assert_eq!(
            MountError::from_errno("unmount", Errno::EBUSY),
            MountError::Busy
        );
        assert_eq!(
            MountError::from_errno("mount", Errno::ENODEV),
            MountError::NoVfat
        );
    }
}
