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
pub use system::{RealSystem, System};

/// Why the console will not run as it was started, or `None`: it takes no
/// argument (`console -c <command>` is how `ssh host command`, scp and
/// sftp would run a program) and needs a terminal (`ssh -T` has none).
pub fn refuse_invocation(
    mut args: impl Iterator<Item = std::ffi::OsString>,
    is_terminal: impl FnOnce() -> bool,
) -> Option<String> {
    const ONLY: &str = "this account runs the appliance console only";
    match args.next() {
        Some(a) if a == "-c" => {
            return Some(format!(
                "{ONLY}: commands, scp and sftp are not available; log in with a terminal (ssh -t) for the menu"
            ));
        }
        Some(a) => {
            return Some(format!(
                "{ONLY}: it takes no argument ({})",
                a.to_string_lossy()
            ));
        }
        None => {}
    }
    if !is_terminal() {
        return Some(format!("{ONLY} and needs a terminal (ssh -t)"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::refuse_invocation;
    use std::ffi::OsString;

    fn args(a: &[&str]) -> impl Iterator<Item = OsString> {
        a.iter().map(OsString::from).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn only_the_menu_runs() {
        assert_eq!(refuse_invocation(args(&[]), || true), None);
        for cmd in [
            &["-c", "id"][..],
            &["-c", "scp -t ."],
            &["-c", "/usr/lib/sftp-server"],
        ] {
            let why = refuse_invocation(args(cmd), || true).expect("refused");
            assert!(
                why.contains("commands, scp and sftp are not available"),
                "{why}"
            );
        }
        assert!(refuse_invocation(args(&["-l"]), || true).is_some());
        let why = refuse_invocation(args(&[]), || false).expect("no terminal");
        assert!(why.contains("needs a terminal"), "{why}");
    }
}
