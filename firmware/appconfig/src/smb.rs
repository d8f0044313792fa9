//! What an SMB share's settings must be for the kernel to mount them: the
//! server as `host[:port]`, share and path names its option string can
//! carry, and the user name forms. `smbmount` parses with these same
//! functions, so the console, [`crate::Config::check`] and the mount refuse
//! the same values in the same words.

use std::net::IpAddr;

/// The standard SMB port.
pub const SMB_PORT: u16 = 445;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

/// The server as the administrator typed it: an IP address or a fully
/// qualified name, optionally with a port (`10.0.2.2:4450`, `[fd00::5]:445`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: Host,
    pub port: u16,
}

impl Server {
    pub fn parse(text: &str) -> Result<Server, String> {
        let text = text.trim();
        let bad = |why: &str| format!("server {text:?}: {why}");
        if text.is_empty() {
            return Err(bad("the server's address or name is empty"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address in brackets needs the closing ']'"))?;
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad("expected :port after ']'"))?,
                    ),
                ),
            }
        } else if text.matches(':').count() == 1 {
            let (h, p) = text.split_once(':').unwrap_or((text, ""));
            (h, Some(p))
        } else {
            (text, None)
        };
        let port = match port {
            None => SMB_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Server {
                host: Host::Ip(ip),
                port,
            });
        }
        let name = host.trim_end_matches('.');
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(bad("not an IP address or a host name"));
        }
        Ok(Server {
            host: Host::Name(name.to_ascii_lowercase()),
            port,
        })
    }

    /// The host as it goes into `\\host\share` (no port).
    pub fn host_text(&self) -> String {
        match &self.host {
            Host::Ip(ip) => ip.to_string(),
            Host::Name(n) => n.clone(),
        }
    }
}

/// Why a share name cannot be mounted.
pub fn share_problem(share: &str) -> Option<String> {
    let share = share.trim();
    if share.is_empty() {
        return Some("the share name is empty".into());
    }
    if share.contains(['/', '\\']) {
        return Some("a share name has no slashes; put sub-folders in Path".into());
    }
    // The kernel's option parser has no escape for commas outside the
    // password, and NUL ends the whole option string.
    if share.contains([',', '\0']) {
        return Some("share names and paths with commas cannot be mounted".into());
    }
    None
}

/// Why a folder inside the share cannot be used.
pub fn path_problem(path: &str) -> Option<String> {
    if path.contains([',', '\0']) {
        return Some("share names and paths with commas cannot be mounted".into());
    }
    if path.split(['/', '\\']).any(|p| p == "..") {
        return Some("the path may not contain '..'".into());
    }
    None
}

/// Why a password cannot be handed to the kernel (commas are escaped).
pub fn password_problem(password: &str) -> Option<String> {
    password
        .contains('\0')
        .then(|| "the password may not contain a NUL".into())
}

/// `DOMAIN\user`, `user@domain` or a plain `user`, as user and domain.
/// `upn_whole` keeps `user@domain` whole as the user (a test tool's
/// choice; the appliance splits it).
pub fn user_parts(username: &str, upn_whole: bool) -> Result<(&str, Option<&str>), String> {
    let username = username.trim();
    let bad = |why: &str| format!("user name {username:?}: {why}");
    if username.contains([',', '\0']) {
        return Err(bad("may not contain a comma"));
    }
    let (user, domain) = if let Some((d, u)) = username.split_once('\\') {
        (u, Some(d))
    } else if let Some((u, d)) = username.rsplit_once('@') {
        if upn_whole {
            (username, None)
        } else {
            (u, Some(d))
        }
    } else {
        (username, None)
    };
    if user.is_empty() {
        return Err(bad("the user part is empty"));
    }
    if domain.is_some_and(|d| d.is_empty()) {
        return Err(bad("the domain part is empty"));
    }
    let both_forms = username.contains('\\') && user.contains('@');
    if both_forms || user.contains('\\') || domain.is_some_and(|d| d.contains(['\\', '@'])) {
        return Err(bad("use DOMAIN\\user or user@domain, not both"));
    }
    Ok((user, domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        let s = Server::parse("10.0.2.2:4450").expect("ip:port");
        assert_eq!(s.host, Host::Ip("10.0.2.2".parse().expect("ip")));
        assert_eq!(s.port, 4450);
        assert_eq!(Server::parse("192.168.1.5").expect("ip").port, 445);
        let s = Server::parse("FS1.Corp.Example.com").expect("name");
        assert_eq!(s.host, Host::Name("fs1.corp.example.com".into()));
        let s = Server::parse("[fd00::5]:4450").expect("v6");
        assert_eq!(s.host, Host::Ip("fd00::5".parse().expect("ip")));
        assert_eq!(s.port, 4450);
        assert_eq!(Server::parse("fd00::5").expect("bare v6").port, 445);
        for bad in [
            "", "a b", "host:0", "host:x", "-x.com", "[fd00::5", "a..b", "x:99999",
        ] {
            assert!(Server::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_forms() {
        assert_eq!(
            user_parts("CORP\\backup", false),
            Ok(("backup", Some("CORP")))
        );
        assert_eq!(
            user_parts("backup@corp.example.com", false),
            Ok(("backup", Some("corp.example.com")))
        );
        assert_eq!(
            user_parts("backup@corp.example.com", true),
            Ok(("backup@corp.example.com", None))
        );
        assert_eq!(user_parts(" backup ", false), Ok(("backup", None)));
        for bad in ["", "CORP\\", "\\x", "a,b", "@corp", "x@", "A\\b@c"] {
            assert!(user_parts(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shares_paths_and_passwords() {
        assert_eq!(share_problem("Backups"), None);
        assert_eq!(path_problem("a/b"), None);
        assert!(share_problem("").is_some());
        assert!(share_problem("a/b").is_some());
        assert!(share_problem("a,b").is_some());
        assert!(path_problem("x,y").is_some());
        assert!(path_problem("x/../y").is_some());
        assert_eq!(password_problem("pa,ss"), None);
        assert!(password_problem("a\0b").is_some());
    }
}
