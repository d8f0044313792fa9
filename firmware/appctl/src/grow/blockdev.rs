//! Block devices: which partition of which disk holds a mounted folder
//! (from sysfs), and the ioctls that size a device and tell the kernel a
//! partition grew.

use nix::libc::{c_char, c_int, c_void};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A partition and the disk it is on, as sysfs names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Kernel name of the partition (`vda5`).
    pub name: String,
    /// Its number in the partition table (1-based).
    pub number: u32,
    /// Kernel name of the whole disk (`vda`).
    pub disk: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("{0} is not a mounted file system of its own")]
    NotMounted(PathBuf),
    #[error("reading {0}: {1}")]
    Io(PathBuf, io::Error),
    #[error("device {0} is not a partition of a disk")]
    NotPartition(String),
    #[error("{0}: {1}")]
    Ioctl(&'static str, nix::Error),
}

/// The partition whose file system is mounted on `folder`: the folder's
/// device number, looked up in `sysfs` (`/sys`).
pub fn partition_of_mount(folder: &Path, sysfs: &Path) -> Result<Partition, BlockError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e: nix::Error| BlockError::Io(p, io::Error::from(e))
    };
    let st = nix::sys::stat::stat(folder).map_err(io_err(folder))?;
    let parent = folder.join("..");
    let up = nix::sys::stat::stat(&parent).map_err(io_err(&parent))?;
    if st.st_dev == up.st_dev {
        return Err(BlockError::NotMounted(folder.to_path_buf()));
    }
    let (major, minor) = (
        nix::sys::stat::major(st.st_dev),
        nix::sys::stat::minor(st.st_dev),
    );
    partition_by_number(sysfs, major, minor)
}

/// The partition with device number `major:minor`, from
/// `<sysfs>/dev/block/<major>:<minor>` (a link into the device tree, where
/// a partition's folder lies inside its disk's).
pub fn partition_by_number(sysfs: &Path, major: u64, minor: u64) -> Result<Partition, BlockError> {
    let link = sysfs.join(format!("dev/block/{major}:{minor}"));
    let dir = link
        .canonicalize()
        .map_err(|e| BlockError::Io(link.clone(), e))?;
    let name = file_name(&dir);
    let number_path = dir.join("partition");
    let number = match std::fs::read_to_string(&number_path) {
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .map_err(|_| BlockError::NotPartition(name.clone()))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BlockError::NotPartition(name));
        }
        Err(e) => return Err(BlockError::Io(number_path, e)),
    };
    let disk = dir
        .parent()
        .map(file_name)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| BlockError::NotPartition(name.clone()))?;
    Ok(Partition { name, number, disk })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

mod ioctl {
    use super::*;
    nix::ioctl_read!(blkgetsize64, 0x12, 114, u64);
    nix::ioctl_write_ptr_bad!(blkpg, nix::request_code_none!(0x12, 105), BlkpgIoctlArg);
    nix::ioctl_read_bad!(blksszget, nix::request_code_none!(0x12, 104), c_int);

    /// `struct blkpg_ioctl_arg` (linux/blkpg.h).
    #[repr(C)]
    pub struct BlkpgIoctlArg {
        pub op: c_int,
        pub flags: c_int,
        pub datalen: c_int,
        pub data: *mut c_void,
    }

    /// `struct blkpg_partition` (linux/blkpg.h); start and length in bytes.
    #[repr(C)]
    pub struct BlkpgPartition {
        pub start: i64,
        pub length: i64,
        pub pno: c_int,
        pub devname: [c_char; 64],
        pub volname: [c_char; 64],
    }

    pub const BLKPG_RESIZE_PARTITION: c_int = 3;
}

/// The size in bytes of a block device (or of a regular file, for tests).
pub fn size_bytes(dev: &File) -> Result<u64, BlockError> {
    let meta = dev
        .metadata()
        .map_err(|e| BlockError::Io(PathBuf::from("(device)"), e))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    let mut size = 0u64;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which is valid.
    unsafe { ioctl::blkgetsize64(dev.as_raw_fd(), &mut size) }
        .map_err(|e| BlockError::Ioctl("BLKGETSIZE64", e))?;
    Ok(size)
}

