//! Every path and command the console touches, with the appliance's defaults
//! and environment overrides so host tests run the same code in a temporary
//! folder. Places other programs own are not copied here: the sockets come
//! from `control` (with the services' own environment names), the shared
//! folders from `appconfig::layout`, and the USB drive's mount point from
//! hotplugd's status at the moment it is needed.

use std::path::PathBuf;
use std::time::Duration;

/// Paths, commands and timings the console uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `/data/config/appliance.toml` (`APPLIANCE_CONFIG`).
    pub config_path: PathBuf,
    /// backupd's control socket ([`control::backupd::socket_path`]).
    pub backupd_socket: PathBuf,
    /// Where the live DNS servers are read (`CONSOLE_RESOLV_CONF`).
    pub resolv_conf: PathBuf,
    /// The FTP `restore` folder, searched for `.raucb` bundles besides the
    /// USB drive ([`appconfig::layout::restore_dir`]).
    pub restore_dir: PathBuf,
    /// Where an identity typed for a restore is kept, in a private file,
    /// while `recover` runs (`CONSOLE_RUN_DIR`; a tmpfs).
    pub run_dir: PathBuf,
    /// The system log the Log view shows ([`appconfig::layout::SYSLOG`]);
    /// BusyBox syslogd writes it and rotates it into `<name>.0`.
    pub log_path: PathBuf,
    /// hotplugd's control socket: the drive's state and mount point, Eject
    /// ([`control::hotplug::socket_path`]).
    pub hotplugd_socket: PathBuf,
    /// The boot-time glue tool and its leading arguments (`CONSOLE_APPCTL`).
    pub appctl: Vec<String>,
    /// The update engine (`CONSOLE_RAUC`).
    pub rauc: Vec<String>,
    /// The restore tool (`CONSOLE_RECOVER`).
    pub recover: Vec<String>,
    /// What restarts the appliance (`CONSOLE_REBOOT`).
    pub reboot: Vec<String>,
    /// What makes the time service re-read the NTP servers
    /// (`CONSOLE_TIMESYNC_RELOAD`): its init script.
    pub timesync_reload: Vec<String>,
    /// What makes sshgate re-read the SSH settings and keys
    /// (`CONSOLE_SSHGATE_RELOAD`): its init script.
    pub sshgate_reload: Vec<String>,
    /// What makes ftpd re-read the FTP settings (`CONSOLE_FTPD_RELOAD`):
    /// its init script.
    pub ftpd_reload: Vec<String>,
    /// Where sshgate keeps the host keys, whose `.pub` files give the
    /// fingerprints shown in SSH Access
    /// ([`appconfig::layout::SSH_HOST_KEYS_DIR`]).
    pub ssh_host_keys: PathBuf,
    /// Longest wait for a short command such as `appctl network apply`.
    pub command_timeout: Duration,
    /// Pause after a wrong password, to slow down guessing.
    pub wrong_password_delay: Duration,
    /// How often a running backup's progress is polled.
    pub poll_interval: Duration,
    /// A session left alone this long logs out (`CONSOLE_IDLE_LOGOUT`, in
    /// seconds; 0 never).
    pub idle_logout: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config_path: PathBuf::from(appconfig::DEFAULT_PATH),
            backupd_socket: PathBuf::from(control::backupd::SOCKET),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            restore_dir: PathBuf::from(appconfig::layout::RESTORE_DIR),
            run_dir: PathBuf::from("/run"),
            log_path: PathBuf::from(appconfig::layout::SYSLOG),
            hotplugd_socket: PathBuf::from(control::hotplug::SOCKET),
            appctl: vec!["appctl".into()],
            rauc: vec!["rauc".into()],
            recover: vec!["recover".into()],
            reboot: vec!["reboot".into()],
            timesync_reload: vec!["/etc/init.d/S45timesyncd".into(), "reload".into()],
            sshgate_reload: vec!["/etc/init.d/S72sshgate".into(), "reload".into()],
            ftpd_reload: vec!["/etc/init.d/S70ftpd".into(), "reload".into()],
            ssh_host_keys: PathBuf::from(appconfig::layout::SSH_HOST_KEYS_DIR),
            command_timeout: Duration::from_secs(60),
            wrong_password_delay: Duration::from_secs(3),
            poll_interval: Duration::from_secs(1),
            idle_logout: Some(Duration::from_secs(15 * 60)),
        }
    }
}

