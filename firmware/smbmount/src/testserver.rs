//! A real Samba server on loopback for tests: unprivileged port, its own
//! configuration, databases and share in a temporary folder, and one SMB
//! account. Host tests use it directly; the QEMU system tests start it on
//! the host, where the guest reaches it as 10.0.2.2 (QEMU's user network
//! delivers that address to the host's loopback).
//!
//! Samba maps every SMB account to a Unix one; to leave the host's
//! `/etc/passwd` alone the SMB user is mapped onto the existing `nobody`
//! account (`username map`), and files are written as root (`force user`).
//! Standalone Samba ignores the domain a client sends, so `DOMAIN\user`
//! and `user@fqdn` split into user and domain both log in.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Port the QEMU tests use unless told otherwise.
pub const DEFAULT_PORT: u16 = 4450;

/// What to start.
#[derive(Debug, Clone)]
pub struct SambaOptions {
    /// `None`: a free port is picked (host tests running side by side).
    pub port: Option<u16>,
    /// The SMB user name clients log in with.
    pub user: String,
    pub password: String,
    /// The share's name; its folder is created empty.
    pub share: String,
    /// A second share the user may not use, to test "access denied".
    pub denied_share: Option<String>,
    /// More `[global]` lines, e.g. `smb encrypt = required`.
    pub global_extra: String,
}

impl Default for SambaOptions {
    fn default() -> Self {
        SambaOptions {
            port: None,
            user: "backup".into(),
            password: "s3cret,with,commas".into(),
            share: "backups".into(),
            denied_share: Some("private".into()),
            global_extra: String::new(),
        }
    }
}

/// A running smbd; stopped (and its folder removed) when dropped.
pub struct SambaServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
    pub options: SambaOptions,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum SambaError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("smbpasswd failed: {0}")]
    Passwd(String),
    #[error("smbd did not start listening on port {port}; its log:\n{log}")]
    NotListening { port: u16, log: String },
}

