//! Reading a set: its volumes joined into one byte stream, checked against
//! the `.md5` file; `.version.txt`, `.summary.txt`, the index and the
//! deletions; and the entries of one subtree by byte range only.
//!
//! Every value read from a set is checked before it is used: a damaged or
//! hostile set gives a [`SetError::Malformed`], never a panic or an
//! unbounded allocation.
//!
//! Every volume is opened once, when the set is opened, and every read
//! goes through that descriptor: a volume renamed over or replaced later
//! (an FTP upload of the same name) changes nothing for a reader, so what
//! is checked against the `.md5` file is what is restored.

use crate::crypt::{self, Keys, Notes};
use crate::error::SetError;
use crate::escape::unescape;
use crate::index::{INDEX_HEADER, IndexEntry};
use crate::md5file::{self, hex};
use crate::meta::{DATA_DIR, DELETED_ENTRY, SUMMARY_ENTRY, Summary, VERSION_ENTRY, VersionInfo};
use crate::name::SetName;
use crate::tarfmt::{BLOCK, EntryKind, padding};
use crate::zst::{Frames, SeekTable, Unzstd};
use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Largest `.version.txt` / `.summary.txt` accepted.
const MAX_META: u64 = 64 << 10;
/// Longest line accepted in the index or the deletions.
const MAX_LINE: u64 = 64 << 10;
/// How far before the end the summary's header is looked for.
const SUMMARY_SEARCH_BLOCKS: u64 = 256;

#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub path: PathBuf,
    /// Its size when it was opened.
    pub size: u64,
    pub md5: [u8; 16],
    /// Opened with the set; read with positioned reads only.
    pub file: Arc<File>,
}

impl Volume {
    /// A reader of this volume from its start, through its open descriptor.
    pub fn reader(&self) -> VolumeReader {
        VolumeReader {
            file: self.file.clone(),
            pos: 0,
            size: self.size,
        }
    }
}

/// Reads one volume front to back (`pread` on the shared descriptor).
pub struct VolumeReader {
    file: Arc<File>,
    pos: u64,
    size: u64,
}

impl Read for VolumeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let left = self.size.saturating_sub(self.pos);
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Opens a volume for reading: no link is followed, and it must be a file.
fn open_volume(path: &Path) -> std::io::Result<(File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok((f, m.len()))
}

/// The result of checking one volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeCheck {
    pub name: String,
    pub ok: bool,
    /// `OK`, or what is wrong.
    pub detail: String,
}

impl VolumeCheck {
    /// What failed among `checks`, one `name: detail` after the other
    /// (joined by "; "), or `None` when every volume passed.
    pub fn failures(checks: &[VolumeCheck]) -> Option<String> {
        let bad: Vec<String> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        (!bad.is_empty()).then(|| bad.join("; "))
    }
}

/// One entry of the data, as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetEntry {
    /// Relative to `@backup/`; empty for `@backup` itself.
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Option<String>,
}

/// An open set (all volumes present and listed in its `.md5` file).
///
/// An encrypted set (`.tar.age`) is read through its identities (see
/// [`SetReader::with_keys`]): its plaintext with seeking, so only the age
/// chunks a range touches are decrypted. Without them, [`SetReader::verify`]
/// and [`SetReader::check_readable`] still work (they need no key); reading
/// the contents says which key is needed ([`SetError::Encrypted`]).
#[derive(Debug, Clone)]
pub struct SetReader {
    name: SetName,
    volumes: Vec<Volume>,
    total: u64,
    keys: Option<Keys>,
    /// The plaintext's length, once an encrypted set was opened with its key.
    plain: Option<u64>,
    /// A compressed set's seek table, once read.
    table: OnceLock<Arc<SeekTable>>,
    /// The summary, once read: the index and deletion readers all start
    /// from it, and in a compressed set each read of the last frame
    /// decompresses it from its start.
    summary: OnceLock<Summary>,
}

/// A plaintext stream with seeking.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

