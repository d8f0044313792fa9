//! Dropbear's log, read back from the system log file. In inetd mode
//! Dropbear logs only to syslog (its `-E` is refused there: standard error
//! could be the client's socket), so the failed logins the gate counts are
//! read from the file syslogd writes, `/data/log/messages`, from where it
//! ended when the gate started. A rotated file (a new inode, or a shorter
//! one) is read from its start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const DEFAULT_LOG: &str = appconfig::layout::SYSLOG;
/// Read at most this much per call: a flood of log lines costs bounded
/// time per turn of the loop (the rest is read on the next).
const CHUNK: u64 = 256 * 1024;
/// A line longer than this is cut.
const MAX_LINE: usize = 2048;

pub struct LogTail {
    path: PathBuf,
    file: Option<File>,
    ino: u64,
    pos: u64,
    partial: Vec<u8>,
}

impl LogTail {
    /// Follows `path` from its present end (or its start, once it appears).
    pub fn open_at_end(path: &Path) -> LogTail {
        let mut t = LogTail {
            path: path.to_path_buf(),
            file: None,
            ino: 0,
            pos: 0,
            partial: Vec::new(),
        };
        if let Ok(f) = File::open(path)
            && let Ok(m) = f.metadata()
        {
            t.ino = m.ino();
            t.pos = m.len();
            t.file = Some(f);
        }
        t
    }

    /// The complete lines written since the last call.
    pub fn poll(&mut self) -> Vec<String> {
        match std::fs::metadata(&self.path) {
            Ok(m) if self.file.is_none() || m.ino() != self.ino || m.len() < self.pos => {
                // New or rotated: from its start.
                match File::open(&self.path) {
                    Ok(f) => {
                        self.file = Some(f);
                        self.ino = m.ino();
                        self.pos = 0;
                        self.partial.clear();
                    }
                    Err(_) => return Vec::new(),
                }
            }
            Ok(_) => {}
            Err(_) => return Vec::new(),
        }
        let Some(f) = &mut self.file else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.pos)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        if f.take(CHUNK).read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        self.pos += bytes.len() as u64;
        let mut lines = Vec::new();
        for b in bytes {
            if b == b'\n' {
                lines
                    .push(String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned());
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(b);
            }
        }
        lines
    }
}

/// The pid and message of a line Dropbear logged (`... dropbear[123]: msg`).
pub fn dropbear_line(line: &str) -> Option<(i32, &str)> {
    let at = line.find("dropbear[")?;
    let rest = &line[at + "dropbear[".len()..];
    let (pid, msg) = rest.split_once("]: ")?;
    Some((pid.parse().ok()?, msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn follows_appends_and_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("messages");
        std::fs::write(&path, "old line\n").expect("write");
        let mut t = LogTail::open_at_end(&path);
        assert!(t.poll().is_empty(), "what was there before is not read");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        f.write_all(b"one\ntw").expect("append");
        assert_eq!(t.poll(), vec!["one".to_string()]);
        f.write_all(b"o\n").expect("append");
        assert_eq!(t.poll(), vec!["two".to_string()]);
        std::fs::rename(&path, dir.path().join("messages.0")).expect("rotate");
        std::fs::write(&path, "fresh\n").expect("new file");
        assert_eq!(t.poll(), vec!["fresh".to_string()]);
        std::fs::remove_file(&path).expect("rm");
        assert!(t.poll().is_empty());
    }

    #[test]
    fn dropbear_lines_are_recognised() {
        let l = "Dec  4 04:30:00 appliance authpriv.warn dropbear[123]: Bad password attempt for 'sysconfig' from 10.0.2.2:40000";
        assert_eq!(
            dropbear_line(l),
            Some((
                123,
                "Bad password attempt for 'sysconfig' from 10.0.2.2:40000"
            ))
        );
        assert_eq!(dropbear_line("sshgate[1]: x"), None);
        assert_eq!(dropbear_line("dropbear[x]: y"), None);
        assert_eq!(dropbear_line("dropbear[12"), None);
    }
}
