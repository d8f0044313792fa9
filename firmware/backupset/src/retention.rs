//! Keeping the newest restore points and cleaning what interrupted runs
//! left behind. Only this appliance's sets (by host name) are touched, so a
//! share used by several appliances is safe.

use crate::catalog::{SetStatus, list_sets};
use crate::error::{SetError, io_at};
use crate::name::SetName;
use appconfig::BackupType;
use std::collections::HashSet;
use std::path::Path;

/// What a prune or a clean removed, by file name.
pub type Removed = Vec<String>;

/// The sets to keep: the newest `keep` complete sets (restore points), and
/// for every kept differential the full it is based on.
pub fn plan(sets: &[SetStatus], keep: usize) -> HashSet<String> {
    let mut complete: Vec<&SetStatus> = sets.iter().filter(|s| s.complete).collect();
    complete.sort_by_key(|s| std::cmp::Reverse(s.name.time));
    let mut kept: HashSet<String> = HashSet::new();
    for s in complete.iter().take(keep.max(1)) {
        kept.insert(s.name.tar_name());
        if s.name.kind == BackupType::Differential {
            let base = s.base.clone().or_else(|| {
                // Without a readable base= line: the newest full before it.
                complete
                    .iter()
                    .filter(|f| f.name.kind == BackupType::Full && f.name.time < s.name.time)
                    .map(|f| f.name.tar_name())
                    .next()
            });
            if let Some(b) = base {
                kept.insert(b);
            }
        }
    }
    kept
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

/// Removes this host's complete sets beyond the newest `keep` restore
/// points (a kept differential keeps its full). Call only after the newest
/// set verified.
pub fn prune(dir: &Path, host: &str, keep: usize) -> Result<Removed, SetError> {
    let sets: Vec<SetStatus> = list_sets(dir)?
        .into_iter()
        .filter(|s| s.name.host == host)
        .collect();
    let kept = plan(&sets, keep);
    let mut removed = Vec::new();
    for s in sets
        .iter()
        .filter(|s| s.complete && !kept.contains(&s.name.tar_name()))
    {
        remove_set(dir, s, &mut removed)?;
    }
    crate::publish::sync_dir(dir);
    Ok(removed)
}

/// Removes what interrupted runs of this host left: temporary files, and
/// volumes of sets that never got their `.md5` file. `except` names a set
/// being written now, left alone.
pub fn clean_leftovers(
    dir: &Path,
    host: &str,
    except: Option<&SetName>,
) -> Result<Removed, SetError> {
    let mut removed = Vec::new();
    for item in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let item = item.map_err(io_at(dir))?;
        let Some(file) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(inner) = file.strip_prefix('.').and_then(|f| f.strip_suffix(".tmp")) else {
            continue;
        };
        let Some((name, _)) = SetName::parse_file(inner) else {
            continue;
        };
        if name.host != host || Some(&name) == except {
            continue;
        }
        let p = dir.join(&file);
        std::fs::remove_file(&p).map_err(|e| SetError::io(&p, e))?;
        removed.push(file);
    }
    for s in list_sets(dir)? {
        if s.name.host == host && !s.has_md5 && Some(&s.name) != except {
            remove_set(dir, &s, &mut removed)?;
        }
    }
    if !removed.is_empty() {
        crate::publish::sync_dir(dir);
    }
    Ok(removed)
}
