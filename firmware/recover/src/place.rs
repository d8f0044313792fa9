//! Putting entries of a set on disk without ever writing outside the
//! target: paths come checked from the reader (relative, no `..`), no link
//! is followed below the target's root, links that point out of the
//! restored tree are refused, and hard links and device nodes never get
//! this far (the reader refuses them).
//!
//! Two modes: [`Mode::Fresh`] fills an empty staging folder (files are
//! created exclusively); [`Mode::Merge`] restores into live folders, each
//! file written under a temporary name and renamed over the old one, so a
//! crash leaves either the old or the restored file, never half of one.
//! Folder modes and times are applied last, deepest first.
//!
//! A message the set holds with its headers only (older than the set's
//! body window, see [`backupset::window`]) never replaces a file that is
//! there: [`Placer::place_headers_only`] keeps the current file (in a
//! merge it is left as it is; in a staging area it is hard-linked in from
//! the live data) and writes the headers-only copy only where there is
//! none. A full copy from the set replaces what is there in both modes.

use crate::error::RecoverError;
use backupset::SetEntry;
use backupset::tarfmt::EntryKind;
use std::collections::HashSet;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// Size of the copy buffer for file data.
const COPY_BUFFER: usize = 256 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An empty folder of our own (a staging area).
    Fresh,
    /// Live folders: restored files replace the current ones, the rest stay.
    Merge,
}

/// What was put in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaceStats {
    /// Files written from the set (headers-only messages included).
    pub files: u64,
    pub links: u64,
    pub dirs: u64,
    pub bytes: u64,
    /// Of `files`, messages written with their headers only: the set has
    /// no body for them and no file was there.
    pub headers_only: u64,
    /// Messages the set has with their headers only whose current file
    /// was kept instead (left in place, or linked into the staging area);
    /// not counted in `files`.
    pub kept_current: u64,
}

/// Where one entry of a set goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The folder below which no link is followed (made if missing).
    pub root: PathBuf,
    /// Where the entry is written, below `root`.
    pub dest: PathBuf,
    /// The file of the current data at the entry's path, as `(root, path)`
    /// with no link followed below that root: a headers-only message never
    /// replaces it. In a merge this is `(root, dest)` itself; in a staging
    /// area, the live target's path. `None`: there is no current data.
    pub current: Option<(PathBuf, PathBuf)>,
}

struct DirMeta {
    path: PathBuf,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
}

pub struct Placer {
    mode: Mode,
    as_root: bool,
    /// Folders this run made or checked to be real folders (not links).
    known_dirs: HashSet<PathBuf>,
    /// Folders a merge made: nothing of the old data is in them, so a
    /// file there is written in place, without a temporary name.
    made_dirs: HashSet<PathBuf>,
    /// Folders of the current data checked to be real folders (not links)
    /// below their root, for [`Placement::current`].
    current_dirs: HashSet<PathBuf>,
    pid: u32,
    dirs: Vec<DirMeta>,
    buf: Vec<u8>,
    tmp_seq: u64,
    pub stats: PlaceStats,
}

/// Whether a link at `link_rel` (relative to the set's data root) pointing
/// at `target` stays inside the data root, whatever other links it meets.
pub fn link_stays_inside(link_rel: &str, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return false;
    }
    // Depth of the folder holding the link, below the data root. Only
    // leading `..` are accepted: they climb through real folders (a restore
    // never writes through links), so counting them is exact; a `..` after
    // a name could climb out of a folder another link leads to.
    let mut depth: i64 = link_rel.split('/').count() as i64 - 1;
    let mut descended = false;
    for c in Path::new(target).components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 || descended {
                    return false;
                }
            }
            Component::Normal(_) => descended = true,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

fn lstat(p: &Path) -> Option<fs::Metadata> {
    fs::symlink_metadata(p).ok()
}

fn remove_any(p: &Path) -> Result<(), RecoverError> {
    match lstat(p) {
        Some(m) if m.is_dir() => fs::remove_dir_all(p).map_err(|e| RecoverError::io(p, e)),
        Some(_) => fs::remove_file(p).map_err(|e| RecoverError::io(p, e)),
        None => Ok(()),
    }
}

