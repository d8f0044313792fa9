//! The service: listens while SSH is on, admits through the [`Gate`],
//! starts one Dropbear per connection and counts the failed logins its
//! log lines report. SIGHUP re-reads the configuration (the access
//! list, the keys, on or off); sessions already running go on (the
//! operator who saves a change over SSH sees its result). SIGTERM ends
//! the sessions and the service.

use crate::dropbear;
use crate::gate::{self, Gate};
use crate::keys;
use crate::logtail::{self, LogTail};
use anyhow::Context;
use appconfig::Config;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const DEFAULT_LISTEN: &str = "0.0.0.0:22";
/// Ended sessions are remembered this long, for log lines read late.
const REMEMBER_ENDED: Duration = Duration::from_secs(120);
const MAX_ENDED: usize = 256;

/// Where things are; every path can be moved for tests.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub config: PathBuf,
    pub state_dir: PathBuf,
    pub home: PathBuf,
    pub dropbear: PathBuf,
    pub dropbearkey: PathBuf,
    /// The system log file Dropbear's lines end up in.
    pub syslog: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 22))),
            config: PathBuf::from(appconfig::DEFAULT_PATH),
            state_dir: PathBuf::from(keys::DEFAULT_STATE_DIR),
            home: PathBuf::from(keys::DEFAULT_HOME),
            dropbear: PathBuf::from(dropbear::DEFAULT_DROPBEAR),
            dropbearkey: PathBuf::from(dropbear::DEFAULT_DROPBEARKEY),
            syslog: PathBuf::from(logtail::DEFAULT_LOG),
        }
    }
}

/// One Dropbear.
struct Session {
    pid: Pid,
    peer: IpAddr,
}

pub struct Service {
    opts: Options,
    config: Config,
    host_keys: Vec<PathBuf>,
    listener: Option<TcpListener>,
    /// A failed bind is logged once until it works again.
    bind_failed: bool,
    gate: Gate,
    sessions: Vec<Session>,
    /// Sessions that ended lately: their last log lines may come after.
    ended: VecDeque<(Session, Instant)>,
    log: LogTail,
}

impl Service {
    pub fn new(opts: Options) -> anyhow::Result<Service> {
        dropbear::check_program(&opts.dropbear).map_err(anyhow::Error::msg)?;
        let mut s = Service {
            config: Config::default(),
            host_keys: Vec::new(),
            listener: None,
            bind_failed: false,
            gate: Gate::default(),
            sessions: Vec::new(),
            ended: VecDeque::new(),
            log: LogTail::open_at_end(&opts.syslog),
            opts,
        };
        // An unreadable configuration keeps SSH off (the defaults hold no
        // console password) but the service up: SIGHUP tries again.
        let config = Config::load(&s.opts.config).unwrap_or_else(|e| {
            log::error!("{e}; SSH stays off until the configuration can be read");
            Config::default()
        });
        s.apply(config);
        Ok(s)
    }

    /// Whether port 22 is open now.
    pub fn listening(&self) -> bool {
        self.listener.is_some()
    }

    /// Takes a configuration: keys written, the port opened or closed.
    fn apply(&mut self, config: Config) {
        match keys::ensure_host_keys(&self.opts.state_dir, &self.opts.dropbearkey) {
            Ok(k) => self.host_keys = k,
            Err(e) => log::error!("host keys: {e}"),
        }
        if let Err(e) = keys::write_authorized_keys(&self.opts.home, &config.ssh.authorized_keys) {
            log::error!("authorized keys: {e}");
        }
        let runs = config.ssh.runs(&config.accounts.sysconfig);
        let why_off = if !config.ssh.enabled {
            "switched off in SSH Access"
        } else {
            "no console password yet"
        };
        self.config = config;
        if !runs {
            if self.listener.take().is_some() || !self.bind_failed {
                log::info!("SSH access is off: {why_off}");
            }
            self.bind_failed = true;
            return;
        }
        self.bind_failed = false;
        self.open();
        if self.listener.is_some() {
            log::info!(
                "SSH access on {} for {} ({} authorized keys)",
                self.opts.listen,
                if self.config.ssh.access_list.is_empty() {
                    "nobody (the SSH Access List is empty)".into()
                } else {
                    self.config.ssh.access_list.to_string()
                },
                self.config.ssh.authorized_keys.len()
            );
        }
    }

    fn open(&mut self) {
        if self.listener.is_some() || self.host_keys.is_empty() {
            return;
        }
        match TcpListener::bind(self.opts.listen).and_then(|l| {
            l.set_nonblocking(true)?;
            Ok(l)
        }) {
            Ok(l) => {
                self.listener = Some(l);
                self.bind_failed = false;
            }
            Err(e) => {
                if !self.bind_failed {
                    log::error!("cannot listen on {}: {e}", self.opts.listen);
                }
                self.bind_failed = true;
            }
        }
    }

