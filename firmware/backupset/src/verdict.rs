//! Results of checking sets against their `.md5` files, kept in a hidden
//! file beside them (`.verified`) so that whoever lists the folder knows
//! which sets were verified since their files last changed. The program
//! that checks a set records the verdict; a program that lists the folder
//! reports it.
//!
//! A verdict holds a fingerprint of the set's files (inode, size, times of
//! each volume and of the `.md5` file): a set replaced or touched since has
//! no verdict until it is checked again.

use crate::catalog::SetStatus;
use crate::error::SetError;
use crate::md5file::hex;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The record's name in the folder of sets.
pub const VERDICT_FILE: &str = ".verified";

const HEADER: &str = "# Sets checked against their .md5 files; do not edit.";

/// Largest record read (a few lines per set).
const MAX_RECORD: u64 = 1 << 20;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    /// `verified` or what is wrong, in one line.
    pub detail: String,
}

/// What a set's files looked like when checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

/// The fingerprint of a set's files as they are now.
pub fn fingerprint(dir: &Path, set: &SetStatus) -> Result<Fingerprint, SetError> {
    let mut h = Md5::new();
    let names = set
        .volumes
        .iter()
        .map(|(n, _)| n.clone())
        .chain(std::iter::once(set.name.md5_name()));
    for name in names {
        let path = dir.join(&name);
        let m = std::fs::symlink_metadata(&path).map_err(|e| SetError::io(&path, e))?;
        h.update(
            format!(
                "{name}\0{}\0{}\0{}.{}\0{}.{}\n",
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec()
            )
            .as_bytes(),
        );
    }
    Ok(Fingerprint(hex(&h.finalize().into())))
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Entries by first volume name: (fingerprint, verdict).
fn read(dir: &Path) -> BTreeMap<String, (String, Verdict)> {
    use std::io::Read;
    let mut text = String::new();
    let _ = std::fs::File::open(dir.join(VERDICT_FILE))
        .and_then(|f| f.take(MAX_RECORD).read_to_string(&mut text));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.splitn(4, '\t');
            let (name, fp, state, detail) = (f.next()?, f.next()?, f.next()?, f.next()?);
            let ok = match state {
                "ok" => true,
                "failed" => false,
                _ => return None,
            };
            Some((
                name.to_string(),
                (
                    fp.to_string(),
                    Verdict {
                        ok,
                        detail: detail.to_string(),
                    },
                ),
            ))
        })
        .collect()
}

/// The recorded verdict on `set`, if its files have not changed since.
pub fn lookup(dir: &Path, set: &SetStatus) -> Option<Verdict> {
    let now = fingerprint(dir, set).ok()?;
    read(dir)
        .remove(&set.name.tar_name())
        .filter(|(fp, _)| *fp == now.0)
        .map(|(_, v)| v)
}

/// Records the verdict on the set whose files had fingerprint `fp`; entries
/// of sets no longer in `present` (first volume names) are dropped.
pub fn record(
    dir: &Path,
    set: &SetStatus,
    fp: &Fingerprint,
    verdict: &Verdict,
    present: &[String],
) -> Result<(), SetError> {
    let mut all = read(dir);
    all.retain(|name, _| present.contains(name));
    all.insert(set.name.tar_name(), (fp.0.clone(), verdict.clone()));
    let mut text = format!("{HEADER}\n");
    for (name, (fp, v)) in &all {
        text.push_str(&format!(
            "{name}\t{fp}\t{}\t{}\n",
            if v.ok { "ok" } else { "failed" },
            one_line(&v.detail)
        ));
    }
    let path = dir.join(VERDICT_FILE);
    atomicfile::write_atomically(&path, text.as_bytes(), 0o640).map_err(|e| SetError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::list_sets;

    fn set_in(dir: &Path, stem: &str, body: &[u8]) {
        use md5::Digest;
        std::fs::write(dir.join(format!("{stem}.tar")), body).expect("tar");
        let sum = hex(&md5::Md5::digest(body).into());
        std::fs::write(
            dir.join(format!("{stem}.tar.md5")),
            format!("{sum}  {stem}.tar\n"),
        )
        .expect("md5");
    }

    #[test]
    fn a_verdict_holds_until_the_files_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        set_in(dir.path(), "mx-F20261122T220000Z", b"one");
        set_in(dir.path(), "mx-F20261123T220000Z", b"two");
        let sets = list_sets(dir.path()).expect("list");
        let names: Vec<String> = sets.iter().map(|s| s.name.tar_name()).collect();
        assert_eq!(lookup(dir.path(), &sets[0]), None);
        let fp = fingerprint(dir.path(), &sets[0]).expect("fp");
        let good = Verdict {
            ok: true,
            detail: "verified".into(),
        };
        record(dir.path(), &sets[0], &fp, &good, &names).expect("record");
        let fp1 = fingerprint(dir.path(), &sets[1]).expect("fp");
        let bad = Verdict {
            ok: false,
            detail: "mx-F20261123T220000Z.tar: MD5 differs\nsecond line".into(),
        };
        record(dir.path(), &sets[1], &fp1, &bad, &names).expect("record");
        assert_eq!(lookup(dir.path(), &sets[0]), Some(good));
        let found = lookup(dir.path(), &sets[1]).expect("recorded");
        assert!(!found.ok);
        assert!(!found.detail.contains('\n'));

        // Replacing a volume makes the verdict stale.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("mx-F20261122T220000Z.tar.new"), b"one").expect("w");
        std::fs::rename(
            dir.path().join("mx-F20261122T220000Z.tar.new"),
            dir.path().join("mx-F20261122T220000Z.tar"),
        )
        .expect("mv");
        let sets = list_sets(dir.path()).expect("list");
        assert_eq!(lookup(dir.path(), &sets[0]), None);

        // The record is not a set and forgets sets that are gone.
        assert_eq!(sets.len(), 2);
        record(dir.path(), &sets[1], &fp1, &found, &names[1..]).expect("record");
        let text = std::fs::read_to_string(dir.path().join(VERDICT_FILE)).expect("read");
        assert!(!text.contains("20261122"), "{text}");
    }
}
