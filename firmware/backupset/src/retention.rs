//! Keeping the newest restore points and cleaning what interrupted runs
//! left behind, touching only this unit's sets.
//!
//! A set belongs to the unit whose identity its `.version.txt` carries
//! (`unit=`); temporary files carry the unit's tag in their names. On a
//! folder only this unit writes to (its own disk) every set with its host
//! name is its own. On a shared folder (an SMB share, a USB drive moved
//! between units) host names prove nothing: two units may share one, so
//! only the identity counts, and sets from before units had one are left
//! for the administrator.
//!
//! The rules ([`plan`]): the set just written is always kept; restore
//! points (fulls and differentials) and copies are counted apart, so
//! copies never push out a nightly backup; a kept differential keeps its
//! full; sets dated in the future (a clock that was ahead and was put
//! back) are kept and reported, never counted, so they cannot evict the
//! sets made since.

use crate::catalog::{SetStatus, list_sets};
use crate::error::{SetError, io_at};
use crate::name::SetKind;
use crate::name::{SetName, unit_tag};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// What a prune or a clean removed, by file name.
pub type Removed = Vec<String>;

/// How far past now a set's time may lie before it counts as dated in the
/// future (clocks of units and file servers differ by a little).
pub const FUTURE_SLACK_SECS: i64 = 600;

/// A leftover that names no unit (written before units had an identity)
/// is taken for abandoned once untouched this long: a run in progress
/// writes to its files all the time.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Whose sets a prune or a clean may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// This unit's identity (`unit=`); empty when it has none.
    pub unit: String,
    pub host: String,
    /// The folder is this unit's own disk: nobody else writes there, so
    /// every set with its host name is its own.
    pub own_folder: bool,
}

impl Owner {
    fn is_us(&self, unit: &str) -> bool {
        !self.unit.is_empty() && unit.eq_ignore_ascii_case(&self.unit)
    }

    /// Whether a complete set is this unit's.
    pub fn owns(&self, s: &SetStatus) -> bool {
        if self.own_folder {
            return s.name.host == self.host;
        }
        s.unit.as_deref().is_some_and(|u| self.is_us(u))
    }
}

/// How many of each to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Restore points: fulls and differentials.
    pub restore_points: usize,
    /// Copies, counted apart.
    pub copies: usize,
}

/// What [`plan`] decided, by the first volume's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub keep: HashSet<String>,
    /// This unit's complete sets to remove.
    pub remove: Vec<String>,
    /// This unit's sets dated more than [`FUTURE_SLACK_SECS`] after now.
    pub future: Vec<String>,
    /// Complete sets with this host name that carry no unit identity, on a
    /// shared folder: left alone.
    pub unmarked: Vec<String>,
}

/// Decides which of this unit's complete sets stay. `just_written` is
/// never removed; `now` is seconds since the epoch.
pub fn plan(
    sets: &[SetStatus],
    owner: &Owner,
    keep: Keep,
    just_written: Option<&SetName>,
    now: i64,
) -> Plan {
    let mut out = Plan::default();
    let ours: Vec<&SetStatus> = sets
        .iter()
        .filter(|s| s.complete && owner.owns(s))
        .collect();
    out.unmarked = sets
        .iter()
        .filter(|s| s.complete && !owner.own_folder && s.unit.is_none())
        .filter(|s| s.name.host == owner.host)
        .map(|s| s.name.tar_name())
        .collect();
    let mut present: Vec<&SetStatus> = Vec::new();
    for s in &ours {
        if s.name.time > now.saturating_add(FUTURE_SLACK_SECS) {
            out.future.push(s.name.tar_name());
            out.keep.insert(s.name.tar_name());
        } else {
            present.push(s);
        }
    }
    present.sort_by_key(|s| std::cmp::Reverse(s.name.time));
    let mut chosen: Vec<&SetStatus> = Vec::new();
    if let Some(j) = just_written
        && let Some(s) = ours.iter().find(|s| &s.name == j)
    {
        chosen.push(s);
    }
    for (copies, n) in [(false, keep.restore_points), (true, keep.copies)] {
        let is_copy = |s: &SetStatus| s.name.kind == SetKind::Copy;
        let already = chosen.iter().filter(|s| is_copy(s) == copies).count();
        let more: Vec<&SetStatus> = present
            .iter()
            .filter(|s| is_copy(s) == copies && !chosen.iter().any(|c| c.name == s.name))
            .take(n.max(1).saturating_sub(already))
            .copied()
            .collect();
        chosen.extend(more);
    }
    for s in &chosen {
        out.keep.insert(s.name.tar_name());
        if s.name.kind == SetKind::Differential {
            let base = s.base.clone().or_else(|| {
                // Without a readable base= line: the newest full before it.
                present
                    .iter()
                    .filter(|f| f.name.kind == SetKind::Full && f.name.time < s.name.time)
                    .map(|f| f.name.tar_name())
                    .next()
            });
            if let Some(b) = base {
                out.keep.insert(b);
            }
        }
    }
    out.remove = ours
        .iter()
        .map(|s| s.name.tar_name())
        .filter(|n| !out.keep.contains(n))
        .collect();
    out
}

