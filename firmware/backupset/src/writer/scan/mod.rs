//! The scanner: walks the data tree in a fixed order (names sorted byte-wise
//! in each folder, a folder's whole subtree before its next sibling), turns
//! it into tar bytes in batches, and keeps the index, the deletions and the
//! state of a full on the side.
//!
//! - [`walk`]: folders, files, links and secret files, in walk order.
//! - [`differential`]: the state of the last full beside the walk: what is
//!   unchanged, what is gone.
//! - [`body_window`]: old messages stored as their headers only.
//! - [`stream`]: tar entries into the batches the writer threads take.

mod body_window;
mod differential;
mod stream;
mod walk;

use super::sink::Batch;
use super::{Progress, WriteOptions};
use crate::error::SetError;
use crate::index::{INDEX_HEADER, IndexEntry};
use crate::meta::{DATA_DIR, DELETED_ENTRY, INDEX_ENTRY, SUMMARY_ENTRY, Summary};
use crate::state::{StateEntry, StateReader, StateWriter};
use crate::tarfmt::{EntryHeader, EntryKind};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::mpsc::{Receiver, SyncSender};

/// Largest secret file sealed into a set; a larger one is left out.
pub const MAX_SECRET: u64 = 1 << 20;

/// Problems kept word for word; beyond this only counted.
const MAX_PROBLEMS: usize = 200;

struct DirFrame {
    rel: String,
    meta: StateEntry,
    start: Option<u64>,
    files: u64,
    bytes: u64,
    headers_only: u64,
}

/// What the scan produced besides the tar bytes.
pub struct ScanResult {
    pub summary: Summary,
    pub problems: Vec<String>,
    pub problem_count: u64,
    pub secrets_left_out: Vec<String>,
    pub secrets_sealed: u64,
}

/// A folder entry as listed: its name, its type if the listing said, the entry.
type Listed = (OsString, Option<fs::FileType>, fs::DirEntry);

/// A secret pattern: the folder it applies to, the name pattern, the sealer.
type SecretRule = (
    std::path::PathBuf,
    Vec<u8>,
    Option<std::sync::Arc<dyn super::Sealer>>,
);

pub struct Scanner<'a> {
    opts: &'a WriteOptions,
    exclude: Vec<std::path::PathBuf>,
    secrets: Vec<SecretRule>,
    secrets_left_out: Vec<String>,
    secrets_sealed: u64,
    progress: &'a Progress,
    tx: SyncSender<Batch>,
    free: Receiver<Batch>,
    batch: Option<Batch>,
    offset: u64,
    scratch: Vec<u8>,
    stack: Vec<DirFrame>,
    index: BufWriter<File>,
    deleted: BufWriter<File>,
    state_out: Option<StateWriter>,
    base: Option<StateReader>,
    base_next: Option<StateEntry>,
    deleted_prefix: Option<String>,
    summary: Summary,
    problems: Vec<String>,
    problem_count: u64,
}

fn spool(dir: &Path) -> Result<BufWriter<File>, SetError> {
    let f = tempfile::tempfile_in(dir).map_err(|e| SetError::io(dir, e))?;
    Ok(BufWriter::with_capacity(64 << 10, f))
}

fn entry_of(rel: &str, md: &fs::Metadata, kind: char) -> StateEntry {
    StateEntry {
        path: rel.to_string(),
        kind,
        size: if kind == 'f' { md.len() } else { 0 },
        mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
        ctime_ns: md.ctime() * 1_000_000_000 + md.ctime_nsec(),
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
    }
}

fn tar_path(rel: &str) -> String {
    if rel.is_empty() {
        DATA_DIR.to_string()
    } else {
        format!("{DATA_DIR}/{rel}")
    }
}

