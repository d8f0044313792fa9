//! How Dropbear is started for one admitted connection.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where both builds install it.
pub const DEFAULT_DROPBEAR: &str = "/usr/sbin/dropbear";
pub const DEFAULT_DROPBEARKEY: &str = "/usr/bin/dropbearkey";

/// Password and key tries per connection (Dropbear's default is 10).
pub const AUTH_TRIES: u32 = 3;
/// Seconds between keepalives; three unanswered ones end the session, so a
/// vanished client frees its slot.
pub const KEEPALIVE_SECS: u32 = 30;

/// The arguments of `dropbear` for one connection on its standard input:
///
/// - `-i`: inetd mode, one connection, no listening of its own;
/// - its log goes to syslog (inetd mode refuses `-E`), where the gate reads
///   the failed logins back ([`crate::logtail`]);
/// - `-j -k`: no local or remote port forwarding;
/// - `-m`: no message of the day;
/// - `-T`: [`AUTH_TRIES`]; `-K`: [`KEEPALIVE_SECS`];
/// - `-r` for each host key (made by [`crate::keys::ensure_host_keys`]).
///
/// Not `-w` (no root logins) nor `-g`: Dropbear decides those by uid, and
/// `sysconfig` is uid 0. Root and every other account are refused because
/// only the console is listed in `/etc/shells`. Not `-s`: the console
/// password logs in as well as the authorized keys.
pub fn args(host_keys: &[PathBuf]) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["-i", "-j", "-k", "-m", "-T"]
        .iter()
        .map(OsString::from)
        .collect();
    a.push(AUTH_TRIES.to_string().into());
    a.push("-K".into());
    a.push(KEEPALIVE_SECS.to_string().into());
    for k in host_keys {
        a.push("-r".into());
        a.push(k.as_os_str().to_owned());
    }
    a
}

/// The program to run, checked to exist (a clear message at start).
pub fn check_program(p: &Path) -> Result<(), String> {
    if p.is_file() {
        Ok(())
    } else {
        Err(format!("{} is not installed", p.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_close_forwarding_and_name_the_keys() {
        let a = args(&[PathBuf::from("/k1"), PathBuf::from("/k2")]);
        let s: Vec<&str> = a.iter().map(|x| x.to_str().expect("utf8")).collect();
        assert_eq!(
            s,
            [
                "-i", "-j", "-k", "-m", "-T", "3", "-K", "30", "-r", "/k1", "-r", "/k2"
            ]
        );
        assert!(!s.contains(&"-s"), "passwords stay allowed");
        assert!(!s.contains(&"-E"), "inetd mode refuses it");
    }
}