impl Placer {
    pub fn new(mode: Mode) -> Placer {
        Placer {
            mode,
            as_root: nix::unistd::geteuid().is_root(),
            known_dirs: HashSet::new(),
            made_dirs: HashSet::new(),
            current_dirs: HashSet::new(),
            pid: std::process::id(),
            dirs: Vec::new(),
            buf: vec![0; COPY_BUFFER],
            tmp_seq: 0,
            stats: PlaceStats::default(),
        }
    }

    /// Makes sure every folder from `root` (trusted, may itself be a link
    /// the administrator chose) down to `dir` is a real folder, creating
    /// missing ones. A link or a file on the way is refused.
    pub fn ensure_dir(&mut self, root: &Path, dir: &Path) -> Result<(), RecoverError> {
        if self.known_dirs.contains(dir) {
            return Ok(());
        }
        let rel = dir.strip_prefix(root).map_err(|_| {
            RecoverError::Usage(format!(
                "{} lies outside {} (internal error)",
                dir.display(),
                root.display()
            ))
        })?;
        if !self.known_dirs.contains(root) {
            fs::create_dir_all(root).map_err(|e| RecoverError::io(root, e))?;
            self.known_dirs.insert(root.to_path_buf());
        }
        let mut p = root.to_path_buf();
        for c in rel.components() {
            p.push(c);
            if self.known_dirs.contains(&p) {
                continue;
            }
            match lstat(&p) {
                Some(m) if m.is_dir() => {}
                Some(m) if m.file_type().is_symlink() => {
                    return Err(RecoverError::Source {
                        path: p,
                        reason: "is a symbolic link; a restore never writes through links (move it away and try again)".into(),
                    });
                }
                Some(_) => {
                    return Err(RecoverError::Source {
                        path: p,
                        reason:
                            "is a file where the backup has a folder (move it away and try again)"
                                .into(),
                    });
                }
                None => match fs::create_dir(&p) {
                    Ok(()) => {
                        let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o700));
                        if self.mode == Mode::Merge {
                            self.made_dirs.insert(p.clone());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
                    Err(e) => return Err(RecoverError::io(&p, e)),
                },
            }
            self.known_dirs.insert(p.clone());
        }
        Ok(())
    }

    fn temp_beside(&mut self, dest: &Path) -> PathBuf {
        self.tmp_seq += 1;
        let name = format!(".recover-{}-{}.tmp", self.pid, self.tmp_seq);
        dest.with_file_name(name)
    }

    /// Puts one entry at `dest` (below `root`). `set` names the set in errors.
    pub fn place(
        &mut self,
        set: &str,
        root: &Path,
        dest: &Path,
        e: &SetEntry,
        data: &mut dyn Read,
    ) -> Result<(), RecoverError> {
        if let Some(parent) = dest.parent()
            && dest != root
        {
            self.ensure_dir(root, parent)?;
        }
        match e.kind {
            EntryKind::Dir => self.dir(dest, e),
            EntryKind::File | EntryKind::Symlink if self.known_dirs.contains(dest) => {
                Err(RecoverError::damaged(
                    set,
                    format!("{} appears twice (a folder, then not)", e.path),
                ))
            }
            EntryKind::File => self.file(set, dest, e, data),
            EntryKind::Symlink => self.symlink(set, dest, e),
        }
    }

    /// Puts a message the set holds with its headers only (`data` is the
    /// stored text, which starts with the added header). When the current
    /// data has a regular file at the message's path ([`Placement::current`])
    /// that file is kept and nothing of the entry is written: in a merge it
    /// stays as it is, in a staging area it is hard-linked in (copied when
    /// the link fails, e.g. across file systems). Otherwise the headers-only
    /// copy is written, as [`Placer::place`] does. Returns whether the
    /// current file was kept.
    pub fn place_headers_only(
        &mut self,
        set: &str,
        to: &Placement,
        e: &SetEntry,
        data: &mut dyn Read,
    ) -> Result<bool, RecoverError> {
        if e.kind == EntryKind::File
            && let Some((root, current)) = &to.current
        {
            if let Some(parent) = to.dest.parent()
                && to.dest != to.root
            {
                self.ensure_dir(&to.root, parent)?;
            }
            if !self.known_dirs.contains(&to.dest) && self.current_file(root, current) {
                if *current != to.dest {
                    self.link_current(current, &to.dest)?;
                }
                self.stats.kept_current += 1;
                return Ok(true);
            }
        }
        self.place(set, &to.root, &to.dest, e, data)?;
        if e.kind == EntryKind::File {
            self.stats.headers_only += 1;
        }
        Ok(false)
    }

