//! What the last full backup saw, kept under the state folder so a
//! differential can tell what changed: one line per entry in walk order.
//!
//! ```text
//! # backupset state 1 base=<first volume of the full> started=<epoch>
//! <kind>\t<size>\t<mtime_ns>\t<ctime_ns>\t<mode>\t<uid>\t<gid>\t<path>
//! ```
//! `kind` is `f`, `d` or `l`. A file that was not stored whole (unreadable,
//! changed while read) is written with mtime 0 so the next differential
//! stores it again.

use crate::error::{SetError, io_at};
use crate::escape::{escape, unescape};
use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// File name of the committed state in the state folder.
pub const STATE_FILE: &str = "full.state";
const HEADER: &str = "# backupset state 1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    pub path: String,
    pub kind: char,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl StateEntry {
    /// Whether the entry is unchanged since the full (same type, size,
    /// times, permissions and owner).
    pub fn same_as(&self, other: &StateEntry) -> bool {
        self.mtime_ns != 0
            && self.kind == other.kind
            && self.size == other.size
            && self.mtime_ns == other.mtime_ns
            && self.ctime_ns == other.ctime_ns
            && self.mode == other.mode
            && self.uid == other.uid
            && self.gid == other.gid
    }
}

/// Orders paths as the walk visits them: component by component, which is
/// byte order with `/` sorting before every other byte.
pub fn walk_order(a: &str, b: &str) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

/// Writes a state file while the full runs.
pub struct StateWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl StateWriter {
    pub fn create(path: &Path, base: &str, started: i64) -> Result<StateWriter, SetError> {
        let f = File::create(path).map_err(io_at(path))?;
        let mut out = BufWriter::with_capacity(64 << 10, f);
        writeln!(out, "{HEADER} base={base} started={started}").map_err(io_at(path))?;
        Ok(StateWriter {
            out,
            path: path.to_path_buf(),
        })
    }

    pub fn push(&mut self, e: &StateEntry) -> Result<(), SetError> {
        writeln!(
            self.out,
            "{}\t{}\t{}\t{}\t{:o}\t{}\t{}\t{}",
            e.kind,
            e.size,
            e.mtime_ns,
            e.ctime_ns,
            e.mode,
            e.uid,
            e.gid,
            escape(&e.path)
        )
        .map_err(io_at(&self.path))
    }

    /// Flushes and fsyncs; the caller renames the file into place.
    pub fn finish(self) -> Result<(), SetError> {
        let path = self.path;
        let f = self
            .out
            .into_inner()
            .map_err(|e| SetError::io(&path, e.into_error()))?;
        f.sync_all().map_err(io_at(&path))
    }
}

/// Reads a state file entry by entry.
pub struct StateReader {
    lines: std::io::Lines<BufReader<File>>,
    path: PathBuf,
    /// The full this state belongs to.
    pub base: String,
    pub started: i64,
}

impl StateReader {
    pub fn open(path: &Path) -> Result<StateReader, SetError> {
        let f = File::open(path).map_err(io_at(path))?;
        let mut lines = BufReader::with_capacity(64 << 10, f).lines();
        let bad = |why: &str| SetError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string()),
        };
        let first = lines
            .next()
            .ok_or_else(|| bad("empty state file"))?
            .map_err(io_at(path))?;
        let rest = first
            .strip_prefix(HEADER)
            .ok_or_else(|| bad("not a state file"))?;
        let mut base = None;
        let mut started = None;
        for word in rest.split_whitespace() {
            if let Some(b) = word.strip_prefix("base=") {
                base = Some(b.to_string());
            } else if let Some(s) = word.strip_prefix("started=") {
                started = s.parse().ok();
            }
        }
        Ok(StateReader {
            lines,
            path: path.to_path_buf(),
            base: base.ok_or_else(|| bad("no base= in the state file"))?,
            started: started.ok_or_else(|| bad("no started= in the state file"))?,
        })
    }

    /// The next entry, `None` at the end.
    pub fn next_entry(&mut self) -> Result<Option<StateEntry>, SetError> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        let line = line.map_err(io_at(&self.path))?;
        parse_line(&line).map(Some).ok_or_else(|| SetError::Io {
            path: self.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad state line {line:?}"),
            ),
        })
    }
}

fn parse_line(line: &str) -> Option<StateEntry> {
    let mut f = line.splitn(8, '\t');
    let kind = f.next()?.chars().next()?;
    let size = f.next()?.parse().ok()?;
    let mtime_ns = f.next()?.parse().ok()?;
    let ctime_ns = f.next()?.parse().ok()?;
    let mode = u32::from_str_radix(f.next()?, 8).ok()?;
    let uid = f.next()?.parse().ok()?;
    let gid = f.next()?.parse().ok()?;
    let path = unescape(f.next()?)?.into_owned();
    Some(StateEntry {
        path,
        kind,
        size,
        mtime_ns,
        ctime_ns,
        mode,
        uid,
        gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_component_wise() {
        let mut v = vec!["a-c", "a/b", "a", "ab", "a/b/c", "a/ b"];
        v.sort_by(|x, y| walk_order(x, y));
        assert_eq!(v, ["a", "a/ b", "a/b", "a/b/c", "a-c", "ab"]);
    }

    #[test]
    fn write_and_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s");
        let e = StateEntry {
            path: "store/x\ty".into(),
            kind: 'f',
            size: 5,
            mtime_ns: 123,
            ctime_ns: 456,
            mode: 0o100644,
            uid: 1,
            gid: 2,
        };
        let mut w = StateWriter::create(&p, "mail-F20260101T000000Z.tar", 77).expect("create");
        w.push(&e).expect("push");
        w.finish().expect("finish");
        let mut r = StateReader::open(&p).expect("open");
        assert_eq!(r.base, "mail-F20260101T000000Z.tar");
        assert_eq!(r.started, 77);
        assert_eq!(r.next_entry().expect("entry"), Some(e));
        assert_eq!(r.next_entry().expect("end"), None);
    }
}
