//! The GPT edit of a disk that is larger than the image written on it: the
//! backup table moves to the disk's end and the last partition grows into
//! the free space (what `sgdisk -e` plus a resize would do), with gptman
//! reading and writing the tables and their CRCs.

use gptman::{GPT, GPTPartitionEntry};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Partitions end on a MiB boundary, as partitioning tools align them.
const ALIGN_BYTES: u64 = 1 << 20;
/// More entries than any real table has; bounds what a damaged header can
/// make us allocate.
const MAX_ENTRIES: u32 = 1024;
/// The only entry size in use (gptman reads and writes 128-byte entries).
const ENTRY_SIZE: u32 = 128;

#[derive(Debug, thiserror::Error)]
pub enum GptError {
    #[error("reading or writing the disk: {0}")]
    Io(#[from] io::Error),
    #[error("no usable GPT on the disk: {0}")]
    Table(String),
    #[error("partition {0} is not in use")]
    NoPartition(u32),
    #[error("partition {number} is not the last one (partition {after} lies after it)")]
    NotLast { number: u32, after: u32 },
    #[error("the disk ({disk} sectors) is smaller than its partition table says ({table} sectors)")]
    DiskSmaller { disk: u64, table: u64 },
}

/// What [`grow_last_partition`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The table already covers the disk and the partition reaches its end.
    AlreadyFills { start: u64, end: u64 },
    /// The table was rewritten; LBAs in sectors, `end` inclusive.
    Grown {
        start: u64,
        old_end: u64,
        new_end: u64,
        old_backup: u64,
        new_backup: u64,
    },
}

impl Outcome {
    /// The partition's first and last sector now.
    pub fn range(&self) -> (u64, u64) {
        match *self {
            Outcome::AlreadyFills { start, end } => (start, end),
            Outcome::Grown { start, new_end, .. } => (start, new_end),
        }
    }
}

/// Moves the backup GPT to the end of `disk` and grows partition `number`
/// (1-based), which must be the last one, to the last MiB boundary before
/// the backup table. The backup table is written and synced before the
/// primary one, so a power cut leaves either the old primary table (and
/// this runs again at the next boot) or the new backup at the disk's end,
/// where firmware and kernel look when the primary is damaged. A table read
/// from the backup copy (damaged primary) is written back whole.
pub fn grow_last_partition(
    disk: &mut File,
    sector_size: u64,
    number: u32,
) -> Result<Outcome, GptError> {
    check_header_bounds(disk, sector_size)?;
    let mut gpt = GPT::read_from(disk, sector_size).map_err(table_error)?;
    let sectors = disk.seek(SeekFrom::End(0))? / sector_size;
    let from_backup = gpt.header.primary_lba != 1;
    if from_backup {
        // Read from the copy at the disk's end: seen as the primary it would be.
        let h = &mut gpt.header;
        h.backup_lba = h.primary_lba;
        h.primary_lba = 1;
        h.partition_entry_lba = 2;
    }
    let table_sectors = gpt.header.backup_lba + 1;
    if table_sectors > sectors {
        return Err(GptError::DiskSmaller {
            disk: sectors,
            table: table_sectors,
        });
    }
    if number == 0 || number > gpt.header.number_of_partition_entries || gpt[number].is_unused() {
        return Err(GptError::NoPartition(number));
    }
    let start = gpt[number].starting_lba;
    let old_end = gpt[number].ending_lba;
    if let Some((after, _)) = gpt
        .iter()
        .find(|(i, p)| *i != number && p.is_used() && p.starting_lba > start)
    {
        return Err(GptError::NotLast { number, after });
    }

    let array_sectors = (u64::from(gpt.header.number_of_partition_entries)
        * u64::from(gpt.header.size_of_partition_entry))
    .div_ceil(sector_size);
    let new_backup = sectors - 1;
    let last_usable = new_backup - array_sectors - 1;
    let align = (ALIGN_BYTES / sector_size).max(1);
    let aligned_end = ((last_usable + 1) / align * align).saturating_sub(1);
    // Never shrink: an end already past the boundary stays where it is.
    let new_end = aligned_end.max(old_end);
    let old_backup = gpt.header.backup_lba;
    if !from_backup && old_backup == new_backup && new_end == old_end {
        return Ok(Outcome::AlreadyFills {
            start,
            end: old_end,
        });
    }

    gpt.header.backup_lba = new_backup;
    gpt.header.last_usable_lba = last_usable;
    gpt[number].ending_lba = new_end;
    let entries: Vec<GPTPartitionEntry> = gpt.iter().map(|(_, p)| p.clone()).collect();
    let mut backup = gpt.header.clone();
    backup.primary_lba = new_backup;
    backup.backup_lba = 1;
    backup.partition_entry_lba = last_usable + 1;
    backup
        .write_into(disk, sector_size, &entries)
        .map_err(table_error)?;
    disk.sync_data()?;
    gpt.header
        .write_into(disk, sector_size, &entries)
        .map_err(table_error)?;
    update_protective_mbr(disk, sectors)?;
    disk.sync_data()?;
    Ok(Outcome::Grown {
        start,
        old_end,
        new_end,
        old_backup,
        new_backup,
    })
}

