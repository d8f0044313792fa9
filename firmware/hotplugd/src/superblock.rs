//! Which file system (or partition table) a block device holds, read from
//! its first sectors: the boot sector's BIOS parameter block for FAT, the
//! OEM name for exFAT and NTFS, the superblock magic for ext2/3/4 and the
//! others. Pure functions over a [`ReadAt`] source, so they are fuzzed on
//! plain byte slices and used on the device node unchanged.

use std::fmt;

/// Random access to the bytes of a device or image.
pub trait ReadAt {
    /// Fills as much of `buf` as exists at `offset`; returns the bytes read
    /// (short or zero past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= self.len() {
            return Ok(0);
        }
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match FileExt::read_at(self, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// The kinds of FAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatKind {
    Fat12,
    Fat16,
    Fat32,
}

/// What a device holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Fat(FatKind),
    Exfat,
    Ntfs,
    Ext2,
    Ext3,
    Ext4,
    Iso9660,
    Xfs,
    Btrfs,
    HfsPlus,
    Luks,
    /// A partition table: the file systems are in the partitions.
    Mbr,
    Gpt,
    /// The first sectors are all zero.
    Unformatted,
    Unknown,
}

impl Content {
    /// How status shows it: "vfat (FAT32)", "exfat", "ntfs", "ext4", "none"...
    pub fn name(self) -> &'static str {
        match self {
            Content::Fat(FatKind::Fat12) => "vfat (FAT12)",
            Content::Fat(FatKind::Fat16) => "vfat (FAT16)",
            Content::Fat(FatKind::Fat32) => "vfat (FAT32)",
            Content::Exfat => "exfat",
            Content::Ntfs => "ntfs",
            Content::Ext2 => "ext2",
            Content::Ext3 => "ext3",
            Content::Ext4 => "ext4",
            Content::Iso9660 => "iso9660",
            Content::Xfs => "xfs",
            Content::Btrfs => "btrfs",
            Content::HfsPlus => "hfsplus",
            Content::Luks => "crypto_LUKS",
            Content::Mbr => "partition table (MBR)",
            Content::Gpt => "partition table (GPT)",
            Content::Unformatted => "none",
            Content::Unknown => "unknown",
        }
    }

    pub fn is_partition_table(self) -> bool {
        matches!(self, Content::Mbr | Content::Gpt)
    }

    /// Why a drive with this content is not mounted, in the words the
    /// console shows; `None` for FAT32, the one file system used.
    pub fn refusal(self) -> Option<String> {
        let format = "format the drive as FAT32";
        Some(match self {
            Content::Fat(FatKind::Fat32) => return None,
            Content::Fat(FatKind::Fat12) => format!("FAT12 is not supported, {format}"),
            Content::Fat(FatKind::Fat16) => format!("FAT16 is not supported, {format}"),
            Content::Exfat => format!("exFAT is not supported, {format}"),
            Content::Ntfs => format!("NTFS is not supported, {format}"),
            Content::Ext2 | Content::Ext3 | Content::Ext4 => {
                format!("{} is not supported, {format}", self.name())
            }
            Content::Iso9660 => {
                "the drive holds a CD/DVD image (ISO 9660), not a FAT32 file system".into()
            }
            Content::Xfs | Content::Btrfs | Content::HfsPlus => {
                format!("{} is not supported, {format}", self.name())
            }
            Content::Luks => format!("the drive is encrypted (LUKS), {format}"),
            Content::Mbr | Content::Gpt => {
                format!("the drive has a partition table but no usable partition, {format}")
            }
            Content::Unformatted => format!("the drive is not formatted, {format}"),
            Content::Unknown => format!("the file system is not recognised, {format}"),
        })
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was found on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub content: Content,
    /// Volume label, trimmed; empty when there is none.
    pub label: String,
}

/// How far the detection reads at most: ISO 9660's descriptor at 32 KiB and
/// btrfs's superblock at 64 KiB are the furthest.
const HEAD: usize = 0x10000 + 0x1000;

