//! The journal of a whole-system swap. The new data is staged beside the
//! old on the same file system; the journal, written atomically once the
//! staged data is complete and on disk, is the commit point. Before it
//! exists a power cut leaves the old data (the staging area is deleted at
//! the next start); once it exists every step is a rename that
//! [`Journal::roll_forward`] can repeat, so the next boot finishes the
//! swap. Never a mix of old and new.
//!
//! ```text
//! # recover journal 1
//! set <name of the newest set>
//! stage <staging folder>
//! unit <had_old 0|1> <has_new 0|1> <dest> <staged> <old>
//! end
//! ```
//! Paths are written with `%XX` for any byte outside `[A-Za-z0-9/._+-]`.

use crate::error::RecoverError;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

pub const HEADER: &str = "# recover journal 1";
/// Largest journal read (a few lines per top-level folder).
const MAX_JOURNAL: u64 = 1 << 20;

/// One top-level folder (or file) of the data being replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub dest: PathBuf,
    pub staged: PathBuf,
    /// Where the current one goes: the staging area's `old/`, or `<dest>.BAK`.
    pub old: PathBuf,
    pub had_old: bool,
    pub has_new: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub set: String,
    /// Staging folders (each holds `new/`, `old/`, `trash/`).
    pub stages: Vec<PathBuf>,
    pub units: Vec<Unit>,
}

fn enc(p: &Path) -> String {
    let mut out = String::new();
    for &b in p.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/._+-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`enc`]: `%XX` escapes back to their bytes.
