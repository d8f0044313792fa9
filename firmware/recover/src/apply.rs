//! Reading a chain of sets into place: the differential first, then its
//! full, skipping in the full what the differential stored again or
//! recorded as deleted, so every file is written once, in its newest
//! version. A whole set is streamed with its MD5 checked as it goes; a
//! selection reads only the byte ranges the index gives.
//!
//! Every message entry's first bytes are looked at: one the set holds with
//! its headers only (it starts with [`backupset::window::OMITTED_HEADER`])
//! never replaces a file that is there
//! ([`Placer::place_headers_only`]); a full copy replaces what is there.

use crate::chain::{Chain, OpenSet};
use crate::error::RecoverError;
use crate::index::SetIndex;
use crate::place::{Placement, Placer};
use crate::report::Reporter;
use crate::selection::Target;
use crate::stream;
use backupset::SetEntry;
use backupset::tarfmt::EntryKind;
use backupset::window;
use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The appliance's own configuration, checked before it is restored.
pub const APPLIANCE_CONFIG: &str = "config/appliance.toml";
/// Largest configuration file accepted.
const MAX_CONFIG: u64 = 1 << 20;

/// Where an entry goes (and where the current data has it); `None`
/// leaves the entry out.
pub type Mapping<'a> = dyn Fn(&str) -> Option<Placement> + 'a;

/// Bytes looked at to tell a headers-only message from a whole one.
const PEEK: usize = window::OMITTED_HEADER.len() + 1;

/// What newer sets of the chain already settled.
#[derive(Debug, Default)]
struct Overlay {
    written: HashSet<String>,
    deleted: HashSet<String>,
}

impl Overlay {
    fn hides(&self, path: &str) -> bool {
        if self.written.contains(path) {
            return true;
        }
        if self.deleted.is_empty() {
            return false;
        }
        // The path itself or a folder above it was deleted.
        path.match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path))
            .any(|p| self.deleted.contains(p))
    }
}

/// Counts of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Entries left out because a newer set replaced or deleted them.
    pub superseded: u64,
    /// Top-level names left out (the appliance's own folders).
    pub left_out: Vec<String>,
}

fn place_entry(
    set: &str,
    e: &SetEntry,
    data: &mut dyn std::io::Read,
    map: &Mapping<'_>,
    placer: &mut Placer,
    report: &Reporter,
) -> Result<bool, RecoverError> {
    let Some(to) = map(&e.path) else {
        return Ok(false);
    };
    let mut kept = false;
    if e.path == APPLIANCE_CONFIG && e.kind == EntryKind::File {
        // Never put in place a configuration this firmware cannot run.
        let mut text = Vec::new();
        data.take(MAX_CONFIG + 1)
            .read_to_end(&mut text)
            .map_err(|err| RecoverError::damaged(set, format!("{}: {err}", e.path)))?;
        let checked = String::from_utf8(text)
            .map_err(|_| RecoverError::BadConfig(format!("{APPLIANCE_CONFIG} is not UTF-8")))
            .and_then(|t| {
                let c = appconfig::Config::from_toml(&t, std::path::Path::new(APPLIANCE_CONFIG))
                    .map_err(|err| RecoverError::BadConfig(err.to_string()))?;
                // Passwords a set from older firmware holds in the file
                // itself never come back: the unit keeps its own (in the
                // secrets file beside it, where they are moved first).
                if !appconfig::holds_secrets(&t) {
                    return Ok(t);
                }
                if let Some((_, live)) = &to.current
                    && let Err(err) = appconfig::Config::move_secrets_out(live)
                {
                    report.warn(format!(
                        "this unit's passwords could not be moved out of {}: {err}",
                        live.display()
                    ));
                }
                Ok(c.to_toml())
            })?;
        let sized = SetEntry {
            size: checked.len() as u64,
            ..e.clone()
        };
        placer.place(set, &to.root, &to.dest, &sized, &mut checked.as_bytes())?;
    } else if e.kind == EntryKind::File && window::is_windowed_message(&e.path) {
        // Look at the first bytes, then hand on all of them.
        let mut head = [0u8; PEEK];
        let n = read_prefix(data, &mut head).map_err(|err| {
            RecoverError::damaged(set, format!("{} cannot be read: {err}", e.path))
        })?;
        let mut whole = (&head[..n]).chain(data);
        if window::is_headers_only(&head[..n]) {
            kept = placer.place_headers_only(set, &to, e, &mut whole)?;
        } else {
            placer.place(set, &to.root, &to.dest, e, &mut whole)?;
        }
    } else {
        placer.place(set, &to.root, &to.dest, e, data)?;
    }
    if report.verbosity() >= crate::report::Verbosity::Verbose {
        if kept {
            report.detail(format!(
                "  {} (kept: the set has its headers only)",
                to.dest.display()
            ));
        } else {
            report.detail(format!("  {}", to.dest.display()));
        }
    }
    Ok(true)
}

