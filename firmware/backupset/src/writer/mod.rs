//! Writing a set: scan → hash → write on three threads, then read back,
//! publish and (for a full) commit the state a differential needs.

mod compress;
mod readback;
mod scan;
mod sink;

pub use scan::MAX_SECRET;

use crate::catalog;
use crate::error::SetError;
use crate::meta::{FORMAT, Summary, VersionInfo};
use crate::name::SetKind;
use crate::name::SetName;
use crate::publish::{self, PublishedVolume, WrittenVolume};
use crate::state::{STATE_FILE, StateReader, StateWriter};
use sink::{Batch, VolumeWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;

/// Size of one buffer of tar bytes, and how many exist: the writer's whole
/// working memory for file data is their product.
const BATCH: usize = 1 << 20;
const BUFFERS: usize = 6;

/// What to back up, where, and how.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// The folder backed up (the data partition).
    pub data_root: PathBuf,
    /// What to leave out: paths (the destination, the state folder and
    /// whatever else of the data root is not to be backed up; the caller
    /// knows its layout) and files that hold secrets.
    pub exclude: Vec<Exclude>,
    /// Folder the set is published in.
    pub dest_dir: PathBuf,
    /// Where the state of the last full and the writer's spool files live.
    pub state_dir: PathBuf,
    pub hostname: String,
    /// The writing unit's identity (`.version.txt`'s `unit=`, and a tag in
    /// temporary names); empty for none.
    pub unit: String,
    pub kind: SetKind,
    /// Start time, seconds since the epoch; names the set.
    pub started: i64,
    /// 0: keep every body.
    pub body_window_hours: u32,
    /// Split the tar stream into volumes of this many bytes.
    pub volume_size: Option<u64>,
    /// Firmware version written into `.version.txt`.
    pub version: String,
    /// Read every volume back from the destination before publishing.
    pub verify: bool,
    /// Set from another thread to abandon the backup.
    pub cancel: Arc<AtomicBool>,
    /// Encrypt the whole set to this age recipient (`.tar.age`, see
    /// [`crate::crypt`]); `None`: a plain `.tar`.
    pub encrypt_to: Option<age::x25519::Recipient>,
    /// Compress the set with zstd at this level (`.tar.zst`, see
    /// [`crate::zst`]; before any encryption); `None`: not compressed.
    pub compress: Option<i32>,
}

/// One rule of [`WriteOptions::exclude`].
#[derive(Debug, Clone)]
pub enum Exclude {
    /// This absolute path, and all it holds, is not stored.
    Path(PathBuf),
    /// Files that hold secrets are never stored as they are: sealed (see
    /// [`Sealer`]) or, without a sealer, left out and counted.
    Secrets(SecretFiles),
}

impl From<PathBuf> for Exclude {
    fn from(p: PathBuf) -> Exclude {
        Exclude::Path(p)
    }
}

/// Files that hold secrets, and what becomes of them.
#[derive(Debug, Clone, Default)]
pub struct SecretFiles {
    /// Absolute paths; `*` in the last part matches any characters of a
    /// name (`/srv/keys/*.key`). A folder or link that matches is left
    /// out with all it holds.
    pub patterns: Vec<PathBuf>,
    /// Encrypts each such file into the set (named with the sealer's
    /// suffix); `None`: they are left out.
    pub sealer: Option<Arc<dyn Sealer>>,
}

/// Encrypts a secret file for a set.
pub trait Sealer: Send + Sync + std::fmt::Debug {
    /// Added to a sealed file's name in the set (`.age`).
    fn suffix(&self) -> &str;
    /// The sealed bytes of a file's contents.
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String>;
}

/// Whether `name` matches `pattern`, where `*` stands for any run of
/// characters.
pub(crate) fn name_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| name_matches(rest, &name[i..])),
        Some((c, rest)) => name.first() == Some(c) && name_matches(rest, &name[1..]),
    }
}

/// The folder and name pattern of a secret pattern.
pub(crate) fn split_pattern(p: &Path) -> Option<(PathBuf, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let name = p.file_name()?.as_bytes().to_vec();
    let dir: PathBuf = p.parent()?.components().collect();
    Some((dir, name))
}

/// Where a running backup is; read from other threads.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of the tar stream produced.
    pub bytes: AtomicU64,
    pub files: AtomicU64,
    /// A [`Phase`] as a number.
    pub phase: AtomicU8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Writing = 0,
    Verifying = 1,
    Publishing = 2,
}

impl Progress {
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            1 => Phase::Verifying,
            2 => Phase::Publishing,
            _ => Phase::Writing,
        }
    }
    fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }
}

