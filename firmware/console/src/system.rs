//! Everything the console does to the outside world, behind one trait so the
//! screens can be driven in tests against temporary folders, scripts and a
//! fake backupd.

use crate::bundles::{self, Bundle};
use crate::commands::{self, Job, Outcome};
use crate::livenet::{self, LiveNetwork};
use crate::settings::Settings;
use appconfig::{Config, ConfigError, Revision};
use control::ControlError;
use control::backupd::{Reply, Request};
use std::time::Duration;

/// What happened when ftpd was told to re-read the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpdReload {
    /// SIGHUP sent to this pid.
    Signalled(i32),
    /// No pid file: ftpd is not running and reads the file when it starts.
    NotRunning,
    /// The pid file is unreadable or names no live process.
    Failed(String),
}

/// The console's effects on the system.
pub trait System: Send + Sync {
    fn settings(&self) -> &Settings;
    /// The configuration and what the file held, for the save.
    fn load_config(&self) -> Result<(Config, Revision), ConfigError>;
    /// Checks and writes the whole configuration atomically, only if the
    /// file still holds `base` (the other console may have saved since).
    fn save_config(&self, config: &Config, base: &Revision) -> Result<Revision, ConfigError>;
    fn backupd(&self, request: &Request, timeout: Duration) -> Result<Reply, ControlError>;
    /// Runs a short command to its end (bounded by the settings' time-out).
    fn run(&self, argv: &[String]) -> Outcome;
    /// Starts a long command whose output is shown live.
    fn start(&self, argv: &[String]) -> Result<Job, Outcome>;
    /// Whether a program is installed.
    fn available(&self, program: &str) -> bool;
    fn reload_ftpd(&self) -> FtpdReload;
    fn live_network(&self, interface: &str) -> LiveNetwork;
    fn bundles(&self) -> Vec<Bundle>;
    /// A wrong password was typed: log it and make the next try wait.
    fn failed_password(&self, account: &str);
}

/// The appliance itself.
pub struct RealSystem {
    settings: Settings,
}

impl RealSystem {
    pub fn new(settings: Settings) -> RealSystem {
        RealSystem { settings }
    }
}

impl System for RealSystem {
    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn load_config(&self) -> Result<(Config, Revision), ConfigError> {
        Config::load_with_revision(&self.settings.config_path)
    }

    fn save_config(&self, config: &Config, base: &Revision) -> Result<Revision, ConfigError> {
        config.save_if_unchanged(&self.settings.config_path, base)
    }

    fn backupd(&self, request: &Request, timeout: Duration) -> Result<Reply, ControlError> {
        control::call(&self.settings.backupd_socket, request, timeout)
    }

    fn run(&self, argv: &[String]) -> Outcome {
        let outcome = commands::run(argv, self.settings.command_timeout);
        log::info!("ran {}: {}", argv.join(" "), outcome.summary());
        outcome
    }

    fn start(&self, argv: &[String]) -> Result<Job, Outcome> {
        log::info!("started {}", argv.join(" "));
        Job::start(argv)
    }

    fn available(&self, program: &str) -> bool {
        commands::available(program)
    }

    fn reload_ftpd(&self) -> FtpdReload {
        let path = &self.settings.ftpd_pid;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FtpdReload::NotRunning,
            Err(e) => return FtpdReload::Failed(format!("cannot read {}: {e}", path.display())),
        };
        let Ok(pid) = text.trim().parse::<i32>() else {
            return FtpdReload::Failed(format!("{} holds no process id", path.display()));
        };
        if pid <= 1 {
            return FtpdReload::Failed(format!("{} holds no process id", path.display()));
        }
        match nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGHUP,
        ) {
            Ok(()) => FtpdReload::Signalled(pid),
            Err(nix::errno::Errno::ESRCH) => {
                FtpdReload::Failed(format!("no process {pid} (stale {})", path.display()))
            }
            Err(e) => FtpdReload::Failed(format!("cannot signal process {pid}: {e}")),
        }
    }

    fn live_network(&self, interface: &str) -> LiveNetwork {
        livenet::read(interface, &self.settings.resolv_conf)
    }

    fn bundles(&self) -> Vec<Bundle> {
        bundles::find(&self.settings.bundle_dirs)
    }

    fn failed_password(&self, account: &str) {
        log::warn!("console: wrong password for {account}");
        std::thread::sleep(self.settings.wrong_password_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(dir: &std::path::Path) -> RealSystem {
        RealSystem::new(Settings {
            ftpd_pid: dir.join("ftpd.pid"),
            ..Settings::default()
        })
    }

    #[test]
    fn ftpd_reload_reports_each_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sys = system(dir.path());
        assert_eq!(sys.reload_ftpd(), FtpdReload::NotRunning);
        std::fs::write(dir.path().join("ftpd.pid"), "junk\n").expect("write");
        assert!(matches!(sys.reload_ftpd(), FtpdReload::Failed(m) if m.contains("no process id")));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        std::fs::write(dir.path().join("ftpd.pid"), format!("{pid}\n")).expect("write");
        assert_eq!(sys.reload_ftpd(), FtpdReload::Signalled(pid));
        let _ = child.kill();
        let _ = child.wait();
        assert!(matches!(sys.reload_ftpd(), FtpdReload::Failed(m) if m.contains("stale")));
    }
}
