//! The GPT growth against tables made and checked by util-linux's sfdisk:
//! the appliance's layout (five partitions from 1 MiB, data last) on a
//! disk image made larger, as flashing onto a larger disk leaves it.

use appctl::grow::gpt::{Outcome, grow_last_partition};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const MIB: u64 = 1 << 20;

fn sfdisk(args: &[&str], disk: &Path, input: Option<&str>) -> String {
    let mut child = Command::new("sfdisk")
        .args(args)
        .arg(disk)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sfdisk (apt-get install fdisk)");
    if let Some(text) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write the script");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("sfdisk output");
    assert!(
        out.status.success(),
        "sfdisk {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The appliance's partitions in miniature (sizes in MiB).
fn appliance_disk(mib: u64) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    f.as_file().set_len(mib * MIB).expect("size");
    sfdisk(
        &["-q", "--no-reread", "--no-tell-kernel"],
        f.path(),
        Some(
            "label: gpt\nfirst-lba: 2048\n\
             start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios\n\
             size=8MiB, type=U, name=esp\n\
             size=8MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs-a\n\
             size=8MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs-b\n\
             type=L, name=data\n",
        ),
    );
    f
}

/// `start size name` of each partition, from `sfdisk -d`.
fn partitions(disk: &Path) -> Vec<(u64, u64, String)> {
    sfdisk(&["-d"], disk, None)
        .lines()
        .filter(|l| l.contains(" : start="))
        .map(|l| {
            let field = |key: &str| {
                l.split(&format!("{key}="))
                    .nth(1)
                    .and_then(|rest| rest.split(',').next())
                    .map(|v| v.trim().trim_matches('"').to_string())
                    .unwrap_or_default()
            };
            (
                field("start").parse().expect("start"),
                field("size").parse().expect("size"),
                field("name"),
            )
        })
        .collect()
}

#[test]
fn sfdisk_finds_a_sound_table_filling_the_larger_disk() {
    let f = appliance_disk(40);
    let before = partitions(f.path());
    assert_eq!(before.len(), 5);
    f.as_file().set_len(100 * MIB).expect("a larger disk");
    let mut disk = f.reopen().expect("open");
    let out = grow_last_partition(&mut disk, 512, 5).expect("grow");
    let sectors = 100 * MIB / 512;
    // The last MiB boundary before the 33 sectors of the backup table.
    let end = (sectors - 33) / 2048 * 2048 - 1;
    assert_eq!(
        out,
        Outcome::Grown {
            start: before[4].0,
            old_end: before[4].0 + before[4].1 - 1,
            new_end: end,
            old_backup: 40 * MIB / 512 - 1,
            new_backup: sectors - 1,
        }
    );

    // sfdisk checks both headers, both arrays and their CRCs.
    let verify = sfdisk(&["--verify"], f.path(), None);
    assert!(verify.contains("No errors detected"), "{verify}");
    let dump = sfdisk(&["-d"], f.path(), None);
    assert!(dump.contains("first-lba: 2048"), "kept: {dump}");
    assert!(
        dump.contains(&format!("last-lba: {}", sectors - 34)),
        "{dump}"
    );
    let after = partitions(f.path());
    assert_eq!(
        after[..4],
        before[..4],
        "the other partitions are untouched"
    );
    assert_eq!(
        after[4],
        (before[4].0, end - before[4].0 + 1, "data".to_string())
    );

    // Nothing left to do the second time, and sfdisk has nothing to fix.
    assert!(matches!(
        grow_last_partition(&mut disk, 512, 5).expect("again"),
        Outcome::AlreadyFills { .. }
    ));
    let list = Command::new("sfdisk")
        .arg("-l")
        .arg(f.path())
        .output()
        .expect("sfdisk -l");
    let warnings = String::from_utf8_lossy(&list.stderr);
    assert!(
        !warnings.contains("mismatch") && !warnings.contains("not on the end"),
        "{warnings}"
    );
}

#[test]
fn a_disk_of_the_image_size_is_left_alone() {
    let f = appliance_disk(40);
    let before = std::fs::read(f.path()).expect("read");
    let mut disk = f.reopen().expect("open");
    assert!(matches!(
        grow_last_partition(&mut disk, 512, 5).expect("nothing to grow"),
        Outcome::AlreadyFills { .. }
    ));
    assert!(
        std::fs::read(f.path()).expect("read") == before,
        "not a byte written"
    );
}
