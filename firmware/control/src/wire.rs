use serde::{Serialize, de::DeserializeOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client waits for a reply unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest request or reply line accepted, so a bad peer cannot exhaust memory.
const MAX_LINE: u64 = 16 << 20;

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

fn service_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Sends one request and reads one reply.
pub fn call<Req: Serialize, Rep: DeserializeOwned>(
    socket: &Path,
    request: &Req,
    timeout: Duration,
) -> Result<Rep, ControlError> {
    let service = service_name(socket);
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
        let mut line = String::new();
        let n = (&mut reader).take(MAX_LINE).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        let reply = match serde_json::from_str::<Req>(&line) {
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
        let r: Result<u32, String> = call(&path, &41u32, DEFAULT_TIMEOUT).expect("call");
        assert_eq!(r, Ok(42));
        let r: Result<u32, String> = call(&path, &"text", DEFAULT_TIMEOUT).expect("call");
        assert!(r.unwrap_err().contains("malformed"));
        server.join().expect("server");
    }

    #[test]
    fn missing_socket_says_not_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = call::<_, u32>(&dir.path().join("backupd.sock"), &1u32, DEFAULT_TIMEOUT)
            .expect_err("no socket");
        assert_eq!(
            err.to_string(),
            format!(
                "backupd is not running (no socket at {})",
                dir.path().join("backupd.sock").display()
            )
        );
    }
}
