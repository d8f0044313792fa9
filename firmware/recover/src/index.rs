//! A set's index in memory: one line per folder stored, with the byte
//! range of its subtree and its counts. A listing walks it; a selective
//! restore finds its folders in it and reads only their ranges.

use crate::chain::OpenSet;
use crate::error::RecoverError;
use backupset::IndexEntry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

#[derive(Debug, Default)]
pub struct SetIndex {
    by_path: HashMap<String, IndexEntry>,
    children: HashMap<String, Vec<String>>,
}

/// The folder holding `path` (`.` for a top-level name).
pub fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some((p, _)) => p,
        None => ".",
    }
}

/// The last name of `path`.
pub fn name_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(_, n)| n).unwrap_or(path)
}

impl SetIndex {
    pub fn load(set: &OpenSet) -> Result<SetIndex, RecoverError> {
        let name = set.name();
        let mut index = SetIndex::default();
        set.reader
            .for_each_index(|e| {
                index.insert(e);
                Ok(true)
            })
            .map_err(|e| RecoverError::from_set(&name, e))?;
        if !index.by_path.contains_key(".") {
            return Err(RecoverError::damaged(
                &name,
                "the index has no line for the root",
            ));
        }
        Ok(index)
    }

    pub fn from_entries(entries: impl IntoIterator<Item = IndexEntry>) -> SetIndex {
        let mut index = SetIndex::default();
        for e in entries {
            index.insert(e);
        }
        index
    }

    fn insert(&mut self, e: IndexEntry) {
        if e.path != "." {
            self.children
                .entry(parent_of(&e.path).to_string())
                .or_default()
                .push(e.path.clone());
        }
        self.by_path.insert(e.path.clone(), e);
    }

    pub fn get(&self, path: &str) -> Option<&IndexEntry> {
        self.by_path.get(if path.is_empty() { "." } else { path })
    }

    /// Sub-folders of `path` stored in the set, by name.
    pub fn children(&self, path: &str) -> Vec<&IndexEntry> {
        let mut out: Vec<&IndexEntry> = self
            .children
            .get(path)
            .map(|v| v.iter().filter_map(|p| self.by_path.get(p)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path);
        out
    }

    /// The byte range to read for `path` (a folder, or a file in a stored
    /// folder), if the set holds anything there.
    pub fn range_for(&self, path: &str, is_file: bool) -> Option<Range<u64>> {
        let holder = if is_file { parent_of(path) } else { path };
        self.get(holder).map(|e| e.start..e.end)
    }

    /// Files and bytes under `path` (a folder), if stored.
    pub fn counts(&self, path: &str) -> Option<(u64, u64, u64)> {
        self.get(path).map(|e| (e.files, e.bytes, e.headers_only))
    }

    /// The names directly below `path`, sorted.
    pub fn child_names(&self, path: &str) -> BTreeMap<String, &IndexEntry> {
        self.children(path)
            .into_iter()
            .map(|e| (name_of(&e.path).to_string(), e))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, start: u64, end: u64, files: u64) -> IndexEntry {
        IndexEntry {
            path: path.into(),
            start,
            end,
            files,
            bytes: files * 10,
            headers_only: 0,
        }
    }

    #[test]
    fn tree() {
        let i = SetIndex::from_entries([
            e("config", 512, 2048, 2),
            e("store/mail/a.com/bob", 2048, 8192, 3),
            e("store/mail/a.com", 1536, 8192, 3),
            e("store/mail", 1024, 8192, 3),
            e("store", 512, 8192, 3),
            e(".", 0, 8192, 5),
        ]);
        assert_eq!(i.range_for("store/mail/a.com/bob", false), Some(2048..8192));
        assert_eq!(i.range_for("config/users.cfg", true), Some(512..2048));
        assert_eq!(i.range_for("license/x", true), None);
        assert_eq!(
            i.child_names("store/mail").keys().collect::<Vec<_>>(),
            ["a.com"]
        );
        assert_eq!(i.children(".").len(), 2);
        assert_eq!(parent_of("config"), ".");
        assert_eq!(name_of("store/mail/a.com"), "a.com");
    }
}
