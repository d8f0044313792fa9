//! The ext4 side: the file system's size from its superblock, and the
//! kernel's online resize (EXT4_IOC_RESIZE_FS on the mounted file system),
//! which needs no resize2fs in the image.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const SUPERBLOCK_OFFSET: u64 = 1024;
const MAGIC: u16 = 0xef53;
const INCOMPAT_64BIT: u32 = 0x80;

#[derive(Debug, thiserror::Error)]
pub enum Ext4Error {
    #[error("reading the superblock: {0}")]
    Io(#[from] io::Error),
    #[error("no ext4 file system there (magic {0:#06x})")]
    NotExt4(u16),
    #[error("the superblock gives an impossible block size (2^{0} KiB)")]
    BlockSize(u32),
    #[error("opening {0}: {1}")]
    Open(PathBuf, io::Error),
    #[error("the kernel could not resize the file system to {blocks} blocks: {source}")]
    Resize { blocks: u64, source: nix::Error },
}

/// An ext4 file system's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub blocks: u64,
    pub block_size: u64,
}

impl Geometry {
    pub fn bytes(&self) -> u64 {
        self.blocks.saturating_mul(self.block_size)
    }
}

/// Reads the block count and block size from the superblock of the file
/// system on `dev` (a partition, or an image file).
pub fn geometry(dev: &mut (impl Read + Seek)) -> Result<Geometry, Ext4Error> {
    let mut sb = [0u8; 1024];
    dev.seek(SeekFrom::Start(SUPERBLOCK_OFFSET))?;
    dev.read_exact(&mut sb)?;
    let u32_at = |at: usize| u32::from_le_bytes([sb[at], sb[at + 1], sb[at + 2], sb[at + 3]]);
    let magic = u16::from_le_bytes([sb[0x38], sb[0x39]]);
    if magic != MAGIC {
        return Err(Ext4Error::NotExt4(magic));
    }
    let log = u32_at(0x18);
    // ext4 blocks are 1 KiB to 64 KiB.
    if log > 6 {
        return Err(Ext4Error::BlockSize(log));
    }
    let mut blocks = u64::from(u32_at(0x04));
    if u32_at(0x60) & INCOMPAT_64BIT != 0 {
        blocks |= u64::from(u32_at(0x150)) << 32;
    }
    Ok(Geometry {
        blocks,
        block_size: 1024 << log,
    })
}

nix::ioctl_write_ptr!(ext4_resize_fs, b'f', 16, u64);

/// Grows the ext4 file system mounted on `mount` to `blocks` blocks while
/// it stays mounted (the kernel checks that the device is large enough).
pub fn resize_online(mount: &Path, blocks: u64) -> Result<(), Ext4Error> {
    let dir = File::open(mount).map_err(|e| Ext4Error::Open(mount.to_path_buf(), e))?;
    // SAFETY: the ioctl reads one u64 through the pointer, which is valid.
    unsafe { ext4_resize_fs(dir.as_raw_fd(), &blocks) }
        .map_err(|source| Ext4Error::Resize { blocks, source })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// mke2fs makes the file system, dumpe2fs says what it made.
    fn mkfs(args: &[&str], mib: u64) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        f.as_file().set_len(mib << 20).expect("size");
        let out = Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4"])
            .args(args)
            .arg(f.path())
            .output()
            .expect("run mke2fs (apt-get install e2fsprogs)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        f
    }

    fn dumpe2fs(path: &Path, field: &str) -> u64 {
        let out = Command::new("dumpe2fs")
            .arg("-h")
            .arg(path)
            .output()
            .expect("run dumpe2fs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {text}"))
    }

    #[test]
    fn reads_what_mke2fs_made() {
        for (args, mib) in [
            (&["-b", "4096"][..], 64),
            (&["-b", "1024", "-O", "^64bit"][..], 40),
            (&["-b", "4096", "-O", "64bit"][..], 100),
        ] {
            let f = mkfs(args, mib);
            let g = geometry(&mut f.reopen().expect("open")).expect("geometry");
            assert_eq!(g.blocks, dumpe2fs(f.path(), "Block count"), "{args:?}");
            assert_eq!(g.block_size, dumpe2fs(f.path(), "Block size"), "{args:?}");
            assert_eq!(g.bytes(), mib << 20, "{args:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let mut zeros = io::Cursor::new(vec![0u8; 4096]);
        assert!(matches!(geometry(&mut zeros), Err(Ext4Error::NotExt4(0))));
        let mut short = io::Cursor::new(vec![0u8; 1500]);
        assert!(matches!(geometry(&mut short), Err(Ext4Error::Io(_))));
        let mut odd = vec![0u8; 4096];
        odd[1024 + 0x38] = 0x53;
        odd[1024 + 0x39] = 0xef;
        odd[1024 + 0x18] = 40;
        assert!(matches!(
            geometry(&mut io::Cursor::new(odd)),
            Err(Ext4Error::BlockSize(40))
        ));
    }

    #[test]
    fn resizing_a_folder_that_is_not_ext4_fails_with_a_reason() {
        // procfs knows no such ioctl (never aim this at a real file system).
        let err = resize_online(Path::new("/proc"), 1 << 20).expect_err("not ext4");
        assert!(err.to_string().contains("could not resize"), "{err}");
    }
}