/// The logical sector size of a disk (512 for a regular file).
pub fn sector_size(dev: &File) -> Result<u64, BlockError> {
    let meta = dev
        .metadata()
        .map_err(|e| BlockError::Io(PathBuf::from("(device)"), e))?;
    if meta.is_file() {
        return Ok(512);
    }
    let mut size: c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which is valid.
    unsafe { ioctl::blksszget(dev.as_raw_fd(), &mut size) }
        .map_err(|e| BlockError::Ioctl("BLKSSZGET", e))?;
    u64::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two() && *s >= 512)
        .ok_or(BlockError::Ioctl("BLKSSZGET", nix::Error::EINVAL))
}

/// Tells the kernel that partition `number` of `disk` now spans `start`..
/// `start + length` bytes. Unlike re-reading the whole table, this works
/// while other partitions of the disk (the root file system) are in use.
pub fn resize_partition(
    disk: &File,
    number: u32,
    start: u64,
    length: u64,
) -> Result<(), BlockError> {
    let invalid = |_| BlockError::Ioctl("BLKPG", nix::Error::EINVAL);
    let mut part = ioctl::BlkpgPartition {
        start: i64::try_from(start).map_err(invalid)?,
        length: i64::try_from(length).map_err(invalid)?,
        pno: c_int::try_from(number).map_err(invalid)?,
        devname: [0; 64],
        volname: [0; 64],
    };
    let arg = ioctl::BlkpgIoctlArg {
        op: ioctl::BLKPG_RESIZE_PARTITION,
        flags: 0,
        datalen: std::mem::size_of::<ioctl::BlkpgPartition>() as c_int,
        data: (&mut part as *mut ioctl::BlkpgPartition).cast(),
    };
    // SAFETY: the argument and the partition it points to live across the
    // call; the kernel only reads them.
    unsafe { ioctl::blkpg(disk.as_raw_fd(), &arg) }.map_err(|e| BlockError::Ioctl("BLKPG", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// sysfs in miniature: a disk with two partitions and a disk without.
    fn fake_sysfs() -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("tempdir");
        let devices = root
            .path()
            .join("devices/pci0000:00/0000:00:04.0/virtio2/block");
        for dir in ["vda/vda1", "vda/vda5", "vdb"] {
            std::fs::create_dir_all(devices.join(dir)).expect("mkdir");
        }
        std::fs::write(devices.join("vda/vda1/partition"), "1\n").expect("write");
        std::fs::write(devices.join("vda/vda5/partition"), "5\n").expect("write");
        std::fs::create_dir_all(root.path().join("dev/block")).expect("mkdir");
        for (num, dir) in [("254:0", "vda"), ("254:5", "vda/vda5"), ("254:16", "vdb")] {
            symlink(devices.join(dir), root.path().join("dev/block").join(num)).expect("link");
        }
        root
    }

    #[test]
    fn finds_the_partition_and_its_disk() {
        let sys = fake_sysfs();
        assert_eq!(
            partition_by_number(sys.path(), 254, 5).expect("partition"),
            Partition {
                name: "vda5".into(),
                number: 5,
                disk: "vda".into()
            }
        );
    }

    #[test]
    fn a_whole_disk_or_unknown_device_is_refused() {
        let sys = fake_sysfs();
        assert!(matches!(
            partition_by_number(sys.path(), 254, 16),
            Err(BlockError::NotPartition(n)) if n == "vdb"
        ));
        assert!(matches!(
            partition_by_number(sys.path(), 8, 0),
            Err(BlockError::Io(..))
        ));
    }

    #[test]
    fn a_folder_that_is_not_a_mount_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sys = fake_sysfs();
        assert!(matches!(
            partition_of_mount(dir.path(), sys.path()),
            Err(BlockError::NotMounted(_))
        ));
    }

    #[test]
    fn files_have_their_length_and_512_byte_sectors() {
        let f = tempfile::tempfile().expect("temp file");
        f.set_len(3 << 20).expect("size");
        assert_eq!(size_bytes(&f).expect("size"), 3 << 20);
        assert_eq!(sector_size(&f).expect("sector"), 512);
    }
}