impl Settings {
    /// The defaults with the environment's overrides applied: the console's
    /// own (`CONSOLE_*`), and for the places others own, the one name each
    /// owner reads too.
    pub fn from_env() -> Settings {
        let mut s = Settings::from_lookup(|name| std::env::var(name).ok());
        s.backupd_socket = control::backupd::socket_path();
        s.hotplugd_socket = control::hotplug::socket_path();
        s.restore_dir = appconfig::layout::restore_dir();
        s
    }

    /// The defaults with overrides from `lookup` (the environment, or a map
    /// in tests). Empty values are ignored.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let mut s = Settings::default();
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let path = |name: &str, slot: &mut PathBuf| {
            if let Some(v) = get(name) {
                *slot = PathBuf::from(v);
            }
        };
        path("APPLIANCE_CONFIG", &mut s.config_path);
        path("CONSOLE_RESOLV_CONF", &mut s.resolv_conf);
        path("CONSOLE_RUN_DIR", &mut s.run_dir);
        let words = |v: String| v.split_whitespace().map(String::from).collect::<Vec<_>>();
        if let Some(v) = get("CONSOLE_APPCTL") {
            s.appctl = words(v);
        }
        if let Some(v) = get("CONSOLE_RAUC") {
            s.rauc = words(v);
        }
        if let Some(v) = get("CONSOLE_RECOVER") {
            s.recover = words(v);
        }
        if let Some(v) = get("CONSOLE_REBOOT") {
            s.reboot = words(v);
        }
        if let Some(v) = get("CONSOLE_TIMESYNC_RELOAD") {
            s.timesync_reload = words(v);
        }
        if let Some(v) = get("CONSOLE_SSHGATE_RELOAD") {
            s.sshgate_reload = words(v);
        }
        if let Some(v) = get("CONSOLE_FTPD_RELOAD") {
            s.ftpd_reload = words(v);
        }
        if let Some(v) = get("CONSOLE_IDLE_LOGOUT")
            && let Ok(secs) = v.trim().parse::<u64>()
        {
            s.idle_logout = (secs > 0).then(|| Duration::from_secs(secs));
        }
        s
    }

    /// `appctl network apply`.
    pub fn network_apply(&self) -> Vec<String> {
        with_args(&self.appctl, &["network", "apply"])
    }

    /// `appctl accounts`: rewrites the shadow file from the configuration.
    pub fn accounts_apply(&self) -> Vec<String> {
        with_args(&self.appctl, &["accounts"])
    }

    /// `appctl hostname`: applies host name and time settings.
    pub fn hostname_apply(&self) -> Vec<String> {
        with_args(&self.appctl, &["hostname"])
    }

    /// `rauc install <bundle>`.
    pub fn rauc_install(&self, bundle: &str) -> Vec<String> {
        with_args(&self.rauc, &["install", bundle])
    }

    /// `recover --system --location configured|restore [--keep-identity]
    /// [--identity FILE] [--secrets-identity FILE] <set>`: the whole-system
    /// restore; recover opens the location itself.
    pub fn recover_system(
        &self,
        location: &control::backupd::Location,
        set: &str,
        keep_identity: bool,
        keys: &RestoreKeys,
    ) -> Vec<String> {
        let location = location_arg(location);
        let mut args: Vec<String> = ["--system", "--location", location]
            .into_iter()
            .map(String::from)
            .collect();
        if keep_identity {
            args.push("--keep-identity".into());
        }
        if let Some(f) = &keys.identity {
            args.push("--identity".into());
            args.push(f.display().to_string());
        }
        if let Some(f) = &keys.secrets_identity {
            args.push("--secrets-identity".into());
            args.push(f.display().to_string());
        }
        args.push(set.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        with_args(&self.recover, &args)
    }

    /// `recover --location WHERE [-d D] [-u U] [-f F] [-m M] [-b]
    /// [--identity FILE] <set>`: a selective restore into the appliance's
    /// own folders (recover opens the location and the destination); with
    /// `listing`, `-l` instead of restoring (`-b` left out).
    pub fn recover_selected(
        &self,
        location: &control::backupd::Location,
        set: &str,
        selection: &MailSelection,
        listing: bool,
        identity: Option<&std::path::Path>,
    ) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        if listing {
            args.push("-l".into());
        }
        args.push("--location".into());
        args.push(location_arg(location).into());
        for (flag, value) in [
            ("--domain", &selection.domain),
            ("--user", &selection.user),
            ("--folder", &selection.folder),
            ("--mask", &selection.mask),
        ] {
            if !value.is_empty() {
                args.push(format!("{flag}={value}"));
            }
        }
        if selection.keep_bak && !listing {
            args.push("--backup".into());
        }
        if let Some(f) = identity {
            args.push("--identity".into());
            args.push(f.display().to_string());
        }
        args.push(set.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        with_args(&self.recover, &args)
    }
}