/// A published, verified set.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: SetName,
    pub volumes: Vec<PublishedVolume>,
    pub summary: Summary,
    /// The first problems met (unreadable files, sockets...), word for word.
    pub problems: Vec<String>,
    pub problem_count: u64,
    /// For a differential, the full it extends.
    pub base: Option<String>,
    /// Secret files left out (no sealer), relative to the data root.
    pub secrets_left_out: Vec<String>,
    /// Secret files stored sealed.
    pub secrets_sealed: u64,
    /// Why a differential was asked for but a full was written.
    pub fell_back: Option<String>,
}

impl Outcome {
    pub fn size(&self) -> u64 {
        self.volumes.iter().map(|v| v.size).sum()
    }
}

/// A stage that hands batches on unchanged.
fn forward(rx: std::sync::mpsc::Receiver<Batch>, tx: std::sync::mpsc::SyncSender<Batch>) {
    for b in rx {
        if tx.send(b).is_err() {
            break;
        }
    }
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Decides whether a differential can be written: the state of the last
/// full must be there and that full complete at the destination.
fn differential_base(opts: &WriteOptions) -> Result<StateReader, String> {
    let path = opts.state_dir.join(STATE_FILE);
    let reader = StateReader::open(&path)
        .map_err(|e| format!("no usable record of the last full backup ({e})"))?;
    let Some(base) = SetName::parse_tar(&reader.base) else {
        return Err(format!(
            "the recorded last full {:?} is not a set name",
            reader.base
        ));
    };
    if base.host != opts.hostname {
        return Err(format!(
            "the last full {} was made under another host name",
            reader.base
        ));
    }
    // A full dated after this backup was made while the clock was ahead:
    // it judged the body window by that clock, so messages still inside
    // the window now may be in it as headers only, and a differential
    // (changed files only) would never store their bodies.
    if base.time
        > opts
            .started
            .saturating_add(crate::retention::FUTURE_SLACK_SECS)
    {
        return Err(format!(
            "the last full {} is dated after this backup (the clock was put back)",
            reader.base
        ));
    }
    match catalog::set_status(&opts.dest_dir, &base) {
        Ok(s) if s.complete => Ok(reader),
        Ok(_) => Err(format!(
            "the last full {} is not complete at the destination",
            reader.base
        )),
        Err(e) => Err(format!(
            "the last full {} cannot be checked: {e}",
            reader.base
        )),
    }
}

/// The type a backup asked as `opts.kind` will have: a differential
/// becomes a full when it has nothing to extend (with the reason).
pub fn effective_kind(opts: &WriteOptions) -> (SetKind, Option<String>) {
    if opts.kind != SetKind::Differential {
        return (opts.kind, None);
    }
    match differential_base(opts) {
        Ok(_) => (SetKind::Differential, None),
        Err(why) => (SetKind::Full, Some(why)),
    }
}

/// The name a set of `kind` written with `opts` gets.
pub fn set_name(opts: &WriteOptions, kind: SetKind) -> SetName {
    SetName::new(&opts.hostname, kind, opts.started)
        .with_compression(opts.compress.is_some())
        .with_encryption(opts.encrypt_to.is_some())
}

/// What a run settles before it writes: the kind (a differential with
/// nothing to extend becomes a full), the name, and the state files.
struct Plan {
    kind: SetKind,
    name: SetName,
    fell_back: Option<String>,
    base_reader: Option<StateReader>,
    /// For a differential, the full it extends.
    base: Option<String>,
    /// Where a full's new state is written before the set is published.
    state_tmp: PathBuf,
    state_out: Option<StateWriter>,
}

/// Each stage's result as its thread handed it back.
struct Streamed {
    scanned: Result<scan::ScanResult, SetError>,
    digests: std::thread::Result<Vec<[u8; 16]>>,
    written: std::thread::Result<(VolumeWriter, Result<(), SetError>)>,
    read_back: std::thread::Result<Result<Vec<[u8; 16]>, SetError>>,
    compressed: std::thread::Result<Result<(), SetError>>,
    encrypted: std::thread::Result<Result<(), SetError>>,
}

/// Writes, verifies and publishes one set.
pub fn write_set(opts: &WriteOptions, progress: &Progress) -> Result<Outcome, SetError> {
    let settled = plan(opts)?;
    let (name, kind, base) = (settled.name, settled.kind, settled.base);
    progress.set_phase(Phase::Writing);
    progress.bytes.store(0, Ordering::Relaxed);
    progress.files.store(0, Ordering::Relaxed);
    let Streamed {
        scanned,
        digests,
        written,
        read_back,
        compressed,
        encrypted,
    } = stream(
        opts,
        progress,
        &name,
        &version_info(opts, kind, base.clone()).to_text(),
        settled.state_out,
        settled.base_reader,
    );
    let (volumes, write_result) = match written {
        Ok((w, r)) => (w.written, r),
        Err(_) => (
            Vec::new(),
            Err(SetError::Internal("the writer thread failed".into())),
        ),
    };
    let published = write_result.and_then(|()| {
        // A failed write explains a stopped scanner better than the scanner does.
        compressed.map_err(|_| SetError::Internal("the compressing stage failed".into()))??;
        encrypted.map_err(|_| SetError::Internal("the encrypting stage failed".into()))??;
        let scanned = scanned?;
        let digests = digests.map_err(|_| SetError::Internal("the hasher stopped".into()))?;
        check(opts, &name, &volumes, &digests, read_back)?;
        progress.set_phase(Phase::Publishing);
        let published = publish::publish(&opts.dest_dir, &name, &volumes, &digests, &opts.unit)?;
        Ok((scanned, published))
    });
    let (scanned, published) = match published {
        Ok(x) => x,
        Err(e) => {
            for v in &volumes {
                let _ = std::fs::remove_file(&v.temp);
            }
            let _ = std::fs::remove_file(&settled.state_tmp);
            return Err(e);
        }
    };
    if kind == SetKind::Full {
        commit_state(opts, &name, &settled.state_tmp);
    }
    Ok(Outcome {
        name,
        volumes: published,
        summary: scanned.summary,
        problems: scanned.problems,
        problem_count: scanned.problem_count,
        base,
        fell_back: settled.fell_back,
        secrets_left_out: scanned.secrets_left_out,
        secrets_sealed: scanned.secrets_sealed,
    })
}

/// The set's `.version.txt`.
fn version_info(opts: &WriteOptions, kind: SetKind, base: Option<String>) -> VersionInfo {
    VersionInfo {
        started: opts.started,
        version: opts.version.clone(),
        hostname: opts.hostname.clone(),
        kind,
        format: FORMAT,
        body_window_hours: opts.body_window_hours,
        base,
        unit: (!opts.unit.is_empty()).then(|| opts.unit.clone()),
    }
}

/// Settles the kind and the name, refuses a name already taken, and opens
/// a full's new state.
fn plan(opts: &WriteOptions) -> Result<Plan, SetError> {
    std::fs::create_dir_all(&opts.state_dir).map_err(|e| SetError::io(&opts.state_dir, e))?;
    let mut kind = opts.kind;
    let mut fell_back = None;
    let mut base_reader = None;
    if kind == SetKind::Differential {
        match differential_base(opts) {
            Ok(r) => base_reader = Some(r),
            Err(why) => {
                log::warn!("writing a full backup instead of a differential: {why}");
                fell_back = Some(why);
                kind = SetKind::Full;
            }
        }
    }
    let base = base_reader.as_ref().map(|r| r.base.clone());
    let name = set_name(opts, kind);
    if let Some(level) = opts.compress
        && !crate::zst::LEVELS.contains(&level)
    {
        return Err(SetError::Internal(format!(
            "zstd level {level} is outside {:?}",
            crate::zst::LEVELS
        )));
    }
    if opts.dest_dir.join(name.tar_name()).exists() || opts.dest_dir.join(name.md5_name()).exists()
    {
        return Err(SetError::NameTaken {
            name: name.tar_name(),
            host: name.host.clone(),
        });
    }
    let state_tmp = opts.state_dir.join(format!(".{STATE_FILE}.tmp"));
    let state_out = match kind {
        SetKind::Full => Some(StateWriter::create(
            &state_tmp,
            &name.tar_name(),
            opts.started,
        )?),
        _ => None,
    };
    Ok(Plan {
        kind,
        name,
        fell_back,
        base_reader,
        base,
        state_tmp,
        state_out,
    })
}

/// Runs the stages on their threads (scan → compress → encrypt → hash →
/// write, and the read-back check beside them) with a fixed pool of
/// buffers, until the scanner is done and every stage has ended.
fn stream(
    opts: &WriteOptions,
    progress: &Progress,
    name: &SetName,
    version_text: &str,
    state_out: Option<StateWriter>,
    base_reader: Option<StateReader>,
) -> Streamed {
    let volume_size = opts.volume_size.filter(|&v| v > 0).unwrap_or(u64::MAX);
    let temp_of = {
        let n = name.clone();
        let unit = opts.unit.clone();
        move |i: u32| SetName::temp_name(&n.volume_name(i), &unit)
    };
    let base = base_reader.as_ref().map(|r| r.base.clone());
    let (back_tx, back_rx) = std::sync::mpsc::channel::<sink::ReadBack>();
    let out = VolumeWriter::new(
        &opts.dest_dir,
        volume_size,
        Box::new(temp_of),
        opts.verify.then_some(back_tx),
    );
    let (scan_tx, tar_rx) = sync_channel::<Batch>(2);
    let (zst_tx, plain_rx) = sync_channel::<Batch>(2);
    let (crypt_tx, hash_rx) = sync_channel::<Batch>(2);
    let (hash_tx, write_rx) = sync_channel::<Batch>(2);
    // One more than the pool: the encrypting stage hands its last batch on
    // after the scanner finished.
    let (free_tx, free_rx) = sync_channel::<Batch>(BUFFERS + 1);
    for _ in 0..BUFFERS {
        let _ = free_tx.send(Batch {
            data: vec![0; BATCH],
            len: 0,
            cut: false,
        });
    }
    std::thread::scope(|s| {
        // The tar stream as it is, or compressed.
        let compress = s.spawn(move || match opts.compress {
            Some(level) => compress::compressor(tar_rx, zst_tx, level, compress::workers()),
            None => {
                forward(tar_rx, zst_tx);
                Ok(())
            }
        });
        // Between the scanner and the hasher: the tar stream as it is, or
        // encrypted (the volumes, their MD5 and the read-back check are
        // then of the encrypted bytes).
        let notes = (
            (!opts.unit.is_empty()).then_some(opts.unit.as_str()),
            base.as_deref(),
        );
        let crypt = s.spawn(move || match &opts.encrypt_to {
            Some(to) => sink::encrypter(plain_rx, crypt_tx, to, notes, BATCH),
            None => {
                forward(plain_rx, crypt_tx);
                Ok(())
            }
        });
        let hasher = s.spawn(move || sink::hasher(hash_rx, hash_tx, volume_size));
        let writer = s.spawn(move || sink::writer(write_rx, free_tx, out));
        let checker = s.spawn(|| readback::read_back(back_rx, &opts.cancel));
        let scanned = scan::Scanner::new(opts, progress, scan_tx, free_rx, state_out, base_reader)
            .and_then(|sc| sc.run(version_text));
        let compressed = compress.join();
        let encrypted = crypt.join();
        let digests = hasher.join();
        let written = writer.join();
        // The writer is done: the check has everything; report it as verifying.
        progress.set_phase(Phase::Verifying);
        Streamed {
            scanned,
            digests,
            written,
            read_back: checker.join(),
            compressed,
            encrypted,
        }
    })
}

/// Every volume written was hashed and, when asked, read back with the
/// same digest; and the run was not cancelled meanwhile.
fn check(
    opts: &WriteOptions,
    name: &SetName,
    volumes: &[WrittenVolume],
    digests: &[[u8; 16]],
    read_back: std::thread::Result<Result<Vec<[u8; 16]>, SetError>>,
) -> Result<(), SetError> {
    if digests.len() != volumes.len() {
        return Err(SetError::Internal(format!(
            "{} volumes written but {} hashed",
            volumes.len(),
            digests.len()
        )));
    }
    if opts.verify {
        let back =
            read_back.map_err(|_| SetError::Internal("the read-back check failed".into()))??;
        if back.len() != digests.len() {
            return Err(SetError::Internal(format!(
                "{} volumes written but {} read back",
                digests.len(),
                back.len()
            )));
        }
        for (i, (b, d)) in back.iter().zip(digests).enumerate() {
            if b != d {
                return Err(SetError::ReadBackMismatch {
                    volume: name.volume_name(i as u32),
                    written: crate::md5file::hex(d),
                    read: crate::md5file::hex(b),
                });
            }
        }
    }
    if opts.cancel.load(Ordering::Relaxed) {
        return Err(SetError::Cancelled);
    }
    Ok(())
}

/// Makes a published full's state the one the next differential extends.
/// The set is published whatever happens here; without the new state the
/// next differential extends the previous full (still correct), or is
/// written as a full.
fn commit_state(opts: &WriteOptions, name: &SetName, state_tmp: &Path) {
    let target = opts.state_dir.join(STATE_FILE);
    match std::fs::rename(state_tmp, &target) {
        Ok(()) => atomicfile::sync_dir(&opts.state_dir),
        Err(e) => {
            log::warn!(
                "cannot record {} as the last full ({}: {e})",
                name.tar_name(),
                target.display()
            );
            let _ = std::fs::remove_file(state_tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(name_matches(b"*.key", b"server.key"));
        assert!(name_matches(b"*.key", b".key"));
        assert!(!name_matches(b"*.key", b"server.key.age"));
        assert!(name_matches(b".secrets.toml*", b".secrets.toml.tmp42"));
        assert!(name_matches(b"secrets.toml", b"secrets.toml"));
        assert!(!name_matches(b"secrets.toml", b"secrets.toml2"));
        assert!(name_matches(b"a*b*c", b"a-b-b-c"));
        let (d, n) = split_pattern(Path::new("/data//sslcert/*.key")).expect("split");
        assert_eq!(
            (d.as_path(), n.as_slice()),
            (Path::new("/data/sslcert"), &b"*.key"[..])
        );
    }
}
