//! A service's signals for its poll loop: SIGTERM and SIGINT ask it to
//! stop, SIGHUP to reload, SIGCHLD only wakes it (to reap). signal-hook's
//! handlers restart system calls, so a flag alone never wakes a blocked
//! `poll`: every signal also writes to a self-pipe the loop polls.
//! A service whose loop waits on a channel instead gets the same two
//! requests as messages ([`forward`]).

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Signals {
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
    wake: UnixStream,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
        let term = Arc::new(AtomicBool::new(false));
        let hup = Arc::new(AtomicBool::new(false));
        let (wake, wake_write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        // A full pipe must never block a handler.
        wake_write.set_nonblocking(true)?;
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register(sig, term.clone())?;
        }
        signal_hook::flag::register(SIGHUP, hup.clone())?;
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] {
            signal_hook::low_level::pipe::register(sig, wake_write.try_clone()?)?;
        }
        Ok(Signals { term, hup, wake })
    }

    /// The descriptor to poll: readable once a signal came.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empties the self-pipe (after poll said it is readable).
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// SIGTERM or SIGINT came: stop.
    pub fn stop(&self) -> bool {
        self.term.load(Ordering::SeqCst)
    }

    /// SIGHUP came since the last call: reload.
    pub fn take_reload(&self) -> bool {
        self.hup.swap(false, Ordering::SeqCst)
    }
}

/// What a signal asks of a service whose loop waits on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGTERM or SIGINT.
    Stop,
    /// SIGHUP.
    Reload,
}

/// Sends each signal's [`Request`] into `tx` from a thread of its own, until
/// the receiver is gone: for services whose main loop waits on a channel
/// (backupd, timesyncd).
pub fn forward(tx: std::sync::mpsc::Sender<Request>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let request = if sig == SIGHUP {
                    Request::Reload
                } else {
                    Request::Stop
                };
                if tx.send(request).is_err() {
                    break;
                }
            }
        })?;
    Ok(())
}
