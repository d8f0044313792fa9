//! A Windows/Samba share: mounted with the kernel's cifs module for the
//! length of a session (a backup, a Test Connectivity, a listing), in a
//! private folder of the session's own under the mount base, and unmounted
//! after. Sessions side by side never touch each other's mounts.

use crate::{
    Connectivity, Destination, DestinationError, Opened, Session, Step, Watch, failed, noted,
};
use appconfig::{DestinationKind, SmbSettings};
use smbmount::{Host, MountConfig, Resolver, Share, SmbMount, UpnForm};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// The SMB destination: the share settings, the appliance's DNS servers
/// (for a server given by name) and the folder under which each session
/// mounts the share in a folder of its own.
#[derive(Debug, Clone)]
pub struct Smb {
    pub settings: SmbSettings,
    pub dns: Vec<Ipv4Addr>,
    pub mount_base: PathBuf,
    /// Split sets into volumes of this size.
    pub volume_size: Option<u64>,
    pub upn: UpnForm,
}

impl Smb {
    pub fn new(settings: SmbSettings, dns: &[Ipv4Addr]) -> Smb {
        Smb {
            settings,
            dns: dns.to_vec(),
            mount_base: PathBuf::from(smbmount::DEFAULT_MOUNT_BASE),
            volume_size: None,
            upn: UpnForm::default(),
        }
    }

    fn mount_config(&self) -> MountConfig {
        MountConfig {
            mount_base: self.mount_base.clone(),
            upn: self.upn,
            encrypt: self.settings.encrypt,
            ..Default::default()
        }
    }

    /// Mounts the share, noting each step: the settings (when wrong), the
    /// server's name looked up, the connection, the mount. Also gives the
    /// share's UNC name.
    fn mount(&self, steps: &mut Vec<Step>) -> Result<(SmbSession, String), String> {
        let (share, login) = Share::from_settings(&self.settings, self.upn)
            .map_err(|e| failed(steps, "check the settings".into(), e))?;
        let addr = smbmount::resolve(&share.server, &Resolver::new(&self.dns))
            .map_err(|e| failed(steps, format!("look up {}", share.server.host_text()), e))?;
        if let Host::Name(n) = &share.server.host {
            steps.push((format!("look up {n}"), format!("ok ({addr})")));
        }
        let cfg = self.mount_config();
        let port = share.server.port;
        let reach = smbmount::reach::check_reachable(addr, port, cfg.connect_timeout);
        noted(
            steps,
            format!("connect to {addr} port {port}"),
            reach,
            |_| None,
        )?;
        let step = format!("mount {} as {}", share.unc(), self.settings.username.trim());
        let mount = smbmount::mount_at(&share, addr, &login, &cfg);
        let mount = noted(steps, step, mount, |m| {
            Some(format!("SMB {}, {}", m.dialect(), m.protection()))
        })?;
        let session = SmbSession {
            mount,
            max: crate::split_size(self.volume_size, None),
            addr,
            port,
        };
        Ok((session, share.unc()))
    }
}

struct SmbSession {
    mount: SmbMount,
    max: Option<u64>,
    /// The server, to tell after a failure whether it went away.
    addr: IpAddr,
    port: u16,
}

impl Session for SmbSession {
    fn dir(&self) -> &Path {
        self.mount.dir()
    }
    fn max_file_size(&self) -> Option<u64> {
        self.max
    }
    fn filesystem(&self) -> String {
        format!(
            "cifs (SMB {}, {})",
            self.mount.dialect(),
            self.mount.protection()
        )
    }
    fn gone(&self) -> Option<String> {
        if !self.mount.is_mounted() {
            // The writer then met the read-only guard under the mount.
            return Some(
                "the SMB share was unmounted during the backup (not by the backup)".into(),
            );
        }
        server_gone(self.addr, self.port)
    }
    fn watch(&self) -> Option<Box<dyn Watch + '_>> {
        match self.mount.cutoff() {
            Ok(cutoff) => Some(Box::new(SmbWatch {
                cutoff,
                addr: self.addr,
                port: self.port,
            })),
            Err(e) => {
                log::warn!("no stall watch on the share: {e}");
                None
            }
        }
    }
    fn close(self: Box<Self>) -> Option<(String, Result<(), String>)> {
        let unmounted = self.mount.unmount().map_err(|e| e.to_string());
        Some(("unmount".into(), unmounted))
    }
}

