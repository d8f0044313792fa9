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
/// - `-E`: its log lines on standard error, which the gate reads (to count
///   failed logins) and passes to syslog;
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
    let mut a: Vec<OsString> = ["-i", "-E", "-j", "-k", "-m", "-T"]
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

/// One line of Dropbear's log without its own `[pid] Mon DD HH:MM:SS `
/// prefix (syslog adds time and pid again).
pub fn strip_prefix(line: &str) -> &str {
    let rest = match line.strip_prefix('[') {
        Some(r) => match r.split_once("] ") {
            Some((pid, rest)) if pid.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => return line,
        },
        None => return line,
    };
    // "Dec 04 04:30:00 " is 16 bytes.
    match rest.get(..16) {
        Some(stamp) if stamp.as_bytes()[15] == b' ' && stamp.as_bytes()[9] == b':' => &rest[16..],
        _ => rest,
    }
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
                "-i", "-E", "-j", "-k", "-m", "-T", "3", "-K", "30", "-r", "/k1", "-r", "/k2"
            ]
        );
        assert!(!s.contains(&"-s"), "passwords stay allowed");
    }

    #[test]
    fn log_prefix_is_stripped() {
        assert_eq!(
            strip_prefix("[123] Dec 04 04:30:00 Bad password attempt for 'x'"),
            "Bad password attempt for 'x'"
        );
        assert_eq!(strip_prefix("[12] short"), "short");
        assert_eq!(strip_prefix("no prefix"), "no prefix");
        assert_eq!(strip_prefix("[x] y"), "[x] y");
        assert_eq!(strip_prefix("[1] é"), "é");
    }
}
