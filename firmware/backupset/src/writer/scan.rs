//! The scanner: walks the data tree in a fixed order (names sorted byte-wise
//! in each folder, a folder's whole subtree before its next sibling), turns
//! it into tar bytes in batches, and keeps the index, the deletions and the
//! state of a full on the side.

use super::sink::Batch;
use super::{Progress, WriteOptions};
use crate::error::SetError;
use crate::index::{INDEX_HEADER, IndexEntry};
use crate::meta::{DATA_DIR, DELETED_ENTRY, INDEX_ENTRY, SUMMARY_ENTRY, Summary};
use crate::state::{StateEntry, StateReader, StateWriter, walk_order};
use crate::tarfmt::{EntryHeader, EntryKind, padding, write_header};
use crate::window;
use std::cmp::Ordering;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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

    // ---- the byte stream ----

    fn take_batch(&mut self) -> Result<Batch, SetError> {
        if let Some(b) = self.batch.take() {
            return Ok(b);
        }
        // A free buffer comes back from the writer; if it is gone, it failed.
        let mut b = self
            .free
            .recv()
            .map_err(|_| SetError::Internal("the writer stopped".into()))?;
        b.len = 0;
        b.cut = false;
        Ok(b)
    }

    /// Ends a compressed set's frame here (the bytes so far go on now).
    fn cut_frame(&mut self) -> Result<(), SetError> {
        let mut b = self.take_batch()?;
        b.cut = true;
        self.send_batch(b)
    }

    fn send_batch(&mut self, b: Batch) -> Result<(), SetError> {
        self.tx
            .send(b)
            .map_err(|_| SetError::Internal("the writer stopped".into()))
    }

    fn push(&mut self, mut bytes: &[u8]) -> Result<(), SetError> {
        while !bytes.is_empty() {
            let mut b = self.take_batch()?;
            let n = bytes.len().min(b.data.len() - b.len);
            b.data[b.len..b.len + n].copy_from_slice(&bytes[..n]);
            b.len += n;
            bytes = &bytes[n..];
            self.offset += n as u64;
            self.keep_or_send(b)?;
        }
        Ok(())
    }

    fn push_zeros(&mut self, mut n: usize) -> Result<(), SetError> {
        while n > 0 {
            let mut b = self.take_batch()?;
            let k = n.min(b.data.len() - b.len);
            b.data[b.len..b.len + k].fill(0);
            b.len += k;
            n -= k;
            self.offset += k as u64;
            self.keep_or_send(b)?;
        }
        Ok(())
    }

    fn keep_or_send(&mut self, b: Batch) -> Result<(), SetError> {
        if b.len == b.data.len() {
            self.progress
                .bytes
                .store(self.offset, AtomicOrdering::Relaxed);
            self.send_batch(b)
        } else {
            self.batch = Some(b);
            Ok(())
        }
    }

    /// Copies exactly `size` bytes of `f` into the stream (zeros past an
    /// early end). Returns whether the file was shorter than announced.
    fn push_file(&mut self, f: &mut File, path: &Path, size: u64) -> Result<bool, SetError> {
        let mut left = size;
        let mut short = false;
        while left > 0 {
            let mut b = self.take_batch()?;
            let room = (b.data.len() - b.len).min(left.min(usize::MAX as u64) as usize);
            if room == 0 {
                self.send_batch(b)?;
                continue;
            }
            let n = if short {
                0
            } else {
                loop {
                    match f.read(&mut b.data[b.len..b.len + room]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            self.problem(format!(
                                "{}: read failed part-way, the rest stored as zeros: {e}",
                                path.display()
                            ));
                            break 0;
                        }
                    }
                }
            };
            let n = if n == 0 {
                short = true;
                b.data[b.len..b.len + room].fill(0);
                room
            } else {
                n
            };
            b.len += n;
            left -= n as u64;
            self.offset += n as u64;
            self.keep_or_send(b)?;
        }
        Ok(short)
    }

    fn header(&mut self, h: &EntryHeader<'_>) -> Result<(), SetError> {
        let mut hdr = std::mem::take(&mut self.scratch);
        hdr.clear();
        write_header(&mut hdr, h);
        let r = self.push(&hdr);
        self.scratch = hdr;
        r
    }

    /// A small entry written from memory.
    fn entry_from_bytes(&mut self, path: &str, data: &[u8], mtime: i64) -> Result<u64, SetError> {
        self.header(&EntryHeader {
            path,
            kind: EntryKind::File,
            size: data.len() as u64,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime,
            link: "",
        })?;
        let data_offset = self.offset;
        self.push(data)?;
        self.push_zeros(padding(data.len() as u64) as usize)?;
        Ok(data_offset)
    }

    /// An entry whose data is a spool file. Returns (data offset, size).
    fn entry_from_spool(
        &mut self,
        path: &str,
        spool: BufWriter<File>,
        mtime: i64,
    ) -> Result<(u64, u64), SetError> {
        let mut f = spool
            .into_inner()
            .map_err(|e| SetError::io(&self.opts.state_dir, e.into_error()))?;
        let size = f
            .stream_position()
            .map_err(|e| SetError::io(&self.opts.state_dir, e))?;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| SetError::io(&self.opts.state_dir, e))?;
        self.header(&EntryHeader {
            path,
            kind: EntryKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime,
            link: "",
        })?;
        let data_offset = self.offset;
        let dir = self.opts.state_dir.clone();
        if self.push_file(&mut f, &dir, size)? {
            return Err(SetError::Internal(format!(
                "a spool file in {} shrank",
                dir.display()
            )));
        }
        self.push_zeros(padding(size) as usize)?;
        Ok((data_offset, size))
    }

    // ---- bookkeeping ----

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

    fn record_state(&mut self, e: &StateEntry) -> Result<(), SetError> {
        if let Some(s) = self.state_out.as_mut() {
            s.push(e)?;
        }
        Ok(())
    }

    fn base_peek(&mut self) -> Result<Option<&StateEntry>, SetError> {
        if self.base_next.is_none()
            && let Some(r) = self.base.as_mut()
        {
            self.base_next = r.next_entry()?;
        }
        Ok(self.base_next.as_ref())
    }

    fn record_deleted(&mut self, e: &StateEntry) -> Result<(), SetError> {
        if let Some(p) = &self.deleted_prefix
            && e.path.len() > p.len()
            && e.path.starts_with(p.as_str())
            && e.path.as_bytes()[p.len()] == b'/'
        {
            return Ok(());
        }
        writeln!(self.deleted, "{}", crate::escape::escape(&e.path))
            .map_err(|err| SetError::io(&self.opts.state_dir, err))?;
        self.summary.deleted_entries += 1;
        self.deleted_prefix = (e.kind == 'd').then(|| e.path.clone());
        Ok(())
    }

    /// Moves the base state up to `rel`: entries before it are gone from the
    /// tree (recorded as deleted); the entry at `rel`, if any, is returned.
    fn base_at(&mut self, rel: &str) -> Result<Option<StateEntry>, SetError> {
        loop {
            let Some(next) = self.base_peek()? else {
                return Ok(None);
            };
            match walk_order(&next.path, rel) {
                Ordering::Less => {
                    let e = self.base_next.take();
                    if let Some(e) = e {
                        self.record_deleted(&e)?;
                    }
                }
                Ordering::Equal => return Ok(self.base_next.take()),
                Ordering::Greater => return Ok(None),
            }
        }
    }

    /// Passes over `rel` and everything under it in the base without
    /// recording deletions (it exists but could not be read).
    fn base_skip(&mut self, rel: &str) -> Result<(), SetError> {
        self.base_at(rel)?;
        let prefix = format!("{rel}/");
        while let Some(next) = self.base_peek()? {
            if !next.path.starts_with(&prefix) {
                break;
            }
            self.base_next = None;
        }
        Ok(())
    }

    fn differential(&self) -> bool {
        self.base.is_some()
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

    // ---- the walk ----

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

    fn skip(&mut self, rel: &str, why: String) -> Result<(), SetError> {
        self.summary.skipped_files += 1;
        self.problem(format!("{rel}: {why}; left out"));
        self.base_skip(rel)
    }

    fn dir(&mut self, abs: &Path, rel: String, md: &fs::Metadata) -> Result<(), SetError> {
        self.cancelled()?;
        let entry = entry_of(&rel, md, 'd');
        let rd = match fs::read_dir(abs) {
            Ok(rd) => rd,
            Err(e) => {
                return self.skip(
                    if rel.is_empty() { "." } else { &rel },
                    format!("folder cannot be read ({e})"),
                );
            }
        };
        // The entries keep the folder open, so a differential's stats are
        // relative to it (no path walk per file).
        let mut names: Vec<(OsString, Option<fs::FileType>, fs::DirEntry)> = Vec::new();
        for item in rd {
            match item {
                Ok(d) => {
                    let ft = d.file_type().ok();
                    names.push((d.file_name(), ft, d));
                }
                Err(e) => {
                    self.problem(format!(
                        "{rel}: listing failed part-way ({e}); some entries may be missing"
                    ));
                    break;
                }
            }
        }
        names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

        let changed = match self.base.is_some() {
            true => !self.base_at(&rel)?.is_some_and(|b| b.same_as(&entry)),
            false => true,
        };
        self.record_state(&entry)?;
        self.stack.push(DirFrame {
            rel: rel.clone(),
            meta: entry,
            start: None,
            files: 0,
            bytes: 0,
            headers_only: 0,
        });
        if changed || rel.is_empty() {
            self.open_pending_dirs()?;
        }
        // The secret patterns of this folder (usually none: one comparison
        // per folder, not per file).
        let secret_rules: Vec<SecretRule> = self
            .secrets
            .iter()
            .filter(|(d, _, _)| d.as_os_str() == abs.as_os_str())
            .cloned()
            .collect();
        for (name, ft, dirent) in names {
            self.cancelled()?;
            let child_abs = abs.join(&name);
            let Some(name) = name.to_str() else {
                self.summary.skipped_files += 1;
                self.problem(format!(
                    "{}: the name is not valid UTF-8; left out",
                    child_abs.display()
                ));
                continue;
            };
            // Byte comparison (cheap) against paths normalised up front.
            if self
                .exclude
                .iter()
                .any(|x| x.as_os_str() == child_abs.as_os_str())
            {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if let Some((_, _, sealer)) = secret_rules
                .iter()
                .find(|(_, p, _)| super::name_matches(p, name.as_bytes()))
            {
                let is_file = ft.is_some_and(|t| t.is_file());
                self.secret(&child_abs, &child_rel, is_file, sealer.as_deref())?;
                continue;
            }
            let ft = match ft {
                Some(ft) => ft,
                None => match fs::symlink_metadata(&child_abs) {
                    Ok(m) => m.file_type(),
                    Err(e) => {
                        self.skip(&child_rel, format!("cannot be examined ({e})"))?;
                        continue;
                    }
                },
            };
            if ft.is_dir() {
                match dirent.metadata() {
                    Ok(m) if m.is_dir() => self.dir(&child_abs, child_rel, &m)?,
                    Ok(_) => self.skip(&child_rel, "changed type during the backup".into())?,
                    Err(e) => self.skip(&child_rel, format!("cannot be examined ({e})"))?,
                }
            } else if ft.is_file() {
                self.file(&child_abs, &child_rel, &dirent)?;
            } else if ft.is_symlink() {
                self.symlink(&child_abs, &child_rel)?;
            } else {
                use std::os::unix::fs::FileTypeExt;
                let what = if ft.is_socket() {
                    "a socket"
                } else if ft.is_fifo() {
                    "a FIFO"
                } else {
                    "a device"
                };
                self.skip(&child_rel, format!("is {what}"))?;
            }
        }
        self.close_dir()
    }

    /// A file that holds secrets: sealed into the set under its name and
    /// the sealer's suffix, or left out. Never in the state of a full (so
    /// never a deletion either): a differential stores it again.
    fn secret(
        &mut self,
        abs: &Path,
        rel: &str,
        is_file: bool,
        sealer: Option<&dyn super::Sealer>,
    ) -> Result<(), SetError> {
        self.base_skip(rel)?;
        let Some(sealer) = sealer.filter(|_| is_file) else {
            log::info!("{rel}: holds secrets; left out of the set");
            self.secrets_left_out.push(rel.to_string());
            return Ok(());
        };
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(abs);
        let read = opened.and_then(|f| {
            let md = f.metadata()?;
            if !md.is_file() {
                return Err(std::io::Error::other("not a regular file"));
            }
            let mut plain = Vec::new();
            f.take(MAX_SECRET + 1).read_to_end(&mut plain)?;
            Ok((md, plain))
        });
        let (md, plain) = match read {
            Ok((_, p)) if p.len() as u64 > MAX_SECRET => {
                self.problem(format!(
                    "{rel}: holds secrets and is larger than {} MiB; left out",
                    MAX_SECRET >> 20
                ));
                self.secrets_left_out.push(rel.to_string());
                return Ok(());
            }
            Ok(x) => x,
            Err(e) => {
                self.problem(format!(
                    "{rel}: holds secrets and cannot be read ({e}); left out"
                ));
                self.secrets_left_out.push(rel.to_string());
                return Ok(());
            }
        };
        let sealed = match sealer.seal(&plain) {
            Ok(s) => s,
            Err(e) => {
                self.problem(format!("{rel}: cannot be encrypted ({e}); left out"));
                self.secrets_left_out.push(rel.to_string());
                return Ok(());
            }
        };
        drop(plain);
        self.open_pending_dirs()?;
        self.header(&EntryHeader {
            path: &tar_path(&format!("{rel}{}", sealer.suffix())),
            kind: EntryKind::File,
            size: sealed.len() as u64,
            mode: 0o600,
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            link: "",
        })?;
        self.push(&sealed)?;
        self.push_zeros(padding(sealed.len() as u64) as usize)?;
        self.count_file(sealed.len() as u64, false);
        self.secrets_sealed += 1;
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

    fn symlink(&mut self, abs: &Path, rel: &str) -> Result<(), SetError> {
        let (md, target) = match (fs::symlink_metadata(abs), fs::read_link(abs)) {
            (Ok(m), Ok(t)) => (m, t),
            (Err(e), _) | (_, Err(e)) => {
                return self.skip(rel, format!("link cannot be read ({e})"));
            }
        };
        let Some(target) = target.to_str().map(str::to_string) else {
            return self.skip(rel, "link target is not valid UTF-8".into());
        };
        let entry = entry_of(rel, &md, 'l');
        if self.differential() && self.base_at(rel)?.is_some_and(|b| b.same_as(&entry)) {
            return self.record_state(&entry);
        }
        self.record_state(&entry)?;
        self.open_pending_dirs()?;
        self.header(&EntryHeader {
            path: &tar_path(rel),
            kind: EntryKind::Symlink,
            size: 0,
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            link: &target,
        })?;
        self.count_file(0, false);
        Ok(())
    }

    fn file(&mut self, abs: &Path, rel: &str, dirent: &fs::DirEntry) -> Result<(), SetError> {
        // A differential stats first: unchanged files are not even opened.
        if self.differential()
            && let Some(base) = self.base_at(rel)?
            && let Ok(m) = dirent.metadata()
            && m.is_file()
            && base.same_as(&entry_of(rel, &m, 'f'))
        {
            return self.record_state(&base);
        }
        // O_NONBLOCK: if the file was swapped for a FIFO, opening must not hang.
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(abs);
        let mut f = match opened {
            Ok(f) => f,
            Err(e) => return self.skip(rel, format!("cannot be read ({e})")),
        };
        let md = match f.metadata() {
            Ok(m) if m.is_file() => m,
            Ok(_) => return self.skip(rel, "changed type during the backup".into()),
            Err(e) => return self.skip(rel, format!("cannot be examined ({e})")),
        };
        let mut entry = entry_of(rel, &md, 'f');
        let window = u64::from(self.opts.body_window_hours) * 3600;
        if window > 0
            && md.mtime() < self.opts.started - window as i64
            && window::is_windowed_message(rel)
        {
            if let Some(stored) = self.read_headers(&mut f, abs, md.len())? {
                self.record_state(&entry)?;
                self.open_pending_dirs()?;
                self.header(&EntryHeader {
                    path: &tar_path(rel),
                    kind: EntryKind::File,
                    size: stored.len() as u64,
                    mode: md.mode(),
                    uid: md.uid(),
                    gid: md.gid(),
                    mtime: md.mtime(),
                    link: "",
                })?;
                self.push(&stored)?;
                self.push_zeros(padding(stored.len() as u64) as usize)?;
                self.count_file(stored.len() as u64, true);
                return Ok(());
            }
            f.seek(SeekFrom::Start(0))
                .map_err(|e| SetError::io(abs, e))?;
        }
        self.open_pending_dirs()?;
        let size = md.len();
        self.header(&EntryHeader {
            path: &tar_path(rel),
            kind: EntryKind::File,
            size,
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            link: "",
        })?;
        let short = self.push_file(&mut f, abs, size)?;
        self.push_zeros(padding(size) as usize)?;
        let after = f.metadata().ok();
        let changed = short
            || after.is_none_or(|a| {
                a.len() != md.len() || a.mtime() != md.mtime() || a.mtime_nsec() != md.mtime_nsec()
            });
        if changed {
            self.summary.changed_files += 1;
            self.problem(format!(
                "{rel}: changed while it was read; stored as read, the next backup stores it again"
            ));
            // Never "unchanged" for the next differential.
            entry.mtime_ns = 0;
        }
        self.record_state(&entry)?;
        self.count_file(size, false);
        Ok(())
    }

    /// Reads the header section of an old message and returns its stored
    /// form, or `None` if it has no header section to keep (stored whole).
    fn read_headers(
        &mut self,
        f: &mut File,
        abs: &Path,
        size: u64,
    ) -> Result<Option<Vec<u8>>, SetError> {
        let mut head = Vec::with_capacity(16 << 10);
        let mut chunk = [0u8; 16 << 10];
        loop {
            let n = match f.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SetError::io(abs, e)),
            };
            if n == 0 {
                return Ok(None);
            }
            let from = head.len().saturating_sub(3);
            head.extend_from_slice(&chunk[..n]);
            if let Some(len) = window::header_len(&head[from..]) {
                let len = from + len;
                if len as u64 >= size {
                    // Nothing after the headers: nothing to leave out.
                    return Ok(None);
                }
                return Ok(Some(window::headers_only(
                    &head[..len],
                    size,
                    self.opts.body_window_hours,
                )));
            }
            if head.len() >= window::MAX_HEADER {
                return Ok(None);
            }
        }
    }
}
