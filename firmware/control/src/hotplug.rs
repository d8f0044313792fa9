//! hotplugd's requests and replies (socket [`SOCKET`]).

use serde::{Deserialize, Serialize};

/// Where hotplugd listens.
pub const SOCKET: &str = "/run/hotplugd.sock";

/// Where a FAT32 USB drive is mounted.
pub const MOUNT_POINT: &str = "/media/usb";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    Status,
    /// Flush and unmount the drive so it can be pulled.
    Eject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Status(UsbStatus),
    Ejected { message: String },
    Error { message: String },
}

/// What is plugged in and whether it is usable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsbStatus {
    /// Drives seen, in the order they were plugged in.
    pub drives: Vec<UsbDrive>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UsbDrive {
    /// Kernel name of the block device holding the file system (`sda1`).
    pub device: String,
    pub vendor: String,
    pub model: String,
    pub size_bytes: u64,
    /// "vfat (FAT32)", "exfat", "ntfs", "ext4", "none" ...
    pub filesystem: String,
    pub label: String,
    pub mounted: bool,
    pub mount_point: Option<String>,
    pub free_bytes: Option<u64>,
    /// Why the drive is not mounted, in plain words, when it is not.
    pub problem: Option<String>,
}
