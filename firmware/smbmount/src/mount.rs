//! Mounting a share: resolve, check the port, mount(2) with the best
//! dialect the server takes, and unmount when done.

use crate::kmsg::KmsgWatch;
use crate::mountpoint::{DEFAULT_MOUNT_BASE, MountPoint};
use crate::options::{CifsOptions, DIALECTS, check_share, clean_path};
use crate::server::{Host, Server};
use crate::{Login, Resolver, SmbError, UpnForm, mountinfo, reach};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `//host/share[/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub server: Server,
    pub share: String,
    /// Inside the share, `a/b`; empty for its root.
    pub path: String,
}

impl Share {
    pub fn new(server: &str, share: &str, path: &str) -> Result<Share, SmbError> {
        check_share(share.trim(), path)?;
        Ok(Share {
            server: Server::parse(server).map_err(SmbError::Setting)?,
            share: share.trim().to_string(),
            path: clean_path(path),
        })
    }

    /// The share and login from the appliance's settings.
    pub fn from_settings(
        s: &appconfig::SmbSettings,
        upn: UpnForm,
    ) -> Result<(Share, Login), SmbError> {
        Ok((
            Share::new(&s.host, &s.share, &s.path)?,
            Login::parse(&s.username, &s.password, upn)?,
        ))
    }

    /// `\\host\share\path` as Windows users write it.
    pub fn unc(&self) -> String {
        let mut s = format!("\\\\{}\\{}", self.server.host_text(), self.share);
        if !self.path.is_empty() {
            s.push('\\');
            s.push_str(&self.path.replace('/', "\\"));
        }
        s
    }
}

/// How mounts are made.
#[derive(Debug, Clone)]
pub struct MountConfig {
    /// Each mount gets a private folder under this one (see
    /// [`crate::mountpoint`]).
    pub mount_base: PathBuf,
    pub connect_timeout: Duration,
    pub upn: UpnForm,
    /// SMB 3 encryption (the mount is always signed).
    pub encrypt: appconfig::SmbEncrypt,
}

impl Default for MountConfig {
    fn default() -> Self {
        MountConfig {
            mount_base: PathBuf::from(DEFAULT_MOUNT_BASE),
            connect_timeout: reach::CONNECT_TIMEOUT,
            upn: UpnForm::default(),
            encrypt: appconfig::SmbEncrypt::default(),
        }
    }
}

/// The server's address: itself when it is one, else asked of DNS.
pub fn resolve(server: &Server, resolver: &Resolver) -> Result<IpAddr, SmbError> {
    match &server.host {
        Host::Ip(ip) => Ok(*ip),
        Host::Name(n) => resolver
            .resolve(n)?
            .first()
            .map(|a| IpAddr::V4(*a))
            .ok_or_else(|| SmbError::NameDoesNotResolve { name: n.clone() }),
    }
}

/// Resolves, checks the port and mounts.
pub fn mount(
    share: &Share,
    login: &Login,
    resolver: &Resolver,
    cfg: &MountConfig,
) -> Result<SmbMount, SmbError> {
    let addr = resolve(&share.server, resolver)?;
    reach::check_reachable(addr, share.server.port, cfg.connect_timeout)?;
    mount_at(share, addr, login, cfg)
}

/// Mounts at a private mount point under `cfg.mount_base`, trying the
/// dialects best first.
pub fn mount_at(
    share: &Share,
    addr: IpAddr,
    login: &Login,
    cfg: &MountConfig,
) -> Result<SmbMount, SmbError> {
    let point = MountPoint::create(&cfg.mount_base)?;
    let target = &point.path().to_path_buf();
    let host = share.server.host_text();
    let mut first_error = None;
    let mut seal_refused: Option<String> = None;
    for dialect in DIALECTS {
        let smb3 = dialect.starts_with('3');
        // Sealed first where it may work; `auto` falls back to signed only.
        let tries: &[bool] = match (cfg.encrypt, smb3) {
            (appconfig::SmbEncrypt::Off, _) | (appconfig::SmbEncrypt::Auto, false) => &[false],
            (appconfig::SmbEncrypt::Auto, true) => &[true, false],
            (appconfig::SmbEncrypt::Required, true) => &[true],
            (appconfig::SmbEncrypt::Required, false) => {
                seal_refused
                    .get_or_insert_with(|| "it speaks no SMB 3, and only SMB 3 encrypts".into());
                continue;
            }
        };
        for &seal in tries {
            let opts = CifsOptions {
                addr,
                port: share.server.port,
                host: &host,
                share: &share.share,
                path: &share.path,
                login,
                dialect,
                seal,
            };
            let mut kmsg = KmsgWatch::start();
            let result = nix::mount::mount(
                Some(opts.source().as_str()),
                target.as_path(),
                Some("cifs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some(opts.data().as_str()),
            );
            match result {
                Ok(()) => {
                    let entry = mountinfo::current(target);
                    let negotiated = entry
                        .as_ref()
                        .and_then(|e| mountinfo::dialect(&e.super_options))
                        .unwrap_or_else(|| dialect.to_string());
                    let has = |o: &str| {
                        entry
                            .as_ref()
                            .is_some_and(|e| e.super_options.split(',').any(|x| x == o))
                    };
                    let sealed = seal && (entry.is_none() || has("seal"));
                    if seal && !sealed {
                        // Mounted, but the kernel does not say it seals.
                        let _ = unmount_share(target);
                        if cfg.encrypt == appconfig::SmbEncrypt::Required {
                            return Err(SmbError::NoEncryption(
                                "the mount was not encrypted".into(),
                            ));
                        }
                        continue;
                    }
                    log::info!(
                        "mounted {} (SMB {negotiated}, {})",
                        share.unc(),
                        if sealed { "encrypted" } else { "signed" }
                    );
                    return Ok(SmbMount {
                        point,
                        dialect: negotiated,
                        sealed,
                        mounted: true,
                    });
                }
                Err(e) => {
                    let log_text = kmsg.take();
                    let mut err = classify(e, &log_text, kmsg.available(), share);
                    log::debug!(
                        "mounting {} with SMB {dialect}{}: {}",
                        share.unc(),
                        if seal { " (sealed)" } else { "" },
                        e.desc()
                    );
                    if e == Errno::ENOENT
                        && !share.path.is_empty()
                        && err != SmbError::NoKernelCrypto
                    {
                        // cifs logs BAD_NETWORK_NAME only for the first failed
                        // attempt: ask the server again without the folder.
                        err = missing_share_or_path(share, &opts, target);
                    }
                    let seal_problem = seal && sealing_may_be_why(e, &err);
                    if seal_problem {
                        seal_refused.get_or_insert_with(|| {
                            format!("a sealed mount with SMB {dialect} failed ({})", e.desc())
                        });
                        // auto: the same dialect, signed only.
                        continue;
                    }
                    if !dialect_may_help(e) {
                        return Err(err);
                    }
                    first_error.get_or_insert(err);
                    break;
                }
            }
        }
    }
    if cfg.encrypt == appconfig::SmbEncrypt::Required
        && let Some(why) = seal_refused
    {
        return Err(SmbError::NoEncryption(why));
    }
    Err(first_error.unwrap_or(SmbError::NoDialect))
}

/// Whether a failed sealed mount may have failed for the sealing (the
/// server does not encrypt), so a signed one is worth a try: not for bad
/// passwords, missing shares or unreachable servers.
fn sealing_may_be_why(e: Errno, err: &SmbError) -> bool {
    !matches!(
        err,
        SmbError::BadCredentials
            | SmbError::AccountUnusable
            | SmbError::ShareMissing { .. }
            | SmbError::PathMissing { .. }
            | SmbError::ShareOrPathMissing { .. }
            | SmbError::HostUnreachable { .. }
            | SmbError::ConnectionRefused { .. }
            | SmbError::TimedOut
            | SmbError::NoCifs
    ) && e != Errno::ENODEV
}

/// After ENOENT for `//host/share/path`: mounts the share's root to tell
/// a missing share from a missing folder, and unmounts it again.
fn missing_share_or_path(share: &Share, opts: &CifsOptions<'_>, target: &Path) -> SmbError {
    let root = CifsOptions {
        path: "",
        ..opts.clone()
    };
    let result = nix::mount::mount(
        Some(root.source().as_str()),
        target,
        Some("cifs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY,
        Some(root.data().as_str()),
    );
    match result {
        Ok(()) => {
            let _ = unmount_share(target);
            SmbError::PathMissing {
                path: share.path.clone(),
            }
        }
        Err(Errno::ENOENT) => SmbError::ShareMissing {
            share: share.share.clone(),
        },
        Err(_) => SmbError::ShareOrPathMissing {
            share: share.share.clone(),
            path: share.path.clone(),
        },
    }
}

/// Errors that can mean "not this dialect", worth a try with an older one.
fn dialect_may_help(e: Errno) -> bool {
    matches!(
        e,
        Errno::EOPNOTSUPP | Errno::EPROTO | Errno::EPROTONOSUPPORT | Errno::EIO | Errno::ECONNRESET
    )
}

/// Turns a failed mount into plain words, using what cifs logged to tell
/// apart the cases that share an errno.
pub fn classify(e: Errno, kernel_log: &str, log_seen: bool, share: &Share) -> SmbError {
    let session_failed = kernel_log.contains("SessSetup") || kernel_log.contains("LOGON_FAILURE");
    let mount_failed = kernel_log.contains("cifs_mount failed");
    // "smb3_crypto_aead_allocate: Failed alloc encrypt aead", then
    // "SMB2_negotiate: crypto alloc failed, rc=-2": ENOENT that says
    // nothing about the share (seen with ctr/ghash missing from the image).
    if kernel_log.contains("crypto alloc failed") || kernel_log.contains("Failed alloc") {
        return SmbError::NoKernelCrypto;
    }
    match e {
        Errno::ENODEV => SmbError::NoCifs,
        Errno::EACCES | Errno::EPERM if session_failed => SmbError::BadCredentials,
        Errno::EACCES | Errno::EPERM if log_seen && mount_failed => SmbError::AccessDenied,
        Errno::EACCES | Errno::EPERM => SmbError::BadCredentialsOrDenied,
        Errno::EKEYREVOKED | Errno::EKEYEXPIRED | Errno::EKEYREJECTED => SmbError::AccountUnusable,
        Errno::ENOENT | Errno::ENXIO | Errno::ENOTDIR => {
            if kernel_log.contains("BAD_NETWORK_NAME") || share.path.is_empty() {
                SmbError::ShareMissing {
                    share: share.share.clone(),
                }
            } else if log_seen && mount_failed {
                SmbError::PathMissing {
                    path: share.path.clone(),
                }
            } else {
                SmbError::ShareOrPathMissing {
                    share: share.share.clone(),
                    path: share.path.clone(),
                }
            }
        }
        Errno::EHOSTUNREACH | Errno::ENETUNREACH | Errno::EHOSTDOWN => SmbError::HostUnreachable {
            addr: match &share.server.host {
                Host::Ip(ip) => *ip,
                Host::Name(_) => IpAddr::from([0, 0, 0, 0]),
            },
            port: share.server.port,
        },
        Errno::ECONNREFUSED => SmbError::ConnectionRefused {
            addr: match &share.server.host {
                Host::Ip(ip) => *ip,
                Host::Name(_) => IpAddr::from([0, 0, 0, 0]),
            },
            port: share.server.port,
        },
        Errno::ETIMEDOUT => SmbError::TimedOut,
        e if dialect_may_help(e) => SmbError::NoDialect,
        Errno::EINVAL => {
            SmbError::Mount("the kernel refused the mount options (invalid argument)".into())
        }
        e => SmbError::Mount(e.desc().to_string()),
    }
}

/// A mounted share at a private mount point; unmounted by
/// [`SmbMount::unmount`] or when dropped, and its folder removed.
#[derive(Debug)]
pub struct SmbMount {
    // Dropped after `Drop::drop` has unmounted the share.
    point: MountPoint,
    dialect: String,
    sealed: bool,
    mounted: bool,
}

impl SmbMount {
    /// The mount point (the share's `path`, when one was given): a folder
    /// of this mount's own.
    pub fn dir(&self) -> &Path {
        self.point.path()
    }

    /// The negotiated dialect, e.g. "3.1.1".
    pub fn dialect(&self) -> &str {
        &self.dialect
    }

    /// The traffic is encrypted (SMB 3 `seal`); else it is signed only.
    pub fn encrypted(&self) -> bool {
        self.sealed
    }

    /// "encrypted (SMB 3)" or "signed", for Test Connectivity.
    pub fn protection(&self) -> &'static str {
        if self.sealed {
            "encrypted (SMB 3)"
        } else {
            "signed"
        }
    }

    /// Whether the share is still what is mounted at [`SmbMount::dir`]
    /// (not unmounted by someone else).
    pub fn is_mounted(&self) -> bool {
        self.mounted && mountinfo::current(self.dir()).is_some_and(|e| is_share(&e))
    }

    /// Unmounts, reporting failure; a busy mount is detached lazily.
    pub fn unmount(mut self) -> Result<(), SmbError> {
        self.mounted = false;
        unmount_share(self.point.path())
    }
    /// A handle that can cut this mount off from its server (see
    /// [`Cutoff`]); taken while the share answers. It holds the mount busy:
    /// drop it before unmounting.
    pub fn cutoff(&self) -> Result<Cutoff, SmbError> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_DIRECTORY)
            .open(self.dir())
            .map(|dir| Cutoff { dir })
            .map_err(|e| SmbError::Cutoff(format!("opening the mount point: {e}")))
    }
}

