//! A disk larger than the image: at boot the data partition, the last one,
//! grows to the end of the disk ([`gpt`]), the kernel learns its new size
//! ([`blockdev`]), and the mounted ext4 file system grows online ([`ext4`]).
//! Each step does nothing when already done, so it runs at every boot and
//! finishes what a power cut interrupted.

pub mod blockdev;
pub mod ext4;
pub mod gpt;

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GrowError {
    #[error(transparent)]
    Block(#[from] blockdev::BlockError),
    #[error("opening {0}: {1}")]
    Open(PathBuf, std::io::Error),
    #[error("the partition table of {disk}: {source}")]
    Gpt {
        disk: PathBuf,
        source: gpt::GptError,
    },
    #[error("the file system on {dev}: {source}")]
    Ext4 {
        dev: PathBuf,
        source: ext4::Ext4Error,
    },
}

/// Where to look: the appliance's defaults are `/data`, `/sys`, `/dev`.
#[derive(Debug, Clone)]
pub struct Places {
    pub data: PathBuf,
    pub sysfs: PathBuf,
    pub dev: PathBuf,
}

impl Default for Places {
    fn default() -> Self {
        Places {
            data: PathBuf::from("/data"),
            sysfs: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
        }
    }
}

/// What [`grow_data`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrowReport {
    pub disk: PathBuf,
    pub partition: PathBuf,
    pub table: gpt::Outcome,
    /// File system size in bytes before and after.
    pub fs_before: u64,
    pub fs_after: u64,
}

impl GrowReport {
    pub fn changed(&self) -> bool {
        matches!(self.table, gpt::Outcome::Grown { .. }) || self.fs_after != self.fs_before
    }
}

/// Grows the partition mounted on `places.data` and its file system to the
/// end of the disk.
pub fn grow_data(places: &Places) -> Result<GrowReport, GrowError> {
    let part = blockdev::partition_of_mount(&places.data, &places.sysfs)?;
    let disk_path = places.dev.join(&part.disk);
    let part_path = places.dev.join(&part.name);
    let mut disk = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&disk_path)
        .map_err(|e| GrowError::Open(disk_path.clone(), e))?;
    let sector = blockdev::sector_size(&disk)?;
    let table = gpt::grow_last_partition(&mut disk, sector, part.number).map_err(|source| {
        GrowError::Gpt {
            disk: disk_path.clone(),
            source,
        }
    })?;
    let (start, end) = table.range();
    let part_bytes = (end - start + 1) * sector;
    let mut part_dev = File::open(&part_path).map_err(|e| GrowError::Open(part_path.clone(), e))?;
    // The kernel keeps the size it read at boot until it is told otherwise.
    if blockdev::size_bytes(&part_dev)? != part_bytes {
        blockdev::resize_partition(&disk, part.number, start * sector, part_bytes)?;
    }
    let ext4_err = |source| GrowError::Ext4 {
        dev: part_path.clone(),
        source,
    };
    let before = ext4::geometry(&mut part_dev).map_err(ext4_err)?;
    let want = part_bytes / before.block_size;
    let mut after = before;
    if want > before.blocks {
        ext4::resize_online(&places.data, want).map_err(ext4_err)?;
        after.blocks = want;
    }
    Ok(GrowReport {
        disk: disk_path,
        partition: part_path,
        table,
        fs_before: before.bytes(),
        fs_after: after.bytes(),
    })
}