/// Reads until `buf` is full or the data ends; returns the bytes read.
fn read_prefix(data: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match data.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(n)
}

/// Streams every set of the chain into place, newest first, checking each
/// set's MD5 as it is read. An MD5 that does not match is reported as
/// such even when the damage also broke the tar structure.
pub fn stream_chain(
    chain: &Chain,
    map: &Mapping<'_>,
    placer: &mut Placer,
    report: &mut Reporter,
    stop: &Arc<AtomicBool>,
) -> Result<Applied, RecoverError> {
    let mut overlay = Overlay::default();
    let mut applied = Applied::default();
    let total = chain.total_size();
    let read = Arc::new(AtomicU64::new(0));
    report.start("Restoring", total);
    let n = chain.sets.len();
    for (i, set) in chain.sets.iter().rev().enumerate() {
        let name = set.name();
        let older_follow = i + 1 < n;
        report.info(format!("Reading {} ({})", name, set.kind()));
        let mut s = stream::open(set.reader.volumes().to_vec(), read.clone(), stop.clone());
        let mut failure: Option<RecoverError> = None;
        // An encrypted or compressed set is decrypted and decompressed as
        // it streams; the MD5 is of the bytes as written.
        let plain = set.reader.contents_of(&mut s);
        let result = plain.and_then(|plain| {
            backupset::reader::read_entries(&name, plain, |e, data| {
                if stop.load(Ordering::Relaxed) {
                    return Err(backupset::SetError::Cancelled);
                }
                report.advance(read.load(Ordering::Relaxed));
                if e.path.is_empty() {
                    return Ok(());
                }
                if overlay.hides(&e.path) {
                    applied.superseded += 1;
                    return Ok(());
                }
                match place_entry(&name, e, data, map, placer, report) {
                    Ok(true) => {}
                    Ok(false) => {
                        if !e.path.contains('/') && !applied.left_out.contains(&e.path) {
                            applied.left_out.push(e.path.clone());
                        }
                    }
                    Err(err) => return Err(stash(&mut failure, err)),
                }
                if older_follow {
                    overlay.written.insert(e.path.clone());
                }
                Ok(())
            })
        });
        // Every byte is hashed even when the tar stopped early, so a set
        // that does not match its .md5 is called that.
        let checked = s.finish();
        let bad_md5 = checked.as_ref().ok().and_then(|results| {
            let problems: Vec<String> = results.iter().filter_map(|r| r.problem.clone()).collect();
            if !problems.is_empty() {
                Some(problems.join("; "))
            } else if results.len() != set.reader.volumes().len() {
                Some("not every volume could be read".into())
            } else {
                None
            }
        });
        if stop.load(Ordering::Relaxed) {
            return Err(RecoverError::Interrupted);
        }
        if let Some(detail) = bad_md5 {
            return Err(RecoverError::Md5Mismatch { set: name, detail });
        }
        if let Some(f) = failure {
            return Err(f);
        }
        result.map_err(|e| RecoverError::from_set(&name, e))?;
        checked?;
        if older_follow {
            overlay.deleted.extend(
                set.reader
                    .deleted()
                    .map_err(|e| RecoverError::from_set(&name, e))?,
            );
        }
    }
    report.advance(total);
    report.finish();
    Ok(applied)
}

