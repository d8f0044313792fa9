//! Work that runs on a thread while the screen stays responsive: calls to
//! backupd that may take minutes (Test Connectivity mounts a share, a
//! verification reads a whole set).

use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// The result of a call still under way.
pub struct Pending<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> Pending<T> {
    /// Runs `work` on its own thread.
    pub fn spawn(work: impl FnOnce() -> T + Send + 'static) -> Pending<T> {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            // The receiver may be gone when the operator left the screen.
            let _ = tx.send(work());
        });
        Pending { rx }
    }

    /// The result once it is there; an error if the worker died without one.
    pub fn poll(&self) -> Option<Result<T, String>> {
        match self.rx.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err("the background task stopped without an answer".into()))
            }
        }
    }
}