/// Whether the server still takes connections: after a failure, or while
/// a writer is stalled.
fn server_gone(addr: IpAddr, port: u16) -> Option<String> {
    let now = match smbmount::reach::check_reachable(addr, port, smbmount::reach::CONNECT_TIMEOUT) {
        Ok(()) => return None,
        Err(smbmount::SmbError::ConnectionRefused { .. }) => "it refuses connections now",
        Err(_) => "it does not answer now",
    };
    Some(format!(
        "the SMB server {addr} went away during the backup ({now})"
    ))
}

/// A backup's watch on the share: the server's address to ask, and the
/// handle that cuts the mount off (`Session::watch` lends it for the
/// session's borrow, so it is gone before the share is unmounted).
struct SmbWatch {
    cutoff: smbmount::Cutoff,
    addr: IpAddr,
    port: u16,
}

impl Watch for SmbWatch {
    fn gone(&self) -> Option<String> {
        server_gone(self.addr, self.port)
    }
    fn cut_off(&self) -> Result<(), String> {
        self.cutoff.cut().map_err(|e| e.to_string())
    }
}

impl Destination for Smb {
    fn kind(&self) -> DestinationKind {
        DestinationKind::Smb
    }

    fn open(&self) -> Result<Box<dyn Session>, DestinationError> {
        let (session, _) = self
            .mount(&mut Vec::new())
            .map_err(DestinationError::Other)?;
        Ok(Box::new(session))
    }

