//! What sysfs says about a block device: disk or partition, on USB or not,
//! size, vendor and model. The root (`/sys`) is a parameter so host tests
//! run the same code over a tree they build.

use std::io;
use std::path::{Path, PathBuf};

/// A block device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Kernel name (`sda1`).
    pub name: String,
    /// The device's directory, symlinks resolved.
    pub dir: PathBuf,
    pub partition: bool,
    /// The whole disk holding it (itself for a disk).
    pub disk: String,
    /// Attached through USB (some ancestor is a USB device).
    pub usb: bool,
    pub size_bytes: u64,
    pub vendor: String,
    pub model: String,
    /// For a disk: partitions exist under it.
    pub has_partitions: bool,
}

/// A sysfs tree.
#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new("/sys")
    }
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Kernel names of every block device, sorted so disks come before
    /// their partitions (`sda` < `sda1`).
    pub fn block_devices(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.root.join("class/block"))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if crate::uevent::safe_devname(&name) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Describes the device `name`; an error when it is gone.
    pub fn info(&self, name: &str) -> io::Result<BlockInfo> {
        if !crate::uevent::safe_devname(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a block device name"),
            ));
        }
        let dir = std::fs::canonicalize(self.root.join("class/block").join(name))?;
        let partition = dir.join("partition").exists();
        let disk_dir = if partition {
            dir.parent().map(Path::to_path_buf).unwrap_or(dir.clone())
        } else {
            dir.clone()
        };
        let disk = disk_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        let sectors: u64 = read_trimmed(&dir.join("size")).parse().unwrap_or(0);
        let has_partitions = !partition && has_partitions(&dir, name);
        Ok(BlockInfo {
            name: name.to_string(),
            usb: self.on_usb(&dir),
            partition,
            disk,
            // sysfs counts 512-byte sectors whatever the device's sector size.
            size_bytes: sectors.saturating_mul(512),
            vendor: read_trimmed(&disk_dir.join("device/vendor")),
            model: read_trimmed(&disk_dir.join("device/model")),
            has_partitions,
            dir,
        })
    }

    /// The disk that holds the block device numbered `major:minor` (as
    /// `/proc/self/mountinfo` gives it), through `dev/block/<major:minor>`.
    pub fn disk_of_devnum(&self, devnum: &str) -> Option<String> {
        let dir = std::fs::canonicalize(self.root.join("dev/block").join(devnum)).ok()?;
        let disk_dir = if dir.join("partition").exists() {
            dir.parent()?.to_path_buf()
        } else {
            dir
        };
        disk_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    }

    /// The disks holding the file systems mounted at `mount_points`
    /// (the appliance's root and `/data`), from a mountinfo text.
    pub fn disks_under(&self, mountinfo: &str, mount_points: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in mountinfo.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            // id parent major:minor root mount-point ...
            let (Some(devnum), Some(at)) = (f.get(2), f.get(4)) else {
                continue;
            };
            if mount_points.contains(at)
                && let Some(d) = self.disk_of_devnum(devnum)
                && !out.contains(&d)
            {
                out.push(d);
            }
        }
        out
    }

    /// Walks up from the device's directory looking for a device whose
    /// subsystem is `usb` (the USB interface or device the disk hangs off).
    fn on_usb(&self, dir: &Path) -> bool {
        let devices = self.root.join("devices");
        let devices = std::fs::canonicalize(&devices).unwrap_or(devices);
        let mut cur = Some(dir);
        while let Some(d) = cur {
            if !d.starts_with(&devices) || d == devices {
                break;
            }
            if let Ok(target) = std::fs::read_link(d.join("subsystem"))
                && target.file_name().is_some_and(|n| n == "usb")
            {
                return true;
            }
            cur = d.parent();
        }
        false
    }
}

