//! `-b/--backup`: the current data is kept as `<name>.BAK` before a
//! restore (an older `.BAK` is replaced, as Kerio does), after checking
//! that the file system has room for the copy and the restored data. Also
//! the free-space check itself.

use crate::error::RecoverError;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, FileTimes};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// Allocation unit assumed per file and folder when estimating space.
const BLOCK: u64 = 4096;

/// `<path>.BAK`
pub fn bak_path(p: &Path) -> PathBuf {
    let mut s: OsString = p.as_os_str().to_owned();
    s.push(".BAK");
    PathBuf::from(s)
}

/// Bytes free for us on the file system holding `p` (or its nearest
/// existing parent), and that file system's device.
pub fn free_space(p: &Path) -> Result<(u64, u64), RecoverError> {
    let mut at = p;
    loop {
        if let Ok(m) = fs::metadata(at) {
            let st = nix::sys::statvfs::statvfs(at)
                .map_err(|e| RecoverError::io(at, std::io::Error::from(e)))?;
            let free = st.blocks_available() as u64 * st.fragment_size() as u64;
            return Ok((free, m.dev()));
        }
        match at.parent() {
            Some(parent) => at = parent,
            None => return Err(RecoverError::io(p, std::io::ErrorKind::NotFound.into())),
        }
    }
}

/// An estimate of what `bytes` of data in `files` files occupy on disk.
pub fn on_disk(bytes: u64, files: u64) -> u64 {
    bytes.saturating_add(files.saturating_add(1).saturating_mul(BLOCK))
}

/// Space `p` takes (files rounded up to blocks, folders one block each).
pub fn tree_size(p: &Path) -> u64 {
    let Ok(m) = fs::symlink_metadata(p) else {
        return 0;
    };
    if !m.is_dir() {
        return m.len().div_ceil(BLOCK) * BLOCK + BLOCK;
    }
    let mut total = BLOCK;
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            total += tree_size(&e.path());
        }
    }
    total
}

/// Refuses when `needed` bytes will not fit where `p` lives.
pub fn check_space(p: &Path, needed: u64, what: &str) -> Result<(), RecoverError> {
    let (free, _) = free_space(p)?;
    if needed > free {
        return Err(RecoverError::NoSpace {
            path: p.to_path_buf(),
            what: what.to_string(),
            needed,
            free,
        });
    }
    Ok(())
}

/// Keeps each existing path of `paths` as `<path>.BAK`, after checking the
/// room for the copies plus `restored` bytes per file system.
pub fn keep_copies(paths: &[PathBuf], restored: u64) -> Result<Vec<PathBuf>, RecoverError> {
    let existing: Vec<&PathBuf> = paths
        .iter()
        .filter(|p| fs::symlink_metadata(p).is_ok())
        .collect();
    let mut need_by_dev: HashMap<u64, (PathBuf, u64, u64)> = HashMap::new();
    for p in &existing {
        let (free, dev) = free_space(p)?;
        let e = need_by_dev
            .entry(dev)
            .or_insert_with(|| ((*p).clone(), free, restored));
        e.2 = e.2.saturating_add(tree_size(p));
    }
    for (path, free, needed) in need_by_dev.values() {
        if needed > free {
            return Err(RecoverError::NoSpace {
                path: path.clone(),
                what: "keeping the current data as .BAK (-b) and the restored data".into(),
                needed: *needed,
                free: *free,
            });
        }
    }
    let mut made = Vec::new();
    for p in existing {
        let bak = bak_path(p);
        remove_any(&bak)?;
        copy_tree(p, &bak)?;
        made.push(bak);
    }
    Ok(made)
}

pub fn remove_any(p: &Path) -> Result<(), RecoverError> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).map_err(|e| RecoverError::io(p, e)),
        Ok(_) => fs::remove_file(p).map_err(|e| RecoverError::io(p, e)),
        Err(_) => Ok(()),
    }
}

/// Copies a tree as it is: modes, times, links as links, owners when root;
/// names of any bytes.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), RecoverError> {
    let m = fs::symlink_metadata(from).map_err(|e| RecoverError::io(from, e))?;
    let ft = m.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(from).map_err(|e| RecoverError::io(from, e))?;
        std::os::unix::fs::symlink(&target, to).map_err(|e| RecoverError::io(to, e))?;
    } else if ft.is_dir() {
        fs::create_dir(to).map_err(|e| RecoverError::io(to, e))?;
        for e in fs::read_dir(from).map_err(|e| RecoverError::io(from, e))? {
            let e = e.map_err(|e| RecoverError::io(from, e))?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        fs::set_permissions(to, fs::Permissions::from_mode(m.mode() & 0o7777))
            .map_err(|e| RecoverError::io(to, e))?;
    } else if ft.is_file() {
        fs::copy(from, to).map_err(|e| RecoverError::io(to, e))?;
    } else {
        // Sockets, FIFOs and devices are not data; a backup leaves them out too.
        return Ok(());
    }
    if nix::unistd::geteuid().is_root() {
        let _ = std::os::unix::fs::lchown(to, Some(m.uid()), Some(m.gid()));
    }
    if !ft.is_symlink()
        && let Ok(f) = fs::File::open(to)
    {
        let t = UNIX_EPOCH + Duration::from_secs(m.mtime().max(0) as u64);
        let _ = f.set_times(FileTimes::new().set_modified(t));
    }
    Ok(())
}
