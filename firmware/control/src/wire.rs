use serde::{Serialize, de::DeserializeOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client waits for a reply unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest reply line a client accepts (a list of many sets is long).
const MAX_LINE: u64 = 16 << 20;
/// Longest request line a service accepts: requests are a few hundred
/// bytes, and a peer must not make a service hold more.
pub const MAX_REQUEST: u64 = 64 << 10;

/// How many control connections a service serves at once; one more is
/// turned away (closed) instead of getting a thread of its own.
#[derive(Debug, Clone)]
pub struct Slots {
    used: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: usize,
}

/// A served connection's place; given back when dropped.
#[derive(Debug)]
pub struct Slot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Slots {
    pub fn new(max: usize) -> Slots {
        Slots {
            used: Default::default(),
            max,
        }
    }

    /// A place for one more connection, or `None` when all are taken.
    pub fn take(&self) -> Option<Slot> {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.used.clone()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{service} is not running (no socket at {path})")]
    NotRunning { service: String, path: PathBuf },
    #[error("{service} did not answer within {secs} s")]
    Timeout { service: String, secs: u64 },
    #[error("talking to {service}: {source}")]
    Io {
        service: String,
        source: std::io::Error,
    },
    #[error("{service} sent a reply this program does not understand: {reason}")]
    Protocol { service: String, reason: String },
}

/// Sends one request to `service` (its name in errors: the socket may have
/// been moved anywhere) and reads one reply.
pub fn call<Req: Serialize, Rep: DeserializeOwned>(
    service: &str,
    socket: &Path,
    request: &Req,
    timeout: Duration,
) -> Result<Rep, ControlError> {
    let service = service.to_string();
    let io = |source: std::io::Error| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            ControlError::Timeout {
                service: service.clone(),
                secs: timeout.as_secs(),
            }
        } else {
            ControlError::Io {
                service: service.clone(),
                source,
            }
        }
    };
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ControlError::NotRunning {
                service: service.clone(),
                path: socket.to_path_buf(),
            }
        }
        _ => io(e),
    })?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let mut line = serde_json::to_vec(request).map_err(|e| ControlError::Protocol {
        service: service.clone(),
        reason: e.to_string(),
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .take(MAX_LINE)
        .read_line(&mut reply)
        .map_err(io)?;
    if reply.is_empty() {
        return Err(ControlError::Protocol {
            service,
            reason: "the connection closed without a reply".into(),
        });
    }
    serde_json::from_str(&reply).map_err(|e| ControlError::Protocol {
        service,
        reason: e.to_string(),
    })
}

/// Serves one client connection: reads requests line by line and answers
/// each with `handle`. A malformed request gets `bad_request(reason)` as its
/// reply instead of dropping the connection.
pub fn serve_connection<Req, Rep>(
    stream: UnixStream,
    timeout: Duration,
    mut handle: impl FnMut(Req) -> Rep,
    bad_request: impl Fn(String) -> Rep,
) -> std::io::Result<()>
where
    Req: DeserializeOwned,
    Rep: Serialize,
{
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_REQUEST)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") && n as u64 >= MAX_REQUEST {
            // Too long to be a request: say so and hang up.
            let reply = bad_request(format!(
                "request longer than {} KiB: connection closed",
                MAX_REQUEST >> 10
            ));
            let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
            out.push(b'\n');
            let _ = writer.write_all(&out);
            return Ok(());
        }
        let reply = match serde_json::from_slice::<Req>(&line) {
            Ok(req) => handle(req),
            Err(e) => bad_request(format!("malformed request: {e}")),
        };
        let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
        out.push(b'\n');
        writer.write_all(&out)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn round_trip_and_bad_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("echo.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let (s, _) = listener.accept().expect("accept");
                serve_connection(s, DEFAULT_TIMEOUT, |n: u32| Ok::<u32, String>(n + 1), Err)
                    .expect("serve");
            }
        });
        let r: Result<u32, String> = call("echo", &path, &41u32, DEFAULT_TIMEOUT).expect("call");
        assert_eq!(r, Ok(42));
        let r: Result<u32, String> = call("echo", &path, &"text", DEFAULT_TIMEOUT).expect("call");
        assert!(r.unwrap_err().contains("malformed"));
        server.join().expect("server");
    }

    #[test]
    fn an_endless_request_line_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("echo.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            serve_connection(s, DEFAULT_TIMEOUT, |n: u32| Ok::<u32, String>(n), Err)
        });
        let mut s = UnixStream::connect(&path).expect("connect");
        // 1 MiB without a newline; the service stops reading at 64 KiB.
        let _ = s.write_all(&vec![b'7'; 1 << 20]);
        let mut reply = String::new();
        let _ = BufReader::new(&s).read_line(&mut reply);
        assert!(reply.contains("longer than 64 KiB"), "{reply}");
        server.join().expect("server").expect("served");
    }

    #[test]
    fn slots_bound_the_connections() {
        let slots = Slots::new(2);
        let a = slots.take().expect("first");
        let _b = slots.take().expect("second");
        assert!(slots.take().is_none(), "a third is turned away");
        drop(a);
        assert!(slots.take().is_some(), "a freed place is taken again");
    }

    #[test]
    fn missing_socket_says_not_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Named by the caller, not by the socket's file (moved by BACKUPD_SOCKET).
        let err = call::<_, u32>(
            "backupd",
            &dir.path().join("x.sock"),
            &1u32,
            DEFAULT_TIMEOUT,
        )
        .expect_err("no socket");
        assert_eq!(
            err.to_string(),
            format!(
                "backupd is not running (no socket at {})",
                dir.path().join("x.sock").display()
            )
        );
    }
}