fn dec_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// An absolute path written by [`enc`].
fn dec(s: &str) -> Option<PathBuf> {
    let out = dec_bytes(s)?;
    if out.is_empty() || out[0] != b'/' {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// A staging folder is `.../state/recover` or `.../.recover`; nothing else
/// is ever deleted on a journal's word.
fn stage_ok(p: &Path) -> bool {
    p.is_absolute()
        && (p.ends_with("state/recover") || p.file_name().is_some_and(|n| n == ".recover"))
}

fn under(p: &Path, dir: &Path) -> bool {
    p.starts_with(dir) && p != dir
}

impl Journal {
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\nset {}\n", enc(Path::new(&self.set)));
        for st in &self.stages {
            s.push_str(&format!("stage {}\n", enc(st)));
        }
        for u in &self.units {
            s.push_str(&format!(
                "unit {} {} {} {} {}\n",
                u8::from(u.had_old),
                u8::from(u.has_new),
                enc(&u.dest),
                enc(&u.staged),
                enc(&u.old)
            ));
        }
        s.push_str("end\n");
        s
    }

    /// Reads a journal, checking that it only names staging folders and
    /// paths inside them (or `.BAK` beside the destination).
    pub fn parse(text: &str) -> Result<Journal, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err("no journal header".into());
        }
        let mut j = Journal {
            set: String::new(),
            stages: Vec::new(),
            units: Vec::new(),
        };
        let mut ended = false;
        for line in lines {
            let mut w = line.split(' ');
            match w.next() {
                Some("set") => {
                    // Written with `enc` like the paths (found by fuzzing:
                    // read back raw, a name with a `%` grew at every write).
                    let name = w.next().and_then(dec_bytes).ok_or("bad set line")?;
                    j.set = String::from_utf8(name).map_err(|_| "bad set line")?;
                }
                Some("stage") => {
                    let p = w.next().and_then(dec).ok_or("bad stage line")?;
                    if !stage_ok(&p) {
                        return Err(format!("{} is not a staging folder", p.display()));
                    }
                    j.stages.push(p);
                }
                Some("unit") => {
                    let flag = |x: Option<&str>| match x {
                        Some("0") => Ok(false),
                        Some("1") => Ok(true),
                        _ => Err("bad unit flags".to_string()),
                    };
                    let had_old = flag(w.next())?;
                    let has_new = flag(w.next())?;
                    let mut path = || w.next().and_then(dec).ok_or("bad unit path");
                    let (dest, staged, old) = (path()?, path()?, path()?);
                    let in_stage =
                        |p: &Path, sub: &str| j.stages.iter().any(|s| under(p, &s.join(sub)));
                    let bak = {
                        let mut b = dest.clone().into_os_string();
                        b.push(".BAK");
                        PathBuf::from(b)
                    };
                    if !in_stage(&staged, "new") || !(in_stage(&old, "old") || old == bak) {
                        return Err(format!(
                            "unit {} names paths outside its staging folder",
                            dest.display()
                        ));
                    }
                    j.units.push(Unit {
                        dest,
                        staged,
                        old,
                        had_old,
                        has_new,
                    });
                }
                Some("end") => ended = true,
                _ => return Err(format!("unknown line {line:?}")),
            }
        }
        if !ended {
            return Err("the journal is cut short".into());
        }
        Ok(j)
    }

    /// Writes the journal at `path` atomically and durably: this is the
    /// moment the restore commits to the new data.
    pub fn commit(&self, path: &Path) -> Result<(), RecoverError> {
        let dir = path.parent().unwrap_or(Path::new("/"));
        let tmp = dir.join(".journal.tmp");
        let mut f = File::create(&tmp).map_err(|e| RecoverError::io(&tmp, e))?;
        f.write_all(self.to_text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| RecoverError::io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| RecoverError::io(path, e))?;
        atomicfile::sync_dir(dir);
        Ok(())
    }

    /// Reads the journal at `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<Journal>, RecoverError> {
        let text = match fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RecoverError::io(path, e)),
        };
        if text.len() as u64 > MAX_JOURNAL {
            return Err(RecoverError::DamagedJournal(format!(
                "{} is too large to be a restore journal",
                path.display()
            )));
        }
        let text = String::from_utf8_lossy(&text);
        Journal::parse(&text).map(Some).map_err(|why| {
            RecoverError::DamagedJournal(format!(
                "the restore journal {} is damaged ({why})",
                path.display()
            ))
        })
    }

    /// Puts every unit's new data in place; each step can be repeated, so
    /// this also finishes a swap a power cut interrupted.
    pub fn roll_forward(&self) -> Result<(), RecoverError> {
        for (i, u) in self.units.iter().enumerate() {
            let rename = |from: &Path, to: &Path| {
                fs::rename(from, to).map_err(|e| {
                    RecoverError::Unfinished(format!(
                        "moving {} to {}: {e}",
                        from.display(),
                        to.display()
                    ))
                })
            };
            let displaced = |n: usize| -> PathBuf {
                let stage = self
                    .stages
                    .iter()
                    .find(|s| u.staged.starts_with(s))
                    .cloned()
                    .unwrap_or_else(|| PathBuf::from("/"));
                stage.join("trash").join(format!("{i}-{n}"))
            };
            let make_room = |n: &mut usize| -> Result<(), RecoverError> {
                // Whatever is at the destination: the old data the first
                // time, something made since (e.g. at boot) otherwise.
                if u.had_old && !exists(&u.old) {
                    return rename(&u.dest, &u.old);
                }
                let mut t = displaced(*n);
                while exists(&t) {
                    *n += 1;
                    t = displaced(*n);
                }
                if let Some(p) = t.parent() {
                    let _ = fs::create_dir_all(p);
                }
                rename(&u.dest, &t)
            };
            let mut n = 0;
            if u.has_new {
                if exists(&u.staged) {
                    if exists(&u.dest) {
                        make_room(&mut n)?;
                    }
                    rename(&u.staged, &u.dest)?;
                }
            } else if exists(&u.dest) && u.had_old && !exists(&u.old) {
                rename(&u.dest, &u.old)?;
            }
            for d in [u.dest.parent(), u.staged.parent(), u.old.parent()]
                .into_iter()
                .flatten()
            {
                atomicfile::sync_dir(d);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `journal` fuzz target: a set name with `%` in it.
    #[test]
    fn set_names_survive_being_written_and_read_again() {
        let text = "# recover journal 1\nset mail-FTUUUUUU%0520261122ta/config\nend\n";
        let j = Journal::parse(text).expect("parses");
        assert_eq!(j.set, "mail-FTUUUUUU\u{5}20261122ta/config");
        let again = Journal::parse(&j.to_text()).expect("parses again");
        assert_eq!(again.set, j.set);
        assert_eq!(again.to_text(), j.to_text());
        assert!(Journal::parse("# recover journal 1\nset bad%zz\nend\n").is_err());
    }

    #[test]
    fn text_round_trip_and_checks() {
        let st = PathBuf::from("/data/state/recover");
        let j = Journal {
            set: "mail-F20261122T220000Z.tar".into(),
            stages: vec![st.clone()],
            units: vec![
                Unit {
                    dest: "/data/config".into(),
                    staged: st.join("new/config"),
                    old: st.join("old/config"),
                    had_old: true,
                    has_new: true,
                },
                Unit {
                    dest: PathBuf::from(std::ffi::OsString::from_vec(b"/data/odd \xff\n".to_vec())),
                    staged: st.join("new/x"),
                    old: PathBuf::from(std::ffi::OsString::from_vec(
                        b"/data/odd \xff\n.BAK".to_vec(),
                    )),
                    had_old: false,
                    has_new: true,
                },
            ],
        };
        assert_eq!(Journal::parse(&j.to_text()), Ok(j.clone()));
        let cut = j.to_text().replace("end\n", "");
        assert!(Journal::parse(&cut).is_err());
        let evil = j
            .to_text()
            .replace("/data/state/recover/old/config", "/etc");
        assert!(Journal::parse(&evil).is_err());
        let evil = j.to_text().replace("stage /data/state/recover", "stage /");
        assert!(Journal::parse(&evil).is_err());
    }
}