    fn test_connectivity_then(&self, while_open: &mut dyn FnMut(&Path)) -> Connectivity {
        let open = |steps: &mut Vec<Step>| {
            let (session, unc) = self.mount(steps)?;
            let how = format!(
                "SMB {}, {}",
                session.mount.dialect(),
                session.mount.protection()
            );
            Ok(Opened {
                filesystem: "cifs".into(),
                dialect: Some(session.mount.dialect().to_string()),
                ready: format!("Connected to {unc} ({how})"),
                session: Box::new(session),
            })
        };
        crate::test_connectivity(DestinationKind::Smb, open, while_open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use appconfig::SmbEncrypt;
    use smbmount::testserver::{SambaOptions, SambaServer};

    fn smb(host: String, share: &str, user: &str, password: &str, mount_base: &Path) -> Smb {
        Smb {
            mount_base: mount_base.to_path_buf(),
            ..Smb::new(
                SmbSettings {
                    host,
                    share: share.into(),
                    path: String::new(),
                    username: user.into(),
                    password: password.into(),
                    encrypt: Default::default(),
                },
                &[],
            )
        }
    }

    #[test]
    fn settings_and_names_fail_in_plain_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = smb("".into(), "b", "u", "p", dir.path()).test_connectivity();
        assert!(!r.ok);
        assert!(r.summary.contains("empty"), "{}", r.summary);
        let r = smb("fs1.example.com".into(), "b", "u", "p", dir.path()).test_connectivity();
        assert!(
            r.summary.contains("no DNS server is configured"),
            "{}",
            r.summary
        );
        assert_eq!(r.steps.len(), 1);
        assert!(r.steps[0].0.contains("look up fs1.example.com"));
        assert!(matches!(
            smb("10.0.0.1".into(), "a/b", "u", "p", dir.path()).open(),
            Err(DestinationError::Other(_))
        ));
    }

    /// Samba on loopback: where the kernel has cifs, Test Connectivity must
    /// succeed end to end and leave nothing on the share; here (no cifs) it
    /// must say so after the connection step. A stopped server is refused.
    #[test]
    fn against_samba_on_loopback() {
        let mut srv = SambaServer::start(SambaOptions::default()).expect("smbd starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let host = format!("127.0.0.1:{}", srv.port);
        let pw = srv.options.password.clone();
        let d = smb(
            host.clone(),
            "backups",
            "TESTDOM\\backup",
            &pw,
            &dir.path().join("smb"),
        );
        let r = d.test_connectivity();
        assert_eq!(
            r.steps[0],
            (
                format!("connect to 127.0.0.1 port {}", srv.port),
                "ok".into()
            )
        );
        let cifs = std::fs::read_to_string("/proc/filesystems")
            .expect("filesystems")
            .contains("cifs");
        if cifs {
            assert!(r.ok, "{r:?}\n{}", srv.log());
            assert!(r.dialect.as_deref().is_some_and(|d| d.starts_with('3')));
            assert!(r.free_bytes.is_some());
            assert_eq!(
                std::fs::read_dir(srv.share_dir()).expect("share").count(),
                0
            );
        } else {
            assert!(!r.ok);
            assert_eq!(r.summary, "this system's kernel has no SMB (cifs) support");
        }
        srv.stop();
        let r = d.test_connectivity();
        assert!(!r.ok);
        assert!(r.summary.contains("refuses connections"), "{}", r.summary);
        assert!(
            d.open()
                .err()
                .is_some_and(|e| e.to_string().contains("refuses connections"))
        );
    }

    /// Signing always, sealing as set: where the kernel has cifs, a share
    /// that requires encryption is mounted sealed (the kernel's options say
    /// `seal`) in `auto` and `required`; a server with encryption off is
    /// signed only in `auto` and refused in plain words in `required`.
    /// Here (no cifs) every mode says the kernel lacks cifs.
    #[test]
    fn signing_and_sealing_against_samba_on_loopback() {
        let cifs = std::fs::read_to_string("/proc/filesystems")
            .expect("filesystems")
            .contains("cifs");
        for (server, mode, want) in [
            (
                "smb encrypt = required",
                SmbEncrypt::Auto,
                Some("encrypted (SMB 3)"),
            ),
            (
                "smb encrypt = required",
                SmbEncrypt::Required,
                Some("encrypted (SMB 3)"),
            ),
            ("smb encrypt = off", SmbEncrypt::Auto, Some("signed")),
            ("smb encrypt = off", SmbEncrypt::Off, Some("signed")),
            ("smb encrypt = off", SmbEncrypt::Required, None),
        ] {
            let srv = SambaServer::start(SambaOptions {
                global_extra: format!("  {server}\n  server signing = mandatory\n"),
                ..SambaOptions::default()
            })
            .expect("smbd starts");
            let dir = tempfile::tempdir().expect("tempdir");
            let mut d = smb(
                format!("127.0.0.1:{}", srv.port),
                "backups",
                "TESTDOM\\backup",
                &srv.options.password,
                &dir.path().join("smb"),
            );
            d.settings.encrypt = mode;
            let r = d.test_connectivity();
            if !cifs {
                assert!(!r.ok);
                assert_eq!(r.summary, "this system's kernel has no SMB (cifs) support");
                continue;
            }
            match want {
                Some(how) => {
                    assert!(r.ok, "{server}, {mode}: {r:?}\n{}", srv.log());
                    assert!(r.summary.ends_with(&format!(", {how})")), "{}", r.summary);
                    let s = d.open().expect("open");
                    assert!(s.filesystem().contains(how), "{}", s.filesystem());
                    let mounts = std::fs::read_to_string("/proc/mounts").expect("mounts");
                    let line = mounts
                        .lines()
                        .find(|l| l.contains(&s.dir().display().to_string()))
                        .expect("mounted");
                    let opts: Vec<&str> = line
                        .split(' ')
                        .nth(3)
                        .expect("options")
                        .split(',')
                        .collect();
                    assert!(opts.contains(&"sign"), "{line}");
                    assert_eq!(
                        opts.contains(&"seal"),
                        how.starts_with("encrypted"),
                        "{line}"
                    );
                }
                None => {
                    assert!(!r.ok, "{server}, {mode}: {r:?}");
                    assert!(r.summary.contains("does not encrypt"), "{}", r.summary);
                }
            }
        }
    }

    /// Sessions side by side on one share, as a backup and the console's
    /// listing and Test Connectivity are: where the kernel has cifs, two
    /// sessions are open at once in folders of their own, both write,
    /// a Test Connectivity runs beside them, and closing one leaves the
    /// other mounted and writable. Here (no cifs) opening says so and
    /// leaves no folder behind.
    #[test]
    fn sessions_side_by_side_on_one_share() {
        let srv = SambaServer::start(SambaOptions::default()).expect("smbd starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("smb");
        let d = smb(
            format!("127.0.0.1:{}", srv.port),
            "backups",
            "TESTDOM\\backup",
            &srv.options.password,
            &base,
        );
        let folders = || std::fs::read_dir(&base).map(|d| d.count()).unwrap_or(0);
        let backup = match d.open() {
            Ok(s) => s,
            Err(e) => {
                assert!(
                    !std::fs::read_to_string("/proc/filesystems")
                        .expect("filesystems")
                        .contains("cifs"),
                    "open failed: {e}\n{}",
                    srv.log()
                );
                assert_eq!(
                    e.to_string(),
                    "this system's kernel has no SMB (cifs) support"
                );
                assert_eq!(folders(), 0);
                return;
            }
        };
        let listing = d.open().expect("a second session");
        assert_ne!(backup.dir(), listing.dir());
        assert!(backup.dir().starts_with(base.canonicalize().expect("base")));
        std::fs::write(backup.dir().join(".set.tar.tmp"), b"volume").expect("backup writes");
        std::fs::write(listing.dir().join("from-listing"), b"x").expect("listing writes");
        assert!(
            listing.dir().join(".set.tar.tmp").exists(),
            "the same share"
        );
        let r = d.test_connectivity();
        assert!(r.ok, "{r:?}");
        drop(listing);
        assert_eq!(backup.gone(), None, "still mounted, server there");
        std::fs::write(backup.dir().join("set.tar"), b"volume").expect("still writable");
        drop(backup);
        assert_eq!(folders(), 0);
        for f in [".set.tar.tmp", "from-listing", "set.tar"] {
            assert!(srv.share_dir().join(f).exists(), "{f}");
        }
    }

    #[test]
    fn from_config_picks_the_destination() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = crate::Paths {
            local_dir: dir.path().join("backup"),
            smb_mount_base: dir.path().join("smb"),
            usb_mount_point: dir.path().join("usb"),
            hotplug_socket: dir.path().join("hotplugd.sock"),
            restore_dir: dir.path().join("restore"),
        };
        let mut b = appconfig::BackupSettings::default();
        for kind in [
            DestinationKind::Local,
            DestinationKind::Smb,
            DestinationKind::Usb,
        ] {
            b.destination = kind;
            assert_eq!(crate::from_config_with(&b, &[], &paths).kind(), kind);
        }
        b.destination = DestinationKind::Smb;
        b.smb.host = "fs1".into();
        b.smb.share = "backups".into();
        assert_eq!(crate::describe(&b), "\\\\fs1\\backups");
        b.destination = DestinationKind::Usb;
        let r = crate::from_config_with(&b, &[], &paths).test_connectivity();
        assert!(r.summary.starts_with("no drive"), "{}", r.summary);

        // The restore folder is opened as it is, never made.
        let loc = crate::Location::RestoreFolder;
        let err = crate::open_location(&loc, &b, &[], &paths)
            .err()
            .expect("missing");
        assert!(err.to_string().contains("is not there"), "{err}");
        std::fs::create_dir_all(&paths.restore_dir).expect("mkdir");
        let s = crate::open_location(&loc, &b, &[], &paths).expect("open");
        assert_eq!(s.dir(), paths.restore_dir);
        b.destination = DestinationKind::Local;
        let s = crate::open_location(&crate::Location::Configured, &b, &[], &paths).expect("open");
        assert_eq!(s.dir(), paths.local_dir);
        // The local folder of sets, whatever the destination, read as it is.
        b.destination = DestinationKind::Usb;
        let local = crate::Location::Local;
        let s = crate::open_location(&local, &b, &[], &paths).expect("open local");
        assert_eq!(s.dir(), paths.local_dir);
    }
}
