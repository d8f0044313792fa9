//! The kernel log lines written during a mount attempt. cifs returns EACCES
//! both for a bad password (session setup) and for a share the user may not
//! use (tree connect), and ENOENT for a missing share and a missing path;
//! its log lines tell them apart.

use std::fs::File;
use std::io::{ErrorKind, Read};

/// Reads `/dev/kmsg` from the moment it was opened.
pub struct KmsgWatch {
    file: Option<File>,
}

impl KmsgWatch {
    /// Starts watching; without access to `/dev/kmsg` nothing is seen and
    /// errors fall back to words that cover both cases.
    pub fn start() -> KmsgWatch {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()
            .and_then(|f| {
                nix::unistd::lseek(&f, 0, nix::unistd::Whence::SeekEnd)
                    .ok()
                    .map(|_| f)
            });
        KmsgWatch { file }
    }

    /// Whether kernel messages can be read at all.
    pub fn available(&self) -> bool {
        self.file.is_some()
    }

    /// The messages logged since the last call, one per line.
    pub fn take(&mut self) -> String {
        let Some(f) = self.file.as_mut() else {
            return String::new();
        };
        let mut out = String::new();
        let mut rec = [0u8; 8192];
        // One read returns one record; EPIPE means records were overwritten.
        for _ in 0..10_000 {
            match f.read(&mut rec) {
                Ok(0) => break,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&rec[..n]);
                    let msg = text.split_once(';').map_or(&*text, |(_, m)| m);
                    out.push_str(msg.lines().next().unwrap_or(""));
                    out.push('\n');
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::EPIPE) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        out
    }
}