fn remove_set(dir: &Path, s: &SetStatus, removed: &mut Removed) -> Result<(), SetError> {
    // The .md5 first: from then on the set no longer looks complete.
    let md5 = dir.join(s.name.md5_name());
    match std::fs::remove_file(&md5) {
        Ok(()) => removed.push(s.name.md5_name()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SetError::io(&md5, e)),
    }
    for (v, _) in s.volumes.iter().rev() {
        let p = dir.join(v);
        match std::fs::remove_file(&p) {
            Ok(()) => removed.push(v.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(SetError::io(&p, e)),
        }
    }
    Ok(())
}

/// What a prune did and saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub removed: Removed,
    /// This unit's sets dated in the future: kept, not counted.
    pub future: Vec<String>,
    /// Sets with this host name but no unit identity on a shared folder.
    pub unmarked: Vec<String>,
}

/// Removes this unit's complete sets beyond what [`plan`] keeps. Call only
/// after `just_written` verified.
pub fn prune(
    dir: &Path,
    owner: &Owner,
    keep: Keep,
    just_written: &SetName,
    now: i64,
) -> Result<Pruned, SetError> {
    let sets = list_sets(dir)?;
    let p = plan(&sets, owner, keep, Some(just_written), now);
    let mut removed = Vec::new();
    for s in sets
        .iter()
        .filter(|s| p.remove.contains(&s.name.tar_name()))
    {
        remove_set(dir, s, &mut removed)?;
    }
    if !removed.is_empty() {
        atomicfile::sync_dir(dir);
    }
    Ok(Pruned {
        removed,
        future: p.future,
        unmarked: p.unmarked,
    })
}

