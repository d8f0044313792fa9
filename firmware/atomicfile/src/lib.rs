//! Writing files that survive a power cut: a whole file replaced at once,
//! and folders fsynced after a rename. Shared by the configuration, the set
//! format and the boot environment, which know nothing of each other.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Replaces `path` with `contents` so that a reader (or a power cut) sees
/// either the old file or the new one: write a temporary file beside it,
/// fsync, rename over, fsync the directory.
pub fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs a folder so renames in it survive a power cut. File systems that
/// cannot fsync a folder (some FUSE and network ones) are let be.
pub fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_with_mode_and_no_leftover() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/file.txt");
        write_atomically(&path, b"old", 0o600).expect("first write");
        write_atomically(&path, b"new contents", 0o600).expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"new contents");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["file.txt"], "no temporary file is left");
    }

    #[test]
    fn failure_leaves_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("file");
        write_atomically(&path, b"old", 0o644).expect("write");
        // A folder in the way of the rename: the write fails, the old stays.
        let blocked = dir.path().join("blocked");
        fs::create_dir_all(blocked.join("inner")).expect("mkdir");
        assert!(write_atomically(&blocked, b"x", 0o644).is_err());
        assert!(blocked.join("inner").is_dir());
        assert_eq!(fs::read(&path).expect("read"), b"old");
        let count = fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(count, 2, "file and folder only");
        assert!(write_atomically(Path::new("/"), b"x", 0o644).is_err());
    }
}
