//! Private mount points: every mount of a share gets a folder of its own
//! under a base folder (`/run/smb/<pid>-<start>-<seq>`), so a backup, the
//! console's set list, Test Connectivity and a restore can all use the
//! share at once, and no session ever unmounts another's share.
//!
//! - The folder's name says who owns it: the process id, the process's
//!   start time (clock ticks after boot, field 22 of `/proc/<pid>/stat`, so
//!   a reused process id is not taken for the owner) and a number counted
//!   up within the process. It is made with mode 0700 and removed after
//!   the unmount.
//! - Before the share is mounted, a read-only tmpfs (the *guard*, source
//!   `smb-guard`) is mounted on the folder, and the share on top of it.
//!   Should the share's mount go away while a writer still uses the path
//!   (unmounted by hand, say), the path leads to the guard, where creating
//!   or renaming a file fails with "read-only file system", for root too:
//!   nothing meant for the share ever lands in RAM (`/run` is a tmpfs).
//!   Mode bits alone (a 0500 folder) would not do that: root passes them
//!   (CAP_DAC_OVERRIDE).
//! - A folder whose owner is gone (a process that crashed or was killed
//!   while it had the share mounted) is stale: the next mount under the
//!   same base detaches what is mounted there (lazily) and removes it.
//!   That is the only case in which a mount this process did not make is
//!   touched, and only after `/proc` says its owner is no longer running.

use crate::{SmbError, mountinfo};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The folder under which shares are mounted while in use.
pub const DEFAULT_MOUNT_BASE: &str = "/run/smb";

/// The source name of the read-only guard under each share's mount.
pub const GUARD_SOURCE: &str = "smb-guard";

/// Numbers the mount points this process makes.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// A process, told apart from a later one with the same id by its start
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub pid: i32,
    /// Clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start: u64,
}

/// What `/proc/<pid>/stat` says about a process: its state letter and
/// start time.
fn proc_stat(pid: &str) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything.
    let rest = text.get(text.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

impl Owner {
    /// This process; `None` without `/proc`.
    pub fn current() -> Option<Owner> {
        let (_, start) = proc_stat("self")?;
        Some(Owner {
            pid: std::process::id() as i32,
            start,
        })
    }

    /// Whether this process is still running: its id exists, with the same
    /// start time, and it is not a zombie (a zombie uses no mount).
    pub fn alive(&self) -> bool {
        matches!(
            proc_stat(&self.pid.to_string()),
            Some((state, start)) if start == self.start && !matches!(state, 'Z' | 'X' | 'x')
        )
    }

    /// The folder name of this owner's `seq`th mount point.
    pub fn folder_name(&self, seq: u64) -> String {
        format!("{}-{}-{seq}", self.pid, self.start)
    }

    /// The owner and number in a folder name made by [`Owner::folder_name`].
    pub fn parse_folder_name(name: &str) -> Option<(Owner, u64)> {
        let mut parts = name.split('-');
        let pid: i32 = parts.next()?.parse().ok()?;
        let start: u64 = parts.next()?.parse().ok()?;
        let seq: u64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || pid <= 0 || name != format!("{pid}-{start}-{seq}") {
            return None;
        }
        Some((Owner { pid, start }, seq))
    }
}

fn is_guard(e: &mountinfo::MountEntry) -> bool {
    e.fstype == "tmpfs" && e.source == GUARD_SOURCE
}

/// Detaches everything mounted at `path`, topmost first.
fn detach_all(path: &Path) -> Result<(), Errno> {
    // A bound, in case something keeps mounting there.
    for _ in 0..16 {
        if mountinfo::current(path).is_none() {
            return Ok(());
        }
        nix::mount::umount2(path, MntFlags::MNT_DETACH)?;
    }
    Err(Errno::EBUSY)
}

/// Removes the mount points under `base` whose owner is no longer running,
/// detaching (lazily) what is still mounted on them. Returns the folders
/// removed. Folders of running processes, and anything not named like a
/// mount point, are left alone. Without `/proc` nothing can be told, and
/// nothing is touched.
pub fn clean_stale(base: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    if Owner::current().is_none() {
        return removed;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((owner, _)) = name.to_str().and_then(Owner::parse_folder_name) else {
            continue;
        };
        if owner.alive() {
            continue;
        }
        let path = base.join(&name);
        if let Err(e) = detach_all(&path) {
            log::warn!(
                "cannot unmount the stale mount point {}: {}",
                path.display(),
                e.desc()
            );
            continue;
        }
        match std::fs::remove_dir(&path) {
            Ok(()) => {
                log::warn!(
                    "removed the mount point {} left by process {}, which is no longer running",
                    path.display(),
                    owner.pid
                );
                removed.push(path);
            }
            // Another session cleaned it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!(
                "cannot remove the stale mount point {}: {e}",
                path.display()
            ),
        }
    }
    removed
}

