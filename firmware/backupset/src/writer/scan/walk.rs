//! The walk: each folder's entries in byte order, each stored as what it
//! is (folder, file, link), sealed or left out as a secret, or left out
//! with the reason counted as a problem.

use super::{DirFrame, Listed, MAX_SECRET, Scanner, SecretRule, entry_of, tar_path};
use crate::error::SetError;
use crate::tarfmt::{EntryHeader, EntryKind, padding};
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

impl Scanner<'_> {
    pub(super) fn skip(&mut self, rel: &str, why: String) -> Result<(), SetError> {
        self.summary.skipped_files += 1;
        self.problem(format!("{rel}: {why}; left out"));
        self.base_skip(rel)
    }

    pub(super) fn dir(
        &mut self,
        abs: &Path,
        rel: String,
        md: &fs::Metadata,
    ) -> Result<(), SetError> {
        self.cancelled()?;
        let entry = entry_of(&rel, md, 'd');
        let Some(names) = self.listing(abs, &rel)? else {
            return Ok(());
        };
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
            self.child(abs, &rel, &secret_rules, name, ft, dirent)?;
        }
        self.close_dir()
    }

    /// A folder's entries, sorted byte-wise; `None` when it cannot be read
    /// (then it is left out).
    fn listing(&mut self, abs: &Path, rel: &str) -> Result<Option<Vec<Listed>>, SetError> {
        let rd = match fs::read_dir(abs) {
            Ok(rd) => rd,
            Err(e) => {
                self.skip(
                    if rel.is_empty() { "." } else { rel },
                    format!("folder cannot be read ({e})"),
                )?;
                return Ok(None);
            }
        };
        // The entries keep the folder open, so a differential's stats are
        // relative to it (no path walk per file).
        let mut names: Vec<Listed> = Vec::new();
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
        Ok(Some(names))
    }

    /// One entry of a folder: left out, sealed, walked into or stored.
    fn child(
        &mut self,
        abs: &Path,
        rel: &str,
        secret_rules: &[SecretRule],
        name: OsString,
        ft: Option<fs::FileType>,
        dirent: fs::DirEntry,
    ) -> Result<(), SetError> {
        let child_abs = abs.join(&name);
        let Some(name) = name.to_str() else {
            self.summary.skipped_files += 1;
            self.problem(format!(
                "{}: the name is not valid UTF-8; left out",
                child_abs.display()
            ));
            return Ok(());
        };
        // Byte comparison (cheap) against paths normalised up front.
        if self
            .exclude
            .iter()
            .any(|x| x.as_os_str() == child_abs.as_os_str())
        {
            return Ok(());
        }
        let child_rel = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        if let Some((_, _, sealer)) = secret_rules
            .iter()
            .find(|(_, p, _)| crate::writer::name_matches(p, name.as_bytes()))
        {
            let is_file = ft.is_some_and(|t| t.is_file());
            self.secret(&child_abs, &child_rel, is_file, sealer.as_deref())?;
            return Ok(());
        }
        let ft = match ft {
            Some(ft) => ft,
            None => match fs::symlink_metadata(&child_abs) {
                Ok(m) => m.file_type(),
                Err(e) => {
                    self.skip(&child_rel, format!("cannot be examined ({e})"))?;
                    return Ok(());
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
        Ok(())
    }

    /// A file that holds secrets: sealed into the set under its name and
    /// the sealer's suffix, or left out. Never in the state of a full (so
    /// never a deletion either): a differential stores it again.
    pub(super) fn secret(
        &mut self,
        abs: &Path,
        rel: &str,
        is_file: bool,
        sealer: Option<&dyn crate::writer::Sealer>,
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
        self.file_from_memory(&format!("{rel}{}", sealer.suffix()), &md, 0o600, &sealed)?;
        self.count_file(sealed.len() as u64, false);
        self.secrets_sealed += 1;
        Ok(())
    }

    pub(super) fn symlink(&mut self, abs: &Path, rel: &str) -> Result<(), SetError> {
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

    pub(super) fn file(
        &mut self,
        abs: &Path,
        rel: &str,
        dirent: &fs::DirEntry,
    ) -> Result<(), SetError> {
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
        if self.stored_headers_only(&mut f, abs, rel, &md, &entry)? {
            return Ok(());
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
}
