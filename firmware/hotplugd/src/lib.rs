//! hotplugd: notices USB drives being plugged in and pulled, identifies
//! their file system and mounts FAT32 safely at `/media/usb`.
//!
//! No udevd runs on the appliance (and libudev cannot be linked
//! statically), so events come straight from the kernel's
//! `NETLINK_KOBJECT_UEVENT` broadcast, and a scan of `/sys/class/block` at
//! start-up finds drives plugged in at boot.
//!
//! - [`uevent`]: parsing one kernel message (pure, fuzzed)
//! - [`superblock`]: which file system a device holds (pure, fuzzed)
//! - [`sysfs`]: USB or not, size, vendor, model
//! - [`mount`]: safe FAT32 mount options, mount/unmount
//! - [`repair`]: fsck.fat on a drive that was left mounted, before mounting it
//! - [`drives`]: the state the events change and status reports
//! - [`daemon`]: the service's loop
//! - [`ctl`]: usbctl's commands (status, eject) over the control socket

pub mod ctl;
pub mod daemon;
pub mod drives;
pub mod mount;
pub mod netlink;
pub mod repair;
mod server;
pub mod superblock;
pub mod sysfs;
#[cfg(test)]
mod testimg;
pub mod uevent;

pub use daemon::{DaemonError, PRIVILEGES, Settings, run, run_with};
pub use drives::{Drives, Paths};
pub use mount::{KernelMounter, MountError, Mounter};
