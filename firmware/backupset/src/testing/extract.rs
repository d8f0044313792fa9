//! A minimal applier for tests: restores a set (or one subtree of it) into
//! a folder, a differential's deletions first, through the reader's own
//! path checks. Never writes outside the target: no existing link inside
//! the target is followed.

use crate::error::{SetError, io_at};
use crate::reader::SetReader;
use crate::tarfmt::EntryKind;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractStats {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
    pub deleted: u64,
}

/// Refuses to go through a link: every existing component of `rel` below
/// `target` must be a real folder.
fn no_links_on_the_way(target: &Path, rel: &str) -> Result<(), SetError> {
    let mut p = target.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        p.push(part);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(SetError::Malformed {
                    set: String::new(),
                    reason: format!("{}: a link where a folder is expected", p.display()),
                });
            }
            Ok(m) if !m.is_dir() => {
                fs::remove_file(&p).map_err(io_at(&p))?;
                return Ok(());
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

fn remove_any(p: &Path) -> Result<bool, SetError> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).map_err(io_at(p)).map(|_| true),
        Ok(_) => fs::remove_file(p).map_err(io_at(p)).map(|_| true),
        Err(_) => Ok(false),
    }
}

fn in_subtree(path: &str, subtree: &str) -> bool {
    subtree == "."
        || path == subtree
        || (path.len() > subtree.len()
            && path.starts_with(subtree)
            && path.as_bytes()[subtree.len()] == b'/')
}

/// Restores `subtree` (`.` for everything) of the set into `target`.
pub fn extract(set: &SetReader, target: &Path, subtree: &str) -> Result<ExtractStats, SetError> {
    let subtree = subtree.trim_matches('/');
    let subtree = if subtree.is_empty() { "." } else { subtree };
    let mut stats = ExtractStats::default();
    fs::create_dir_all(target).map_err(io_at(target))?;
    for d in set.deleted()? {
        if in_subtree(&d, subtree) {
            no_links_on_the_way(target, &d)?;
            if remove_any(&target.join(&d))? {
                stats.deleted += 1;
            }
        }
    }
    let Some(range) = set.find(subtree)? else {
        return Ok(stats);
    };
    let as_root = nix::unistd::geteuid().is_root();
    let mut dir_times: Vec<(PathBuf, u64)> = Vec::new();
    set.entries(range.start..range.end, |e, data| {
        let dest = if e.path.is_empty() {
            target.to_path_buf()
        } else {
            no_links_on_the_way(target, &e.path)?;
            target.join(&e.path)
        };
        let mtime = FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(e.mtime));
        match e.kind {
            EntryKind::Dir => {
                if fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir()) {
                    remove_any(&dest)?;
                }
                fs::create_dir_all(&dest).map_err(io_at(&dest))?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(e.mode & 0o7777))
                    .map_err(io_at(&dest))?;
                if as_root {
                    let _ = nix::unistd::chown(
                        &dest,
                        Some((e.uid as u32).into()),
                        Some((e.gid as u32).into()),
                    );
                }
                dir_times.push((dest, e.mtime));
                stats.dirs += 1;
            }
            EntryKind::File => {
                if fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_file()) {
                    remove_any(&dest)?;
                }
                let mut f: File = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .mode(0o600)
                    .open(&dest)
                    .map_err(io_at(&dest))?;
                let n = std::io::copy(&mut data.take(e.size), &mut f).map_err(io_at(&dest))?;
                f.set_permissions(fs::Permissions::from_mode(e.mode & 0o7777))
                    .map_err(io_at(&dest))?;
                if as_root {
                    let _ = nix::unistd::fchown(
                        &f,
                        Some((e.uid as u32).into()),
                        Some((e.gid as u32).into()),
                    );
                }
                f.set_times(mtime).map_err(io_at(&dest))?;
                stats.files += 1;
                stats.bytes += n;
            }
            EntryKind::Symlink => {
                remove_any(&dest)?;
                let link = e.link.as_deref().unwrap_or_default();
                std::os::unix::fs::symlink(link, &dest).map_err(io_at(&dest))?;
                stats.files += 1;
            }
        }
        Ok(())
    })?;
    // Folder times last: writing into a folder changes its time.
    for (d, t) in dir_times.iter().rev() {
        if let Ok(f) = File::open(d) {
            let _ =
                f.set_times(FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(*t)));
        }
    }
    Ok(stats)
}
