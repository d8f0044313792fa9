//! The service: the start-up scan, then a poll loop over the uevent
//! socket, the control socket, a self-pipe for signals and one that a
//! drive check's thread writes when it ends.

use crate::drives::{Drives, Paths};
use crate::mount::{KernelMounter, Mounter, mounted_source};
use crate::netlink::{MAX_MESSAGE, Received, UeventSocket};
use crate::{server, uevent};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Everything the service needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    pub paths: Paths,
    pub socket: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            paths: Paths::default(),
            socket: PathBuf::from(control::hotplug::SOCKET),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen for kernel device events: {0}")]
    Netlink(nix::Error),
    #[error("cannot listen on {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up signal handling: {0}")]
    Signals(std::io::Error),
    #[error("cannot set up the end-of-check pipe: {0}")]
    CheckPipe(std::io::Error),
    #[error("waiting for events failed: {0}")]
    Poll(nix::Error),
    #[error("{0}")]
    Privileges(#[from] privs::PrivError),
}

/// What hotplugd keeps (docs/security.md): root's files (the block devices,
/// `/media/usb`, sysfs's `delete`), CAP_SYS_ADMIN for mount(2) and
/// umount2(2), and nothing else. Kernel uevents need no capability.
pub const PRIVILEGES: privs::Plan = privs::Plan {
    service: "hotplugd",
    user: None,
    keep: &[privs::Cap::SYS_ADMIN],
};

/// Runs hotplugd with the kernel's mount(2) until SIGTERM or SIGINT, with
/// [`PRIVILEGES`] only (given up first, for the whole process: the
/// service's own start-up, never a test's).
pub fn run(settings: Settings) -> Result<(), DaemonError> {
    privs::enter(&PRIVILEGES)?;
    run_with(settings, KernelMounter)
}

/// Runs with any [`Mounter`] (host tests use a recording one).
pub fn run_with<M: Mounter + 'static>(settings: Settings, mounter: M) -> Result<(), DaemonError> {
    // Subscribe before scanning so no device slips between the two.
    let netlink = UeventSocket::open().map_err(DaemonError::Netlink)?;
    let listener = listen(&settings.socket)?;
    let stop = SignalPipe::new(&[signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])?;
    let reload = SignalPipe::new(&[signal_hook::consts::SIGHUP])?;

    let checks = WakePipe::new().map_err(DaemonError::CheckPipe)?;
    let mut state = Drives::new(settings.paths.clone(), mounter);
    state.set_check_waker(checks.waker());
    let drives = Arc::new(Mutex::new(state));
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let existing = mounted_source(&mountinfo, &settings.paths.mount_point);
    lock(&drives).start(existing.as_deref());
    log::info!(
        "hotplugd started; USB drives are mounted at {}",
        settings.paths.mount_point.display()
    );

    let mut buf = vec![0u8; MAX_MESSAGE];
    let slots = control::Slots::new(MAX_CLIENTS);
    let result = loop {
        let mut fds = [
            PollFd::new(netlink.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.read.as_fd(), PollFlags::POLLIN),
            PollFd::new(reload.read.as_fd(), PollFlags::POLLIN),
            PollFd::new(checks.read.as_fd(), PollFlags::POLLIN),
        ];
        // While a check runs the loop also looks every second, so that a
        // lost wake-up could not leave the drive unmounted.
        let timeout = if lock(&drives).checking() {
            PollTimeout::from(1000u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => break Err(DaemonError::Poll(e)),
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        let net_ready = ready(&fds[0]);
        let sock_ready = ready(&fds[1]);
        let (stop_ready, reload_ready) = (ready(&fds[2]), ready(&fds[3]));
        let check_ready = ready(&fds[4]);
        if stop_ready && stop.drain() {
            if lock(&drives).checking() {
                // Its fsck.fat is not stopped: a repair cut short would
                // leave the drive worse; it ends within its limit.
                log::warn!("hotplugd stopping while a drive is being checked");
            } else {
                log::info!("hotplugd stopping");
            }
            break Ok(());
        }
        if check_ready {
            drain(&checks.read);
        }
        lock(&drives).finish_check();
        if reload_ready && reload.drain() {
            log::info!("rescanning block devices (SIGHUP)");
            lock(&drives).scan();
        }
        if net_ready {
            drain_uevents(&netlink, &mut buf, &drives);
        }
        if sock_ready {
            accept_clients(&listener, &drives, &slots);
        }
    };
    drop((stop, reload));
    let _ = std::fs::remove_file(&settings.socket);
    result
}

fn lock<M: Mounter>(d: &Arc<Mutex<Drives<M>>>) -> std::sync::MutexGuard<'_, Drives<M>> {
    d.lock().unwrap_or_else(|p| p.into_inner())
}

