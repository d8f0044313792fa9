//! Least privilege for the appliance's services (docs/security.md).
//!
//! A service calls [`enter`] once, early in its start-up and before it
//! starts a thread (capabilities, the bounding set and `no_new_privs` are
//! per thread; [`enter`] refuses when other threads run). With a
//! [`Plan`] it:
//!
//! - empties the capability bounding set but for the plan's capabilities,
//!   so neither the service nor anything it starts can ever get another;
//! - clears the ambient set and, when the plan names a user, switches to
//!   that user and group (real, effective and saved; no supplementary
//!   groups) keeping the plan's capabilities across the switch
//!   (`PR_SET_KEEPCAPS`);
//! - sets the permitted and effective sets to exactly the plan's
//!   capabilities and the inheritable set to none;
//! - sets `PR_SET_NO_NEW_PRIVS` and makes the process not dumpable;
//! - reads `/proc/self/status` back and fails unless the kernel says so.
//!
//! A service that was not started as root (a developer's run, a host test
//! as another user) has nothing to give up: [`enter`] only sets
//! `no_new_privs` and says so. This is written with a few system calls
//! (`prctl`, `capset`) rather than a crate: the services are static glibc
//! binaries and need nothing more.

use nix::errno::Errno;
use nix::libc;
use nix::unistd::{Gid, Uid};
use std::fmt;

/// A Linux capability (its number in `<linux/capability.h>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap(pub u8);

impl Cap {
    pub const CHOWN: Cap = Cap(0);
    pub const DAC_OVERRIDE: Cap = Cap(1);
    pub const DAC_READ_SEARCH: Cap = Cap(2);
    pub const FOWNER: Cap = Cap(3);
    pub const KILL: Cap = Cap(5);
    pub const SETGID: Cap = Cap(6);
    pub const SETUID: Cap = Cap(7);
    pub const SETPCAP: Cap = Cap(8);
    pub const NET_BIND_SERVICE: Cap = Cap(10);
    pub const NET_ADMIN: Cap = Cap(12);
    pub const NET_RAW: Cap = Cap(13);
    pub const SYS_MODULE: Cap = Cap(16);
    pub const SYS_RAWIO: Cap = Cap(17);
    pub const SYS_CHROOT: Cap = Cap(18);
    pub const SYS_PTRACE: Cap = Cap(19);
    pub const SYS_ADMIN: Cap = Cap(21);
    pub const SYS_BOOT: Cap = Cap(22);
    pub const SYS_TIME: Cap = Cap(25);
    pub const MKNOD: Cap = Cap(27);
    pub const SYSLOG: Cap = Cap(34);

    /// The bit of this capability in a mask (`CapEff:` and the others).
    pub const fn bit(self) -> u64 {
        1u64 << self.0
    }

    /// The kernel's name, lower case without `cap_` (`sys_admin`).
    pub fn name(self) -> String {
        const NAMES: [&str; 41] = [
            "chown",
            "dac_override",
            "dac_read_search",
            "fowner",
            "fsetid",
            "kill",
            "setgid",
            "setuid",
            "setpcap",
            "linux_immutable",
            "net_bind_service",
            "net_broadcast",
            "net_admin",
            "net_raw",
            "ipc_lock",
            "ipc_owner",
            "sys_module",
            "sys_rawio",
            "sys_chroot",
            "sys_ptrace",
            "sys_pacct",
            "sys_admin",
            "sys_boot",
            "sys_nice",
            "sys_resource",
            "sys_time",
            "sys_tty_config",
            "mknod",
            "lease",
            "audit_write",
            "audit_control",
            "setfcap",
            "mac_override",
            "mac_admin",
            "syslog",
            "wake_alarm",
            "block_suspend",
            "audit_read",
            "perfmon",
            "bpf",
            "checkpoint_restore",
        ];
        NAMES
            .get(usize::from(self.0))
            .map_or_else(|| format!("cap{}", self.0), |n| (*n).to_string())
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The mask of a list of capabilities.
pub fn mask(caps: &[Cap]) -> u64 {
    caps.iter().fold(0, |m, c| m | c.bit())
}

/// The names of the capabilities in a mask, comma-separated (`none`).
pub fn names(mask: u64) -> String {
    let v: Vec<String> = (0..64u8)
        .filter(|i| mask & (1u64 << i) != 0)
        .map(|i| Cap(i).name())
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

/// What a service keeps.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The service's name, for messages.
    pub service: &'static str,
    /// Run as this user and group (`uid`, `gid`); `None` stays root.
    pub user: Option<(u32, u32)>,
    /// The capabilities kept; every other one is gone for good.
    pub keep: &'static [Cap],
}

/// What [`enter`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entered {
    /// Started as root; now runs by the plan.
    Reduced,
    /// Not started as root: nothing to give up (`no_new_privs` is set).
    WasUnprivileged,
}

#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    #[error("{service}: cannot {what}: {source}")]
    Call {
        service: &'static str,
        what: &'static str,
        source: Errno,
    },
    #[error("{service}: other threads run already; privileges are per thread")]
    Threads { service: &'static str },
    #[error("{service}: not as planned after giving up privileges: {detail}")]
    NotAsPlanned {
        service: &'static str,
        detail: String,
    },
}

/// What `/proc/<pid>/status` says about a process's privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// Real, effective, saved and file-system user ids.
    pub uid: [u32; 4],
    pub gid: [u32; 4],
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
    pub cap_bnd: u64,
    pub cap_amb: u64,
    pub no_new_privs: bool,
    /// Threads of the process.
    pub threads: u32,
}

