//! The local control protocol.
//!
//! Services listen on Unix stream sockets under `/run`; a client sends one
//! JSON request per line and reads one JSON reply per line. Every call has a
//! time-out so a stuck service never hangs the console.
//!
//! - [`backupd`]: status, backup now, list and verify sets, test connectivity.
//! - [`hotplug`]: USB drive status and eject.
//!
//! Each service has a typed [`backupd::Client`] / [`hotplug::Client`]: one
//! method per request returning its answer, or a [`ClientError`] (the
//! service refused, or answered something that does not belong to the
//! request). Callers never match replies by hand.

pub mod backupd;
mod client;
pub mod hotplug;
mod wire;

pub use client::ClientError;

pub use wire::{ControlError, DEFAULT_TIMEOUT, MAX_REQUEST, Slot, Slots, call, serve_connection};