fn has_partitions(disk_dir: &Path, name: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(disk_dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        e.file_name().to_string_lossy().starts_with(name) && e.path().join("partition").exists()
    })
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Builds a sysfs-like tree for tests: a USB disk with partitions, or a
/// disk elsewhere, laid out as the kernel does (`class/block` symlinks into
/// `devices`, `subsystem` links, `size`, `partition`, vendor and model).
#[cfg(test)]
pub mod fake {
    use std::io;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    pub struct FakeDisk<'a> {
        pub name: &'a str,
        pub usb: bool,
        pub sectors: u64,
        pub vendor: &'a str,
        pub model: &'a str,
        /// Partitions as (number, sectors).
        pub partitions: &'a [(u32, u64)],
    }

    /// Adds a disk under `root`; returns the disk's directory.
    pub fn add_disk(root: &Path, d: &FakeDisk<'_>) -> io::Result<PathBuf> {
        let bus = root.join("bus");
        std::fs::create_dir_all(bus.join("usb"))?;
        std::fs::create_dir_all(bus.join("scsi"))?;
        std::fs::create_dir_all(root.join("class/block"))?;
        let host = if d.usb {
            let usbdev = root.join(format!(
                "devices/pci0000:00/0000:00:04.0/usb2/2-1-{}",
                d.name
            ));
            let iface = usbdev.join("2-1:1.0");
            std::fs::create_dir_all(&iface)?;
            let _ = symlink(bus.join("usb"), usbdev.join("subsystem"));
            let _ = symlink(bus.join("usb"), iface.join("subsystem"));
            iface.join("host2/target2:0:0")
        } else {
            root.join(format!(
                "devices/pci0000:00/0000:00:1f.2/ata1-{}/host0/target0:0:0",
                d.name
            ))
        };
        let scsi = host.join("0:0:0:0");
        std::fs::create_dir_all(&scsi)?;
        let _ = symlink(bus.join("scsi"), scsi.join("subsystem"));
        std::fs::write(scsi.join("vendor"), format!("{:<8}\n", d.vendor))?;
        std::fs::write(scsi.join("model"), format!("{:<16}\n", d.model))?;
        let disk = scsi.join("block").join(d.name);
        std::fs::create_dir_all(&disk)?;
        let _ = symlink(&scsi, disk.join("device"));
        std::fs::write(disk.join("size"), format!("{}\n", d.sectors))?;
        symlink(&disk, root.join("class/block").join(d.name))?;
        for (n, sectors) in d.partitions {
            let pname = format!("{}{n}", d.name);
            let p = disk.join(&pname);
            std::fs::create_dir_all(&p)?;
            std::fs::write(p.join("partition"), format!("{n}\n"))?;
            std::fs::write(p.join("size"), format!("{sectors}\n"))?;
            symlink(&p, root.join("class/block").join(&pname))?;
        }
        Ok(disk)
    }

    /// Removes a disk and its partitions, as unplugging does.
    pub fn remove_disk(root: &Path, name: &str) -> io::Result<()> {
        let link = root.join("class/block").join(name);
        let dir = std::fs::canonicalize(&link)?;
        for e in std::fs::read_dir(root.join("class/block"))? {
            let e = e?;
            match std::fs::canonicalize(e.path()) {
                Ok(target) if !target.starts_with(&dir) => {}
                _ => std::fs::remove_file(e.path())?,
            }
        }
        std::fs::remove_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::fake::*;
    use super::*;

    #[test]
    fn usb_disk_and_partitions() {
        let root = tempfile::tempdir().expect("tempdir");
        add_disk(
            root.path(),
            &FakeDisk {
                name: "sda",
                usb: true,
                sectors: 2048 * 64,
                vendor: "SanDisk",
                model: "Cruzer Blade",
                partitions: &[(1, 2048 * 63)],
            },
        )
        .expect("disk");
        add_disk(
            root.path(),
            &FakeDisk {
                name: "vda",
                usb: false,
                sectors: 100,
                vendor: "ATA",
                model: "QEMU",
                partitions: &[],
            },
        )
        .expect("disk");
        let sys = Sysfs::new(root.path());
        assert_eq!(sys.block_devices().expect("list"), ["sda", "sda1", "vda"]);
        let sda = sys.info("sda").expect("sda");
        assert!(sda.usb && !sda.partition && sda.has_partitions);
        assert_eq!(sda.size_bytes, 64 << 20);
        assert_eq!(sda.vendor, "SanDisk");
        assert_eq!(sda.model, "Cruzer Blade");
        let p = sys.info("sda1").expect("sda1");
        assert!(p.usb && p.partition && !p.has_partitions);
        assert_eq!(p.disk, "sda");
        assert_eq!(p.vendor, "SanDisk");
        let v = sys.info("vda").expect("vda");
        assert!(!v.usb && !v.has_partitions);
        assert!(sys.info("../x").is_err());
        // The disks under mount points, through dev/block/<major:minor>.
        std::fs::create_dir_all(root.path().join("dev/block")).expect("dev/block");
        let link = |num: &str, name: &str| {
            let target =
                std::fs::canonicalize(root.path().join("class/block").join(name)).expect("device");
            std::os::unix::fs::symlink(target, root.path().join("dev/block").join(num))
                .expect("link");
        };
        link("8:1", "sda1");
        link("254:0", "vda");
        let mountinfo = "22 1 8:1 / / ro,relatime - squashfs /dev/sda1 ro\n\
                         30 22 254:0 / /data rw - ext4 /dev/vda rw\n\
                         31 22 0:5 / /dev rw - devtmpfs devtmpfs rw\n";
        assert_eq!(sys.disks_under(mountinfo, &["/", "/data"]), ["sda", "vda"]);
        assert_eq!(sys.disks_under(mountinfo, &["/data"]), ["vda"]);
        remove_disk(root.path(), "sda").expect("remove");
        assert_eq!(sys.block_devices().expect("list"), ["vda"]);
        assert!(sys.info("sda1").is_err());
    }

    /// The machine's own sysfs: whatever is there must be described without
    /// error, and virtual devices (loop, ram) are never taken for USB.
    #[test]
    fn real_sysfs_is_readable() {
        let sys = Sysfs::default();
        for name in sys.block_devices().expect("/sys/class/block") {
            let info = sys.info(&name).expect("info");
            if name.starts_with("loop") || name.starts_with("ram") {
                assert!(!info.usb, "{name} is not on USB");
            }
        }
    }
}
