//! Sessions run as the unprivileged user `ftp` (uid and gid 21, in the
//! image's `/etc/passwd` and `/etc/group`, no shell, no home). The root
//! supervisor binds port 21 and starts each session; the session reads
//! what only root may read (the TLS key) and then, before it reads a byte
//! from the client, gives up root for good: no supplementary groups, the
//! `ftp` group and user (real, effective and saved), no capabilities left
//! (the bounding set emptied too), `PR_SET_NO_NEW_PRIVS`, and not dumpable
//! (no other `ftp` process may trace it or read its memory).
//!
//! What `ftp` may touch is set by the folders' group and modes, which the
//! supervisor checks at start ([`share_folders`]): `backup/` is
//! `root:ftp 0750` (read), `restore/` is `root:ftp 0770` (write). The
//! configuration (`config/`, 0700) and the certificates (`sslcert/`, 0700)
//! stay root's.

use nix::unistd::{Gid, Uid};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// The account sessions run as.
pub const FTP_ACCOUNT: &str = "ftp";
pub const FTP_UID: u32 = 21;
pub const FTP_GID: u32 = 21;

/// Modes of the two folders sessions use.
pub const BACKUP_MODE: u32 = 0o750;
pub const RESTORE_MODE: u32 = 0o770;

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("cannot {what}: {source}")]
    Call {
        what: &'static str,
        source: nix::Error,
    },
    #[error("still privileged after dropping privileges: {0}")]
    StillPrivileged(String),
}

fn call<T>(what: &'static str, r: nix::Result<T>) -> Result<T, PrivError> {
    r.map_err(|source| PrivError::Call { what, source })
}

/// How a session runs after [`drop_privileges`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// It was root and now runs as `ftp`.
    ToFtp,
    /// It was not root (a developer's run): nothing to give up.
    WasUnprivileged,
}

/// Gives up root for good (see the module's notes). A session that cannot
/// must not serve: the caller ends it.
pub fn drop_privileges() -> Result<Dropped, PrivError> {
    let dropped = if nix::unistd::geteuid().is_root() {
        call("drop supplementary groups", nix::unistd::setgroups(&[]))?;
        drop_bounding_set()?;
        let (g, u) = (Gid::from_raw(FTP_GID), Uid::from_raw(FTP_UID));
        call("change group", nix::unistd::setresgid(g, g, g))?;
        call("change user", nix::unistd::setresuid(u, u, u))?;
        Dropped::ToFtp
    } else {
        Dropped::WasUnprivileged
    };
    call("set no_new_privs", nix::sys::prctl::set_no_new_privs())?;
    call(
        "make the process not dumpable",
        nix::sys::prctl::set_dumpable(false),
    )?;
    if dropped == Dropped::ToFtp {
        verify()?;
    }
    Ok(dropped)
}

/// Empties the capability bounding set (needs CAP_SETPCAP, so while root).
fn drop_bounding_set() -> Result<(), PrivError> {
    let last: i32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { nix::libc::prctl(nix::libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if r != 0 {
            let e = nix::errno::Errno::last();
            // A capability this kernel does not know.
            if e != nix::errno::Errno::EINVAL {
                return Err(PrivError::Call {
                    what: "empty the capability bounding set",
                    source: e,
                });
            }
        }
    }
    Ok(())
}

/// Checks what the kernel says: ids, capabilities, and that root cannot
/// be taken back.
fn verify() -> Result<(), PrivError> {
    let still = |what: String| Err(PrivError::StillPrivileged(what));
    let ids = call("read the user ids", nix::unistd::getresuid())?;
    let gids = call("read the group ids", nix::unistd::getresgid())?;
    if [ids.real, ids.effective, ids.saved] != [Uid::from_raw(FTP_UID); 3]
        || [gids.real, gids.effective, gids.saved] != [Gid::from_raw(FTP_GID); 3]
    {
        return still(format!("ids {ids:?} {gids:?}"));
    }
    if !call("read the groups", nix::unistd::getgroups())?.is_empty() {
        return still("supplementary groups left".into());
    }
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return still("setuid(0) worked".into());
    }
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| PrivError::StillPrivileged(format!("cannot read /proc/self/status: {e}")))?;
    for field in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .map(str::trim);
        if value.is_some_and(|v| v.trim_start_matches('0').is_empty()) {
            continue;
        }
        return still(format!("{field} {}", value.unwrap_or("missing")));
    }
    Ok(())
}

/// What [`share_folders`] changed, for the log.
pub fn share_folders(backup: &Path, restore: &Path) -> Vec<String> {
    let mut changed = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        return changed;
    }
    for (dir, mode) in [(backup, BACKUP_MODE), (restore, RESTORE_MODE)] {
        match share(dir, mode) {
            Ok(Some(what)) => changed.push(format!("{}: {what}", dir.display())),
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => changed.push(format!(
                "{}: cannot set its group and mode: {e}",
                dir.display()
            )),
        }
    }
    changed
}

/// Gives `dir` the group `ftp` and `mode`; `None` when it had them.
fn share(dir: &Path, mode: u32) -> io::Result<Option<String>> {
    let m = std::fs::symlink_metadata(dir)?;
    if !m.file_type().is_dir() {
        return Err(io::Error::other("not a folder"));
    }
    let mut what = Vec::new();
    if m.gid() != FTP_GID {
        std::os::unix::fs::lchown(dir, None, Some(FTP_GID))?;
        what.push(format!("group {FTP_ACCOUNT} ({FTP_GID})"));
    }
    if m.mode() & 0o7777 != mode {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
        what.push(format!("mode {mode:04o}"));
    }
    Ok((!what.is_empty()).then(|| format!("set {}", what.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_get_the_ftp_group() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (b, r) = (dir.path().join("backup"), dir.path().join("restore"));
        std::fs::create_dir(&b).expect("mkdir");
        std::fs::create_dir(&r).expect("mkdir");
        let changed = share_folders(&b, &r);
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert!(
            changed[1].ends_with("set group ftp (21), mode 0770"),
            "{changed:?}"
        );
        let m = std::fs::metadata(&r).expect("meta");
        assert_eq!((m.gid(), m.mode() & 0o7777), (FTP_GID, RESTORE_MODE));
        assert!(share_folders(&b, &r).is_empty(), "nothing to change twice");
        assert!(share_folders(&dir.path().join("x"), &dir.path().join("y")).is_empty());
    }
}