impl SetReader {
    /// Opens the set whose first volume is `dir/tar_name`.
    pub fn open(dir: &Path, tar_name: &str) -> Result<SetReader, SetError> {
        let name =
            SetName::parse_tar(tar_name).ok_or_else(|| SetError::BadName(tar_name.to_string()))?;
        let listed = md5file::read_md5(dir, &name).map_err(|reason| SetError::Incomplete {
            set: tar_name.to_string(),
            reason,
        })?;
        let mut volumes = Vec::with_capacity(listed.len());
        let mut total = 0u64;
        for (file, md5) in listed {
            let path = dir.join(&file);
            let (handle, size) = open_volume(&path).map_err(|e| SetError::Incomplete {
                set: tar_name.to_string(),
                reason: format!("volume {file}: {e}"),
            })?;
            total = total
                .checked_add(size)
                .ok_or_else(|| SetError::malformed(tar_name, "volumes too large"))?;
            volumes.push(Volume {
                name: file,
                path,
                size,
                md5,
                file: Arc::new(handle),
            });
        }
        Ok(SetReader {
            name,
            volumes,
            total,
            keys: None,
            plain: None,
            table: OnceLock::new(),
            summary: OnceLock::new(),
        })
    }

    /// Whether the set is encrypted (`.tar.age`).
    pub fn is_encrypted(&self) -> bool {
        self.name.encrypted
    }

    /// Gives the identities an encrypted set is read with (a plain set
    /// ignores them). Checks that they open it and that its end is intact
    /// (age authenticates the last chunk as the last).
    pub fn with_keys(mut self, keys: Option<&Keys>) -> Result<SetReader, SetError> {
        if !self.name.encrypted {
            return Ok(self);
        }
        self.keys = keys.cloned();
        self.plain = None;
        self.table = OnceLock::new();
        self.summary = OnceLock::new();
        let mut s = self.decrypted_stream()?;
        let len = s.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        self.plain = Some(len);
        Ok(self)
    }

    /// The identities given with [`SetReader::with_keys`].
    pub fn keys(&self) -> Option<&Keys> {
        self.keys.as_ref()
    }

    /// What an encrypted set's header tells without a key (`None`: plain,
    /// or not an age file).
    pub fn notes(&self) -> Option<Notes> {
        self.name
            .encrypted
            .then(|| crypt::notes_of(self.joined()))
            .flatten()
    }

    /// Whether the set is compressed (`.tar.zst`).
    pub fn is_compressed(&self) -> bool {
        self.name.compressed
    }

    /// The joined volumes, or their decryption (for a compressed set, the
    /// zstd stream).
    fn decrypted_stream(&self) -> Result<Box<dyn ReadSeek + Send>, SetError> {
        if !self.name.encrypted {
            return Ok(Box::new(self.joined()));
        }
        crypt::decrypting(self.joined(), self.keys.as_ref())
            .map(|d| Box::new(d) as Box<dyn ReadSeek + Send>)
            .map_err(|e| e.for_set(&self.set()))
    }

    /// A compressed set's seek table (read once).
    pub fn seek_table(&self) -> Result<Arc<SeekTable>, SetError> {
        if let Some(t) = self.table.get() {
            return Ok(t.clone());
        }
        let mut s = self.decrypted_stream()?;
        let t = Arc::new(SeekTable::read(&mut s).map_err(|e| self.read_error(e))?);
        Ok(self.table.get_or_init(|| t).clone())
    }

    /// The set's contents (the tar stream) with seeking: the joined volumes,
    /// decrypted and decompressed as the set needs (only the age chunks and
    /// zstd frames a read touches).
    pub fn plain_stream(&self) -> Result<Box<dyn ReadSeek + Send>, SetError> {
        let s = self.decrypted_stream()?;
        if !self.name.compressed {
            return Ok(s);
        }
        let table = self.seek_table()?;
        Unzstd::new(s, table)
            .map(|u| Box::new(u) as Box<dyn ReadSeek + Send>)
            .map_err(|e| self.io(e))
    }

