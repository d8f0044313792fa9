//! backupd: the nightly archive service, and what backupctl shares with it.
//!
//! - [`daemon::run`]: the service loop (control socket, signals, schedule).
//! - [`service::Service`]: state and the answers to control requests.
//! - [`runner::run`]: one backup run to the configured destination.
//! - [`destination::destination_for`]: the one place destinations are chosen.
//! - [`stall`]: a backup stalled on a destination that is gone is cut off.
//! - [`schedule`]: next run in local time (zone names or POSIX TZ strings).
//! - [`cli`]: backupctl's commands and output.

pub mod alerting;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod destination;
pub mod kind;
pub mod paths;
pub mod runner;
pub mod schedule;
pub mod service;
pub mod stall;

pub use paths::Paths;