impl Status {
    /// Parses the text of `/proc/<pid>/status`; `None` when a field is missing.
    pub fn parse(text: &str) -> Option<Status> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        let ids = |name: &str| -> Option<[u32; 4]> {
            let v: Vec<u32> = field(name)?
                .split_whitespace()
                .map(|s| s.parse().ok())
                .collect::<Option<_>>()?;
            v.try_into().ok()
        };
        let hex = |name: &str| u64::from_str_radix(field(name)?, 16).ok();
        Some(Status {
            uid: ids("Uid")?,
            gid: ids("Gid")?,
            cap_inh: hex("CapInh")?,
            cap_prm: hex("CapPrm")?,
            cap_eff: hex("CapEff")?,
            cap_bnd: hex("CapBnd")?,
            cap_amb: hex("CapAmb")?,
            no_new_privs: field("NoNewPrivs")? == "1",
            threads: field("Threads")?.parse().ok()?,
        })
    }

    /// This process's.
    pub fn current() -> std::io::Result<Status> {
        let text = std::fs::read_to_string("/proc/self/status")?;
        Status::parse(&text).ok_or_else(|| std::io::Error::other("unreadable /proc/self/status"))
    }

    /// What is wrong against `plan` (an empty list when it holds).
    pub fn differences(&self, plan: &Plan) -> Vec<String> {
        let want = mask(plan.keep);
        let (uid, gid) = plan.user.unwrap_or((0, 0));
        let mut wrong = Vec::new();
        if self.uid != [uid; 4] {
            wrong.push(format!("uids {:?}, not {uid}", self.uid));
        }
        if self.gid != [gid; 4] {
            wrong.push(format!("gids {:?}, not {gid}", self.gid));
        }
        for (name, have, should) in [
            ("effective", self.cap_eff, want),
            ("permitted", self.cap_prm, want),
            ("bounding", self.cap_bnd, want),
            ("inheritable", self.cap_inh, 0),
            ("ambient", self.cap_amb, 0),
        ] {
            if have != should {
                wrong.push(format!(
                    "{name} capabilities {}, not {}",
                    names(have),
                    names(should)
                ));
            }
        }
        if !self.no_new_privs {
            wrong.push("no_new_privs not set".into());
        }
        wrong
    }
}

/// Gives up every privilege the plan does not keep (see the crate's notes).
/// Call it from the main thread before any other thread starts.
pub fn enter(plan: &Plan) -> Result<Entered, PrivError> {
    let service = plan.service;
    let call = |what: &'static str, r: nix::Result<()>| {
        r.map_err(|source| PrivError::Call {
            service,
            what,
            source,
        })
    };
    if !nix::unistd::geteuid().is_root() {
        call("set no_new_privs", nix::sys::prctl::set_no_new_privs())?;
        return Ok(Entered::WasUnprivileged);
    }
    if Status::current().map(|s| s.threads).unwrap_or(1) > 1 {
        return Err(PrivError::Threads { service });
    }
    let want = mask(plan.keep);
    call("empty the capability bounding set", drop_bounding(want))?;
    call(
        "clear the ambient capabilities",
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as u64,
            0,
        ),
    )?;
    if let Some((uid, gid)) = plan.user {
        call(
            "keep capabilities across the user change",
            prctl(libc::PR_SET_KEEPCAPS, 1, 0),
        )?;
        call("drop supplementary groups", nix::unistd::setgroups(&[]))?;
        let (g, u) = (Gid::from_raw(gid), Uid::from_raw(uid));
        call("change group", nix::unistd::setresgid(g, g, g))?;
        call("change user", nix::unistd::setresuid(u, u, u))?;
        call(
            "stop keeping capabilities across user changes",
            prctl(libc::PR_SET_KEEPCAPS, 0, 0),
        )?;
    }
    call("set the capabilities", capset(want, want, 0))?;
    call("set no_new_privs", nix::sys::prctl::set_no_new_privs())?;
    call(
        "make the process not dumpable",
        nix::sys::prctl::set_dumpable(false),
    )?;
    verify(plan)?;
    Ok(Entered::Reduced)
}

/// Checks what the kernel says against the plan.
fn verify(plan: &Plan) -> Result<(), PrivError> {
    let not = |detail: String| PrivError::NotAsPlanned {
        service: plan.service,
        detail,
    };
    let status = Status::current().map_err(|e| not(format!("/proc/self/status: {e}")))?;
    let wrong = status.differences(plan);
    if !wrong.is_empty() {
        return Err(not(wrong.join("; ")));
    }
    if plan.user.is_some() {
        if !nix::unistd::getgroups().is_ok_and(|g| g.is_empty()) {
            return Err(not("supplementary groups left".into()));
        }
        if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(not("setuid(0) worked".into()));
        }
    }
    Ok(())
}

fn prctl(option: libc::c_int, arg2: u64, arg3: u64) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(option, arg2, arg3, 0u64, 0u64) };
    Errno::result(r).map(drop)
}

/// The highest capability this kernel knows.
fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
}

/// Drops every capability not in `keep` from the bounding set (needs
/// CAP_SETPCAP, so before the others go).
fn drop_bounding(keep: u64) -> nix::Result<()> {
    for cap in 0..=last_cap().min(63) {
        if keep & (1u64 << cap) != 0 {
            continue;
        }
        match prctl(libc::PR_CAPBSET_DROP, u64::from(cap), 0) {
            Ok(()) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `capset(2)`, version 3 (64-bit sets).
fn capset(effective: u64, permitted: u64, inheritable: u64) -> nix::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let word = |m: u64, i: u32| (m >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data {
        effective: word(effective, i),
        permitted: word(permitted, i),
        inheritable: word(inheritable, i),
    });
    // SAFETY: the header and two data words as capset(2) reads them.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests;