    /// The tar stream from `raw`, the joined volumes read front to back (a
    /// restore that hashes the volumes as it reads them): decrypted and
    /// decompressed as the set needs, every frame checked against the
    /// seek table.
    pub fn contents_of<'a>(&self, raw: impl Read + 'a) -> Result<Box<dyn Read + 'a>, SetError> {
        let s: Box<dyn Read + 'a> = if self.name.encrypted {
            Box::new(
                crypt::decrypting(raw, self.keys.as_ref()).map_err(|e| e.for_set(&self.set()))?,
            )
        } else {
            Box::new(raw)
        };
        if !self.name.compressed {
            return Ok(s);
        }
        let table = self.seek_table()?;
        Frames::new(s, table)
            .map(|f| Box::new(f) as Box<dyn Read + 'a>)
            .map_err(|e| self.io(e))
    }

    /// What went wrong reading the set: damage in the set itself, or the I/O.
    fn read_error(&self, e: std::io::Error) -> SetError {
        if e.kind() == std::io::ErrorKind::InvalidData {
            SetError::malformed(&self.set(), e.to_string())
        } else {
            self.io(e)
        }
    }

    /// Bytes of the tar stream (the contents, decrypted and decompressed;
    /// [`SetReader::total_size`] is what the volumes take on the disk).
    pub fn tar_len(&self) -> Result<u64, SetError> {
        self.plain_len()
    }

    /// Bytes of the tar stream.
    fn plain_len(&self) -> Result<u64, SetError> {
        if self.name.compressed {
            return Ok(self.seek_table()?.plain_len());
        }
        match (self.name.encrypted, self.plain) {
            (false, _) => Ok(self.total),
            (true, Some(n)) => Ok(n),
            (true, None) => match self.plain_stream() {
                Err(e) => Err(e),
                Ok(_) => Err(SetError::Internal(
                    "an encrypted set read before its keys were checked".into(),
                )),
            },
        }
    }

    /// Whether the set reads as a set: `.version.txt` and `.summary.txt`;
    /// for an encrypted set without its identity, only its age header (its
    /// contents cannot be checked without the key).
    pub fn check_readable(&self) -> Result<(), SetError> {
        if self.name.encrypted && self.keys.is_none() {
            return age::Decryptor::new(self.joined()).map(|_| ()).map_err(|e| {
                SetError::malformed(&self.set(), format!("not a readable age file: {e}"))
            });
        }
        self.version().and_then(|_| self.summary()).map(|_| ())
    }

    pub fn name(&self) -> &SetName {
        &self.name
    }

    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }

    /// Bytes of all volumes.
    pub fn total_size(&self) -> u64 {
        self.total
    }

    fn set(&self) -> String {
        self.name.tar_name()
    }

    /// Checks every volume against the `.md5` file (reads them all).
    pub fn verify(&self, cancel: &AtomicBool) -> Result<Vec<VolumeCheck>, SetError> {
        self.verify_counting(cancel, &AtomicU64::new(0))
    }

    /// [`SetReader::verify`], adding the bytes read to `done` as it goes
    /// (the progress of a long check, against [`SetReader::total_size`]).
    pub fn verify_counting(
        &self,
        cancel: &AtomicBool,
        done: &AtomicU64,
    ) -> Result<Vec<VolumeCheck>, SetError> {
        let mut out = Vec::new();
        for v in &self.volumes {
            let check = {
                let mut f = Counted {
                    inner: v.reader(),
                    done,
                };
                match md5file::md5_of_reader(&mut f, &v.path, cancel) {
                    Err(SetError::Cancelled) => return Err(SetError::Cancelled),
                    Err(e) => VolumeCheck {
                        name: v.name.clone(),
                        ok: false,
                        detail: format!("cannot be read: {e}"),
                    },
                    Ok(d) if d == v.md5 => VolumeCheck {
                        name: v.name.clone(),
                        ok: true,
                        detail: "OK".into(),
                    },
                    Ok(d) => VolumeCheck {
                        name: v.name.clone(),
                        ok: false,
                        detail: format!(
                            "MD5 differs (expected {}, found {})",
                            hex(&v.md5),
                            hex(&d)
                        ),
                    },
                }
            };
            out.push(check);
        }
        Ok(out)
    }

    /// The volumes as one stream.
    pub fn joined(&self) -> Joined {
        Joined {
            volumes: self
                .volumes
                .iter()
                .map(|v| (v.file.clone(), v.path.clone(), v.size))
                .collect(),
            pos: 0,
        }
    }

    fn read_range(&self, range: Range<u64>) -> Result<Vec<u8>, SetError> {
        if range.end > self.plain_len()?
            || range.start > range.end
            || range.end - range.start > 256 << 20
        {
            return Err(SetError::malformed(
                &self.set(),
                format!("range {range:?} lies outside the set"),
            ));
        }
        let mut j = self.plain_stream()?;
        j.seek(SeekFrom::Start(range.start))
            .map_err(|e| self.io(e))?;
        let mut buf = vec![0u8; (range.end - range.start) as usize];
        j.read_exact(&mut buf).map_err(|e| self.read_error(e))?;
        Ok(buf)
    }

    fn io(&self, e: std::io::Error) -> SetError {
        SetError::io(
            self.volumes
                .first()
                .map(|v| v.path.clone())
                .unwrap_or_default(),
            e,
        )
    }

    /// `.version.txt`, the first entry.
    pub fn version(&self) -> Result<VersionInfo, SetError> {
        let head = self.read_range(0..BLOCK.min(self.plain_len()?))?;
        let (name, size) = parse_header(&head).ok_or_else(|| {
            SetError::malformed(&self.set(), "the first block is not a tar header")
        })?;
        if name != VERSION_ENTRY || size > MAX_META {
            return Err(SetError::malformed(
                &self.set(),
                format!("the first entry is {name:?}, not {VERSION_ENTRY}"),
            ));
        }
        let data = self.read_range(BLOCK..BLOCK + size)?;
        let text = String::from_utf8(data)
            .map_err(|_| SetError::malformed(&self.set(), "the version file is not UTF-8"))?;
        VersionInfo::parse(&text)
            .map_err(|e| SetError::malformed(&self.set(), format!("{VERSION_ENTRY}: {e}")))
    }

    /// `.summary.txt`, the last entry, found from the end of the set.
    pub fn summary(&self) -> Result<Summary, SetError> {
        if let Some(s) = self.summary.get() {
            return Ok(s.clone());
        }
        let s = self.read_summary()?;
        Ok(self.summary.get_or_init(|| s).clone())
    }

    fn read_summary(&self) -> Result<Summary, SetError> {
        let bad = |why: &str| SetError::malformed(&self.set(), why.to_string());
        let total = self.plain_len()?;
        if total < 3 * BLOCK || !total.is_multiple_of(BLOCK) {
            return Err(bad("the set is not a whole number of tar blocks"));
        }
        let end = total - 2 * BLOCK;
        // A summary takes a few blocks: the last 8 are read first, and the
        // whole search window only if it is not among them. One read each:
        // every read of a compressed set's last frame decompresses it from
        // its start, and a wider first read would reach into the frames
        // before the index (which a selective restore never reads).
        for blocks in [8, SUMMARY_SEARCH_BLOCKS] {
            let search = blocks.min(end / BLOCK);
            let from = end - search * BLOCK;
            let tail = self.read_range(from..total)?;
            let at_ = |at: u64| (at - from) as usize;
            if tail[at_(end)..].iter().any(|&b| b != 0) {
                return Err(bad(
                    "the set does not end with the end-of-archive blocks (cut short?)",
                ));
            }
            for k in 1..=search {
                let at = end - k * BLOCK;
                let Some((name, size)) = parse_header(&tail[at_(at)..at_(at + BLOCK)]) else {
                    continue;
                };
                if name != SUMMARY_ENTRY
                    || at + BLOCK + size + padding(size) != end
                    || size > MAX_META
                {
                    continue;
                }
                let data = tail[at_(at + BLOCK)..at_(at + BLOCK + size)].to_vec();
                let text = String::from_utf8(data).map_err(|_| bad("the summary is not UTF-8"))?;
                let s = Summary::parse(&text).map_err(|e| bad(&format!("{SUMMARY_ENTRY}: {e}")))?;
                for (off, len, what) in [
                    (s.index_offset, s.index_size, "index"),
                    (s.deleted_offset, s.deleted_size, "deletions"),
                ] {
                    if off.checked_add(len).is_none_or(|e| e > at) {
                        return Err(bad(&format!(
                            "the summary places the {what} outside the set"
                        )));
                    }
                }
                return Ok(s);
            }
            if search == end / BLOCK {
                break;
            }
        }
        Err(bad("no .summary.txt at the end (the set is incomplete)"))
    }

    fn lines(
        &self,
        offset: u64,
        size: u64,
    ) -> Result<impl Iterator<Item = Result<String, SetError>> + use<>, SetError> {
        let mut j = self.plain_stream()?;
        j.seek(SeekFrom::Start(offset)).map_err(|e| self.io(e))?;
        let mut r = BufReader::with_capacity(64 << 10, j.take(size));
        let set = self.set();
        Ok(std::iter::from_fn(move || {
            let mut line = Vec::new();
            match (&mut r).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) => None,
                Ok(_) if !line.ends_with(b"\n") => Some(Err(SetError::malformed(
                    &set,
                    "a line is too long or unterminated",
                ))),
                Ok(_) => {
                    line.pop();
                    Some(
                        String::from_utf8(line)
                            .map_err(|_| SetError::malformed(&set, "a line is not UTF-8")),
                    )
                }
                Err(e) => Some(Err(SetError::io(&set, e))),
            }
        }))
    }

    /// Every index line (directories stored in the set), in post-order.
    pub fn index(&self) -> Result<Vec<IndexEntry>, SetError> {
        let mut out = Vec::new();
        self.for_each_index(|e| {
            out.push(e);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Streams the index; `f` returns `false` to stop.
    pub fn for_each_index(
        &self,
        mut f: impl FnMut(IndexEntry) -> Result<bool, SetError>,
    ) -> Result<(), SetError> {
        let s = self.summary()?;
        let mut lines = self.lines(s.index_offset, s.index_size)?;
        match lines.next() {
            Some(Ok(h)) if h == INDEX_HEADER => {}
            _ => {
                return Err(SetError::malformed(
                    &self.set(),
                    "the index has no header line",
                ));
            }
        }
        for line in lines {
            let e = IndexEntry::parse(&line?)
                .map_err(|why| SetError::malformed(&self.set(), format!("index: {why}")))?;
            if e.end > self.plain_len()? {
                return Err(SetError::malformed(
                    &self.set(),
                    "index: range beyond the end",
                ));
            }
            if !f(e)? {
                break;
            }
        }
        Ok(())
    }

    /// The index line of one directory (`.` for everything), if the set holds it.
    pub fn find(&self, path: &str) -> Result<Option<IndexEntry>, SetError> {
        let want = path.trim_matches('/');
        let want = if want.is_empty() { "." } else { want };
        let mut found = None;
        self.for_each_index(|e| {
            if e.path == want {
                found = Some(e);
                Ok(false)
            } else {
                Ok(true)
            }
        })?;
        Ok(found)
    }

    /// Paths a differential records as deleted since its full.
    pub fn deleted(&self) -> Result<Vec<String>, SetError> {
        let s = self.summary()?;
        if s.deleted_size == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for line in self.lines(s.deleted_offset, s.deleted_size)? {
            let line = line?;
            let p = unescape(&line).ok_or_else(|| {
                SetError::malformed(&self.set(), format!("{DELETED_ENTRY}: bad escape"))
            })?;
            check_relative(&p).map_err(|why| {
                SetError::malformed(&self.set(), format!("{DELETED_ENTRY}: {why}"))
            })?;
            out.push(p.into_owned());
        }
        Ok(out)
    }

    /// Calls `f` for every data entry in `range` (from the index), with a
    /// reader of its contents. Only those bytes of the set are read.
    pub fn entries(
        &self,
        range: Range<u64>,
        f: impl FnMut(&SetEntry, &mut dyn Read) -> Result<(), SetError>,
    ) -> Result<(), SetError> {
        if range.end > self.plain_len()? || range.start > range.end {
            return Err(SetError::malformed(&self.set(), "range outside the set"));
        }
        let mut j = self.plain_stream()?;
        j.seek(SeekFrom::Start(range.start))
            .map_err(|e| self.io(e))?;
        read_entries(&self.set(), j.take(range.end - range.start), f)
    }
}

/// Calls `f` for every data entry (under `@backup/`) of a tar stream, with
/// a reader of its contents: the whole set read front to back (a restore
/// that checks the MD5 as it goes), or a range the index gave. `set` names
/// the set in errors. Entries are checked as in [`SetReader::entries`]:
/// relative paths only, and only the types this format writes.
pub fn read_entries(
    set: &str,
    stream: impl Read,
    mut f: impl FnMut(&SetEntry, &mut dyn Read) -> Result<(), SetError>,
) -> Result<(), SetError> {
    let bad = |why: String| SetError::malformed(set, why);
    let budget = Rc::new(Cell::new(None));
    let mut ar = tar::Archive::new(HeaderBudget {
        inner: stream,
        left: budget.clone(),
    });
    let mut entries = ar.entries().map_err(|e| bad(format!("tar: {e}")))?;
    loop {
        // The tar crate reads PAX and GNU long-name records whole into
        // memory: headers may take only so many bytes.
        budget.set(Some(MAX_HEADER_BYTES));
        let next = entries.next();
        budget.set(None);
        let Some(entry) = next else { break };
        let mut entry = entry.map_err(|e| bad(format!("tar: {e}")))?;
        let raw = entry.path_bytes();
        let path = std::str::from_utf8(&raw)
            .map_err(|_| bad("an entry name is not UTF-8".into()))?
            .trim_end_matches('/')
            .to_string();
        let rel = if path == DATA_DIR {
            String::new()
        } else if let Some(r) = path.strip_prefix("@backup/") {
            check_relative(r).map_err(|why| bad(format!("entry {path:?}: {why}")))?;
            r.to_string()
        } else {
            // The set's own files (.version.txt, .index.txt...) are not data.
            skip_data(&mut entry).map_err(|e| bad(format!("tar: {e}")))?;
            continue;
        };
        let h = entry.header();
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            other => {
                return Err(bad(format!(
                    "entry {path:?} has a type this format never writes ({other:?})"
                )));
            }
        };
        let link = match kind {
            EntryKind::Symlink => Some(
                entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .ok_or_else(|| bad(format!("link {path:?} has no target")))?,
            ),
            _ => None,
        };
        let meta = SetEntry {
            path: rel,
            kind,
            size: entry.size(),
            mode: h.mode().map_err(|e| bad(format!("entry {path:?}: {e}")))?,
            uid: h.uid().unwrap_or(0),
            gid: h.gid().unwrap_or(0),
            mtime: h.mtime().unwrap_or(0),
            link,
        };
        f(&meta, &mut entry)?;
        skip_data(&mut entry).map_err(|e| bad(format!("tar: {e}")))?;
    }
    Ok(())
}

/// Most bytes of header blocks and PAX / long-name records before one entry.
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Reads what is left of an entry's data, outside the header budget.
fn skip_data(entry: &mut impl Read) -> std::io::Result<u64> {
    std::io::copy(entry, &mut std::io::sink())
}

/// Limits the bytes read while `left` is `Some` (between two entries).
struct HeaderBudget<R> {
    inner: R,
    left: Rc<Cell<Option<u64>>>,
}

impl<R: Read> Read for HeaderBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(left) = self.left.get() else {
            return self.inner.read(buf);
        };
        if left == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("an entry's headers take more than {MAX_HEADER_BYTES} bytes"),
            ));
        }
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left.set(Some(left - n as u64));
        Ok(n)
    }
}

