//! The link between a session and the supervisor: a Unix socket pair per
//! session (the session's standard output), one JSON object a line. The
//! session asks the supervisor to check each login (only the supervisor
//! holds the password hash, and it paces guessing per address across all
//! sessions: [`crate::logins`]) and tells it of completed uploads.

use serde::{Deserialize, Serialize};
use std::io;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

/// The longest line either side sends; a longer one ends the link.
pub const MAX_LINE: usize = 4096;

/// What a session sends.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// A file was completed in `restore`: check the sets there.
    Uploaded,
    /// Check this login (the supervisor knows the session's address).
    Login { user: String, password: String },
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Uploaded => write!(f, "Uploaded"),
            Request::Login { user, .. } => write!(f, "Login {{ user: {user:?} }}"),
        }
    }
}

/// The supervisor's answer to a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    Refused,
    /// The address is refused for this long after too many failed logins.
    Blocked {
        secs: u64,
    },
}

/// One message as a line.
pub fn line<T: Serialize>(msg: &T) -> Vec<u8> {
    // Plain enums of strings and numbers always serialise.
    let mut l = serde_json::to_vec(msg).unwrap_or_default();
    l.push(b'\n');
    l
}

/// Splits what was read into messages, keeping an unfinished last line in
/// `pending`. `Err` when a line is too long or not a message: the other
/// side is not what it should be.
pub fn take_lines<T: for<'de> Deserialize<'de>>(
    pending: &mut Vec<u8>,
    read: &[u8],
) -> Result<Vec<T>, String> {
    pending.extend_from_slice(read);
    let mut out = Vec::new();
    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = pending.drain(..=end).collect();
        match serde_json::from_slice(&line) {
            Ok(m) => out.push(m),
            Err(e) => return Err(format!("not a message: {e}")),
        }
    }
    if pending.len() > MAX_LINE {
        return Err("a line too long".into());
    }
    Ok(out)
}

/// The session's end of the link.
#[derive(Debug)]
pub struct Link {
    writer: Mutex<tokio::net::unix::OwnedWriteHalf>,
    reader: Mutex<BufReader<tokio::net::unix::OwnedReadHalf>>,
}

impl Link {
    /// Wraps the session's end; needs the Tokio runtime.
    pub fn new(stream: std::os::unix::net::UnixStream) -> io::Result<Link> {
        stream.set_nonblocking(true)?;
        let (r, w) = tokio::net::UnixStream::from_std(stream)?.into_split();
        Ok(Link {
            writer: Mutex::new(w),
            reader: Mutex::new(BufReader::new(r)),
        })
    }

    pub async fn send(&self, msg: &Request) -> io::Result<()> {
        let mut w = self.writer.lock().await;
        w.write_all(&line(msg)).await
    }

    /// Asks the supervisor about a login and waits for its verdict (which
    /// may take a while: guessers are paced).
    pub async fn login(&self, user: &str, password: &str) -> io::Result<Verdict> {
        use tokio::io::AsyncBufReadExt;
        // Held across the question and the answer: one login at a time.
        let mut reader = self.reader.lock().await;
        self.send(&Request::Login {
            user: user.to_string(),
            password: password.to_string(),
        })
        .await?;
        let mut answer = Vec::new();
        let n = (&mut *reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut answer)
            .await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the supervisor is gone",
            ));
        }
        serde_json::from_slice(&answer).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

use tokio::io::AsyncReadExt as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_split() {
        let login = Request::Login {
            user: "sysarchive".into(),
            password: "pa\"ss\nword".into(),
        };
        assert!(!format!("{login:?}").contains("pa"), "no password in debug");
        let mut pending = Vec::new();
        let mut bytes = line(&Request::Uploaded);
        bytes.extend(line(&login));
        let (a, b) = bytes.split_at(7);
        assert_eq!(
            take_lines::<Request>(&mut pending, a).expect("ok"),
            Vec::<Request>::new()
        );
        assert_eq!(
            take_lines::<Request>(&mut pending, b).expect("ok"),
            vec![Request::Uploaded, login]
        );
        assert!(pending.is_empty());
        assert!(take_lines::<Request>(&mut pending, b"bogus\n").is_err());
        let mut pending = Vec::new();
        assert!(take_lines::<Request>(&mut pending, &[b'x'; MAX_LINE + 1]).is_err());
        assert_eq!(
            serde_json::from_slice::<Verdict>(&line(&Verdict::Blocked { secs: 9 })).expect("v"),
            Verdict::Blocked { secs: 9 }
        );
    }

    #[tokio::test]
    async fn a_login_question_gets_its_answer() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("pair");
        let link = Link::new(ours).expect("link");
        let supervisor = std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            let mut r = std::io::BufReader::new(theirs.try_clone().expect("clone"));
            let mut l = String::new();
            r.read_line(&mut l).expect("read");
            let req: Request = serde_json::from_str(&l).expect("request");
            let v = match req {
                Request::Login { password, .. } if password == "right" => Verdict::Accepted,
                _ => Verdict::Refused,
            };
            (&theirs).write_all(&line(&v)).expect("write");
        });
        assert_eq!(
            link.login("sysarchive", "right").await.expect("verdict"),
            Verdict::Accepted
        );
        supervisor.join().expect("thread");
        assert!(link.login("sysarchive", "x").await.is_err(), "gone");
    }
}
