//! Repairing a FAT file system that was left mounted (a drive pulled
//! without an eject, a power cut) before it is mounted again. The kernel's
//! vfat driver has no checker of its own: with `errors=remount-ro` it turns
//! a damaged drive read-only at the first inconsistency a write meets, so
//! the next backup to a drive pulled mid-write would fail. `fsck.fat -a`
//! (dosfstools), as Android's vold and Windows' "scan and fix" do, puts the
//! allocation tables right; complete sets are whole files it leaves alone,
//! and what the interrupted backup left is removed by the next one anyway.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The checker (dosfstools' place in both images' and Debian's layout).
pub const FSCK_FAT: &str = "/sbin/fsck.fat";

/// How long a check may take before the drive is mounted as it is: a
/// 64 GiB drive's tables are read in seconds, a dying one may never answer.
pub const FSCK_LIMIT: Duration = Duration::from_secs(120);

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Nothing to put right but the state byte.
    Clean,
    /// Repaired; what fsck.fat said it did, in one line.
    Repaired(String),
    /// Not repaired (or not checked): why, in one line.
    Failed(String),
}

/// Checks and repairs the FAT file system on `device` (not mounted) with
/// `fsck` (`fsck.fat` from dosfstools), within `limit`; then checks again
/// read-only when it changed something, to tell a repair from a failure.
pub fn repair_fat(fsck: &Path, device: &Path, limit: Duration) -> Repair {
    let first = match run(fsck, &["-a", "-w"], device, limit) {
        Ok(r) => r,
        Err(why) => return Repair::Failed(why),
    };
    match first.status.code() {
        Some(0) => return Repair::Clean,
        Some(1) => {}
        _ => return Repair::Failed(said(&first.output)),
    }
    match run(fsck, &["-n"], device, limit) {
        Ok(again) if again.status.code() == Some(0) => {
            let said = said(&first.output);
            if said.is_empty() || said == DIRTY_ONLY {
                Repair::Clean
            } else {
                Repair::Repaired(said)
            }
        }
        Ok(again) => Repair::Failed(format!(
            "still damaged after the repair: {}",
            said(&again.output)
        )),
        Err(why) => Repair::Failed(why),
    }
}

/// What fsck.fat says when the state byte was the only thing wrong.
const DIRTY_ONLY: &str = "Dirty bit is set. Fs was not properly unmounted and some data may be \
                          corrupt. Automatically removing dirty bit.";

/// fsck.fat's findings in one line: without its version banner, the
/// closing counts, its notes on code page tables (the appliance has no
/// iconv modules; fsck.fat then uses its own CP850 table), and the
/// differences from the boot sector's backup copy (the state byte is set in
/// the first copy only, so there always are some after a pull).
fn said(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("fsck.fat "))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("There are differences between boot sector and its backup") {
            // Its detail lines run up to "Not automatically fixing this."
            while i < lines.len() && !lines[i].starts_with("Not automatically fixing") {
                i += 1;
            }
        } else if !(l.contains(" files, ") && l.ends_with(" clusters")
            || l.starts_with("Cannot initialize conversion ")
            || l.starts_with("Using internal CP850 conversion table"))
        {
            out.push(l);
        }
        i += 1;
    }
    let mut s = out.join(" ");
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// What fsck.fat says is read up to this much (it prints a line per
/// finding: a badly damaged drive can give thousands).
const MAX_OUTPUT: u64 = 64 << 10;