/// A private mount point: a folder of this process's own under the base,
/// with the read-only guard mounted on it. Dropping it takes the guard
/// off and removes the folder (the share mounted on it must be unmounted
/// first; if anything is still mounted there, the folder stays, and is
/// cleaned as stale once this process has ended).
#[derive(Debug)]
pub struct MountPoint {
    path: PathBuf,
    guarded: bool,
}

fn setup_error(what: &str, path: &Path, why: &str) -> SmbError {
    SmbError::Mount(format!("cannot {what} {}: {why}", path.display()))
}

impl MountPoint {
    /// Makes the base folder if needed (0700), cleans stale mount points
    /// under it, then makes a new private folder (0700) and mounts the
    /// guard on it.
    pub fn create(base: &Path) -> Result<MountPoint, SmbError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(base)
            .map_err(|e| setup_error("create", base, &e.to_string()))?;
        // The mount table names folders by their real path.
        let base = base
            .canonicalize()
            .map_err(|e| setup_error("resolve", base, &e.to_string()))?;
        clean_stale(&base);
        let owner = Owner::current().unwrap_or(Owner {
            pid: std::process::id() as i32,
            start: 0,
        });
        let mut made = None;
        for _ in 0..1000 {
            let path = base.join(owner.folder_name(SEQ.fetch_add(1, Ordering::Relaxed)));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    made = Some(path);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(setup_error("create", &path, &e.to_string())),
            }
        }
        let path = made.ok_or_else(|| setup_error("find a free name in", &base, "all taken"))?;
        let mut point = MountPoint {
            path,
            guarded: false,
        };
        nix::mount::mount(
            Some(GUARD_SOURCE),
            point.path.as_path(),
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=4k,mode=0500"),
        )
        .map_err(|e| setup_error("guard the mount point", &point.path, e.desc()))?;
        point.guarded = true;
        Ok(point)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for MountPoint {
    fn drop(&mut self) {
        if self.guarded {
            match mountinfo::current(&self.path) {
                None => {}
                Some(e) if is_guard(&e) => {
                    if let Err(e) = nix::mount::umount2(&self.path, MntFlags::MNT_DETACH) {
                        log::error!("{}: removing the guard: {}", self.path.display(), e.desc());
                        return;
                    }
                }
                Some(e) => {
                    log::error!(
                        "{}: {} {} is still mounted there; left in place",
                        self.path.display(),
                        e.fstype,
                        e.source
                    );
                    return;
                }
            }
        }
        if let Err(e) = std::fs::remove_dir(&self.path) {
            log::warn!("cannot remove {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn folder_names() {
        let o = Owner {
            pid: 812,
            start: 40321,
        };
        assert_eq!(o.folder_name(3), "812-40321-3");
        assert_eq!(Owner::parse_folder_name("812-40321-3"), Some((o, 3)));
        for bad in [
            "",
            "smb",
            "812",
            "812-40321",
            "812-40321-3-1",
            "-1-2-3",
            "0-2-3",
            "812-+40321-3",
            "812-040321-3",
            "a-b-c",
        ] {
            assert_eq!(Owner::parse_folder_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn owners_alive_and_gone() {
        let me = Owner::current().expect("/proc");
        assert!(me.alive());
        assert!(
            !Owner {
                start: me.start + 1,
                ..me
            }
            .alive(),
            "same pid, another start time: a reused pid"
        );
        let mut child = Command::new("true").spawn().expect("spawn");
        let pid = child.id() as i32;
        child.wait().expect("wait");
        assert!(!Owner { pid, start: 0 }.alive());
    }

    fn root() -> bool {
        if nix::unistd::geteuid().is_root() {
            return true;
        }
        eprintln!("skipped: mounting needs root");
        false
    }

    /// A tmpfs stands in for the share (this host's kernel may have no
    /// cifs): what matters is whose mount point is touched.
    fn mount_stand_in(dir: &Path) {
        nix::mount::mount(
            Some("share-stand-in"),
            dir,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=1m"),
        )
        .expect("mount a tmpfs");
    }

    fn top(dir: &Path) -> Option<String> {
        mountinfo::current(dir).map(|e| e.source)
    }

    #[test]
    fn sessions_each_have_their_own_and_leave_the_others_alone() {
        if !root() {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().join("smb");
        let a = MountPoint::create(&base).expect("first");
        let b = MountPoint::create(&base).expect("second");
        assert_ne!(a.path(), b.path());
        let base = base.canonicalize().expect("base");
        for p in [&a, &b] {
            assert_eq!(p.path().parent(), Some(base.as_path()));
            assert_eq!(top(p.path()).as_deref(), Some(GUARD_SOURCE));
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(p.path().parent().expect("parent"))
                .expect("base")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        mount_stand_in(a.path());
        mount_stand_in(b.path());
        std::fs::write(a.path().join("a"), b"a").expect("write to a");
        std::fs::write(b.path().join("b"), b"b").expect("write to b");

        // b's session ends: a's share stays mounted and writable.
        nix::mount::umount2(b.path(), MntFlags::empty()).expect("unmount b");
        let b_path = b.path().to_path_buf();
        drop(b);
        assert!(!b_path.exists(), "b's folder removed");
        assert_eq!(top(&b_path), None);
        assert_eq!(top(a.path()).as_deref(), Some("share-stand-in"));
        std::fs::write(a.path().join("a2"), b"a").expect("a still writable");
        // A third session, made while a is in use, leaves it alone.
        let c = MountPoint::create(&base).expect("third");
        assert_eq!(top(a.path()).as_deref(), Some("share-stand-in"));
        drop(c);
        nix::mount::umount2(a.path(), MntFlags::empty()).expect("unmount a");
        drop(a);
        assert_eq!(std::fs::read_dir(&base).expect("base").count(), 0);
    }

    #[test]
    fn a_detached_share_leaves_a_read_only_folder_even_for_root() {
        if !root() {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        // Why a guard: root writes into a 0500 folder regardless.
        let plain = tmp.path().join("plain");
        std::fs::create_dir(&plain).expect("mkdir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o500)).expect("chmod");
        assert!(
            std::fs::write(plain.join("x"), b"x").is_ok(),
            "root passes 0500"
        );

        let p = MountPoint::create(&tmp.path().join("smb")).expect("point");
        let err = std::fs::write(p.path().join("x"), b"x").expect_err("guard");
        assert_eq!(err.raw_os_error(), Some(Errno::EROFS as i32), "{err}");
        mount_stand_in(p.path());
        let mut f = std::fs::File::create(p.path().join(".set.tar.tmp")).expect("create");
        // Someone detaches the share under the writer.
        nix::mount::umount2(p.path(), MntFlags::MNT_DETACH).expect("detach");
        use std::io::Write;
        // The open file still reaches the (detached) share...
        f.write_all(b"more").expect("write to the open file");
        // ...but nothing new can be made in the folder, nor renamed into it.
        for name in ["set.tar", "set.tar.md5"] {
            let err = std::fs::write(p.path().join(name), b"x").expect_err("guarded");
            assert_eq!(err.raw_os_error(), Some(Errno::EROFS as i32), "{err}");
        }
        let err = std::fs::rename(p.path().join(".set.tar.tmp"), p.path().join("set.tar"))
            .expect_err("no rename");
        assert_eq!(err.raw_os_error(), Some(Errno::EROFS as i32), "{err}");
        let path = p.path().to_path_buf();
        drop(p);
        assert!(!path.exists());
    }

    #[test]
    fn stale_points_of_dead_owners_are_cleaned_live_ones_never() {
        if !root() {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().join("smb");
        std::fs::create_dir(&base).expect("base");
        let base = base.canonicalize().expect("base");

        // A process that ended while its share was mounted (guard + share).
        let mut child = Command::new("true").spawn().expect("spawn");
        let dead_pid = child.id() as i32;
        child.wait().expect("wait");
        let dead = base.join(
            Owner {
                pid: dead_pid,
                start: 7,
            }
            .folder_name(0),
        );
        // A running process's point (a sleeping child stands in for a
        // backup in another service).
        let mut live_child = Command::new("sleep").arg("60").spawn().expect("spawn");
        let live_pid = live_child.id() as i32;
        let live_owner = Owner {
            pid: live_pid,
            start: proc_stat(&live_pid.to_string()).expect("stat").1,
        };
        assert!(live_owner.alive());
        let live = base.join(live_owner.folder_name(0));
        // This process's own id with another start time: a reused pid.
        let me = Owner::current().expect("me");
        let reused = base.join(
            Owner {
                start: me.start + 1,
                ..me
            }
            .folder_name(0),
        );
        // Not a mount point's name: never touched.
        let other = base.join("notes");
        for d in [&dead, &live, &reused, &other] {
            std::fs::create_dir(d).expect("mkdir");
            mount_stand_in(d);
        }
        mount_stand_in(&dead);
        std::fs::write(live.join("in-use"), b"x").expect("write");

        let p = MountPoint::create(&base).expect("a new session");
        let mut cleaned = std::fs::read_dir(&base)
            .expect("base")
            .map(|e| e.expect("entry").path())
            .collect::<Vec<_>>();
        cleaned.sort();
        let mut want = vec![live.clone(), other.clone(), p.path().to_path_buf()];
        want.sort();
        assert_eq!(cleaned, want, "the dead and the reused are gone");
        assert_eq!(top(&dead), None);
        assert_eq!(top(&reused), None);
        assert_eq!(top(&live).as_deref(), Some("share-stand-in"));
        assert!(live.join("in-use").exists());
        std::fs::write(live.join("still"), b"x").expect("the live one is writable");
        drop(p);

        // Its owner ends: now the next session cleans it.
        live_child.kill().expect("kill");
        live_child.wait().expect("wait");
        assert!(!live_owner.alive());
        assert_eq!(clean_stale(&base), vec![live.clone()]);
        assert_eq!(top(&live), None);
        assert!(!live.exists());
        nix::mount::umount2(&other, MntFlags::empty()).expect("unmount");
    }
}
