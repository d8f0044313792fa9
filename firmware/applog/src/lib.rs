//! Logging for the appliance's services.
//!
//! Messages go through the `log` facade into glibc's `syslog(3)` (via `nix`),
//! which reconnects to `/dev/log` when syslogd restarts and is safe in a
//! static binary; the `syslog` crate is not used because it never reconnects.
//! With `echo_stderr` the same lines also go to standard error, for tools run
//! by hand and for services in the foreground.

mod throttle;

pub use throttle::{Throttle, held_back};

use log::{Level, LevelFilter, Log, Metadata, Record};
use nix::syslog::{Facility, LogFlags, Priority, Severity};
use std::ffi::CStr;
use std::io::Write;

struct SyslogLogger {
    facility: Facility,
    echo_stderr: bool,
    to_syslog: bool,
    quiet_targets: &'static [&'static str],
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Error => Severity::LOG_ERR,
        Level::Warn => Severity::LOG_WARNING,
        Level::Info => Severity::LOG_INFO,
        Level::Debug | Level::Trace => Severity::LOG_DEBUG,
    }
}

impl Log for SyslogLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        if record.level() != Level::Error
            && self
                .quiet_targets
                .iter()
                .any(|t| record.target().starts_with(t))
        {
            return;
        }
        let text = record.args().to_string();
        if self.to_syslog {
            // syslog(3) cannot carry NUL bytes; nothing else needs escaping.
            let clean = text.replace('\0', "\\0");
            let _ = nix::syslog::syslog(
                Priority::new(severity(record.level()), self.facility),
                &clean,
            );
        }
        if self.echo_stderr {
            let _ = writeln!(std::io::stderr(), "{}: {}", record.level(), text);
        }
    }

    fn flush(&self) {}
}

/// Where log lines go.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub facility: Facility,
    pub level: LevelFilter,
    pub echo_stderr: bool,
    pub to_syslog: bool,
    /// Targets (module path prefixes) whose records below `Error` are
    /// dropped: libraries that warn about every peer's quirks.
    pub quiet_targets: &'static [&'static str],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            facility: Facility::LOG_DAEMON,
            level: LevelFilter::Info,
            echo_stderr: false,
            to_syslog: true,
            quiet_targets: &[],
        }
    }
}

/// Installs the logger once per process; later calls are ignored.
/// `ident` prefixes every syslog line (the program's name).
pub fn init(ident: &'static CStr, options: Options) {
    if options.to_syslog {
        let _ = nix::syslog::openlog(Some(ident), LogFlags::LOG_PID, options.facility);
    }
    let logger = SyslogLogger {
        facility: options.facility,
        echo_stderr: options.echo_stderr,
        to_syslog: options.to_syslog,
        quiet_targets: options.quiet_targets,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(options.level);
    }
}

/// A service's logger: syslog, and stderr too when `foreground` is set.
pub fn init_service(ident: &'static CStr, foreground: bool) {
    init(
        ident,
        Options {
            echo_stderr: foreground,
            ..Options::default()
        },
    );
}