/// recover's `--location` word for a location.
pub fn location_arg(location: &control::backupd::Location) -> &'static str {
    match location {
        control::backupd::Location::Configured => "configured",
        control::backupd::Location::RestoreFolder => "restore",
        control::backupd::Location::Local => "local",
    }
}

/// What a selective restore takes: recover's `-d`, `-u`, `-f`, `-m` (empty:
/// not given) and `-b`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailSelection {
    pub domain: String,
    pub user: String,
    pub folder: String,
    pub mask: String,
    pub keep_bak: bool,
}

/// The identity files handed to a whole restore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreKeys {
    /// Opens an encrypted set (`--identity`).
    pub identity: Option<PathBuf>,
    /// Opens the set's sealed secrets (`--secrets-identity`).
    pub secrets_identity: Option<PathBuf>,
}

fn with_args(base: &[String], args: &[&str]) -> Vec<String> {
    base.iter()
        .cloned()
        .chain(args.iter().map(|a| a.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_empty_values_are_ignored() {
        let s = Settings::from_lookup(|name| match name {
            "APPLIANCE_CONFIG" => Some("/tmp/a.toml".into()),
            "CONSOLE_APPCTL" => Some("/opt/bin/appctl --verbose".into()),
            "CONSOLE_FTPD_RELOAD" => Some("/etc/init.d/S70ftpd reload".into()),
            "CONSOLE_RAUC" => Some("  ".into()),
            "CONSOLE_IDLE_LOGOUT" => Some("0".into()),
            _ => None,
        });
        assert_eq!(s.config_path, PathBuf::from("/tmp/a.toml"));
        assert_eq!(
            s.network_apply(),
            ["/opt/bin/appctl", "--verbose", "network", "apply"]
        );
        assert_eq!(s.ftpd_reload, ["/etc/init.d/S70ftpd", "reload"]);
        assert_eq!(s.rauc_install("x.raucb"), ["rauc", "install", "x.raucb"]);
        assert_eq!(
            s.recover_system(
                &control::backupd::Location::RestoreFolder,
                "s.tar",
                false,
                &RestoreKeys::default()
            ),
            ["recover", "--system", "--location", "restore", "s.tar"]
        );
        assert_eq!(
            s.recover_system(
                &control::backupd::Location::Configured,
                "s.tar",
                true,
                &RestoreKeys::default()
            ),
            [
                "recover",
                "--system",
                "--location",
                "configured",
                "--keep-identity",
                "s.tar"
            ]
        );
        let keys = RestoreKeys {
            identity: Some(PathBuf::from("/run/k1")),
            secrets_identity: Some(PathBuf::from("/run/k1")),
        };
        assert_eq!(
            s.recover_system(
                &control::backupd::Location::Configured,
                "s.tar.age",
                false,
                &keys
            ),
            [
                "recover",
                "--system",
                "--location",
                "configured",
                "--identity",
                "/run/k1",
                "--secrets-identity",
                "/run/k1",
                "s.tar.age"
            ]
        );
        assert_eq!(s.idle_logout, None);
    }
}