    fn reload(&mut self) {
        match Config::load(&self.opts.config) {
            Ok(c) => self.apply(c),
            Err(e) => log::error!("configuration not reloaded, the last one stays: {e}"),
        }
    }

    /// Serves until SIGTERM.
    pub fn run(mut self) -> anyhow::Result<()> {
        let signals = svcsignals::Signals::install().context("installing signal handlers")?;
        loop {
            let listen_ready = {
                let mut fds = vec![PollFd::new(signals.wake_fd(), PollFlags::POLLIN)];
                if let Some(l) = &self.listener {
                    fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
                }
                match poll(&mut fds, PollTimeout::from(1000u16)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e).context("poll"),
                }
                let has = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
                self.listener.is_some() && fds.get(1).is_some_and(has)
            };
            signals.drain();
            if signals.stop() {
                break;
            }
            if signals.take_reload() {
                log::info!("reloading the configuration");
                self.reload();
            }
            if listen_ready {
                self.accept_all();
            }
            self.reap();
            self.read_log();
            if self.listener.is_none() && self.config.ssh.runs(&self.config.accounts.sysconfig) {
                self.open();
            }
        }
        self.stop();
        Ok(())
    }

    fn accept_all(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, addr)) => self.admit(stream, addr),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors or memory: the next poll tries again.
                    log::warn!("accept: {e}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, stream: std::net::TcpStream, addr: SocketAddr) {
        let peer = match addr.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let now = Instant::now();
        let from_peer = self.sessions.iter().filter(|s| s.peer == peer).count();
        if let Err(refusal) = self.gate.admit(
            &self.config.ssh.access_list,
            peer,
            self.sessions.len(),
            from_peer,
            now,
        ) {
            if let Some(line) = self.gate.refusal_line(peer, &refusal, now) {
                log::warn!("{line}");
            }
            // Closed before a byte is sent: off-list addresses learn nothing.
            drop(stream);
            return;
        }
        match self.spawn(stream) {
            Ok(pid) => {
                log::info!("SSH connection from {addr}: dropbear[{pid}]");
                self.sessions.push(Session { pid, peer });
            }
            Err(e) => log::error!("SSH connection from {addr}: cannot start dropbear: {e:#}"),
        }
    }

    fn spawn(&self, stream: std::net::TcpStream) -> anyhow::Result<Pid> {
        let _ = stream.set_nonblocking(false);
        let sock: OwnedFd = stream.into();
        let sock2 = sock.try_clone().context("dup")?;
        let child = Command::new(&self.opts.dropbear)
            .args(dropbear::args(&self.host_keys))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::from(sock))
            .stdout(Stdio::from(sock2))
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("running {}", self.opts.dropbear.display()))?;
        Ok(Pid::from_raw(child.id() as i32))
    }

    /// Counts the failed logins Dropbear logged since the last look.
    fn read_log(&mut self) {
        let now = Instant::now();
        while self
            .ended
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) > REMEMBER_ENDED)
        {
            self.ended.pop_front();
        }
        for line in self.log.poll() {
            let Some((pid, msg)) = logtail::dropbear_line(&line) else {
                continue;
            };
            if !gate::is_failed_login(msg) {
                continue;
            }
            let pid = Pid::from_raw(pid);
            let peer = self
                .sessions
                .iter()
                .chain(self.ended.iter().map(|(s, _)| s))
                .find(|s| s.pid == pid)
                .map(|s| s.peer);
            if let Some(peer) = peer {
                self.gate.failed(peer, now);
            }
        }
    }

    fn reap(&mut self) {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _)) => {
                    if let Some(i) = self.sessions.iter().position(|s| s.pid == pid) {
                        let s = self.sessions.remove(i);
                        log::info!("SSH session dropbear[{}] from {} ended", s.pid, s.peer);
                        if self.ended.len() >= MAX_ENDED {
                            self.ended.pop_front();
                        }
                        self.ended.push_back((s, Instant::now()));
                    }
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    fn stop(&mut self) {
        self.listener = None;
        for s in &self.sessions {
            let _ = kill(s.pid, Signal::SIGTERM);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while !self.sessions.is_empty() && Instant::now() < until {
            self.reap();
            std::thread::sleep(Duration::from_millis(50));
        }
        for s in &self.sessions {
            let _ = kill(s.pid, Signal::SIGKILL);
        }
        log::info!("stopped");
    }
}
