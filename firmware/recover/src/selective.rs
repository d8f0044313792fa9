//! A selective restore (`-d`, `-u`, `-f`, `-m`): only the index and the
//! byte ranges of the chosen folders are read, and restored files replace
//! the current ones while everything else stays (newer mail is kept).
//! A message the set holds with its headers only (older than its body
//! window) never replaces one that is there: it is restored only where
//! the message is missing (see the README's table).
//! The MD5 of a set covers all its bytes, so it is checked only with
//! `--verify` (which reads the whole set first).

use crate::apply::{self, Applied};
use crate::bak;
use crate::chain::Chain;
use crate::error::RecoverError;
use crate::index::SetIndex;
use crate::place::{Mode, PlaceStats, Placement, Placer};
use crate::report::Reporter;
use crate::selection::Target;
use crate::targets::Targets;
use backupset::VolumeCheck;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone)]
pub struct SelectiveOptions {
    pub targets: Targets,
    pub keep_bak: bool,
    pub verify: bool,
    pub stop: Arc<AtomicBool>,
}

#[derive(Debug, Clone, Default)]
pub struct SelectiveOutcome {
    pub placed: PlaceStats,
    pub applied: Applied,
    pub kept_as_bak: Vec<PathBuf>,
    pub destinations: Vec<PathBuf>,
}

/// Checks every volume of every set against its `.md5` file.
pub fn verify_chain(
    chain: &Chain,
    stop: &AtomicBool,
    report: &Reporter,
) -> Result<(), RecoverError> {
    for set in &chain.sets {
        let name = set.name();
        report.info(format!("Verifying {name} against its .md5 file"));
        let checks = set
            .reader
            .verify(stop)
            .map_err(|e| RecoverError::from_set(&name, e))?;
        if let Some(detail) = VolumeCheck::failures(&checks) {
            return Err(RecoverError::Md5Mismatch { set: name, detail });
        }
    }
    Ok(())
}

pub fn restore_selected(
    chain: &Chain,
    indexes: &[SetIndex],
    targets: &[Target],
    opts: &SelectiveOptions,
    report: &mut Reporter,
) -> Result<SelectiveOutcome, RecoverError> {
    if opts.verify {
        verify_chain(chain, &opts.stop, report)?;
    }
    let mut outcome = SelectiveOutcome {
        destinations: targets
            .iter()
            .map(|t| opts.targets.dest(&t.path).1)
            .collect(),
        ..Default::default()
    };
    // Room for what is restored (the index's counts of the chosen folders).
    let (mut bytes, mut files) = (0u64, 0u64);
    for idx in indexes {
        for t in targets {
            let holder = if t.is_file {
                crate::index::parent_of(&t.path)
            } else {
                &t.path
            };
            if let Some((f, b, _)) = idx.counts(holder) {
                files = files.saturating_add(f);
                bytes = bytes.saturating_add(b);
            }
        }
    }
    let needed = bak::on_disk(bytes, files);
    if opts.keep_bak {
        outcome.kept_as_bak = bak::keep_copies(&outcome.destinations, needed)?;
        for b in &outcome.kept_as_bak {
            report.info(format!("Kept the current data as {}", b.display()));
        }
    } else if let Some(first) = outcome.destinations.first() {
        bak::check_space(first, needed, "the restored data")?;
    }
    let mut placer = Placer::new(Mode::Merge);
    let t = opts.targets.clone();
    // Live folders: the current file is the destination itself.
    let map = move |rel: &str| {
        let (root, dest) = t.dest(rel);
        Some(Placement {
            current: Some((root.clone(), dest.clone())),
            root,
            dest,
        })
    };
    outcome.applied = apply::read_targets(
        chain,
        indexes,
        targets,
        &map,
        &mut placer,
        report,
        &opts.stop,
    )?;
    outcome.placed = placer.finish()?;
    // On disk before we say it is done (each file system written to, once).
    let mut synced = Vec::new();
    for t in targets {
        let root = opts.targets.dest(&t.path).0;
        if let Ok(d) = std::fs::File::open(&root)
            && let Ok(m) = d.metadata()
            && !synced.contains(&m.dev())
        {
            synced.push(m.dev());
            let _ = nix::unistd::syncfs(&d);
        }
    }
    Ok(outcome)
}