fn listen(path: &std::path::Path) -> Result<UnixListener, DaemonError> {
    let err = |source| DaemonError::Socket {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // A socket file left by a previous run would make bind fail.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    // Only root: the console (sysconfig is uid 0), usbctl, backupd.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(listener)
}

/// A self-pipe written by signal-hook when one of its signals arrives
/// (its handlers restart system calls, so only a readable fd wakes poll).
struct SignalPipe {
    read: UnixStream,
    ids: Vec<signal_hook::SigId>,
}

impl SignalPipe {
    fn new(signals: &[i32]) -> Result<SignalPipe, DaemonError> {
        let (read, write) = UnixStream::pair().map_err(DaemonError::Signals)?;
        read.set_nonblocking(true).map_err(DaemonError::Signals)?;
        let mut ids = Vec::new();
        for &sig in signals {
            let w = write.try_clone().map_err(DaemonError::Signals)?;
            ids.push(signal_hook::low_level::pipe::register(sig, w).map_err(DaemonError::Signals)?);
        }
        Ok(SignalPipe { read, ids })
    }

    /// Empties the pipe; whether a signal had come.
    fn drain(&self) -> bool {
        drain(&self.read)
    }
}

/// Empties a non-blocking self-pipe; whether anything was in it.
fn drain(mut read: &UnixStream) -> bool {
    let mut b = [0u8; 64];
    let mut any = false;
    while let Ok(n) = read.read(&mut b) {
        if n == 0 {
            break;
        }
        any = true;
    }
    any
}

/// A self-pipe a drive check's thread writes when it ends.
struct WakePipe {
    read: UnixStream,
    write: Arc<UnixStream>,
}

impl WakePipe {
    fn new() -> std::io::Result<WakePipe> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(WakePipe {
            read,
            write: Arc::new(write),
        })
    }

    fn waker(&self) -> crate::drives::CheckWaker {
        let write = Arc::clone(&self.write);
        // A full pipe already holds a wake-up: a failed write loses nothing.
        Arc::new(move || {
            let _ = (&*write).write(&[1]);
        })
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

fn drain_uevents<M: Mounter>(sock: &UeventSocket, buf: &mut [u8], drives: &Arc<Mutex<Drives<M>>>) {
    loop {
        match sock.recv(buf) {
            Ok(Received::Message(n)) => match uevent::parse(&buf[..n]) {
                Ok(Some(ev)) => {
                    log::debug!("uevent {:?} {}", ev.action, ev.devname);
                    lock(drives).handle(&ev);
                }
                Ok(None) => {}
                Err(e) => log::debug!("{e}"),
            },
            Ok(Received::NotFromKernel) => {}
            Ok(Received::Overrun) => {
                log::warn!("the kernel dropped device events; rescanning");
                lock(drives).scan();
            }
            Ok(Received::Empty) => return,
            Err(e) => {
                log::error!("reading device events failed: {}", e.desc());
                return;
            }
        }
    }
}

/// Control connections served at once (each has a thread).
const MAX_CLIENTS: usize = 8;

fn accept_clients<M: Mounter + 'static>(
    listener: &UnixListener,
    drives: &Arc<Mutex<Drives<M>>>,
    slots: &control::Slots,
) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let Some(slot) = slots.take() else {
                    log::warn!("too many control connections; one turned away");
                    continue;
                };
                let drives = Arc::clone(drives);
                // A client gets its own thread so a slow one never stalls
                // event handling; serve_connection times out idle clients.
                let spawned = std::thread::Builder::new()
                    .name("hotplugd-client".into())
                    .spawn(move || {
                        let _ = control::serve_connection(
                            stream,
                            control::DEFAULT_TIMEOUT,
                            |req| server::handle(&drives, req),
                            |message| control::hotplug::Reply::Error { message },
                        );
                        drop(slot);
                    });
                if let Err(e) = spawned {
                    log::error!("cannot start a client thread: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(e) => {
                log::error!("accepting a control connection failed: {e}");
                return;
            }
        }
    }
}
