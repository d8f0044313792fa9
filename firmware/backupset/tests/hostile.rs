//! Damaged and hostile sets give typed errors, never a panic.

mod common;

use backupset::SetKind;
use backupset::{SetError, SetReader};
use common::*;
use rand::{Rng, SeedableRng};

fn exercise(dir: &std::path::Path, name: &str) {
    let Ok(set) = SetReader::open(dir, name) else {
        return;
    };
    let _ = set.verify(&Default::default());
    let _ = set.version();
    let _ = set.summary();
    let _ = set.deleted();
    if let Ok(index) = set.index() {
        for e in index.iter().take(5) {
            let _ = set.entries(e.start..e.end, |_, r| {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(r, &mut sink);
                Ok(())
            });
        }
    }
    let _ = extract(&set, &dir.join("x-restore"), ".");
    let _ = std::fs::remove_dir_all(dir.join("x-restore"));
}

#[test]
fn damaged_sets_are_refused_with_typed_errors() {
    let fx = Fixture::new(256 << 10);
    let out = fx.write(&fx.options(SetKind::Full, NOW));
    let tar = fx.dest.join(out.name.tar_name());
    let good = std::fs::read(&tar).expect("read");

    // Cut short: the summary is gone; verify says the MD5 differs.
    std::fs::write(&tar, &good[..good.len() / 2 / 512 * 512]).expect("write");
    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    assert!(matches!(set.summary(), Err(SetError::Malformed { .. })));
    let checks = set.verify(&Default::default()).expect("verify runs");
    assert!(
        !checks[0].ok && checks[0].detail.contains("MD5 differs"),
        "{checks:?}"
    );

    // No .md5: incomplete.
    std::fs::write(&tar, &good).expect("restore");
    let md5 = fx.dest.join(out.name.md5_name());
    let md5_text = std::fs::read(&md5).expect("md5");
    std::fs::remove_file(&md5).expect("rm");
    assert!(matches!(
        SetReader::open(&fx.dest, &out.name.tar_name()),
        Err(SetError::Incomplete { .. })
    ));
    std::fs::write(&md5, b"../../etc/passwd  x\n").expect("junk md5");
    assert!(matches!(
        SetReader::open(&fx.dest, &out.name.tar_name()),
        Err(SetError::Incomplete { .. })
    ));
    std::fs::write(&md5, &md5_text).expect("md5 back");

    // A hostile entry path inside the data range is refused.
    let set = SetReader::open(&fx.dest, &out.name.tar_name()).expect("open");
    let root = set.find(".").expect("find").expect("root");
    let mut evil = good.clone();
    let first_data = (root.start + 512) as usize;
    let name = b"@backup/../../evil";
    evil[first_data..first_data + 100].fill(0);
    evil[first_data..first_data + name.len()].copy_from_slice(name);
    fix_checksum(&mut evil[first_data..first_data + 512]);
    std::fs::write(&tar, &evil).expect("write");
    let err = extract(&set, &fx.tmp.path().join("evil"), ".").expect_err("refused");
    assert!(matches!(err, SetError::Malformed { .. }), "{err:?}");
    assert!(!fx.tmp.path().join("evil/../evil").is_file());
    std::fs::write(&tar, &good).expect("restore");

    // Random damage anywhere: never a panic.
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
    for round in 0..60 {
        let mut bad = good.clone();
        for _ in 0..rng.random_range(1..20) {
            let i = if round % 2 == 0 {
                rng.random_range(0..bad.len())
            } else {
                // Aim at the end, where summary and index live.
                bad.len() - 1 - rng.random_range(0..8192.min(bad.len()))
            };
            bad[i] = rng.random();
        }
        if round % 7 == 0 {
            bad.truncate(rng.random_range(0..bad.len()));
        }
        std::fs::write(&tar, &bad).expect("write");
        exercise(&fx.dest, &out.name.tar_name());
    }
}

fn fix_checksum(block: &mut [u8]) {
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}
