//! `.index.txt`: one line per directory stored in the set, giving the byte
//! range of its contiguous subtree in the joined volumes, so a reader finds
//! one domain, user or folder and reads only those bytes.
//!
//! ```text
//! # backupset index 1
//! <start>\t<end>\t<files>\t<bytes>\t<headers_only>\t<path>
//! ```
//! `start` is the offset of the directory's first header block (a PAX
//! header if it has one), `end` the offset just after the last block of
//! its last descendant. `path` is relative to `@backup/` (`.` for the root),
//! escaped as in [`crate::escape`]. Lines are in post-order (a directory
//! after its subdirectories).

use crate::escape::{escape, unescape};

pub const INDEX_HEADER: &str = "# backupset index 1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub path: String,
    pub start: u64,
    pub end: u64,
    /// Files (not directories) in the subtree.
    pub files: u64,
    /// Bytes of file data in the subtree.
    pub bytes: u64,
    /// Messages in the subtree stored with their headers only.
    pub headers_only: u64,
}

impl IndexEntry {
    pub fn to_line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            self.start,
            self.end,
            self.files,
            self.bytes,
            self.headers_only,
            escape(&self.path)
        )
    }

    /// Reads one line (without its newline); `Err` says what is wrong.
    pub fn parse(line: &str) -> Result<IndexEntry, String> {
        let mut f = line.splitn(6, '\t');
        let mut n = |what: &str| -> Result<u64, String> {
            f.next()
                .ok_or_else(|| format!("no {what}"))?
                .parse()
                .map_err(|_| format!("{what} is not a number"))
        };
        let start = n("start")?;
        let end = n("end")?;
        let files = n("files")?;
        let bytes = n("bytes")?;
        let headers_only = n("headers_only")?;
        let path = f.next().ok_or("no path")?;
        let path = unescape(path).ok_or("bad escape in path")?.into_owned();
        if end < start || start % 512 != 0 || end % 512 != 0 {
            return Err(format!("bad range {start}..{end}"));
        }
        Ok(IndexEntry {
            path,
            start,
            end,
            files,
            bytes,
            headers_only,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let e = IndexEntry {
            path: "store/mail/a.com/bob/Sent Items\tx".into(),
            start: 1024,
            end: 4096,
            files: 3,
            bytes: 2000,
            headers_only: 1,
        };
        let line = e.to_line();
        assert_eq!(IndexEntry::parse(line.trim_end_matches('\n')), Ok(e));
        assert!(IndexEntry::parse("1\t2\t3\t4\t5\tp").is_err(), "unaligned");
        assert!(
            IndexEntry::parse("1024\t512\t0\t0\t0\tp").is_err(),
            "backwards"
        );
        assert!(IndexEntry::parse("x").is_err());
    }
}
