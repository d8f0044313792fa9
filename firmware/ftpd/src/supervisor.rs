//! The service, as root: binds the FTP port, admits connections through
//! the [`Gate`], runs each session in a process of its own
//! ([`crate::session`], which drops to the user `ftp`), checks their
//! logins ([`crate::logins`] paces guessers per address), reaps them, and
//! keeps the configuration, the certificate and the restore folder's
//! checks current. SIGHUP re-reads the configuration (keeping the last
//! good one) and ends sessions of addresses no longer on the list; SIGTERM
//! ends every session and stops.

use crate::cert::{self, TlsFiles};
use crate::channel::{self, Request, Verdict};
use crate::gate::{Gate, Load};
use crate::logins::{self, Logins, Waiting};
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
    /// The supervisor's end of the session's link.
    link: UnixStream,
    link_open: bool,
    /// An unfinished line read from the link.
    pending: Vec<u8>,
}

/// The running service.
pub struct Supervisor {
    opts: Options,
    listener: TcpListener,
    config: Config,
    tls: Option<TlsFiles>,
    gate: Gate,
    logins: Logins<u32>,
    checker: Checker,
    sessions: Vec<Session>,
    verifier: Verifier,
}

/// Why a login was refused.
enum Refused {
    UnknownUser,
    NoPassword,
    WrongPassword,
}

fn check_password(user: &str, password: &str, hash: &str) -> Option<Refused> {
    if user != appconfig::FTP_USER {
        Some(Refused::UnknownUser)
    } else if hash.is_empty() {
        Some(Refused::NoPassword)
    } else if appconfig::verify_password(password, hash) {
        None
    } else {
        Some(Refused::WrongPassword)
    }
}

/// A login to check.
struct Check {
    ip: IpAddr,
    who: u32,
    user: String,
    password: String,
    hash: String,
}

/// A login checked.
struct Checked {
    ip: IpAddr,
    who: u32,
    user: String,
    refused: Option<Refused>,
}

/// Checks passwords on a thread of their own: SHA-512-crypt with
/// appconfig's 200,000 rounds takes a tenth of a second, which the
/// service loop must not stand still for.
struct Checker {
    requests: std::sync::mpsc::Sender<Check>,
    results: std::sync::mpsc::Receiver<Checked>,
    /// Readable when a result waits.
    wake: UnixStream,
}

impl Checker {
    fn start() -> std::io::Result<Checker> {
        let (requests, to_check) = std::sync::mpsc::channel::<Check>();
        let (done, results) = std::sync::mpsc::channel();
        let (wake, waker) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        std::thread::Builder::new()
            .name("logins".into())
            .spawn(move || {
                for c in to_check {
                    let refused = check_password(&c.user, &c.password, &c.hash);
                    let checked = Checked {
                        ip: c.ip,
                        who: c.who,
                        user: c.user,
                        refused,
                    };
                    if done.send(checked).is_err() {
                        return;
                    }
                    let _ = (&waker).write_all(b"!");
                }
            })?;
        Ok(Checker {
            requests,
            results,
            wake,
        })
    }
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

/// What the supervisor keeps (docs/security.md). It stays root, the owner
/// of its folders, with:
/// - CAP_NET_BIND_SERVICE: the FTP port (21);
/// - CAP_CHOWN, CAP_FOWNER: the `backup` and `restore` folders get the
///   `ftp` group and their modes at every start;
/// - CAP_DAC_READ_SEARCH: read the sets the `ftp` user uploads, to check
///   them against their `.md5`;
/// - CAP_KILL: end sessions, which run as `ftp`;
/// - CAP_SETUID, CAP_SETGID, CAP_SETPCAP: what a session it starts needs
///   to become `ftp` with an empty bounding set (`no_new_privs` keeps a
///   session from ever getting more than this).
pub const PRIVILEGES: privs::Plan = privs::Plan {
    service: "ftpd",
    user: None,
    keep: &[
        privs::Cap::NET_BIND_SERVICE,
        privs::Cap::CHOWN,
        privs::Cap::FOWNER,
        privs::Cap::DAC_READ_SEARCH,
        privs::Cap::KILL,
        privs::Cap::SETUID,
        privs::Cap::SETGID,
        privs::Cap::SETPCAP,
    ],
};

impl Supervisor {
    /// Gives up all but [`PRIVILEGES`] (before any thread starts), binds
    /// the port and starts the checkers.
    pub fn new(opts: Options) -> anyhow::Result<Supervisor> {
        privs::enter(&PRIVILEGES)?;
        // The port first, while root; sessions never bind it.
        let listener = TcpListener::bind(opts.listen)
            .with_context(|| format!("cannot listen on {}", opts.listen))?;
        listener.set_nonblocking(true).context("listener")?;
        let config = load_config(&opts);
        for change in crate::privs::share_folders(&opts.paths.backup_dir, &opts.paths.restore_dir) {
            log::info!(
                "{change} (FTP sessions run as the user {})",
                crate::privs::FTP_ACCOUNT
            );
        }
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
        let verifier =
            Verifier::start(opts.paths.restore_dir.clone()).context("starting the set checker")?;
        Ok(Supervisor {
            opts,
            listener,
            config,
            tls,
            gate: crate::gate::gate(),
            logins: Logins::default(),
            checker: Checker::start().context("starting the login checker")?,
            sessions: Vec::new(),
            verifier,
        })
    }

