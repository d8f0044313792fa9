//! What a session tells the supervisor, one line at a time on a pipe
//! shared by all sessions (lines shorter than `PIPE_BUF` never interleave).
//! A session writes before it acts on the news (closing a guesser's
//! connection), so the supervisor knows before that client can reconnect.

use std::fs::File;
use std::io::Write;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A file was completed in `restore`: check the sets there.
    Uploaded,
    /// This address failed too many logins: refuse it for a while.
    Guessing(IpAddr),
}

impl Notice {
    pub fn line(&self) -> String {
        match self {
            Notice::Uploaded => "uploaded\n".into(),
            Notice::Guessing(ip) => format!("guessing {ip}\n"),
        }
    }

    pub fn parse(line: &str) -> Option<Notice> {
        match line.trim().split_once(' ') {
            None if line.trim() == "uploaded" => Some(Notice::Uploaded),
            Some(("guessing", ip)) => ip.parse().ok().map(Notice::Guessing),
            _ => None,
        }
    }

    /// Sends the notice; a supervisor that is gone has nobody to tell.
    pub fn send(&self, pipe: &File) {
        let _ = (&*pipe).write_all(self.line().as_bytes());
    }
}

/// Splits what was read from the pipe into notices, keeping an unfinished
/// last line in `pending` for the next read.
pub fn take_lines(pending: &mut Vec<u8>, read: &[u8]) -> Vec<Notice> {
    pending.extend_from_slice(read);
    let mut out = Vec::new();
    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = pending.drain(..=end).collect();
        if let Some(n) = std::str::from_utf8(&line).ok().and_then(Notice::parse) {
            out.push(n);
        }
    }
    // A runaway writer cannot grow the buffer without bound.
    if pending.len() > 4096 {
        pending.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_split() {
        let g = Notice::Guessing("10.0.2.2".parse().expect("ip"));
        assert_eq!(Notice::parse(&g.line()), Some(g));
        assert_eq!(
            Notice::parse(&Notice::Uploaded.line()),
            Some(Notice::Uploaded)
        );
        assert_eq!(Notice::parse("guessing nonsense\n"), None);
        let mut pending = Vec::new();
        assert_eq!(
            take_lines(&mut pending, b"uploaded\nguess"),
            vec![Notice::Uploaded]
        );
        assert_eq!(take_lines(&mut pending, b"ing 10.0.2.2\nbogus\n"), vec![g]);
        assert!(pending.is_empty());
    }
}
