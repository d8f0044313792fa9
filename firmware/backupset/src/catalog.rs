//! Sets in a folder: which there are, how big, whether complete, and what a
//! differential is based on.

use crate::error::{SetError, io_at};
use crate::md5file;
use crate::name::{FileRole, SetKind, SetName};
use std::collections::BTreeMap;
use std::path::Path;

/// A set's files as found: its name, (volume index, file, size) and whether the `.md5` is there.
type Found = (SetName, Vec<(u32, String, u64)>, bool);

/// One set found in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetStatus {
    pub name: SetName,
    /// Volume files present, in order, with their sizes.
    pub volumes: Vec<(String, u64)>,
    pub size: u64,
    pub has_md5: bool,
    /// The `.md5` file lists volumes 0..n and every one of them is present.
    pub complete: bool,
    /// Why the set is not complete.
    pub problem: Option<String>,
    /// For a differential: the first volume name of its full.
    pub base: Option<String>,
    /// The identity of the unit that wrote it (complete sets written since
    /// units have one).
    pub unit: Option<String>,
}

/// Every set in `dir`, oldest first. Files that are not sets are ignored.
pub fn list_sets(dir: &Path) -> Result<Vec<SetStatus>, SetError> {
    let mut by_set: BTreeMap<(i64, String), Found> = BTreeMap::new();
    for item in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let item = item.map_err(io_at(dir))?;
        let Some(file) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some((name, role)) = SetName::parse_file(&file) else {
            continue;
        };
        let size = item.metadata().map(|m| m.len()).unwrap_or(0);
        let slot = by_set
            .entry((name.time, name.tar_name()))
            .or_insert_with(|| (name.clone(), Vec::new(), false));
        match role {
            FileRole::Md5 => slot.2 = true,
            FileRole::Volume(i) => slot.1.push((i, file, size)),
        }
    }
    let mut out = Vec::new();
    for (_, (name, mut vols, has_md5)) in by_set {
        vols.sort();
        out.push(status_of(dir, name, vols, has_md5));
    }
    Ok(out)
}

/// The status of one set.
pub fn set_status(dir: &Path, name: &SetName) -> Result<SetStatus, SetError> {
    let mut vols = Vec::new();
    for i in 0..crate::name::MAX_VOLUMES {
        let file = name.volume_name(i);
        match std::fs::metadata(dir.join(&file)) {
            Ok(m) => vols.push((i, file, m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(SetError::io(dir.join(&file), e)),
        }
    }
    let has_md5 = dir.join(name.md5_name()).exists();
    Ok(status_of(dir, name.clone(), vols, has_md5))
}

fn status_of(dir: &Path, name: SetName, vols: Vec<(u32, String, u64)>, has_md5: bool) -> SetStatus {
    let size = vols.iter().map(|v| v.2).sum();
    let volumes: Vec<(String, u64)> = vols.iter().map(|v| (v.1.clone(), v.2)).collect();
    let problem = if !has_md5 {
        Some("no .md5 file".to_string())
    } else {
        match md5file::read_md5(dir, &name) {
            Err(e) => Some(e),
            Ok(listed) => {
                let present: Vec<&str> = volumes.iter().map(|v| v.0.as_str()).collect();
                let missing: Vec<&str> = listed
                    .iter()
                    .map(|l| l.0.as_str())
                    .filter(|l| !present.contains(l))
                    .collect();
                if !missing.is_empty() {
                    Some(format!("missing volume {}", missing.join(", ")))
                } else if present.len() > listed.len() {
                    Some("more volumes than the .md5 file lists".into())
                } else {
                    None
                }
            }
        }
    };
    let complete = problem.is_none();
    // Who wrote it and what it extends: `.version.txt`, the first entry.
    // An encrypted set tells them in its age header (no key needed).
    let (unit, base) = match complete.then(|| crate::reader::SetReader::open(dir, &name.tar_name()))
    {
        Some(Ok(r)) if r.is_encrypted() => r.notes().map(|n| (n.unit, n.base)).unwrap_or_default(),
        Some(Ok(r)) => r.version().map(|v| (v.unit, v.base)).unwrap_or_default(),
        _ => (None, None),
    };
    let base = base.filter(|_| name.kind == SetKind::Differential);
    SetStatus {
        name,
        volumes,
        size,
        has_md5,
        complete,
        problem,
        base,
        unit,
    }
}