    /// Serves until SIGTERM or SIGINT.
    pub fn run(mut self) -> anyhow::Result<()> {
        let signals = svcsignals::Signals::install().context("installing signal handlers")?;
        let local = self.listener.local_addr().context("listener address")?;
        log::info!(
            "listening on {local}; {}",
            describe(&self.config, &self.tls)
        );
        loop {
            let wait = self
                .logins
                .next_due()
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            let ready: Vec<usize>;
            let accept;
            {
                let mut fds = vec![
                    PollFd::new(self.listener.as_fd(), PollFlags::POLLIN),
                    PollFd::new(signals.wake_fd(), PollFlags::POLLIN),
                    PollFd::new(self.checker.wake.as_fd(), PollFlags::POLLIN),
                ];
                let mut index = Vec::new();
                for (i, s) in self.sessions.iter().enumerate() {
                    if s.link_open {
                        fds.push(PollFd::new(s.link.as_fd(), PollFlags::POLLIN));
                        index.push(i);
                    }
                }
                // Rounded up: a wake-up just before a login is due is wasted.
                let ms = u16::try_from(wait.as_millis() + 1).unwrap_or(1000);
                match poll(&mut fds, PollTimeout::from(ms)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e).context("waiting for connections"),
                }
                let has = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
                accept = has(&fds[0]);
                ready = fds[3..]
                    .iter()
                    .zip(index)
                    .filter(|(fd, _)| has(fd))
                    .map(|(_, i)| i)
                    .collect();
            }
            signals.drain();
            if signals.stop() {
                break;
            }
            if signals.take_reload() {
                self.reload();
            }
            // Before accepting: a guesser's block is known before it reconnects.
            for i in ready {
                self.read_link(i);
            }
            self.finish_checks();
            self.dispatch_checks();
            self.reap();
            self.logins.expire(Instant::now());
            if accept {
                self.accept_all();
            }
        }
        self.stop();
        Ok(())
    }

    fn read_link(&mut self, i: usize) {
        let mut buf = [0u8; 4096];
        let mut rescan = false;
        loop {
            let s = &mut self.sessions[i];
            let n = match (&s.link).read(&mut buf) {
                Ok(0) => {
                    s.link_open = false;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    s.link_open = false;
                    break;
                }
            };
            let requests = match channel::take_lines::<Request>(&mut s.pending, &buf[..n]) {
                Ok(r) => r,
                Err(e) => {
                    log::error!("session {} of {} sent {e}; ending it", s.child.id(), s.peer);
                    s.link_open = false;
                    let _ = kill(Pid::from_raw(s.child.id() as i32), Signal::SIGKILL);
                    break;
                }
            };
            let (pid, peer) = (s.child.id(), s.peer);
            for request in requests {
                match request {
                    Request::Uploaded => rescan = true,
                    Request::Login { user, password } => {
                        let waiting = Waiting {
                            who: pid,
                            user,
                            password,
                        };
                        if let Some(v) = self.logins.ask(peer, waiting, Instant::now()) {
                            self.answer(pid, v);
                        }
                    }
                }
            }
        }
        if rescan {
            self.verifier.rescan();
        }
    }