/// Cuts a mounted share off from its server (the cifs "shut down" ioctl):
/// from then on every write still queued for the server and every later
/// call on the mount fails at once with an I/O error, instead of each one
/// waiting for a server that is gone. On kernel 6.12 a soft mount waits up
/// to 10 s per 4 MiB of dirty data before failing it, so a writer that
/// keeps writing while the server is gone would take hours to notice.
/// The mount stays unusable until it is unmounted.
#[derive(Debug)]
pub struct Cutoff {
    dir: std::fs::File,
}

// CIFS_IOC_SHUTDOWN in the kernel's fs/smb/client/cifs_ioctl.h: _IOR('X', 125, __u32).
nix::ioctl_read!(cifs_ioc_shutdown, b'X', 125, u32);
/// CIFS_GOING_FLAGS_NOLOGFLUSH: flush nothing (the server is gone).
const GOING_FLAGS_NOLOGFLUSH: u32 = 2;

impl Cutoff {
    /// Cuts the share off; needs CAP_SYS_ADMIN.
    pub fn cut(&self) -> Result<(), SmbError> {
        use std::os::fd::AsRawFd;
        let mut flags = GOING_FLAGS_NOLOGFLUSH;
        // SAFETY: the ioctl reads one u32 from `flags`, which outlives the call.
        unsafe { cifs_ioc_shutdown(self.dir.as_raw_fd(), &mut flags) }
            .map(|_| ())
            .map_err(|e| SmbError::Cutoff(e.desc().to_string()))
    }
}