/// Reads only the ranges of `targets` from each set (newest first).
pub fn read_targets(
    chain: &Chain,
    indexes: &[SetIndex],
    targets: &[Target],
    map: &Mapping<'_>,
    placer: &mut Placer,
    report: &mut Reporter,
    stop: &AtomicBool,
) -> Result<Applied, RecoverError> {
    let mut overlay = Overlay::default();
    let mut applied = Applied::default();
    // Bytes of data to restore, for progress: the ranges' file bytes.
    let total: u64 = chain
        .sets
        .iter()
        .zip(indexes)
        .flat_map(|(_, idx)| targets.iter().filter_map(move |t| bytes_of(idx, t)))
        .fold(0u64, u64::saturating_add);
    report.start("Restoring", total);
    let n = chain.sets.len();
    for (i, (set, index)) in chain.sets.iter().zip(indexes).rev().enumerate() {
        let name = set.name();
        let older_follow = i + 1 < n;
        let mut ranges: Vec<(Range<u64>, Vec<&Target>)> = Vec::new();
        for t in targets {
            let Some(r) = index.range_for(&t.path, t.is_file) else {
                continue;
            };
            match ranges.iter_mut().find(|(have, _)| *have == r) {
                Some((_, ts)) => ts.push(t),
                None => ranges.push((r, vec![t])),
            }
        }
        for (range, ts) in ranges {
            report.detail(format!(
                "Reading {} bytes {}..{} of {name}",
                range.end - range.start,
                range.start,
                range.end
            ));
            let mut failure: Option<RecoverError> = None;
            let result = set.reader.entries(range, |e, data| {
                if stop.load(Ordering::Relaxed) {
                    return Err(backupset::SetError::Cancelled);
                }
                if !ts.iter().any(|t| t.holds(&e.path)) {
                    return Ok(());
                }
                if overlay.hides(&e.path) {
                    applied.superseded += 1;
                    return Ok(());
                }
                place_entry(&name, e, data, map, placer, report)
                    .map_err(|err| stash(&mut failure, err))?;
                report.advance(placer.stats.bytes);
                if older_follow {
                    overlay.written.insert(e.path.clone());
                }
                Ok(())
            });
            if let Some(f) = failure {
                return Err(f);
            }
            result.map_err(|e| RecoverError::from_set(&name, e))?;
        }
        if older_follow {
            let deleted = set
                .reader
                .deleted()
                .map_err(|e| RecoverError::from_set(&name, e))?;
            overlay.deleted.extend(
                deleted
                    .into_iter()
                    .filter(|d| targets.iter().any(|t| t.holds(d) || t.is_below(d))),
            );
        }
    }
    report.finish();
    Ok(applied)
}

fn bytes_of(index: &SetIndex, t: &Target) -> Option<u64> {
    if t.is_file {
        // A file's own size is not in the index; its folder's is an upper bound.
        index.counts(crate::index::parent_of(&t.path)).map(|c| c.1)
    } else {
        index.counts(&t.path).map(|c| c.1)
    }
}

/// Keeps our own error for the caller while the reader unwinds.
fn stash(slot: &mut Option<RecoverError>, e: RecoverError) -> backupset::SetError {
    let text = e.to_string();
    *slot = Some(e);
    backupset::SetError::Internal(text)
}

/// Sums what a chain's sets hold (for free-space checks): bytes of data
/// and files.
pub fn chain_totals(sets: &[OpenSet]) -> (u64, u64) {
    sets.iter().fold((0u64, 0u64), |(b, f), s| {
        (
            b.saturating_add(s.summary.total_size),
            f.saturating_add(s.summary.count_files),
        )
    })
}
