//! Answers control requests (status, eject) on hotplugd's socket.

use crate::drives::Drives;
use crate::mount::Mounter;
use control::hotplug::{Reply, Request};
use std::sync::{Arc, Mutex};

/// Carries out one request.
pub fn handle<M: Mounter>(drives: &Arc<Mutex<Drives<M>>>, req: Request) -> Reply {
    // A panic elsewhere poisons the lock; the state itself is still whole.
    let mut d = drives.lock().unwrap_or_else(|p| p.into_inner());
    match req {
        Request::Status => Reply::Status(d.status()),
        Request::Eject => match d.eject() {
            Ok(message) => Reply::Ejected { message },
            Err(message) => Reply::Error { message },
        },
    }
}