fn table_error(e: gptman::Error) -> GptError {
    match e {
        gptman::Error::Io(e) => GptError::Io(e),
        other => GptError::Table(other.to_string()),
    }
}

/// gptman trusts the entry count and size of a header it reads (it
/// allocates the count and asserts the size); refuse odd values first.
fn check_header_bounds(disk: &mut File, sector_size: u64) -> Result<(), GptError> {
    let mut header = [0u8; 92];
    disk.seek(SeekFrom::Start(sector_size))?;
    if disk.read_exact(&mut header).is_err() {
        return Err(GptError::Table("the disk is too small for a GPT".into()));
    }
    if &header[..8] != b"EFI PART" {
        // Damaged primary: gptman will look for the backup, whose
        // fields are checked the same way once it is found.
        return check_backup_bounds(disk, sector_size);
    }
    check_counts(&header)
}

fn check_backup_bounds(disk: &mut File, sector_size: u64) -> Result<(), GptError> {
    let len = disk.seek(SeekFrom::End(0))?;
    if len < 2 * sector_size {
        return Err(GptError::Table("the disk is too small for a GPT".into()));
    }
    let mut header = [0u8; 92];
    disk.seek(SeekFrom::Start((len / sector_size - 1) * sector_size))?;
    disk.read_exact(&mut header)?;
    if &header[..8] != b"EFI PART" {
        return Err(GptError::Table(
            "neither the primary nor the backup GPT header is there".into(),
        ));
    }
    check_counts(&header)
}

fn check_counts(header: &[u8; 92]) -> Result<(), GptError> {
    let count = u32::from_le_bytes([header[80], header[81], header[82], header[83]]);
    let size = u32::from_le_bytes([header[84], header[85], header[86], header[87]]);
    if size != ENTRY_SIZE || count == 0 || count > MAX_ENTRIES {
        return Err(GptError::Table(format!(
            "unsupported partition array ({count} entries of {size} bytes)"
        )));
    }
    Ok(())
}