/// Identifies what `dev` holds. Read errors are returned; a short device is
/// not an error (what is missing reads as absent).
pub fn identify<R: ReadAt + ?Sized>(dev: &R) -> std::io::Result<Identity> {
    let mut head = vec![0u8; HEAD];
    let n = dev.read_at(0, &mut head)?;
    head.truncate(n);
    if head.len() < 512 {
        return Ok(Identity {
            content: if head.iter().all(|&b| b == 0) {
                Content::Unformatted
            } else {
                Content::Unknown
            },
            label: String::new(),
        });
    }
    let plain = |content| Identity {
        content,
        label: String::new(),
    };
    let sector0 = &head[..512];
    if &sector0[3..11] == b"EXFAT   " {
        return Ok(plain(Content::Exfat));
    }
    if &sector0[3..11] == b"NTFS    " {
        return Ok(plain(Content::Ntfs));
    }
    if let Some(bpb) = Bpb::parse(sector0) {
        let label = fat_label(dev, &bpb)?;
        return Ok(Identity {
            content: Content::Fat(bpb.kind),
            label,
        });
    }
    if let Some(id) = ext(&head) {
        return Ok(id);
    }
    if at(&head, 0x8001, 5) == Some(b"CD001") {
        let label = at(&head, 0x8028, 32).map(text).unwrap_or_default();
        return Ok(Identity {
            content: Content::Iso9660,
            label,
        });
    }
    if &head[0..4] == b"XFSB" {
        let label = at(&head, 108, 12).map(text).unwrap_or_default();
        return Ok(Identity {
            content: Content::Xfs,
            label,
        });
    }
    if at(&head, 0x10040, 8) == Some(b"_BHRfS_M") {
        let label = at(&head, 0x1012b, 256).map(text).unwrap_or_default();
        return Ok(Identity {
            content: Content::Btrfs,
            label,
        });
    }
    if matches!(at(&head, 1024, 2), Some(b"H+") | Some(b"HX")) {
        return Ok(plain(Content::HfsPlus));
    }
    if &head[0..6] == b"LUKS\xba\xbe" {
        return Ok(plain(Content::Luks));
    }
    if let Some(table) = partition_table(&head) {
        return Ok(plain(table));
    }
    if head.iter().all(|&b| b == 0) {
        return Ok(plain(Content::Unformatted));
    }
    Ok(plain(Content::Unknown))
}

/// Whether a FAT file system was left mounted (pulled without an eject,
/// a power cut): Linux and Windows set bit 0 of the boot sector's state
/// byte while they have it mounted and clear it when they unmount it.
/// `false` for anything that is not FAT.
pub fn fat_unclean<R: ReadAt + ?Sized>(dev: &R) -> std::io::Result<bool> {
    let mut s = [0u8; 512];
    if dev.read_at(0, &mut s)? < s.len() {
        return Ok(false);
    }
    Ok(Bpb::parse(&s).is_some_and(|b| {
        let state = if b.kind == FatKind::Fat32 { 0x41 } else { 0x25 };
        s[state] & 1 != 0
    }))
}

fn at(buf: &[u8], offset: usize, len: usize) -> Option<&[u8]> {
    buf.get(offset..offset.checked_add(len)?)
}