/// The writing unit of a set, from its first volume's file without its
/// `.md5`: `.version.txt`'s `unit=`, or an encrypted set's header.
pub fn unit_of_first_volume(path: &Path, set: &SetName) -> Option<String> {
    if set.encrypted {
        let f = std::fs::File::open(path).ok()?;
        return crypt::notes_of(f.take(MAX_META))?.unit;
    }
    version_of_first_volume(path, set.compressed)?.unit
}

/// `.version.txt` read straight from a first volume's file (decompressing
/// its start when `compressed`), without its `.md5` (which an interrupted
/// run never wrote); `None` when the file does not start with one (cut
/// short, or not a set).
pub fn version_of_first_volume(path: &Path, compressed: bool) -> Option<VersionInfo> {
    use std::io::Read;
    let max = (BLOCK + MAX_META) as usize;
    let f = std::fs::File::open(path).ok()?;
    let head = if compressed {
        crate::zst::head(f, max).ok()?
    } else {
        let mut head = Vec::with_capacity(max);
        f.take(max as u64).read_to_end(&mut head).ok()?;
        head
    };
    let (name, size) = parse_header(head.get(..BLOCK as usize)?)?;
    if name != VERSION_ENTRY || size > MAX_META {
        return None;
    }
    let data = head.get(BLOCK as usize..(BLOCK + size) as usize)?;
    VersionInfo::parse(std::str::from_utf8(data).ok()?).ok()
}

