//! Everything the console does to the outside world, behind one trait so the
//! screens can be driven in tests against temporary folders, scripts and a
//! fake backupd. The services are reached only through their typed
//! `control` clients.

use crate::bundles::{self, Bundle};
use crate::commands::{self, Job, Outcome};
use crate::identity::{self, IdentityFile};
use crate::livenet::{self, LiveNetwork};
use crate::settings::Settings;
use appconfig::{Config, ConfigError, Revision};
use std::path::PathBuf;
use std::time::Duration;

/// How long the USB drive's state may take: asked while a screen opens.
const USB_STATE_TIMEOUT: Duration = Duration::from_secs(3);

/// The console's effects on the system.
pub trait System: Send + Sync {
    fn settings(&self) -> &Settings;
    /// The configuration and what the file held, for the save.
    fn load_config(&self) -> Result<(Config, Revision), ConfigError>;
    /// Checks and writes the whole configuration atomically, only if the
    /// file still holds `base` (the other console may have saved since).
    fn save_config(&self, config: &Config, base: &Revision) -> Result<Revision, ConfigError>;
    /// backupd's client.
    fn backupd(&self) -> control::backupd::Client {
        control::backupd::Client::new(&self.settings().backupd_socket)
    }
    /// hotplugd's client (the USB drive: its state, Eject).
    fn hotplugd(&self) -> control::hotplug::Client {
        control::hotplug::Client::new(&self.settings().hotplugd_socket)
    }
    /// Where the USB drive is mounted now, as hotplugd says; none without
    /// a usable drive (or without hotplugd).
    fn usb_dir(&self) -> Option<PathBuf> {
        self.hotplugd()
            .with_timeout(USB_STATE_TIMEOUT)
            .mounted_dir()
            .ok()
            .flatten()
    }
    /// Runs a short command to its end (bounded by the settings' time-out).
    fn run(&self, argv: &[String]) -> Outcome;
    /// Starts a long command whose output is shown live.
    fn start(&self, argv: &[String]) -> Result<Job, Outcome>;
    /// Whether a program is installed.
    fn available(&self, program: &str) -> bool;
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

    fn live_network(&self, interface: &str) -> LiveNetwork {
        livenet::read(interface, &self.settings.resolv_conf)
    }

    fn bundles(&self) -> Vec<Bundle> {
        let folders: Vec<PathBuf> = self
            .usb_dir()
            .into_iter()
            .chain([self.settings.restore_dir.clone()])
            .collect();
        bundles::find(&folders)
    }

    fn failed_password(&self, account: &str) {
        log::warn!("console: wrong password for {account}");
        std::thread::sleep(self.settings.wrong_password_delay);
    }

    fn key_files(&self) -> Vec<String> {
        self.usb_dir().map(|d| key_files_in(&d)).unwrap_or_default()
    }

    fn read_key_file(&self, name: &str) -> Result<String, String> {
        use std::io::Read;
        let dir = self.usb_dir();
        // Only a name the drive listed: never a path built from typing.
        let names = dir.as_deref().map(key_files_in).unwrap_or_default();
        let (Some(dir), Some(name)) = (dir, names.iter().find(|n| n.as_str() == name)) else {
            return Err(if names.is_empty() {
                format!("no key file {name:?}: no USB drive with *.txt or *.key files")
            } else {
                format!(
                    "no key file {name:?} on the USB drive (there: {})",
                    names.join(", ")
                )
            });
        };
        let path = dir.join(name);
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

/// Names of the key files (`*.txt`, `*.key`) directly in `dir`, sorted.
fn key_files_in(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
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