    /// Whether `path` is a regular file reached from `root` through real
    /// folders only (no link followed below `root`).
    fn current_file(&mut self, root: &Path, path: &Path) -> bool {
        let Some(parent) = path.parent() else {
            return false;
        };
        // A folder this merge made holds nothing of the old data.
        if self.made_dirs.contains(parent) {
            return false;
        }
        if !self.current_dirs.contains(parent) {
            let Ok(rel) = parent.strip_prefix(root) else {
                return false;
            };
            let mut p = root.to_path_buf();
            for c in rel.components() {
                if !matches!(c, Component::Normal(_)) {
                    return false;
                }
                p.push(c);
                if self.current_dirs.contains(&p) {
                    continue;
                }
                if !lstat(&p).is_some_and(|m| m.is_dir()) {
                    return false;
                }
                self.current_dirs.insert(p.clone());
            }
        }
        lstat(path).is_some_and(|m| m.file_type().is_file())
    }

    /// Puts the current file `from` at `to` in a staging area: a hard link
    /// (the same file, already on disk), or a copy with its mode, owner and
    /// time where linking fails.
    fn link_current(&mut self, from: &Path, to: &Path) -> Result<(), RecoverError> {
        if lstat(to).is_some() {
            // The same path twice in one set; the later one wins.
            remove_any(to)?;
        }
        if let Err(err) = fs::hard_link(from, to) {
            log::info!(
                "{} cannot be linked into the staging area ({err}); copying it",
                from.display()
            );
            if let Err(e) = crate::bak::copy_tree(from, to) {
                let _ = fs::remove_file(to);
                return Err(e);
            }
        }
        Ok(())
    }

    fn dir(&mut self, dest: &Path, e: &SetEntry) -> Result<(), RecoverError> {
        if !self.known_dirs.contains(dest) {
            let in_made = dest.parent().is_some_and(|p| self.made_dirs.contains(p));
            match if in_made { None } else { lstat(dest) } {
                Some(m) if m.is_dir() => {}
                Some(_) => {
                    remove_any(dest)?;
                    fs::create_dir(dest).map_err(|err| RecoverError::io(dest, err))?;
                    if self.mode == Mode::Merge {
                        self.made_dirs.insert(dest.to_path_buf());
                    }
                }
                None => {
                    fs::create_dir(dest).map_err(|err| RecoverError::io(dest, err))?;
                    if self.mode == Mode::Merge {
                        self.made_dirs.insert(dest.to_path_buf());
                    }
                }
            }
            self.known_dirs.insert(dest.to_path_buf());
        }
        self.dirs.push(DirMeta {
            path: dest.to_path_buf(),
            mode: e.mode & 0o7777,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
        });
        self.stats.dirs += 1;
        Ok(())
    }

    /// Whether a file goes straight to `dest`: always in a staging area,
    /// and in a folder this run made; else under a temporary name first.
    fn direct(&self, dest: &Path) -> bool {
        self.mode == Mode::Fresh || dest.parent().is_some_and(|p| self.made_dirs.contains(p))
    }

