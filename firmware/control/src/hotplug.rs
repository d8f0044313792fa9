//! hotplugd's requests and replies (socket [`SOCKET`]).

use crate::client::ClientError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Where hotplugd listens.
pub const SOCKET: &str = "/run/hotplugd.sock";

/// The environment variable that moves [`SOCKET`]: hotplugd, usbctl,
/// backupd and the console read the same one ([`socket_path`]).
pub const SOCKET_ENV: &str = "HOTPLUGD_SOCKET";

/// [`SOCKET`], or where [`SOCKET_ENV`] puts it.
pub fn socket_path() -> PathBuf {
    crate::client::socket_path(SOCKET, SOCKET_ENV)
}

/// Eject flushes everything still in the page cache to the drive first.
pub const EJECT_TIMEOUT: Duration = Duration::from_secs(120);

/// hotplugd's side of the protocol, for its typed [`Client`].
#[derive(Debug)]
pub enum Hotplugd {}

impl crate::client::Service for Hotplugd {
    const NAME: &'static str = "hotplugd";
    const SOCKET: &'static str = SOCKET;
    const SOCKET_ENV: &'static str = SOCKET_ENV;
    type Request = Request;
    type Reply = Reply;
}

/// hotplugd's client: one method per request, each returning its own answer.
pub type Client = crate::client::Client<Hotplugd>;

impl Client {
    pub fn status(&self) -> Result<UsbStatus, ClientError> {
        self.ask(&Request::Status, crate::DEFAULT_TIMEOUT, |r| match r {
            Reply::Status(s) => Ok(s),
            other => Err(Box::new(other)),
        })
    }

    /// Flushes and unmounts the drive; hotplugd's words that it can go.
    pub fn eject(&self) -> Result<String, ClientError> {
        self.ask(&Request::Eject, EJECT_TIMEOUT, |r| match r {
            Reply::Ejected { message } => Ok(message),
            other => Err(Box::new(other)),
        })
    }

    /// Where the drive's file system is mounted now, if one is: the folder
    /// to look for files on the drive in (hotplugd owns the mount point).
    pub fn mounted_dir(&self) -> Result<Option<PathBuf>, ClientError> {
        Ok(self.status()?.mounted_dir())
    }
}

impl UsbStatus {
    /// The mount point of the first mounted drive.
    pub fn mounted_dir(&self) -> Option<PathBuf> {
        self.drives
            .iter()
            .find(|d| d.mounted)
            .and_then(|d| d.mount_point.as_deref())
            .map(PathBuf::from)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::path::Path;

    fn serve(dir: &Path, status: UsbStatus) -> Client {
        let path = dir.join("hotplugd.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let status = status.clone();
                let _ = crate::serve_connection(
                    stream,
                    crate::DEFAULT_TIMEOUT,
                    |r: Request| match r {
                        Request::Status => Reply::Status(status.clone()),
                        Request::Eject => Reply::Status(status.clone()),
                    },
                    |message| Reply::Error { message },
                );
            }
        });
        Client::new(path)
    }

    #[test]
    fn the_mounted_drive_gives_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let drive = |device: &str, mounted: bool| UsbDrive {
            device: device.into(),
            mounted,
            mount_point: mounted.then(|| "/media/usb".into()),
            ..UsbDrive::default()
        };
        let client = serve(
            dir.path(),
            UsbStatus {
                drives: vec![drive("sdb1", false), drive("sda1", true)],
            },
        );
        assert_eq!(
            client.mounted_dir().expect("status"),
            Some(PathBuf::from("/media/usb"))
        );
        assert_eq!(UsbStatus::default().mounted_dir(), None);
        let err = client.eject().expect_err("a status is no eject");
        assert_eq!(
            err.to_string(),
            "hotplugd: unexpected answer status to request eject"
        );
    }
}
