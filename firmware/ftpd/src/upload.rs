//! Uploads land under a hidden temporary name and are renamed to their real
//! name only once complete and on disk; whatever fails or is abandoned is
//! removed, here or (after a crash) by the supervisor.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Every temporary upload's name starts so: `.ftp-upload.<pid>.<n>.<name>`.
pub const TEMP_PREFIX: &str = ".ftp-upload.";

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A file being uploaded; removed on drop unless published.
#[derive(Debug)]
pub struct TempUpload {
    path: PathBuf,
    armed: bool,
}

impl TempUpload {
    /// Creates a new, empty temporary file for `name` in `dir`.
    pub fn create(dir: &Path, name: &str) -> io::Result<(TempUpload, File)> {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{TEMP_PREFIX}{}.{seq}.{name}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)?;
        Ok((TempUpload { path, armed: true }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the complete file its real name (replacing any file of that
    /// name) and makes the rename durable.
    pub fn publish(mut self, final_path: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, final_path)?;
        self.armed = false;
        if let Some(dir) = final_path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The process id in a temporary upload's name.
fn owner(name: &str) -> Option<u32> {
    name.strip_prefix(TEMP_PREFIX)?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Removes temporary uploads left in `dir`: all of them, or only those of
/// the session process `pid`. Returns the names removed.
pub fn clean_leftovers(dir: &Path, pid: Option<u32>) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(owner) = owner(&name) else {
            continue;
        };
        if pid.is_none_or(|p| p == owner) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed.push(name),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_upload_disappears_published_one_stays() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (t, _f) = TempUpload::create(dir.path(), "a.tar").expect("create");
        assert!(t.path().exists());
        let p = t.path().to_path_buf();
        drop(t);
        assert!(!p.exists());

        let (t, f) = TempUpload::create(dir.path(), "b.tar").expect("create");
        use std::io::Write;
        (&f).write_all(b"data").expect("write");
        t.publish(&dir.path().join("b.tar")).expect("publish");
        assert_eq!(
            std::fs::read(dir.path().join("b.tar")).expect("read"),
            b"data"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn leftovers_by_owner() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [
            ".ftp-upload.11.0.a",
            ".ftp-upload.12.3.b.tar",
            "keep.tar",
            ".verified",
        ] {
            std::fs::write(dir.path().join(n), b"x").expect("write");
        }
        assert_eq!(
            clean_leftovers(dir.path(), Some(11)).expect("clean"),
            vec![".ftp-upload.11.0.a".to_string()]
        );
        assert_eq!(
            clean_leftovers(dir.path(), None).expect("clean"),
            vec![".ftp-upload.12.3.b.tar".to_string()]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".verified", "keep.tar"]);
        assert!(
            clean_leftovers(&dir.path().join("missing"), None)
                .expect("ok")
                .is_empty()
        );
    }
}