    fn create(&self, path: &Path) -> std::io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .mode(0o600)
            .open(path)
    }

    fn file(
        &mut self,
        set: &str,
        dest: &Path,
        e: &SetEntry,
        data: &mut dyn Read,
    ) -> Result<(), RecoverError> {
        let direct = self.direct(dest);
        let path = if direct {
            dest.to_path_buf()
        } else {
            self.temp_beside(dest)
        };
        let mut f = match self.create(&path) {
            Ok(f) => f,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                // Fresh: the same path twice in one set; the later one wins.
                remove_any(&path)?;
                self.create(&path)
                    .map_err(|err| RecoverError::io(&path, err))?
            }
            Err(err) => return Err(RecoverError::io(&path, err)),
        };
        let result = self.fill(set, &mut f, &path, e, data);
        let result = result.and_then(|()| {
            if !direct {
                if lstat(dest).is_some_and(|m| m.is_dir()) {
                    remove_any(dest)?;
                }
                fs::rename(&path, dest).map_err(|err| RecoverError::io(dest, err))?;
            }
            Ok(())
        });
        match result {
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(e)
            }
            Ok(()) => Ok(()),
        }
    }

    fn fill(
        &mut self,
        set: &str,
        f: &mut File,
        path: &Path,
        e: &SetEntry,
        data: &mut dyn Read,
    ) -> Result<(), RecoverError> {
        let mut written = 0u64;
        loop {
            // The buffer filled before it is written: a decompressor hands
            // out a file in pieces (frame and block ends), and each write
            // call costs a page-cache walk of its own.
            let mut n = 0;
            while n < self.buf.len() {
                match data.read(&mut self.buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        return Err(RecoverError::damaged(
                            set,
                            format!("{} cannot be read: {err}", e.path),
                        ));
                    }
                }
            }
            if n == 0 {
                break;
            }
            f.write_all(&self.buf[..n])
                .map_err(|err| RecoverError::io(path, err))?;
            written += n as u64;
        }
        if written != e.size {
            return Err(RecoverError::damaged(
                set,
                format!("{} is cut short ({written} of {} bytes)", e.path, e.size),
            ));
        }
        f.set_permissions(fs::Permissions::from_mode(e.mode & 0o7777))
            .map_err(|err| RecoverError::io(path, err))?;
        if self.as_root && (e.uid != 0 || e.gid != 0) {
            let _ = nix::unistd::fchown(
                f.as_fd(),
                Some((e.uid as u32).into()),
                Some((e.gid as u32).into()),
            );
        }
        f.set_times(FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(e.mtime)))
            .map_err(|err| RecoverError::io(path, err))?;
        self.stats.files += 1;
        self.stats.bytes += written;
        Ok(())
    }

    fn symlink(&mut self, set: &str, dest: &Path, e: &SetEntry) -> Result<(), RecoverError> {
        let target = e.link.as_deref().unwrap_or_default();
        if !link_stays_inside(&e.path, target) {
            return Err(RecoverError::damaged(
                set,
                format!(
                    "link {} points outside the restored tree (to {target:?})",
                    e.path
                ),
            ));
        }
        let direct = self.direct(dest);
        let path = if direct {
            dest.to_path_buf()
        } else {
            self.temp_beside(dest)
        };
        if let Err(err) = std::os::unix::fs::symlink(target, &path) {
            if err.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(RecoverError::io(&path, err));
            }
            remove_any(&path)?;
            std::os::unix::fs::symlink(target, &path)
                .map_err(|err| RecoverError::io(&path, err))?;
        }
        if self.as_root && (e.uid != 0 || e.gid != 0) {
            let _ = std::os::unix::fs::lchown(&path, Some(e.uid as u32), Some(e.gid as u32));
        }
        if !direct {
            if lstat(dest).is_some_and(|m| m.is_dir()) {
                remove_any(dest)?;
            }
            if let Err(err) = fs::rename(&path, dest) {
                let _ = fs::remove_file(&path);
                return Err(RecoverError::io(dest, err));
            }
        }
        self.stats.links += 1;
        Ok(())
    }

    /// Applies folder modes, owners and times, deepest first (writing into
    /// a folder changes its time, and a read-only folder could not be
    /// filled).
    pub fn finish(&mut self) -> Result<PlaceStats, RecoverError> {
        for d in self.dirs.drain(..).rev() {
            let f = match OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
                .open(&d.path)
            {
                Ok(f) => f,
                // Replaced by a later entry of a newer set: nothing to do.
                Err(_) => continue,
            };
            f.set_permissions(fs::Permissions::from_mode(d.mode))
                .map_err(|e| RecoverError::io(&d.path, e))?;
            if self.as_root && (d.uid != 0 || d.gid != 0) {
                let _ = nix::unistd::fchown(
                    f.as_fd(),
                    Some((d.uid as u32).into()),
                    Some((d.gid as u32).into()),
                );
            }
            let _ = f.set_times(
                FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(d.mtime)),
            );
        }
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_inside_and_out() {
        assert!(link_stays_inside("config/users.link", "users.cfg"));
        assert!(link_stays_inside("store/mail/a/b", "../../lists"));
        assert!(link_stays_inside("a/b/c", "./d/e"));
        assert!(!link_stays_inside("a/b/c", "d/../e"), "'..' after a name");
        assert!(!link_stays_inside("a", "/etc/passwd"));
        assert!(!link_stays_inside("a", "../x"));
        assert!(!link_stays_inside("a/b", "../../x"));
        assert!(!link_stays_inside("a/b", "c/../../../x"));
        assert!(!link_stays_inside("a", ""));
    }
}
