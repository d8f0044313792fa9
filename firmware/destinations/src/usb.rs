//! A FAT32 USB drive, mounted by hotplugd at `/media/usb`. When no drive is
//! mounted, hotplugd's status says why (none plugged in, not FAT32,
//! ejected...). Sets are split into volumes below FAT32's 4 GiB limit.

use crate::{
    Connectivity, Destination, DestinationError, FAT32_MAX_FILE, Opened, Session, noted,
    statfs_info,
};
use appconfig::DestinationKind;
use control::hotplug::{Client, UsbDrive};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Usb {
    /// Where hotplugd mounts the drive.
    pub mount_point: PathBuf,
    /// hotplugd's control socket.
    pub hotplug_socket: PathBuf,
    /// Split sets into volumes of this size (below 4 GiB in any case).
    pub volume_size: Option<u64>,
    /// How long hotplugd is waited for.
    pub timeout: Duration,
}

impl Default for Usb {
    fn default() -> Self {
        Usb {
            mount_point: PathBuf::from(control::hotplug::MOUNT_POINT),
            hotplug_socket: PathBuf::from(control::hotplug::SOCKET),
            volume_size: None,
            timeout: Duration::from_secs(5),
        }
    }
}

struct UsbSession {
    dir: PathBuf,
    max: u64,
    /// The device mounted at `dir` when the session began (`/dev/sda1`).
    device: String,
}

/// How long a failed write waits for hotplugd and the kernel to finish
/// with a pulled drive before deciding it is still there.
const GONE_WAIT: Duration = Duration::from_secs(3);

