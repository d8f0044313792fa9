//! Everything the console does to the outside world, behind one trait so the
//! screens can be driven in tests against temporary folders, scripts and a
//! fake backupd.

use crate::bundles::{self, Bundle};
use crate::commands::{self, Job, Outcome};
use crate::identity::{self, IdentityFile};
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
    /// Names of the key files (`*.txt`, `*.key`) directly on the USB drive,
    /// sorted; none without a drive.
    fn key_files(&self) -> Vec<String>;
    /// The text of one of [`System::key_files`].
    fn read_key_file(&self, name: &str) -> Result<String, String>;
    /// Puts identities into a private file for `recover` (under `/run`,
    /// mode 0600); the file goes when the returned guard is dropped.
    fn write_identity(&self, keys: &[String]) -> Result<IdentityFile, String>;
    /// A request to hotplugd (the USB drive: its state, Eject).
    fn hotplugd(
        &self,
        request: &control::hotplug::Request,
        timeout: Duration,
    ) -> Result<control::hotplug::Reply, ControlError> {
        control::call(&self.settings().hotplugd_socket, request, timeout)
    }
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

    fn key_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.settings.usb_dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| {
                let lower = n.to_ascii_lowercase();
                !n.starts_with('.') && (lower.ends_with(".txt") || lower.ends_with(".key"))
            })
            .collect();
        names.sort();
        names
    }

    fn read_key_file(&self, name: &str) -> Result<String, String> {
        use std::io::Read;
        // Only a name the drive listed: never a path built from typing.
        let names = self.key_files();
        let Some(name) = names.iter().find(|n| n.as_str() == name) else {
            return Err(if names.is_empty() {
                format!("no key file {name:?}: no USB drive with *.txt or *.key files")
            } else {
                format!(
                    "no key file {name:?} on the USB drive (there: {})",
                    names.join(", ")
                )
            });
        };
        let path = self.settings.usb_dir.join(name);
        let file = std::fs::File::open(&path).map_err(|e| format!("{name}: {e}"))?;
        let mut bytes = Vec::new();
        file.take(identity::MAX_KEY_FILE)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        String::from_utf8(bytes).map_err(|_| format!("{name} is not a text file"))
    }

    fn write_identity(&self, keys: &[String]) -> Result<IdentityFile, String> {
        IdentityFile::write(&self.settings.run_dir, keys)
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
