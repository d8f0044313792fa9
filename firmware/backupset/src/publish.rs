//! Making a written set visible: read-back check, rename of the volumes,
//! the `.md5` file last, directory fsyncs. Until the `.md5` file is in
//! place nothing about the set looks complete.

use crate::error::{SetError, io_at};
use crate::md5file;
use crate::name::SetName;
use atomicfile::sync_dir;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A volume written to its temporary name, waiting to be published.
#[derive(Debug, Clone)]
pub struct WrittenVolume {
    pub temp: PathBuf,
    pub size: u64,
}

/// One volume of a published set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVolume {
    pub name: String,
    pub size: u64,
    /// Lower-case hex MD5.
    pub md5: String,
}

/// Fsyncs a file just renamed. vfat's rename writes the new directory entry
/// with no first cluster and size 0 and leaves the real ones to the inode's
/// writeback, up to 30 s later: a stick pulled in between held the set's
/// volumes as empty files under their final names (found by the fault
/// campaign, usb-pull right after "backup finished"). Fsyncing the folder
/// does not write the file's inode; fsyncing the file does.
pub fn sync_renamed(path: &Path) -> Result<(), SetError> {
    let f = File::open(path).map_err(io_at(path))?;
    match f.sync_all() {
        Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => Ok(()),
        r => r.map_err(io_at(path)),
    }
}

/// Renames `from` to `to` unless `to` exists: a set of the same name from
/// another unit (same host name, same second) is never replaced. File
/// systems without `RENAME_NOREPLACE` get a check before the rename.
pub fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(from, to)
        }
        Err(e) => Err(std::io::Error::from(e)),
    }
}

/// Renames the volumes to their final names, then writes the `.md5` file
/// (temporary name, fsync, rename, folder fsync). `unit` tags the
/// temporary `.md5` as the volumes' names are.
pub fn publish(
    dir: &Path,
    name: &SetName,
    temps: &[WrittenVolume],
    digests: &[[u8; 16]],
    unit: &str,
) -> Result<Vec<PublishedVolume>, SetError> {
    let mut out: Vec<PublishedVolume> = Vec::with_capacity(temps.len());
    for (i, (v, d)) in temps.iter().zip(digests).enumerate() {
        let final_name = name.volume_name(i as u32);
        let target = dir.join(&final_name);
        if let Err(e) = rename_noreplace(&v.temp, &target) {
            // Ours so far are taken away again; what was there stays.
            for p in &out {
                let _ = std::fs::remove_file(dir.join(&p.name));
            }
            return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                SetError::NameTaken {
                    name: final_name,
                    host: name.host.clone(),
                }
            } else {
                SetError::io(&target, e)
            });
        }
        out.push(PublishedVolume {
            name: final_name,
            size: v.size,
            md5: md5file::hex(d),
        });
        if let Err(e) = sync_renamed(&target) {
            for p in &out {
                let _ = std::fs::remove_file(dir.join(&p.name));
            }
            return Err(e);
        }
    }
    sync_dir(dir);
    let md5_final = dir.join(name.md5_name());
    let md5_temp = dir.join(SetName::temp_name(&name.md5_name(), unit));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&md5_temp)
            .map_err(io_at(&md5_temp))?;
        f.write_all(
            md5file::md5_text(out.iter().map(|v| (v.name.as_str(), v.md5.as_str()))).as_bytes(),
        )
        .map_err(io_at(&md5_temp))?;
        f.sync_all().map_err(io_at(&md5_temp))?;
        rename_noreplace(&md5_temp, &md5_final).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                SetError::NameTaken {
                    name: name.md5_name(),
                    host: name.host.clone(),
                }
            } else {
                SetError::io(&md5_final, e)
            }
        })?;
        sync_renamed(&md5_final).inspect_err(|_| {
            let _ = std::fs::remove_file(&md5_final);
        })
    })();
    if let Err(e) = result {
        // Without its .md5 the set is incomplete: take the volumes away too.
        let _ = std::fs::remove_file(&md5_temp);
        for v in &out {
            let _ = std::fs::remove_file(dir.join(&v.name));
        }
        return Err(e);
    }
    sync_dir(dir);
    Ok(out)
}
