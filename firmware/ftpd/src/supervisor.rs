//! The service: listens on the FTP port, admits connections through the
//! [`Gate`], runs each session in a process of its own ([`crate::session`]),
//! reaps them, and keeps the configuration, the certificate and the
//! restore folder's checks current. SIGHUP re-reads the configuration
//! (keeping the last good one) and ends sessions of addresses no longer on
//! the list; SIGTERM ends every session and stops.

use crate::cert::{self, TlsFiles};
use crate::gate::Gate;
use crate::notice::{self, Notice};
use crate::settings::{Paths, SESSION_ENV, SessionSettings};
use crate::upload;
use crate::verify::Verifier;
use anyhow::Context;
use appconfig::Config;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long sessions get to end after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub paths: Paths,
    /// Log to standard error too.
    pub foreground: bool,
    /// The program started for each session (this one).
    pub program: PathBuf,
    /// Seconds a transfer may go without moving data.
    pub stall_secs: u64,
}

struct Session {
    child: Child,
    peer: IpAddr,
}

/// Signals, as flags, plus a pipe that wakes the poll loop.
struct Signals {
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
    wake: UnixStream,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
        let term = Arc::new(AtomicBool::new(false));
        let hup = Arc::new(AtomicBool::new(false));
        let (wake, wake_write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register(sig, term.clone())?;
        }
        signal_hook::flag::register(SIGHUP, hup.clone())?;
        // SIGCHLD only wakes the loop, which then reaps.
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] {
            signal_hook::low_level::pipe::register(sig, wake_write.try_clone()?)?;
        }
        Ok(Signals { term, hup, wake })
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// The running service.
pub struct Supervisor {
    opts: Options,
    config: Config,
    tls: Option<TlsFiles>,
    gate: Gate,
    sessions: Vec<Session>,
    verifier: Verifier,
    /// Sessions' notices ([`Notice`]), and the end they write to.
    notices_read: std::fs::File,
    notices_write: OwnedFd,
    /// An unfinished line read from the notice pipe.
    notices_pending: Vec<u8>,
}

fn load_config(opts: &Options) -> Config {
    match Config::load(&opts.paths.config) {
        Ok(c) => c,
        Err(e) => {
            log::error!(
                "{e}; FTP access is off until the configuration is fixed and ftpd reloaded"
            );
            Config::default()
        }
    }
}

fn describe(config: &Config, tls: &Option<TlsFiles>) -> String {
    let ftp = &config.ftp;
    let list = if ftp.access_list.is_empty() {
        "empty (FTP access is off)".to_string()
    } else {
        ftp.access_list.to_string()
    };
    let password = if config.accounts.sysarchive.is_empty() {
        "not set (every login is refused)"
    } else {
        "set"
    };
    let security = match (tls.is_some(), ftp.allow_plain) {
        (true, false) => "FTPS required",
        (true, true) => "FTPS offered, plain FTP allowed",
        (false, true) => "plain FTP only (no usable certificate)",
        (false, false) => "no usable certificate and plain FTP not allowed: nobody can log in",
    };
    let passive = match ftp.passive_address {
        Some(a) => format!("passive ports {} announced as {a}", ftp.passive_ports),
        None => format!("passive ports {}", ftp.passive_ports),
    };
    format!(
        "access list {list}; {appconfig_user} password {password}; {security}; {passive}",
        appconfig_user = appconfig::FTP_USER
    )
}

fn exit_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(crate::session::EXIT_PANIC), _) => "internal error".into(),
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => Signal::try_from(s)
            .map(|s| format!("signal {s}"))
            .unwrap_or_else(|_| format!("signal {s}")),
        _ => status.to_string(),
    }
}

impl Supervisor {
    pub fn new(opts: Options) -> anyhow::Result<Supervisor> {
        let config = load_config(&opts);
        let tls = choose_cert(&opts.paths, &config);
        match upload::clean_leftovers(&opts.paths.restore_dir, None) {
            Ok(removed) if !removed.is_empty() => log::warn!(
                "removed {} unfinished upload(s) left in {}",
                removed.len(),
                opts.paths.restore_dir.display()
            ),
            Ok(_) => {}
            Err(e) => log::error!("cannot clean {}: {e}", opts.paths.restore_dir.display()),
        }
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .context("creating the notice pipe")?;
        let verifier =
            Verifier::start(opts.paths.restore_dir.clone()).context("starting the set checker")?;
        Ok(Supervisor {
            opts,
            config,
            tls,
            gate: Gate::default(),
            sessions: Vec::new(),
            verifier,
            notices_read: std::fs::File::from(read),
            notices_write: write,
            notices_pending: Vec::new(),
        })
    }

    /// Serves until SIGTERM or SIGINT.
    pub fn run(mut self) -> anyhow::Result<()> {
        let signals = Signals::install().context("installing signal handlers")?;
        let listener = TcpListener::bind(self.opts.listen)
            .with_context(|| format!("cannot listen on {}", self.opts.listen))?;
        listener.set_nonblocking(true).context("listener")?;
        let local = listener.local_addr().context("listener address")?;
        log::info!(
            "listening on {local}; {}",
            describe(&self.config, &self.tls)
        );
        loop {
            let mut fds = [
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
                PollFd::new(signals.wake.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.notices_read.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::from(1000u16)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e).context("waiting for connections"),
            }
            let notices = fds[2].revents().is_some_and(|r| !r.is_empty());
            signals.drain();
            if signals.term.load(Ordering::Relaxed) {
                break;
            }
            if signals.hup.swap(false, Ordering::Relaxed) {
                self.reload();
            }
            // Before accepting: a guesser's block is known before it reconnects.
            if notices {
                self.read_notices();
            }
            self.reap();
            self.gate.expire(Instant::now());
            self.accept_all(&listener);
        }
        drop(listener);
        self.stop();
        Ok(())
    }