fn untouched_for(path: &Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

/// Whether a leftover of `host`'s set, written by `unit` (`None`: unknown),
/// at `path` is this unit's to remove.
fn leftover_is_ours(owner: &Owner, host: &str, unit: Option<&str>, path: &Path) -> bool {
    if host != owner.host {
        return false;
    }
    if owner.own_folder {
        return true;
    }
    match unit {
        Some(u) => owner.is_us(u),
        None => untouched_for(path, STALE_AFTER),
    }
}

/// Removes what interrupted runs of this unit left: temporary files, and
/// volumes of sets that never got their `.md5` file. `except` names a set
/// being written now, left alone. Another unit's files are never touched,
/// even when it has the same host name.
pub fn clean_leftovers(
    dir: &Path,
    owner: &Owner,
    except: Option<&SetName>,
) -> Result<Removed, SetError> {
    let mut removed = Vec::new();
    let our_tag = unit_tag(&owner.unit);
    for item in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let item = item.map_err(io_at(dir))?;
        let Some(file) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some((final_name, tag)) = SetName::parse_temp(&file) else {
            continue;
        };
        let Some((name, _)) = SetName::parse_file(&final_name) else {
            continue;
        };
        if Some(&name) == except {
            continue;
        }
        let p = dir.join(&file);
        let ours = match &tag {
            // On the unit's own disk a tag of an earlier identity is its own too.
            Some(t) => name.host == owner.host && (owner.own_folder || our_tag.as_ref() == Some(t)),
            None => leftover_is_ours(owner, &name.host, None, &p),
        };
        if !ours {
            continue;
        }
        std::fs::remove_file(&p).map_err(|e| SetError::io(&p, e))?;
        removed.push(file);
    }
    for s in list_sets(dir)? {
        if s.has_md5 || Some(&s.name) == except {
            continue;
        }
        let first = dir.join(s.name.tar_name());
        let unit = crate::reader::unit_of_first_volume(&first, &s.name);
        // Without the first volume, the newest of the others tells the age.
        let probe = s.volumes.last().map(|(v, _)| dir.join(v)).unwrap_or(first);
        if leftover_is_ours(owner, &s.name.host, unit.as_deref(), &probe) {
            remove_set(dir, &s, &mut removed)?;
        }
    }
    if !removed.is_empty() {
        atomicfile::sync_dir(dir);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_795_317_495;
    const US: &str = "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f";
    const THEM: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

    fn set(host: &str, kind: SetKind, time: i64, unit: Option<&str>) -> SetStatus {
        let name = SetName::new(host, kind, time);
        SetStatus {
            volumes: vec![(name.tar_name(), 1)],
            size: 1,
            has_md5: true,
            complete: true,
            problem: None,
            base: None,
            unit: unit.map(str::to_string),
            name,
        }
    }

    fn shared() -> Owner {
        Owner {
            unit: US.into(),
            host: "appliance".into(),
            own_folder: false,
        }
    }

    const KEEP3: Keep = Keep {
        restore_points: 3,
        copies: 3,
    };

    #[test]
    fn another_unit_with_the_same_host_name_never_evicts_ours() {
        // The other unit's sets are newer (its clock is ahead, or it simply
        // ran later): ours stay, theirs are not ours to prune.
        let mut sets: Vec<SetStatus> = (0..5)
            .map(|i| set("appliance", SetKind::Full, NOW + i * DAY, Some(THEM)))
            .collect();
        let mine = set("appliance", SetKind::Full, NOW - DAY, Some(US));
        sets.push(mine.clone());
        let p = plan(&sets, &shared(), KEEP3, Some(&mine.name), NOW);
        assert!(p.remove.is_empty(), "{p:?}");
        assert!(p.keep.contains(&mine.name.tar_name()));
    }

    #[test]
    fn sets_dated_in_the_future_are_reported_not_counted() {
        let mut sets: Vec<SetStatus> = (1..=3)
            .map(|i| set("appliance", SetKind::Full, NOW + i * DAY, Some(US)))
            .collect();
        let older = set("appliance", SetKind::Full, NOW - 2 * DAY, Some(US));
        let fresh = set("appliance", SetKind::Full, NOW, Some(US));
        sets.push(older.clone());
        sets.push(fresh.clone());
        let p = plan(&sets, &shared(), KEEP3, Some(&fresh.name), NOW);
        assert_eq!(p.future.len(), 3, "{p:?}");
        assert!(p.remove.is_empty(), "nothing evicted: {p:?}");
        assert!(p.keep.contains(&fresh.name.tar_name()));
        assert!(p.keep.contains(&older.name.tar_name()));
    }

    #[test]
    fn the_set_just_written_is_kept_even_when_it_is_not_among_the_newest() {
        // Clock put back by a day without any slack to catch it: the fresh
        // set is older than three sets made before.
        let mut sets: Vec<SetStatus> = (1..=3)
            .map(|i| set("appliance", SetKind::Full, NOW + i * 60, Some(US)))
            .collect();
        let fresh = set("appliance", SetKind::Full, NOW, Some(US));
        sets.push(fresh.clone());
        let p = plan(&sets, &shared(), KEEP3, Some(&fresh.name), NOW + 240);
        assert!(p.keep.contains(&fresh.name.tar_name()), "{p:?}");
        assert!(!p.remove.contains(&fresh.name.tar_name()));
    }

    #[test]
    fn copies_are_counted_apart_and_never_evict_nightlies() {
        let mut sets = vec![
            set("appliance", SetKind::Full, NOW - 3 * DAY, Some(US)),
            set("appliance", SetKind::Full, NOW - 2 * DAY, Some(US)),
            set("appliance", SetKind::Full, NOW - DAY, Some(US)),
        ];
        let copies: Vec<SetStatus> = (1..=4)
            .map(|i| set("appliance", SetKind::Copy, NOW - DAY + i * 60, Some(US)))
            .collect();
        sets.extend(copies.iter().cloned());
        let last = copies.last().map(|c| c.name.clone());
        let p = plan(&sets, &shared(), KEEP3, last.as_ref(), NOW);
        assert_eq!(
            p.remove,
            vec![copies[0].name.tar_name()],
            "only the oldest copy goes"
        );
        for f in &sets[..3] {
            assert!(p.keep.contains(&f.name.tar_name()), "nightly kept: {p:?}");
        }
    }

    #[test]
    fn unmarked_sets_on_a_shared_folder_are_left_and_reported() {
        let sets = vec![
            set("appliance", SetKind::Full, NOW - 9 * DAY, None),
            set("appliance", SetKind::Full, NOW, Some(US)),
        ];
        let p = plan(&sets, &shared(), KEEP3, Some(&sets[1].name), NOW);
        assert!(p.remove.is_empty());
        assert_eq!(p.unmarked, vec![sets[0].name.tar_name()]);
        // On the unit's own disk they are its own.
        let own = Owner {
            own_folder: true,
            ..shared()
        };
        let keep1 = Keep {
            restore_points: 1,
            copies: 1,
        };
        let p = plan(&sets, &own, keep1, Some(&sets[1].name), NOW);
        assert_eq!(p.remove, vec![sets[0].name.tar_name()]);
    }
}