impl Session for UsbSession {
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn max_file_size(&self) -> Option<u64> {
        Some(self.max)
    }
    fn filesystem(&self) -> String {
        "vfat".into()
    }
    fn gone(&self) -> Option<String> {
        let deadline = std::time::Instant::now() + GONE_WAIT;
        loop {
            let mounted = mountinfo::current(&self.dir);
            let same = mounted.is_some_and(|e| e.source == self.device);
            let node = Path::new(&self.device).exists();
            if !same || !node {
                return Some("the USB drive was removed during the backup".into());
            }
            if statfs_info(&self.dir).is_ok_and(|i| i.read_only) {
                // errors=remount-ro: the kernel stopped writing to it.
                return Some(
                    "the USB drive's file system is damaged (the kernel made it read-only); \
                     check or format the drive"
                        .into(),
                );
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Usb {
    /// The device of the FAT file system mounted at the mount point (not
    /// just the empty folder on the root file system), if one is.
    fn mounted_device(&self) -> Option<String> {
        mountinfo::current(&self.mount_point)
            .filter(|e| e.fstype == "vfat")
            .map(|e| e.source)
    }

    /// Why no drive is usable, in plain words, from hotplugd's status.
    fn why_not(&self) -> String {
        let hotplugd = Client::new(&self.hotplug_socket).with_timeout(self.timeout);
        let drives = match hotplugd.status() {
            Ok(s) => s.drives,
            Err(e) if e.is_not_running() => {
                return "no drive: the USB service (hotplugd) is not running".into();
            }
            Err(e) => return format!("no drive: cannot ask the USB service: {e}"),
        };
        if drives.is_empty() {
            return "no drive: plug in a USB drive formatted as FAT32".into();
        }
        if let Some(d) = drives.iter().find(|d| d.mounted) {
            return format!(
                "the USB drive {} is mounted at {}, not at {}",
                d.device,
                d.mount_point.as_deref().unwrap_or("?"),
                self.mount_point.display()
            );
        }
        // The first drive with a reason speaks for all.
        let d = &drives[0];
        let why = d.problem.clone().unwrap_or_else(|| "not mounted".into());
        if is_fat32(d) {
            format!("the USB drive {} cannot be used: {why}", name(d))
        } else {
            format!(
                "not FAT32: the USB drive {} holds {}; {why}",
                name(d),
                d.filesystem
            )
        }
    }
}

fn is_fat32(d: &UsbDrive) -> bool {
    d.filesystem.contains("FAT32")
}

fn name(d: &UsbDrive) -> String {
    if d.label.is_empty() {
        d.device.clone()
    } else {
        format!("{} \"{}\"", d.device, d.label)
    }
}

impl Destination for Usb {
    fn kind(&self) -> DestinationKind {
        DestinationKind::Usb
    }

    fn open(&self) -> Result<Box<dyn Session>, DestinationError> {
        let Some(device) = self.mounted_device() else {
            return Err(DestinationError::Other(self.why_not()));
        };
        let info = statfs_info(&self.mount_point).map_err(|e| DestinationError::Folder {
            path: self.mount_point.clone(),
            reason: e.desc().to_string(),
        })?;
        if info.read_only {
            // errors=remount-ro: the kernel found the file system damaged.
            return Err(DestinationError::ReadOnly);
        }
        Ok(Box::new(UsbSession {
            dir: self.mount_point.clone(),
            max: crate::split_size(self.volume_size, Some(FAT32_MAX_FILE))
                .unwrap_or(FAT32_MAX_FILE),
            device,
        }))
    }

    fn test_connectivity_then(&self, while_open: &mut dyn FnMut(&Path)) -> Connectivity {
        let open = |steps: &mut Vec<crate::Step>| {
            let step = "find the mounted USB drive".to_string();
            let session = noted(steps, step, self.open(), |_| {
                Some(self.mount_point.display().to_string())
            })?;
            Ok(Opened {
                session,
                filesystem: "vfat (FAT32)".into(),
                dialect: None,
                ready: "The USB drive is ready".into(),
            })
        };
        crate::test_connectivity(DestinationKind::Usb, open, while_open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotplugd::{Mounter, Paths, Settings, sysfs::Sysfs};
    use std::os::unix::fs::symlink;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    /// Never mounts: this sandbox's kernel has no vfat.
    struct NoMount;
    impl Mounter for NoMount {
        fn mount_fat(&mut self, _: &Path, _: &Path) -> Result<(), hotplugd::MountError> {
            Err(hotplugd::MountError::NoVfat)
        }
        fn unmount(&mut self, _: &Path) -> Result<(), hotplugd::MountError> {
            Ok(())
        }
        fn detach(&mut self, _: &Path) -> Result<(), hotplugd::MountError> {
            Ok(())
        }
        fn repair_job(&self, _: &Path) -> hotplugd::mount::RepairJob {
            Box::new(|| hotplugd::repair::Repair::Clean)
        }
    }

    /// A USB disk `sda` in a sysfs tree, its node holding an image made by `mkfs`.
    fn usb_disk(root: &Path, dev: &Path, mkfs: &[&str]) {
        let iface = root.join("devices/pci0000:00/usb2/2-1/2-1:1.0");
        let disk = iface.join("host2/target2:0:0/2:0:0:0/block/sda");
        std::fs::create_dir_all(&disk).expect("tree");
        std::fs::create_dir_all(root.join("bus/usb")).expect("bus");
        std::fs::create_dir_all(root.join("class/block")).expect("class");
        symlink(root.join("bus/usb"), iface.join("subsystem")).expect("link");
        std::fs::write(disk.join("size"), "131072\n").expect("size");
        symlink(&disk, root.join("class/block/sda")).expect("link");
        let img = dev.join("sda");
        std::fs::File::create(&img)
            .and_then(|f| f.set_len(64 << 20))
            .expect("image");
        let ok = Command::new(mkfs[0])
            .args(&mkfs[1..])
            .arg(&img)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mkfs");
        assert!(ok.success());
    }

    /// Starts the real hotplugd service code (on a thread, for the life of
    /// the test process) over a sysfs tree with the given drive, if any.
    fn hotplugd(dir: &Path, mkfs: Option<&[&str]>) -> Usb {
        let (sys, dev) = (dir.join("sys"), dir.join("dev"));
        std::fs::create_dir_all(sys.join("class/block")).expect("sys");
        std::fs::create_dir_all(&dev).expect("dev");
        if let Some(m) = mkfs {
            usb_disk(&sys, &dev, m);
        }
        let socket = dir.join("hotplugd.sock");
        let settings = Settings {
            paths: Paths {
                sysfs: Sysfs::new(sys),
                dev_dir: dev,
                mount_point: dir.join("media/usb"),
                own_disks: Vec::new(),
            },
            socket: socket.clone(),
        };
        std::thread::spawn(move || hotplugd::run_with(settings, NoMount));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "hotplugd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Usb {
            mount_point: dir.join("media/usb"),
            hotplug_socket: socket,
            ..Usb::default()
        }
    }

    /// A session whose drive is no longer mounted says so at once.
    #[test]
    fn pulled_drive_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = UsbSession {
            dir: dir.path().to_path_buf(),
            max: FAT32_MAX_FILE,
            device: "/dev/sdz9".into(),
        };
        assert_eq!(
            s.gone().as_deref(),
            Some("the USB drive was removed during the backup")
        );
    }

    #[test]
    fn hotplugd_not_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let usb = Usb {
            mount_point: dir.path().join("usb"),
            hotplug_socket: dir.path().join("hotplugd.sock"),
            ..Usb::default()
        };
        let r = usb.test_connectivity();
        assert!(!r.ok);
        assert_eq!(
            r.summary,
            "no drive: the USB service (hotplugd) is not running"
        );
    }

    #[test]
    fn no_drive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = hotplugd(dir.path(), None).test_connectivity();
        assert!(!r.ok);
        assert_eq!(
            r.summary,
            "no drive: plug in a USB drive formatted as FAT32"
        );
        assert_eq!(r.steps.len(), 1);
    }

    #[test]
    fn not_fat32() {
        let dir = tempfile::tempdir().expect("tempdir");
        let usb = hotplugd(dir.path(), Some(&["mkfs.exfat", "-L", "PHOTOS"]));
        let r = usb.test_connectivity();
        assert!(!r.ok);
        assert_eq!(
            r.summary,
            "not FAT32: the USB drive sda holds exfat; exFAT is not supported, format the drive as FAT32"
        );
        assert!(usb.open().is_err());
    }

    #[test]
    fn fat32_that_cannot_be_mounted_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let usb = hotplugd(
            dir.path(),
            Some(&["mkfs.vfat", "-F", "32", "-n", "NIGHTLY"]),
        );
        let r = usb.test_connectivity();
        assert!(!r.ok);
        assert_eq!(
            r.summary,
            "the USB drive sda \"NIGHTLY\" cannot be used: cannot mount: \
             the kernel cannot mount FAT file systems (vfat support is missing)"
        );
    }
}
