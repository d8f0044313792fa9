//! Real receivers for tests (feature `test-support`): an SMTP server
//! (Debian's `python3-aiosmtpd`, with STARTTLS or TLS and AUTH, a fresh
//! self-signed certificate) and a syslog listener on UDP and TCP. Host tests
//! use them directly; the QEMU system test starts them on the host's
//! loopback, which the guest reaches as 10.0.2.2.

use appconfig::SmtpSecurity;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCRIPT: &str = include_str!("../testdata/smtpd.py");
/// Debian's Python, where `python3-aiosmtpd` is installed.
const PYTHON: &str = "/usr/bin/python3";

/// What the SMTP server takes.
#[derive(Debug, Clone)]
pub struct SmtpOptions {
    /// `None`: a free port.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    /// Empty: no AUTH.
    pub user: String,
    pub password: String,
    /// The name in the certificate.
    pub cert_name: String,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        SmtpOptions {
            port: None,
            security: SmtpSecurity::Starttls,
            user: "alerts".into(),
            password: "relay-pw-7".into(),
            cert_name: "relay.test".into(),
        }
    }
}

/// A running aiosmtpd; stopped when dropped.
pub struct SmtpServer {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    /// SHA-256 of its certificate (DER), the value to pin.
    pub cert_sha256: [u8; 32],
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl SmtpServer {
    pub fn start(o: &SmtpOptions) -> std::io::Result<SmtpServer> {
        let dir = tempfile::Builder::new().prefix("smtpd-test").tempdir()?;
        let cert = rcgen::generate_simple_self_signed(vec![o.cert_name.clone()])
            .map_err(std::io::Error::other)?;
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let cert_sha256: [u8; 32] = Sha256::digest(cert.cert.der()).into();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("cert.pem"), cert_pem)?;
        std::fs::write(p("key.pem"), key_pem)?;
        std::fs::write(p("smtpd.py"), SCRIPT)?;
        std::fs::create_dir(p("out"))?;
        let port = match o.port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut child = Command::new(PYTHON)
            .arg(p("smtpd.py"))
            .args(["--port", &port.to_string()])
            .arg("--cert")
            .arg(p("cert.pem"))
            .arg("--key")
            .arg(p("key.pem"))
            .args(["--user", &o.user, "--password", &o.password])
            .arg("--out")
            .arg(p("out"))
            .args(["--mode", &o.security.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            // The script says READY once it listens, or ends with its error.
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "READY" {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            return Err(std::io::Error::other(format!(
                "the test SMTP server did not start (is python3-aiosmtpd installed?): {err}"
            )));
        }
        Ok(SmtpServer {
            child,
            dir,
            port,
            cert_sha256,
        })
    }

    /// The pin, as the configuration takes it.
    pub fn pin_hex(&self) -> String {
        crate::smtp::hex(&self.cert_sha256)
    }

    /// The messages received so far, oldest first, each with a first line
    /// `X-Test-Envelope: from=... to=... tls=True auth=True`.
    pub fn messages(&self) -> Vec<String> {
        let out: PathBuf = self.dir.path().join("out");
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits for a message holding `text`.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| m.contains(text)) {
                return Some(m);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A syslog receiver on one port, UDP and TCP (octet-counted frames).
pub struct SyslogListener {
    pub port: u16,
    /// `(transport, message)` as received.
    got: Arc<Mutex<Vec<(&'static str, String)>>>,
}

impl SyslogListener {
    /// On 127.0.0.1, `port` or a free one.
    pub fn start(port: Option<u16>) -> std::io::Result<SyslogListener> {
        let tcp = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))?;
        let port = tcp.local_addr()?.port();
        let udp = UdpSocket::bind(("127.0.0.1", port))?;
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = udp.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                g.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(("udp", text));
            }
        });
        let g = got.clone();
        std::thread::spawn(move || {
            for s in tcp.incoming().flatten() {
                let g = g.clone();
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                    let mut r = BufReader::new(s);
                    // RFC 6587 octet counting: "LEN SP MSG", repeated.
                    loop {
                        let mut len = Vec::new();
                        match r.read_until(b' ', &mut len) {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                        let Some(n) = std::str::from_utf8(&len)
                            .ok()
                            .and_then(|t| t.trim().parse::<usize>().ok())
                        else {
                            g.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(("tcp", format!("BAD FRAME {len:?}")));
                            break;
                        };
                        let mut msg = vec![0u8; n];
                        if r.read_exact(&mut msg).is_err() {
                            break;
                        }
                        g.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(("tcp", String::from_utf8_lossy(&msg).into_owned()));
                    }
                });
            }
        });
        Ok(SyslogListener { port, got })
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn messages(&self) -> Vec<(&'static str, String)> {
        self.got.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits for a message holding `text`; returns `(transport, message)`.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> Option<(&'static str, String)> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|(_, m)| m.contains(text)) {
                return Some(m);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