/// Runs fsck.fat on `device`; its output goes to an unlinked file, not a
/// pipe, which a damaged drive's thousands of lines could fill and so hold
/// fsck.fat until the limit.
fn run(
    fsck: &Path,
    args: &[&str],
    device: &Path,
    limit: Duration,
) -> Result<timedcmd::Finished, String> {
    timedcmd::run(Command::new(fsck).args(args).arg(device), limit, MAX_OUTPUT)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::superblock::fat_unclean;
    use crate::testimg::{fat32, run as sh};
    use std::path::PathBuf;
    use std::time::Instant;

    fn fsck() -> PathBuf {
        PathBuf::from(FSCK_FAT)
    }

    fn set_byte(img: &Path, at: u64, f: impl Fn(u8) -> u8) {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(img)
            .expect("open");
        let mut b = [0u8];
        file.read_exact_at(&mut b, at).expect("read");
        file.write_all_at(&[f(b[0])], at).expect("write");
    }

    fn le32_at(img: &Path, at: u64) -> u32 {
        use std::os::unix::fs::FileExt;
        let mut b = [0u8; 4];
        std::fs::File::open(img)
            .expect("open")
            .read_exact_at(&mut b, at)
            .expect("read");
        u32::from_le_bytes(b)
    }

    fn check_only(img: &Path) -> Option<i32> {
        Command::new(FSCK_FAT)
            .arg("-n")
            .arg(img)
            .output()
            .expect("fsck.fat runs")
            .status
            .code()
    }

    /// A drive holding a set, as a pulled one: the state byte set.
    fn pulled(dir: &Path) -> PathBuf {
        let img = fat32(dir, "pulled.img", "NIGHTLY");
        let set = dir.join("set.tar");
        std::fs::write(&set, vec![7u8; 300_000]).expect("set");
        sh(Command::new("mcopy")
            .arg("-i")
            .arg(&img)
            .arg(&set)
            .arg("::set.tar"));
        set_byte(&img, 0x41, |b| b | 1);
        img
    }

    fn set_is_whole(img: &Path, dir: &Path) {
        let back = dir.join("back.tar");
        let _ = std::fs::remove_file(&back);
        sh(Command::new("mcopy")
            .arg("-i")
            .arg(img)
            .arg("::set.tar")
            .arg(&back));
        assert_eq!(std::fs::read(&back).expect("read"), vec![7u8; 300_000]);
    }

    #[test]
    fn a_drive_pulled_with_nothing_else_wrong_is_clean_after_the_check() {
        let d = tempfile::tempdir().expect("tempdir");
        let img = pulled(d.path());
        assert!(fat_unclean(&std::fs::File::open(&img).expect("open")).expect("read"));
        assert_eq!(repair_fat(&fsck(), &img, FSCK_LIMIT), Repair::Clean);
        assert!(!fat_unclean(&std::fs::File::open(&img).expect("open")).expect("read"));
        assert_eq!(check_only(&img), Some(0));
        set_is_whole(&img, d.path());
    }

    /// What a pull mid-write leaves: clusters taken in the allocation
    /// table that no file owns, and a wrong free count.
    #[test]
    fn a_drive_pulled_mid_write_is_repaired_and_keeps_its_set() {
        let d = tempfile::tempdir().expect("tempdir");
        let img = pulled(d.path());
        // The FAT starts after the reserved sectors; mark clusters 1000-1009
        // taken (a chain ending in end-of-chain) in both copies.
        let reserved = u64::from(le32_at(&img, 14) & 0xFFFF);
        let fat_sectors = u64::from(le32_at(&img, 36));
        for copy in 0..2 {
            let fat = (reserved + copy * fat_sectors) * 512;
            for c in 1000u64..1010 {
                let next: u32 = if c == 1009 { 0x0FFF_FFFF } else { c as u32 + 1 };
                use std::os::unix::fs::FileExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&img)
                    .expect("open")
                    .write_all_at(&next.to_le_bytes(), fat + c * 4)
                    .expect("write");
            }
        }
        assert_eq!(check_only(&img), Some(1), "damaged before");
        match repair_fat(&fsck(), &img, FSCK_LIMIT) {
            Repair::Repaired(said) => {
                assert!(said.starts_with("Reclaimed 10 unused clusters"), "{said}");
                assert!(!said.contains("files,"), "no closing counts: {said}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(check_only(&img), Some(0), "clean after");
        set_is_whole(&img, d.path());
    }

    #[test]
    fn a_missing_checker_or_a_device_that_is_not_fat_fails_in_words() {
        let d = tempfile::tempdir().expect("tempdir");
        let img = pulled(d.path());
        match repair_fat(Path::new("/nonexistent/fsck.fat"), &img, FSCK_LIMIT) {
            Repair::Failed(why) => assert!(why.contains("cannot be run"), "{why}"),
            other => panic!("{other:?}"),
        }
        let junk = d.path().join("junk.img");
        std::fs::write(&junk, vec![0x5Au8; 1 << 20]).expect("junk");
        match repair_fat(&fsck(), &junk, FSCK_LIMIT) {
            Repair::Failed(why) => assert!(!why.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_checker_that_never_ends_is_stopped_at_the_limit() {
        let d = tempfile::tempdir().expect("tempdir");
        let slow = d.path().join("fsck.fat");
        std::fs::write(&slow, "#!/bin/sh\nexec sleep 30\n").expect("script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let t = Instant::now();
        match repair_fat(&slow, Path::new("/dev/null"), Duration::from_millis(300)) {
            Repair::Failed(why) => assert!(why.contains("did not finish within"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    /// A checker with a great deal to say (a line per damaged file) is
    /// not held up by its output, which is read up to a bound.
    #[test]
    fn a_checker_that_says_a_lot_is_not_held_up() {
        let d = tempfile::tempdir().expect("tempdir");
        let loud = d.path().join("fsck.fat");
        std::fs::write(
            &loud,
            "#!/bin/sh\nyes 'Deleted file with a bad cluster chain.' | head -c 1000000\nexit 1\n",
        )
        .expect("script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loud, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let t = Instant::now();
        match repair_fat(&loud, Path::new("/dev/null"), Duration::from_secs(30)) {
            // Its -n pass says as much again, with the same status.
            Repair::Failed(why) => assert!(
                why.starts_with("still damaged after the repair: Deleted file"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    }

    #[test]
    fn the_summary_leaves_out_the_banner_backup_differences_and_counts() {
        let output = "fsck.fat 4.2 (2021-01-31)\n\
                     There are differences between boot sector and its backup.\n\
                     This is mostly harmless. Differences: (offset:original/backup)\n  65:01/00\n\
                     \x20 Not automatically fixing this.\n\
                     Dirty bit is set. Fs was not properly unmounted and some data may be corrupt.\n\
                     \x20Automatically removing dirty bit.\n\
                     Free cluster summary wrong (129020 vs. really 129010)\n  Auto-correcting.\n\
                     /dev/sda1: 2 files, 12/129022 clusters\n\
                     Cannot initialize conversion from codepage 850 to ANSI_X3.4-1968: Invalid argument\n\
                     Cannot initialize conversion from ANSI_X3.4-1968 to codepage 850: Invalid argument\n\
                     Using internal CP850 conversion table\n";
        assert_eq!(
            said(output),
            format!(
                "{DIRTY_ONLY} Free cluster summary wrong (129020 vs. really 129010) Auto-correcting."
            )
        );
        // What the appliance's fsck.fat said of a drive pulled with nothing
        // else wrong (its stderr after its stdout): nothing but the mark.
        let dirty = "fsck.fat 4.2 (2021-01-31)\n\
                     Dirty bit is set. Fs was not properly unmounted and some data may be corrupt.\n\
                     \x20Automatically removing dirty bit.\n\
                     /dev/sda: 1 files, 1/516190 clusters\n\
                     Cannot initialize conversion from codepage 850 to ANSI_X3.4-1968: Invalid argument\n\
                     Using internal CP850 conversion table\n";
        assert_eq!(said(dirty), DIRTY_ONLY);
    }
}