impl<'a> Scanner<'a> {
    pub fn new(
        opts: &'a WriteOptions,
        progress: &'a Progress,
        tx: SyncSender<Batch>,
        free: Receiver<Batch>,
        state_out: Option<StateWriter>,
        base: Option<StateReader>,
    ) -> Result<Scanner<'a>, SetError> {
        let mut index = spool(&opts.state_dir)?;
        writeln!(index, "{INDEX_HEADER}").map_err(|e| SetError::io(&opts.state_dir, e))?;
        // `a//b/` and `a/b` name the same folder; walked paths have the latter form.
        let root: std::path::PathBuf = opts.data_root.components().collect();
        let mut exclude = Vec::new();
        let mut secrets = Vec::new();
        for x in &opts.exclude {
            match x {
                super::Exclude::Path(p) => {
                    exclude.push(root.join(p.components().collect::<std::path::PathBuf>()))
                }
                super::Exclude::Secrets(s) => {
                    for p in &s.patterns {
                        if let Some((dir, name)) = super::split_pattern(&root.join(p)) {
                            secrets.push((dir, name, s.sealer.clone()));
                        }
                    }
                }
            }
        }
        Ok(Scanner {
            opts,
            exclude,
            secrets,
            secrets_left_out: Vec::new(),
            secrets_sealed: 0,
            progress,
            tx,
            free,
            batch: None,
            offset: 0,
            scratch: Vec::with_capacity(64 << 10),
            stack: Vec::new(),
            index,
            deleted: spool(&opts.state_dir)?,
            state_out,
            base,
            base_next: None,
            deleted_prefix: None,
            summary: Summary::default(),
            problems: Vec::new(),
            problem_count: 0,
        })
    }

    fn problem(&mut self, text: String) {
        log::warn!("{text}");
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    fn cancelled(&self) -> Result<(), SetError> {
        if self.opts.cancel.load(AtomicOrdering::Relaxed) {
            Err(SetError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn count_file(&mut self, stored: u64, headers_only: bool) {
        self.summary.count_files += 1;
        self.summary.total_size += stored;
        if headers_only {
            self.summary.headers_only_files += 1;
        }
        if let Some(f) = self.stack.last_mut() {
            f.files += 1;
            f.bytes += stored;
            f.headers_only += u64::from(headers_only);
        }
        self.progress.files.fetch_add(1, AtomicOrdering::Relaxed);
    }

    /// Writes the headers of folders entered but not yet written (a
    /// differential writes a folder only when something in it is stored).
    fn open_pending_dirs(&mut self) -> Result<(), SetError> {
        for i in 0..self.stack.len() {
            if self.stack[i].start.is_some() {
                continue;
            }
            let start = self.offset;
            let m = self.stack[i].meta.clone();
            let path = tar_path(&self.stack[i].rel);
            self.header(&EntryHeader {
                path: &path,
                kind: EntryKind::Dir,
                size: 0,
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
                mtime: m.mtime_ns.div_euclid(1_000_000_000),
                link: "",
            })?;
            self.stack[i].start = Some(start);
        }
        Ok(())
    }

    fn close_dir(&mut self) -> Result<(), SetError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        if let Some(parent) = self.stack.last_mut() {
            parent.files += frame.files;
            parent.bytes += frame.bytes;
            parent.headers_only += frame.headers_only;
        }
        if let Some(start) = frame.start {
            let line = IndexEntry {
                path: if frame.rel.is_empty() {
                    ".".into()
                } else {
                    frame.rel
                },
                start,
                end: self.offset,
                files: frame.files,
                bytes: frame.bytes,
                headers_only: frame.headers_only,
            }
            .to_line();
            self.index
                .write_all(line.as_bytes())
                .map_err(|e| SetError::io(&self.opts.state_dir, e))?;
        }
        Ok(())
    }

    pub fn run(mut self, version_text: &str) -> Result<ScanResult, SetError> {
        let started = self.opts.started;
        self.entry_from_bytes(crate::meta::VERSION_ENTRY, version_text.as_bytes(), started)?;
        // `.version.txt` is a frame of its own in a compressed set: its
        // unit and base read from the first bytes of a first volume, even
        // one an interrupted run cut short.
        self.cut_frame()?;
        let root: std::path::PathBuf = self.opts.data_root.components().collect();
        let md = fs::metadata(&root).map_err(|source| SetError::DataRoot {
            path: root.clone(),
            source,
        })?;
        if !md.is_dir() {
            return Err(SetError::DataRoot {
                path: root,
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
            });
        }
        // The root must be listable: a set without data is no backup.
        if let Err(source) = fs::read_dir(&root) {
            return Err(SetError::DataRoot { path: root, source });
        }
        self.dir(&root, String::new(), &md)?;
        // Whatever is left in the base is gone from the tree.
        while let Some(e) = {
            self.base_peek()?;
            self.base_next.take()
        } {
            self.record_deleted(&e)?;
        }
        if let Some(s) = self.state_out.take() {
            s.finish()?;
        }
        let mtime = started;
        // The set's own files get frames of their own: a reader finds the
        // summary and the index without decompressing data.
        self.cut_frame()?;
        let deleted = std::mem::replace(&mut self.deleted, spool(&self.opts.state_dir)?);
        if self.differential() {
            let (off, size) = self.entry_from_spool(DELETED_ENTRY, deleted, mtime)?;
            self.summary.deleted_offset = off;
            self.summary.deleted_size = size;
        }
        let index = std::mem::replace(&mut self.index, spool(&self.opts.state_dir)?);
        let (off, size) = self.entry_from_spool(INDEX_ENTRY, index, mtime)?;
        self.summary.index_offset = off;
        self.summary.index_size = size;
        let now = super::now_millis();
        self.summary.started = started;
        self.summary.finished = now.div_euclid(1000);
        self.summary.duration_ms = (now - started * 1000).max(0) as u64;
        let text = self.summary.to_text();
        self.entry_from_bytes(SUMMARY_ENTRY, text.as_bytes(), self.summary.finished)?;
        // End of archive: two zero blocks.
        self.push_zeros(1024)?;
        if let Some(b) = self.batch.take()
            && b.len > 0
        {
            self.send_batch(b)?;
        }
        self.progress
            .bytes
            .store(self.offset, AtomicOrdering::Relaxed);
        Ok(ScanResult {
            summary: self.summary,
            problems: self.problems,
            problem_count: self.problem_count,
            secrets_left_out: self.secrets_left_out,
            secrets_sealed: self.secrets_sealed,
        })
    }
}