    fn read_notices(&mut self) {
        let mut buf = [0u8; 4096];
        let mut rescan = false;
        while let Ok(n) = self.notices_read.read(&mut buf) {
            if n == 0 {
                break;
            }
            for notice in notice::take_lines(&mut self.notices_pending, &buf[..n]) {
                match notice {
                    Notice::Uploaded => rescan = true,
                    Notice::Guessing(ip) => self.block(ip),
                }
            }
        }
        if rescan {
            self.verifier.rescan();
        }
    }

    fn block(&mut self, peer: IpAddr) {
        if !self.gate.is_blocked(peer, Instant::now()) {
            log::warn!(
                "{peer}: refused for {} s after too many failed logins",
                crate::gate::BLOCK_FOR.as_secs()
            );
        }
        self.gate.block(peer, Instant::now());
    }

    fn accept_all(&mut self, listener: &TcpListener) {
        loop {
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer.ip()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors or memory: the next round tries again.
                    log::error!("cannot accept a connection: {e}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: TcpStream, peer: IpAddr) {
        let now = Instant::now();
        let from_peer = self.sessions.iter().filter(|s| s.peer == peer).count();
        if let Err(refusal) = self.gate.admit(
            &self.config.ftp.access_list,
            peer,
            self.sessions.len(),
            from_peer,
            now,
        ) {
            if let Some(line) = self.gate.refusal_line(peer, &refusal, now) {
                log::warn!("{line}");
            }
            // Best effort: a client that does not read just gets the close.
            let _ = stream.set_nonblocking(true);
            let _ = stream.write(refusal.reply());
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        let mut settings = SessionSettings::new(
            &self.config,
            &self.opts.paths,
            self.tls.clone(),
            self.opts.foreground,
        );
        settings.stall_secs = self.opts.stall_secs;
        let spawned = self.notices_write.try_clone().and_then(|notices| {
            Command::new(&self.opts.program)
                .arg("--session")
                .env(SESSION_ENV, settings.to_env())
                .stdin(Stdio::from(OwnedFd::from(stream)))
                .stdout(Stdio::from(notices))
                .spawn()
        });
        match spawned {
            Ok(child) => {
                log::info!("connection from {peer} (session {})", child.id());
                self.sessions.push(Session { child, peer });
            }
            Err(e) => log::error!("cannot start a session for {peer}: {e}"),
        }
    }

    /// Collects ended sessions and cleans up after those that did not end well.
    fn reap(&mut self) {
        let mut ended = false;
        let mut i = 0;
        while i < self.sessions.len() {
            let status = match self.sessions[i].child.try_wait() {
                Ok(Some(status)) => status,
                Ok(None) => {
                    i += 1;
                    continue;
                }
                Err(e) => {
                    log::error!("cannot check session {}: {e}", self.sessions[i].child.id());
                    i += 1;
                    continue;
                }
            };
            let s = self.sessions.swap_remove(i);
            ended = true;
            let pid = s.child.id();
            match status.code() {
                Some(0) => {}
                Some(crate::session::EXIT_GUESSING) => self.block(s.peer),
                _ => log::error!(
                    "session {pid} of {} ended abnormally ({})",
                    s.peer,
                    exit_text(status)
                ),
            }
            if status.code() != Some(0) {
                match upload::clean_leftovers(&self.opts.paths.restore_dir, Some(pid)) {
                    Ok(removed) => {
                        for name in removed {
                            log::warn!("removed the unfinished upload {name} of session {pid}");
                        }
                    }
                    Err(e) => log::error!("cannot clean up after session {pid}: {e}"),
                }
            }
        }
        if ended {
            self.verifier.rescan();
        }
    }

    fn reload(&mut self) {
        match Config::load(&self.opts.paths.config) {
            Ok(c) => self.config = c,
            Err(e) => {
                log::error!("keeping the last good configuration: {e}");
                return;
            }
        }
        self.tls = choose_cert(&self.opts.paths, &self.config);
        log::info!(
            "configuration reloaded: {}",
            describe(&self.config, &self.tls)
        );
        for s in &self.sessions {
            if !self.config.ftp.access_list.allows(s.peer) {
                log::warn!(
                    "{}: closing its session: no longer on the FTP Access List",
                    s.peer
                );
                let _ = kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM);
            }
        }
        self.verifier.rescan();
    }

    fn stop(&mut self) {
        if !self.sessions.is_empty() {
            log::info!("stopping: closing {} session(s)", self.sessions.len());
        }
        for s in &self.sessions {
            let _ = kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while !self.sessions.is_empty() && Instant::now() < deadline {
            self.reap();
            std::thread::sleep(Duration::from_millis(50));
        }
        for s in &mut self.sessions {
            log::warn!(
                "session {} of {} did not stop; killing it",
                s.child.id(),
                s.peer
            );
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
        self.sessions.clear();
        self.verifier.stop();
        let _ = upload::clean_leftovers(&self.opts.paths.restore_dir, None);
        log::info!("stopped");
    }
}

fn choose_cert(paths: &Paths, config: &Config) -> Option<TlsFiles> {
    cert::choose(
        &TlsFiles::in_dir(&paths.sslcert_dir),
        &TlsFiles::in_dir(&paths.state_dir),
        config.system.hostname.as_str(),
    )
}
