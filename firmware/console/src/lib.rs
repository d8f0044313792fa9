//! The appliance's console: the text UI that BusyBox `login` starts as the
//! `sysconfig` account's shell on `tty1` and `ttyS0`.
//!
//! - [`App`] holds the screens and reacts to keys; it draws on any ratatui
//!   backend, so tests drive it on a `TestBackend` at 80x24.
//! - [`System`] is everything it does outside itself (configuration file,
//!   backupd's socket, commands, signals, the live network state), with
//!   [`RealSystem`] the appliance's implementation, configured by
//!   [`Settings`] (defaults, overridable through the environment).
//! - [`terminal`] runs it on a real terminal, including a serial line whose
//!   size reads 0x0.

mod app;
mod bundles;
pub mod commands;
mod dialog;
pub mod form;
pub mod format;
pub mod identity;
mod jobview;
pub mod livenet;
pub mod logtail;
mod pending;
mod picker;
mod settings;
mod system;
pub mod terminal;
mod ui;
mod views;
mod zonepick;

pub use app::{App, Note, Tone};
pub use bundles::Bundle;
pub use settings::{MailSelection, RestoreKeys, Settings};
pub use system::{FtpdReload, RealSystem, System};