fn parse_header(block: &[u8]) -> Option<(String, u64)> {
    if block.len() != BLOCK as usize {
        return None;
    }
    let h = tar::Header::from_byte_slice(block);
    let sum = h.cksum().ok()?;
    let mut computed: u32 = block.iter().map(|&b| u32::from(b)).sum();
    computed =
        computed - block[148..156].iter().map(|&b| u32::from(b)).sum::<u32>() + 8 * u32::from(b' ');
    if sum != computed {
        return None;
    }
    let name = String::from_utf8(h.path_bytes().into_owned()).ok()?;
    Some((name, h.size().ok()?))
}

/// A relative path with no `..`, `.`, empty or absolute parts.
pub fn check_relative(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') {
        return Err("absolute or empty path".into());
    }
    if p.contains('\0') {
        return Err("NUL in path".into());
    }
    if p.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err("path with '..', '.' or empty parts".into());
    }
    Ok(())
}

/// A set's volumes read as one stream, with seeking.
pub struct Joined {
    volumes: Vec<(Arc<File>, PathBuf, u64)>,
    pos: u64,
}

impl Joined {
    fn locate(&self, pos: u64) -> Option<(usize, u64)> {
        let mut start = 0;
        for (i, (_, _, size)) in self.volumes.iter().enumerate() {
            if pos < start + size {
                return Some((i, pos - start));
            }
            start += size;
        }
        None
    }
}