/// The protective MBR's 0xEE entry spans the whole disk (capped at 2^32-1
/// sectors), as the UEFI specification asks; the boot code around it stays.
fn update_protective_mbr(disk: &mut File, sectors: u64) -> io::Result<()> {
    let mut mbr = [0u8; 512];
    disk.seek(SeekFrom::Start(0))?;
    disk.read_exact(&mut mbr)?;
    if mbr[510..512] != [0x55, 0xaa] {
        return Ok(());
    }
    for entry in 0..4 {
        let at = 446 + entry * 16;
        if mbr[at + 4] != 0xee {
            continue;
        }
        let size = u32::try_from(sectors - 1).unwrap_or(u32::MAX);
        disk.seek(SeekFrom::Start((at + 12) as u64))?;
        disk.write_all(&size.to_le_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(sectors: u64) -> (tempfile::NamedTempFile, File) {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        f.as_file().set_len(sectors * 512).expect("size");
        let file = f.reopen().expect("reopen");
        (f, file)
    }

    /// A table like the appliance's in miniature: three partitions, the
    /// last one at the end.
    fn with_table(sectors: u64) -> (tempfile::NamedTempFile, File) {
        let (f, mut file) = blank(sectors);
        let mut gpt = GPT::new_from(&mut file, 512, [7; 16]).expect("new table");
        for (i, (start, end)) in [(2048, 4095), (4096, 8191), (8192, 12287)]
            .into_iter()
            .enumerate()
        {
            gpt[i as u32 + 1] = GPTPartitionEntry {
                partition_type_guid: [1; 16],
                unique_partition_guid: [i as u8 + 10; 16],
                starting_lba: start,
                ending_lba: end,
                attribute_bits: 0,
                partition_name: format!("p{}", i + 1).as_str().into(),
            };
        }
        gpt.write_into(&mut file).expect("write table");
        GPT::write_protective_mbr_into(&mut file, 512).expect("mbr");
        (f, file)
    }

    #[test]
    fn grows_the_last_partition_and_moves_the_backup() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(40960 * 512).expect("grow the disk");
        let out = grow_last_partition(&mut file, 512, 3).expect("grow");
        assert_eq!(
            out,
            Outcome::Grown {
                start: 8192,
                old_end: 12287,
                // Last usable: 40959 - 32 - 1; its MiB boundary: 19 * 2048.
                new_end: 38911,
                old_backup: 16383,
                new_backup: 40959,
            }
        );
    }

    #[test]
    fn the_new_tables_read_back_from_either_copy() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(40960 * 512).expect("grow the disk");
        grow_last_partition(&mut file, 512, 3).expect("grow");
        let gpt = GPT::read_from(&mut file, 512).expect("primary");
        assert_eq!(gpt.header.backup_lba, 40959);
        assert_eq!(gpt.header.last_usable_lba, 40959 - 33);
        assert_eq!(gpt.header.first_usable_lba, 34);
        assert_eq!(gpt[3].ending_lba, 38911);
        assert_eq!(gpt[2].ending_lba, 8191, "other partitions unchanged");
        // Damage the primary header: the backup at the end holds the same.
        file.seek(SeekFrom::Start(512)).expect("seek");
        file.write_all(&[0; 512]).expect("wipe");
        let backup = GPT::read_from(&mut file, 512).expect("backup");
        assert_eq!(backup.header.primary_lba, 40959);
        assert_eq!(backup[3].ending_lba, 38911);
    }

    #[test]
    fn a_second_run_finds_nothing_to_do() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(40960 * 512).expect("grow the disk");
        grow_last_partition(&mut file, 512, 3).expect("grow");
        assert_eq!(
            grow_last_partition(&mut file, 512, 3).expect("again"),
            Outcome::AlreadyFills {
                start: 8192,
                end: 38911
            }
        );
    }

    #[test]
    fn a_damaged_primary_is_rewritten_from_the_backup() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(40960 * 512).expect("grow the disk");
        grow_last_partition(&mut file, 512, 3).expect("grow");
        file.seek(SeekFrom::Start(512)).expect("seek");
        file.write_all(&[0; 512]).expect("wipe the primary header");
        let out = grow_last_partition(&mut file, 512, 3).expect("repair");
        assert!(
            matches!(out, Outcome::Grown { new_end: 38911, .. }),
            "{out:?}"
        );
        let gpt = GPT::read_from(&mut file, 512).expect("primary again");
        assert_eq!(gpt.header.primary_lba, 1);
        assert_eq!(gpt[3].ending_lba, 38911);
    }

    #[test]
    fn refuses_a_partition_that_is_not_last_or_not_there() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(40960 * 512).expect("grow the disk");
        assert!(matches!(
            grow_last_partition(&mut file, 512, 2),
            Err(GptError::NotLast {
                number: 2,
                after: 3
            })
        ));
        assert!(matches!(
            grow_last_partition(&mut file, 512, 4),
            Err(GptError::NoPartition(4))
        ));
        assert!(matches!(
            grow_last_partition(&mut file, 512, 0),
            Err(GptError::NoPartition(0))
        ));
    }

    #[test]
    fn refuses_a_disk_smaller_than_its_table() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(12300 * 512).expect("shrink the disk");
        let err = grow_last_partition(&mut file, 512, 3).expect_err("smaller");
        assert!(matches!(err, GptError::DiskSmaller { .. }), "{err}");
    }

    #[test]
    fn odd_headers_are_refused_without_panicking() {
        let (_f, mut file) = blank(100);
        assert!(matches!(
            grow_last_partition(&mut file, 512, 1),
            Err(GptError::Table(_))
        ));
        let (_f, mut file) = with_table(16384);
        // An entry size gptman cannot handle.
        file.seek(SeekFrom::Start(512 + 84)).expect("seek");
        file.write_all(&256u32.to_le_bytes()).expect("poke");
        assert!(matches!(
            grow_last_partition(&mut file, 512, 3),
            Err(GptError::Table(_))
        ));
        let (_f, mut file) = with_table(16384);
        // A huge entry count.
        file.seek(SeekFrom::Start(512 + 80)).expect("seek");
        file.write_all(&u32::MAX.to_le_bytes()).expect("poke");
        assert!(matches!(
            grow_last_partition(&mut file, 512, 3),
            Err(GptError::Table(_))
        ));
        // A corrupted header (CRC) with no backup at the end.
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(20000 * 512).expect("grow");
        file.seek(SeekFrom::Start(512 + 48)).expect("seek");
        file.write_all(&[9]).expect("poke");
        assert!(matches!(
            grow_last_partition(&mut file, 512, 3),
            Err(GptError::Table(_))
        ));
    }

    #[test]
    fn the_protective_mbr_spans_the_new_disk() {
        let (f, mut file) = with_table(16384);
        f.as_file().set_len(40960 * 512).expect("grow the disk");
        grow_last_partition(&mut file, 512, 3).expect("grow");
        let mut mbr = [0u8; 512];
        file.seek(SeekFrom::Start(0)).expect("seek");
        file.read_exact(&mut mbr).expect("read");
        assert_eq!(mbr[446 + 4], 0xee);
        assert_eq!(
            u32::from_le_bytes([mbr[458], mbr[459], mbr[460], mbr[461]]),
            40959
        );
    }
}