fn le16(b: &[u8], o: usize) -> u16 {
    at(b, o, 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], o: usize) -> u32 {
    at(b, o, 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A label as stored: padded with spaces or NULs, in an OEM code page; kept
/// printable ASCII, other bytes as U+FFFD.
fn text(raw: &[u8]) -> String {
    let s: String = raw
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect();
    s.trim_end().to_string()
}

/// The FAT BIOS parameter block, with the FAT type decided by the count of
/// clusters as Microsoft's specification says (not by the type string,
/// which is informational).
struct Bpb {
    kind: FatKind,
    bytes_per_sector: u64,
    sectors_per_cluster: u64,
    first_data_sector: u64,
    root_dir_sector: u64,
    root_entries: u64,
    root_cluster: u32,
    bpb_label: String,
}

impl Bpb {
    fn parse(s: &[u8]) -> Option<Bpb> {
        // A FAT boot sector starts with a jump; the end signature is not
        // required (some formatters omit it).
        if !(s[0] == 0xEB && s[2] == 0x90 || s[0] == 0xE9) {
            return None;
        }
        let bytes_per_sector = le16(s, 11) as u64;
        let sectors_per_cluster = s[13] as u64;
        let reserved = le16(s, 14) as u64;
        let fats = s[16] as u64;
        let root_entries = le16(s, 17) as u64;
        let total16 = le16(s, 19) as u64;
        let media = s[21];
        let fat16_size = le16(s, 22) as u64;
        let total32 = le32(s, 32) as u64;
        let fat32_size = le32(s, 36) as u64;
        if !matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096)
            || !sectors_per_cluster.is_power_of_two()
            || reserved == 0
            || !(1..=4).contains(&fats)
            || !(media == 0xF0 || media >= 0xF8)
        {
            return None;
        }
        let fat_size = if fat16_size != 0 {
            fat16_size
        } else {
            fat32_size
        };
        let total = if total16 != 0 { total16 } else { total32 };
        if fat_size == 0 || total == 0 {
            return None;
        }
        let root_dir_sectors = (root_entries * 32).div_ceil(bytes_per_sector);
        let root_dir_sector = reserved + fats * fat_size;
        let first_data_sector = root_dir_sector + root_dir_sectors;
        let clusters = total.checked_sub(first_data_sector)? / sectors_per_cluster;
        let kind = if clusters < 4085 {
            FatKind::Fat12
        } else if clusters < 65525 {
            FatKind::Fat16
        } else {
            FatKind::Fat32
        };
        // FAT32 has no fixed root directory and keeps its FAT size in the
        // 32-bit field; a mismatch is not a usable file system.
        if kind == FatKind::Fat32 && (root_entries != 0 || fat16_size != 0) {
            return None;
        }
        let (sig_at, label_at) = if kind == FatKind::Fat32 {
            (0x42, 0x47)
        } else {
            (0x26, 0x2B)
        };
        let bpb_label = if s[sig_at] == 0x29 {
            at(s, label_at, 11).map(text).unwrap_or_default()
        } else {
            String::new()
        };
        Some(Bpb {
            kind,
            bytes_per_sector,
            sectors_per_cluster,
            first_data_sector,
            root_dir_sector,
            root_entries,
            root_cluster: le32(s, 44),
            bpb_label,
        })
    }
}

/// The volume label of a FAT file system. Windows changes only the label
/// entry in the root directory, so that entry wins over the boot sector's
/// copy; only the root directory's first cluster (or first 64 KiB) is read.
fn fat_label<R: ReadAt + ?Sized>(dev: &R, bpb: &Bpb) -> std::io::Result<String> {
    let (sector, len) = if bpb.kind == FatKind::Fat32 {
        let Some(cluster) = bpb.root_cluster.checked_sub(2) else {
            return Ok(clean_fat_label(&bpb.bpb_label));
        };
        (
            bpb.first_data_sector + cluster as u64 * bpb.sectors_per_cluster,
            bpb.sectors_per_cluster * bpb.bytes_per_sector,
        )
    } else {
        (bpb.root_dir_sector, bpb.root_entries * 32)
    };
    let len = len.min(64 << 10) as usize;
    let mut dir = vec![0u8; len];
    let Some(offset) = sector.checked_mul(bpb.bytes_per_sector) else {
        return Ok(clean_fat_label(&bpb.bpb_label));
    };
    let n = dev.read_at(offset, &mut dir)?;
    for entry in dir[..n - n % 32].chunks_exact(32) {
        match entry[0] {
            0x00 => break,
            0xE5 => continue,
            _ => {}
        }
        let attr = entry[11];
        // 0x08 is the volume label; 0x0F marks a long-name fragment.
        if attr & 0x08 != 0 && attr & 0x0F != 0x0F {
            return Ok(clean_fat_label(&text(&entry[..11])));
        }
    }
    Ok(clean_fat_label(&bpb.bpb_label))
}

fn clean_fat_label(label: &str) -> String {
    // "NO NAME" is what formatters write when there is no label.
    if label == "NO NAME" {
        String::new()
    } else {
        label.to_string()
    }
}

fn ext(head: &[u8]) -> Option<Identity> {
    let sb = at(head, 1024, 1024)?;
    if le16(sb, 0x38) != 0xEF53 {
        return None;
    }
    let compat = le32(sb, 0x5C);
    let incompat = le32(sb, 0x60);
    let ro_compat = le32(sb, 0x64);
    const HAS_JOURNAL: u32 = 0x4;
    // Features ext2/ext3 do not have: extents, 64bit, flex_bg, ...
    const EXT4_INCOMPAT: u32 = 0x40 | 0x80 | 0x200 | 0x400 | 0x1000 | 0x8000 | 0x10000;
    const EXT4_RO_COMPAT: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;
    let content = if incompat & EXT4_INCOMPAT != 0 || ro_compat & EXT4_RO_COMPAT != 0 {
        Content::Ext4
    } else if compat & HAS_JOURNAL != 0 {
        Content::Ext3
    } else {
        Content::Ext2
    };
    Some(Identity {
        content,
        label: at(sb, 0x78, 16).map(text).unwrap_or_default(),
    })
}

/// An MBR (with at least one sane entry) or a GPT (protective MBR plus the
/// "EFI PART" header at LBA 1 for 512- or 4096-byte sectors).
fn partition_table(head: &[u8]) -> Option<Content> {
    if head.get(510..512) != Some(&[0x55, 0xAA]) {
        return None;
    }
    let entries: Vec<&[u8]> = (0..4).filter_map(|i| at(head, 446 + 16 * i, 16)).collect();
    let gpt_header = [512usize, 4096]
        .iter()
        .any(|&o| at(head, o, 8) == Some(b"EFI PART"));
    if entries.iter().any(|e| e[4] == 0xEE) && gpt_header {
        return Some(Content::Gpt);
    }
    // Boot flags other than 0x00/0x80 mean these bytes are not an MBR.
    // One with no partition is still a partition table (an empty one).
    entries
        .iter()
        .all(|e| e[0] == 0x00 || e[0] == 0x80)
        .then_some(Content::Mbr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_empty_inputs() {
        let empty: &[u8] = &[];
        assert_eq!(identify(empty).expect("id").content, Content::Unformatted);
        assert_eq!(
            identify(&[1u8, 2, 3][..]).expect("id").content,
            Content::Unknown
        );
        assert_eq!(
            identify(&vec![0u8; 1 << 20][..]).expect("id").content,
            Content::Unformatted
        );
    }

    #[test]
    fn refusals_name_the_file_system() {
        assert_eq!(Content::Fat(FatKind::Fat32).refusal(), None);
        assert_eq!(
            Content::Exfat.refusal().as_deref(),
            Some("exFAT is not supported, format the drive as FAT32")
        );
        assert_eq!(
            Content::Fat(FatKind::Fat16).refusal().as_deref(),
            Some("FAT16 is not supported, format the drive as FAT32")
        );
        assert!(
            Content::Unformatted
                .refusal()
                .is_some_and(|r| r.contains("not formatted"))
        );
    }

    #[test]
    fn mbr_without_signature_is_not_a_table() {
        let mut s = vec![0u8; 4096];
        s[446] = 0x80;
        s[450] = 0x0c;
        assert_eq!(identify(&s[..]).expect("id").content, Content::Unknown);
        s[510] = 0x55;
        s[511] = 0xAA;
        assert_eq!(identify(&s[..]).expect("id").content, Content::Mbr);
        s[446] = 0x13;
        assert_eq!(identify(&s[..]).expect("id").content, Content::Unknown);
    }
}

/// The same detection on images made by the real tools.
#[cfg(test)]
mod image_tests {
    use super::*;
    use crate::testimg::{blank, fat32, mkfs, partition, run};
    use std::fs::File;
    use std::process::Command;

    fn id(path: &std::path::Path) -> Identity {
        identify(&File::open(path).expect("open image")).expect("identify")
    }

    #[test]
    fn fat_kinds_and_labels() {
        let d = tempfile::tempdir().expect("tempdir");
        let f32 = fat32(d.path(), "f32.img", "BACKUPS");
        assert_eq!(
            id(&f32),
            Identity {
                content: Content::Fat(FatKind::Fat32),
                label: "BACKUPS".into()
            }
        );
        let f16 = mkfs(
            d.path(),
            "f16.img",
            32,
            "mkfs.vfat",
            &["-F", "16", "-n", "SMALL"],
        );
        assert_eq!(id(&f16).content, Content::Fat(FatKind::Fat16));
        assert_eq!(id(&f16).label, "SMALL");
        let f12 = mkfs(d.path(), "f12.img", 4, "mkfs.vfat", &["-F", "12"]);
        assert_eq!(id(&f12).content, Content::Fat(FatKind::Fat12));
        assert_eq!(id(&f12).label, "");
    }

    /// The state byte Linux sets while it has a FAT file system mounted.
    #[test]
    fn a_fat_left_mounted_is_unclean() {
        let d = tempfile::tempdir().expect("tempdir");
        for (img, at) in [
            (fat32(d.path(), "f32.img", "DIRTY"), 0x41),
            (
                mkfs(d.path(), "f16.img", 32, "mkfs.vfat", &["-F", "16"]),
                0x25,
            ),
        ] {
            let mut bytes = std::fs::read(&img).expect("read");
            assert!(!fat_unclean(&bytes[..]).expect("read"), "fresh from mkfs");
            bytes[at] |= 1;
            assert!(fat_unclean(&bytes[..]).expect("read"), "state byte set");
        }
        assert!(!fat_unclean(&[0u8; 512][..]).expect("read"), "not FAT");
        assert!(!fat_unclean(&[0xEBu8; 100][..]).expect("read"), "short");
    }

    /// Windows renames a drive in the root directory only: that label wins.
    #[test]
    fn fat32_root_directory_label_wins() {
        let d = tempfile::tempdir().expect("tempdir");
        let img = fat32(d.path(), "f32.img", "OLDNAME");
        run(Command::new("mlabel").arg("-i").arg(&img).arg("::NEWNAME"));
        // Put the old name back into the boot sector's copy.
        let mut bytes = std::fs::read(&img).expect("read");
        bytes[0x47..0x52].copy_from_slice(b"OLDNAME    ");
        assert_eq!(identify(&bytes[..]).expect("id").label, "NEWNAME");
    }

    #[test]
    fn other_file_systems() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path();
        let cases = [
            (
                mkfs(p, "exfat.img", 64, "mkfs.exfat", &["-L", "EX"]),
                Content::Exfat,
            ),
            (
                mkfs(
                    p,
                    "ntfs.img",
                    16,
                    "mkntfs",
                    &["-F", "-Q", "-q", "-L", "WIN"],
                ),
                Content::Ntfs,
            ),
            (
                mkfs(p, "ext4.img", 16, "mkfs.ext4", &["-q", "-F", "-L", "data4"]),
                Content::Ext4,
            ),
            (
                mkfs(p, "ext3.img", 16, "mkfs.ext3", &["-q", "-F"]),
                Content::Ext3,
            ),
            (
                mkfs(p, "ext2.img", 16, "mkfs.ext2", &["-q", "-F"]),
                Content::Ext2,
            ),
            (blank(p, "zero.img", 8), Content::Unformatted),
        ];
        for (img, want) in &cases {
            assert_eq!(id(img).content, *want, "{}", img.display());
        }
        assert_eq!(id(&cases[2].0).label, "data4");
        let noise: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(identify(&noise[..]).expect("id").content, Content::Unknown);
    }

    /// A partitioned disk is a partition table, not a file system; the FAT32
    /// inside its partition is found at the partition's offset.
    #[test]
    fn partition_tables() {
        let d = tempfile::tempdir().expect("tempdir");
        let mbr = blank(d.path(), "mbr.img", 64);
        partition(&mbr, "label: dos\nstart=2048, type=c\n");
        run(Command::new("mkfs.vfat")
            .args(["-F", "32", "--offset", "2048", "-n", "INSIDE"])
            .arg(&mbr));
        assert_eq!(id(&mbr).content, Content::Mbr);
        let bytes = std::fs::read(&mbr).expect("read");
        let part = identify(&bytes[2048 * 512..]).expect("id");
        assert_eq!(part.content, Content::Fat(FatKind::Fat32));
        assert_eq!(part.label, "INSIDE");

        let gpt = blank(d.path(), "gpt.img", 16);
        partition(&gpt, "label: gpt\n,\n");
        assert_eq!(id(&gpt).content, Content::Gpt);
        let empty_mbr = blank(d.path(), "empty.img", 8);
        partition(&empty_mbr, "label: dos\n");
        assert_eq!(id(&empty_mbr).content, Content::Mbr);
    }
}