impl Read for Joined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let Some((i, within)) = self.locate(self.pos) else {
            return Ok(0);
        };
        let (f, path, size) = &self.volumes[i];
        let left = size - within;
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        let n = f.read_at(&mut buf[..want], within)?;
        if n == 0 && want > 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} is shorter than when the set was opened", path.display()),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Joined {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let total: u64 = self.volumes.iter().map(|v| v.2).sum();
        let new = crate::seekpos::target(to, self.pos, total)?;
        self.pos = new;
        Ok(new)
    }
}

/// A reader that adds the bytes read through it to a counter.
struct Counted<'a, R> {
    inner: R,
    done: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: u8, size: u64) -> Vec<u8> {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).expect("name fits");
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn names(stream: &[u8]) -> Result<Vec<String>, SetError> {
        let mut out = Vec::new();
        read_entries("test.tar", stream, |e, _| {
            out.push(e.path.clone());
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn failed_volumes_are_named_with_why() {
        let check = |name: &str, ok: bool, detail: &str| VolumeCheck {
            name: name.into(),
            ok,
            detail: detail.into(),
        };
        let good = check("a.tar.zst", true, "OK");
        assert_eq!(VolumeCheck::failures(&[]), None);
        assert_eq!(VolumeCheck::failures(std::slice::from_ref(&good)), None);
        let checks = [
            check("a.tar.zst", false, "MD5 differs"),
            good,
            check("b.tar.zst", false, "missing"),
        ];
        assert_eq!(
            VolumeCheck::failures(&checks).as_deref(),
            Some("a.tar.zst: MD5 differs; b.tar.zst: missing")
        );
    }

    #[test]
    fn a_stream_is_read_and_the_set_files_skipped() {
        let mut t = header(".version.txt", b'0', 5);
        t.extend_from_slice(&[b'v'; 512]);
        t.extend(header("@backup/", b'5', 0));
        t.extend(header("@backup/a", b'0', 3));
        t.extend_from_slice(&[b'a'; 512]);
        t.extend(vec![0; 1024]);
        assert_eq!(names(&t).expect("reads"), ["", "a"]);
    }

    #[test]
    fn huge_headers_are_refused_without_reading_them_into_memory() {
        let records = 4u64 << 20;
        let mut t = header("@backup/", b'5', 0);
        t.extend(header("@PaxHeader", b'x', records));
        t.extend(std::iter::repeat_n(b'a', records as usize));
        t.extend(header("@backup/a", b'0', 0));
        t.extend(vec![0; 1024]);
        let err = names(&t).expect_err("refused");
        assert!(err.to_string().contains("headers take more than"), "{err}");
        // A GNU long name that big is refused the same way.
        let mut t = header("@backup/", b'5', 0);
        t.extend(header("././@LongLink", b'L', records));
        t.extend(std::iter::repeat_n(b'a', records as usize));
        t.extend(header("@backup/a", b'0', 0));
        assert!(names(&t).is_err());
    }

    #[test]
    fn relative_paths() {
        assert!(check_relative("store/mail/a").is_ok());
        for bad in ["", "/etc", "a/../b", "..", "a//b", "./a", "a/."] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
    }
}