impl SambaServer {
    pub fn start(options: SambaOptions) -> Result<SambaServer, SambaError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |e| SambaError::Io(what, e)
        };
        let dir = tempfile::Builder::new()
            .prefix("samba-test")
            .tempdir()
            .map_err(io("temporary folder"))?;
        let port = match options.port {
            Some(p) => p,
            None => free_port().map_err(io("picking a port"))?,
        };
        let d = dir.path();
        for sub in [
            "private", "lock", "state", "cache", "pid", "ncalrpc", "share", "denied",
        ] {
            std::fs::create_dir_all(d.join(sub)).map_err(io(sub))?;
        }
        std::fs::write(d.join("users.map"), format!("nobody = {}\n", options.user))
            .map_err(io("users.map"))?;
        let denied = options
            .denied_share
            .as_ref()
            .map(|s| {
                format!(
                    "[{s}]\n  path = {}\n  read only = no\n  valid users = root\n",
                    d.join("denied").display()
                )
            })
            .unwrap_or_default();
        let conf = format!(
            "[global]
  workgroup = TESTDOM
  netbios name = APPLTEST
  server role = standalone server
  interfaces = lo
  bind interfaces only = yes
  smb ports = {port}
  disable netbios = yes
  private dir = {d}/private
  lock directory = {d}/lock
  state directory = {d}/state
  cache directory = {d}/cache
  pid directory = {d}/pid
  ncalrpc dir = {d}/ncalrpc
  passdb backend = tdbsam:{d}/private/passdb.tdb
  username map = {d}/users.map
  log file = {d}/smbd.log
  log level = 1
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_10
{extra}

[{share}]
  path = {d}/share
  read only = no
  valid users = nobody
  force user = root
  create mask = 0600
  directory mask = 0700

{denied}",
            d = d.display(),
            share = options.share,
            extra = options.global_extra,
        );
        let conf_path = d.join("smb.conf");
        std::fs::write(&conf_path, conf).map_err(io("smb.conf"))?;
        // The password goes through stdin, twice, as smbpasswd -s wants it.
        let mut pw = Command::new("smbpasswd")
            .arg("-c")
            .arg(&conf_path)
            .args(["-a", "-s", "nobody"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io("smbpasswd"))?;
        if let Some(mut stdin) = pw.stdin.take() {
            let line = format!("{0}\n{0}\n", options.password);
            stdin.write_all(line.as_bytes()).map_err(io("smbpasswd"))?;
        }
        let out = pw.wait_with_output().map_err(io("smbpasswd"))?;
        if !out.status.success() {
            return Err(SambaError::Passwd(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        let mut server = SambaServer {
            dir,
            child: None,
            options,
            port,
        };
        server.resume()?;
        Ok(server)
    }

    /// Starts smbd again after [`SambaServer::stop`] (same port, same share).
    pub fn resume(&mut self) -> Result<(), SambaError> {
        if self.child.is_some() {
            return Ok(());
        }
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("smbd.out"))
            .map_err(|e| SambaError::Io("smbd.out".into(), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| SambaError::Io("smbd.out".into(), e))?;
        use std::os::unix::process::CommandExt;
        // smbd signals its whole process group when it stops: give it its
        // own, or it takes the test runner (and its shell) down with it.
        let child = Command::new("smbd")
            .process_group(0)
            .args(["--foreground", "--no-process-group", "--debug-stdout", "-s"])
            .arg(d.join("smb.conf"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| SambaError::Io("starting smbd".into(), e))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
                .is_some();
            if exited || Instant::now() > deadline {
                self.stop();
                return Err(SambaError::NotListening {
                    port: self.port,
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops smbd (a server going away before or during a backup).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The folder behind the share, to check what clients wrote.
    pub fn share_dir(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    /// smbd's own log, for failure messages.
    pub fn log(&self) -> String {
        let d = self.dir.path();
        let mut s = std::fs::read_to_string(d.join("smbd.out")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(d.join("smbd.log")).unwrap_or_default());
        s
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SambaServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// smbclient against the server: the account works in the forms the
    /// appliance sends (user with a NetBIOS or a DNS domain), a wrong
    /// password and a missing share are refused, and files land in the
    /// share's folder.
    #[test]
    fn server_accepts_the_account_and_refuses_the_rest() {
        let srv = SambaServer::start(SambaOptions::default()).expect("smbd starts");
        let src = srv.config_dir().join("hello.txt");
        std::fs::write(&src, b"hello").expect("write");
        let client = |share: &str, user: &str, domain: &str, password: &str, cmd: &str| {
            Command::new("smbclient")
                .arg(format!("//127.0.0.1/{share}"))
                .args([
                    "-p",
                    &srv.port.to_string(),
                    "-U",
                    user,
                    "-W",
                    domain,
                    "-c",
                    cmd,
                ])
                .env("PASSWD", password)
                .output()
                .expect("smbclient runs")
        };
        let pw = srv.options.password.clone();
        let put = format!("put {} h.txt", src.display());
        for domain in ["TESTDOM", "CORP", "corp.example.com"] {
            let out = client("backups", "backup", domain, &pw, &put);
            assert!(out.status.success(), "{domain}: {out:?}\n{}", srv.log());
        }
        assert_eq!(
            std::fs::read(srv.share_dir().join("h.txt")).expect("landed"),
            b"hello"
        );
        let out = client("backups", "backup", "TESTDOM", "wrong", "ls");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("LOGON_FAILURE")
                || String::from_utf8_lossy(&out.stderr).contains("LOGON_FAILURE"),
            "{out:?}"
        );
        let out = client("nope", "backup", "TESTDOM", &pw, "ls");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("BAD_NETWORK_NAME"), "{text}");
        let out = client("private", "backup", "TESTDOM", &pw, "ls");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("ACCESS_DENIED"), "{text}");
    }
}
