//! Which sets a restore reads: a folder means its newest restore point (the
//! newest full with its newest differential, or the newest copy, as Kerio
//! says); a file means that set, and its full when it is a differential.

use crate::error::RecoverError;
use backupset::SetKind;
use backupset::crypt::Keys;
use backupset::meta::FORMAT;
use backupset::name::SetName;
use backupset::{SetReader, SetStatus, Summary, VersionInfo};
use std::path::{Path, PathBuf};

/// One opened, checked set.
#[derive(Debug, Clone)]
pub struct OpenSet {
    pub reader: SetReader,
    pub dir: PathBuf,
    pub version: VersionInfo,
    pub summary: Summary,
}

impl OpenSet {
    pub fn name(&self) -> String {
        self.reader.name().tar_name()
    }

    pub fn kind(&self) -> SetKind {
        self.reader.name().kind
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(self.name())
    }
}

/// The sets of one restore point, oldest first: a full or a copy, then at
/// most one differential based on it.
#[derive(Debug, Clone)]
pub struct Chain {
    pub sets: Vec<OpenSet>,
    /// Sets in the folder that were passed over, and why (for `-v`).
    pub passed_over: Vec<String>,
}

impl Chain {
    /// The set that names the restore point (the differential if there is one).
    pub fn newest(&self) -> &OpenSet {
        // A chain always holds at least one set (see `open_chain`).
        &self.sets[self.sets.len() - 1]
    }

    /// Bytes of every volume of every set.
    pub fn total_size(&self) -> u64 {
        self.sets.iter().map(|s| s.reader.total_size()).sum()
    }
}

/// Opens `name` in `dir` and checks what can be checked without reading
/// the whole set: every volume there, a readable `.version.txt` of a
/// format this firmware reads, and a `.summary.txt` at the end.
pub fn open_set(dir: &Path, name: &SetName) -> Result<OpenSet, RecoverError> {
    open_set_with(dir, name, None)
}

/// [`open_set`], an encrypted set (`.tar.age`) read with `keys`.
pub fn open_set_with(
    dir: &Path,
    name: &SetName,
    keys: Option<&Keys>,
) -> Result<OpenSet, RecoverError> {
    let set = name.tar_name();
    let reader = SetReader::open(dir, &set)
        .and_then(|r| r.with_keys(keys))
        .map_err(|e| RecoverError::from_set(&set, e))?;
    let version = reader
        .version()
        .map_err(|e| RecoverError::from_set(&set, e))?;
    if version.format > FORMAT {
        return Err(RecoverError::NewerFormat {
            set,
            found: version.format,
            supported: FORMAT,
        });
    }
    let summary = reader
        .summary()
        .map_err(|e| RecoverError::from_set(&set, e))?;
    Ok(OpenSet {
        reader,
        dir: dir.to_path_buf(),
        version,
        summary,
    })
}

fn open_chain(dir: &Path, newest: &SetName, keys: Option<&Keys>) -> Result<Chain, RecoverError> {
    let top = open_set_with(dir, newest, keys)?;
    if top.kind() != SetKind::Differential {
        return Ok(Chain {
            sets: vec![top],
            passed_over: Vec::new(),
        });
    }
    let set = top.name();
    let Some(base_name) = top.version.base.clone() else {
        return Err(RecoverError::damaged(
            &set,
            "a differential that does not name its full backup",
        ));
    };
    let missing = || RecoverError::MissingBase {
        set: set.clone(),
        base: base_name.clone(),
        dir: dir.to_path_buf(),
    };
    let base = SetName::parse_tar(&base_name).ok_or_else(|| {
        RecoverError::damaged(&set, format!("its base {base_name:?} is not a set name"))
    })?;
    if base.kind == SetKind::Differential {
        return Err(RecoverError::damaged(
            &set,
            format!("its base {base_name} is a differential, not a full backup"),
        ));
    }
    let base = match open_set_with(dir, &base, keys) {
        Ok(b) => b,
        Err(RecoverError::MissingVolume { .. }) => return Err(missing()),
        Err(RecoverError::Source { .. }) => return Err(missing()),
        Err(e) => return Err(e),
    };
    Ok(Chain {
        sets: vec![base, top],
        passed_over: Vec::new(),
    })
}

/// The newest restore point in a folder of sets.
pub fn newest_in(dir: &Path, keys: Option<&Keys>) -> Result<Chain, RecoverError> {
    let sets = backupset::list_sets(dir).map_err(|e| {
        let name = dir.display().to_string();
        RecoverError::from_set(&name, e)
    })?;
    let mut passed_over = Vec::new();
    // Restore points: (time, newest set of the point); newest last.
    let mut points: Vec<(i64, &SetStatus)> = Vec::new();
    for s in &sets {
        if !s.complete {
            passed_over.push(format!(
                "{}: {}",
                s.name.tar_name(),
                s.problem.as_deref().unwrap_or("incomplete")
            ));
            continue;
        }
        if s.name.kind == SetKind::Differential {
            let base_ok = s.base.as_deref().is_some_and(|b| {
                sets.iter()
                    .any(|o| o.complete && o.name.tar_name() == b && o.name.kind != s.name.kind)
            });
            if !base_ok {
                passed_over.push(format!(
                    "{}: its full backup {} is not here or not complete",
                    s.name.tar_name(),
                    s.base.as_deref().unwrap_or("(unknown)")
                ));
                continue;
            }
        }
        points.push((s.name.time, s));
    }
    points.sort_by_key(|p| p.0);
    let Some((_, newest)) = points.last() else {
        return Err(match passed_over.first() {
            Some(why) => RecoverError::Source {
                path: dir.to_path_buf(),
                reason: format!("no complete backup set ({why})"),
            },
            None => RecoverError::NoSet(dir.to_path_buf()),
        });
    };
    let mut chain = open_chain(dir, &newest.name, keys)?;
    chain.passed_over = passed_over;
    Ok(chain)
}

/// What `<directory>|<file>` names: a folder's newest restore point, or
/// the set one of whose files (`.tar`, `.tar.NNN`, `.tar.md5`) is given.
/// Encrypted sets are read with `keys` (`--identity`).
pub fn resolve(path: &Path, keys: Option<&Keys>) -> Result<Chain, RecoverError> {
    let meta = std::fs::metadata(path).map_err(|e| RecoverError::Source {
        path: path.to_path_buf(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or folder".into(),
            _ => e.to_string(),
        },
    })?;
    if meta.is_dir() {
        return newest_in(path, keys);
    }
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let Some((name, _role)) = SetName::parse_file(file) else {
        return Err(RecoverError::Source {
            path: path.to_path_buf(),
            reason: "not a file of a backup set (<host>-<F|I|C><date>T<time>Z.tar)".into(),
        });
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    open_chain(&dir, &name, keys)
}