    /// Sends the logins whose turn has come to the checker.
    fn dispatch_checks(&mut self) {
        while let Some((ip, w)) = self.logins.take_due(Instant::now()) {
            let check = Check {
                ip,
                who: w.who,
                user: w.user,
                password: w.password,
                hash: self.config.accounts.sysarchive.clone(),
            };
            if self.checker.requests.send(check).is_err() {
                log::error!("the login checker has stopped; refusing logins");
                self.answer(w.who, Verdict::Refused);
            }
        }
    }

    /// Records the checks done, and tells the sessions.
    fn finish_checks(&mut self) {
        let mut buf = [0u8; 64];
        while matches!((&self.checker.wake).read(&mut buf), Ok(n) if n > 0) {}
        while let Ok(done) = self.checker.results.try_recv() {
            let (ip, now) = (done.ip, Instant::now());
            let rec = self.logins.record(ip, done.refused.is_none(), now);
            if let Some(why) = done.refused {
                let why = match why {
                    Refused::UnknownUser => format!(
                        "unknown user {} (the FTP account is {})",
                        shown(&done.user),
                        appconfig::FTP_USER
                    ),
                    Refused::NoPassword => format!(
                        "no FTP password is set; set the {} password in the console first",
                        appconfig::FTP_USER
                    ),
                    Refused::WrongPassword => {
                        format!("wrong password for {}", appconfig::FTP_USER)
                    }
                };
                let pace = if rec.blocked {
                    String::new()
                } else {
                    format!(
                        " ({} failed from this address; the next login is checked in {})",
                        rec.failures,
                        humanfmt::minutes(rec.next_in.as_secs())
                    )
                };
                log::warn!("{ip}: login refused: {why}{pace}");
                if rec.blocked {
                    log::warn!(
                        "{ip}: refused for {} after {} failed logins",
                        humanfmt::minutes(logins::BLOCK_FOR.as_secs()),
                        rec.failures
                    );
                }
            }
            self.answer(done.who, rec.verdict);
            let secs = logins::BLOCK_FOR.as_secs();
            for who in rec.also_blocked {
                self.answer(who, Verdict::Blocked { secs });
            }
        }
    }

    /// Tells a session its verdict.
    fn answer(&mut self, pid: u32, verdict: Verdict) {
        if let Some(s) = self.sessions.iter_mut().find(|s| s.child.id() == pid) {
            // A short line into an empty socket; a session that does not
            // read its answers gets none.
            if (&s.link).write_all(&channel::line(&verdict)).is_err() {
                s.link_open = false;
            }
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
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
        let load = Load {
            sessions: self.sessions.len(),
            from_peer: self.sessions.iter().filter(|s| s.peer == peer).count(),
            blocked: self.logins.blocked(peer, now),
        };
        if let Err(refusal) = self.gate.admit(&self.config.ftp.access_list, peer, load) {
            if let Some(line) = self.gate.refusal_line(peer, &refusal, now) {
                log::warn!("{line}");
            }
            // Best effort: a client that does not read just gets the close.
            let _ = stream.set_nonblocking(true);
            let _ = stream.write(crate::gate::reply(&refusal));
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
        let spawned = UnixStream::pair().and_then(|(ours, theirs)| {
            ours.set_nonblocking(true)?;
            let child = Command::new(&self.opts.program)
                .arg("--session")
                .env(SESSION_ENV, settings.to_env())
                .stdin(Stdio::from(OwnedFd::from(stream)))
                .stdout(Stdio::from(OwnedFd::from(theirs)))
                .spawn()?;
            Ok((child, ours))
        });
        match spawned {
            Ok((child, link)) => {
                log::info!("connection from {peer} (session {})", child.id());
                self.sessions.push(Session {
                    child,
                    peer,
                    link,
                    link_open: true,
                    pending: Vec::new(),
                });
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
            self.logins.forget_session(pid);
            match status.code() {
                Some(0) => {}
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

/// A user name as it may appear in a log line: printable and short.
fn shown(name: &str) -> String {
    let s: String = name.chars().take(64).collect();
    format!("{s:?}")
}

fn choose_cert(paths: &Paths, config: &Config) -> Option<TlsFiles> {
    cert::choose(
        &TlsFiles::in_dir(&paths.sslcert_dir),
        &TlsFiles::in_dir(&paths.state_dir),
        config.system.hostname.as_str(),
    )
}