fn is_share(e: &mountinfo::MountEntry) -> bool {
    matches!(e.fstype.as_str(), "cifs" | "smb3")
}

/// Unmounts the share at `target`; never the guard under it, should the
/// share already be gone.
fn unmount_share(target: &Path) -> Result<(), SmbError> {
    if !mountinfo::current(target).is_some_and(|e| is_share(&e)) {
        return Err(SmbError::Unmount(
            "the share was no longer mounted (unmounted by someone else)".into(),
        ));
    }
    match nix::mount::umount2(target, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(Errno::EBUSY) => nix::mount::umount2(target, MntFlags::MNT_DETACH)
            .map_err(|e| SmbError::Unmount(e.desc().to_string())),
        Err(e) => Err(SmbError::Unmount(e.desc().to_string())),
    }
}

impl Drop for SmbMount {
    fn drop(&mut self) {
        if self.mounted
            && let Err(e) = unmount_share(self.point.path())
        {
            log::error!("{}: {e}", self.point.path().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(path: &str) -> Share {
        Share::new("10.0.2.2:4450", "backups", path).expect("share")
    }

    #[test]
    fn unc_and_settings() {
        assert_eq!(
            share("mail/nightly").unc(),
            "\\\\10.0.2.2\\backups\\mail\\nightly"
        );
        let s = appconfig::SmbSettings {
            host: "fs1.example.com".into(),
            share: "b".into(),
            path: "\\x\\".into(),
            username: "DOM\\u".into(),
            password: "p".into(),
            encrypt: Default::default(),
        };
        let (sh, login) = Share::from_settings(&s, UpnForm::Split).expect("settings");
        assert_eq!(sh.path, "x");
        assert_eq!(login.domain.as_deref(), Some("DOM"));
    }

    #[test]
    fn errors_in_plain_words() {
        let bad_pw = "CIFS: VFS: \\\\10.0.2.2 Send error in SessSetup = -13\nCIFS: VFS: cifs_mount failed w/return code = -13\n";
        let denied = "CIFS: VFS: cifs_mount failed w/return code = -13\n";
        let no_share = "CIFS: VFS: BAD_NETWORK_NAME: \\\\10.0.2.2\\nope\nCIFS: VFS: cifs_mount failed w/return code = -2\n";
        let p = share("a/b");
        assert_eq!(
            classify(Errno::EACCES, bad_pw, true, &p),
            SmbError::BadCredentials
        );
        assert_eq!(
            classify(Errno::EACCES, denied, true, &p),
            SmbError::AccessDenied
        );
        assert_eq!(
            classify(Errno::EACCES, "", false, &p),
            SmbError::BadCredentialsOrDenied
        );
        assert_eq!(
            classify(Errno::ENOENT, no_share, true, &p),
            SmbError::ShareMissing {
                share: "backups".into()
            }
        );
        assert_eq!(
            classify(Errno::ENOENT, denied, true, &p),
            SmbError::PathMissing { path: "a/b".into() }
        );
        assert!(matches!(
            classify(Errno::ENOENT, "", false, &p),
            SmbError::ShareOrPathMissing { .. }
        ));
        assert!(matches!(
            classify(Errno::ENOENT, "", false, &share("")),
            SmbError::ShareMissing { .. }
        ));
        assert_eq!(classify(Errno::ENODEV, "", false, &p), SmbError::NoCifs);
        // Captured in the guest before ctr and ghash were in the image.
        let no_aead = "CIFS: VFS: \\\\10.0.2.2 smb3_crypto_aead_allocate: Failed alloc encrypt aead\n\
            CIFS: VFS: \\\\10.0.2.2 SMB2_negotiate: crypto alloc failed, rc=-2\n\
            CIFS: VFS: cifs_mount failed w/return code = -2\n";
        assert_eq!(
            classify(Errno::ENOENT, no_aead, true, &share("")),
            SmbError::NoKernelCrypto
        );
        assert_eq!(
            classify(Errno::EOPNOTSUPP, "", false, &p),
            SmbError::NoDialect
        );
        assert_eq!(
            classify(Errno::EKEYEXPIRED, "", false, &p),
            SmbError::AccountUnusable
        );
        assert_eq!(
            classify(Errno::EHOSTUNREACH, "", false, &p).to_string(),
            "host unreachable: 10.0.2.2 does not answer on port 4450"
        );
        assert_eq!(
            SmbError::BadCredentials.to_string(),
            "bad user name or password"
        );
        // Unmounting and the cut-off say what failed, not "mounting".
        assert_eq!(
            SmbError::Unmount("Device or resource busy".into()).to_string(),
            "unmounting the share failed: Device or resource busy"
        );
        assert_eq!(
            SmbError::Cutoff("Operation not permitted".into()).to_string(),
            "cutting the share off from its server failed: Operation not permitted"
        );
    }

    #[test]
    fn resolve_ip_needs_no_dns() {
        let s = Server::parse("10.0.2.2").expect("ip");
        assert_eq!(
            resolve(&s, &Resolver::new(&[])),
            Ok("10.0.2.2".parse().expect("ip"))
        );
        let n = Server::parse("fs1.example.com").expect("name");
        assert!(matches!(
            resolve(&n, &Resolver::new(&[])),
            Err(SmbError::NoDnsServer { .. })
        ));
    }

    /// Real mounts against Samba on loopback. Where the kernel has cifs,
    /// two mounts of the same share are open at once, each in its own
    /// folder, both take a file, and unmounting one leaves the other
    /// mounted and writable; the folders are gone afterwards. Where it has
    /// none (this sandbox), the error must say so and no folder is left.
    /// Either way a stopped server is then refused in plain words before
    /// mount(2) is tried.
    #[test]
    fn mount_against_samba_on_loopback() {
        use crate::testserver::{SambaOptions, SambaServer};
        let mut srv = SambaServer::start(SambaOptions::default()).expect("smbd starts");
        let share = Share::new(&format!("127.0.0.1:{}", srv.port), "backups", "").expect("share");
        let login =
            Login::parse("TESTDOM\\backup", &srv.options.password, UpnForm::Split).expect("login");
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = MountConfig {
            mount_base: dir.path().join("smb"),
            ..Default::default()
        };
        let folders = || {
            std::fs::read_dir(&cfg.mount_base)
                .map(|d| d.count())
                .unwrap_or(0)
        };
        match mount(&share, &login, &Resolver::new(&[]), &cfg) {
            Ok(a) => {
                assert!(a.dialect().starts_with('3'), "{}", a.dialect());
                let b = mount(&share, &login, &Resolver::new(&[]), &cfg).expect("second mount");
                assert_ne!(a.dir(), b.dir());
                std::fs::write(a.dir().join("a.txt"), b"a").expect("write through a");
                std::fs::write(b.dir().join("b.txt"), b"b").expect("write through b");
                let b_dir = b.dir().to_path_buf();
                b.unmount().expect("unmount b");
                assert!(!b_dir.exists());
                assert!(a.is_mounted());
                std::fs::write(a.dir().join("a2.txt"), b"a").expect("a still writable");
                drop(a);
                for f in ["a.txt", "b.txt", "a2.txt"] {
                    assert!(srv.share_dir().join(f).exists(), "{f}");
                }
                assert_eq!(folders(), 0);
            }
            Err(SmbError::NoCifs) => {
                let fs = std::fs::read_to_string("/proc/filesystems").expect("filesystems");
                assert!(
                    !fs.contains("cifs"),
                    "cifs is there but the mount said it is not"
                );
                assert_eq!(folders(), 0, "the failed mount's folder is removed");
            }
            Err(e) => panic!("mount failed: {e}\n{}", srv.log()),
        }
        srv.stop();
        let err = mount(&share, &login, &Resolver::new(&[]), &cfg).expect_err("stopped");
        assert!(matches!(err, SmbError::ConnectionRefused { .. }), "{err:?}");
    }
}
