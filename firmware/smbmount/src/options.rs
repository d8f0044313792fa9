//! The option string the kernel's cifs module parses. mount.cifs normally
//! builds it (and adds `ip=`); here it is built directly, so the password
//! never appears on a command line.

use crate::{Login, SmbError};
use std::net::IpAddr;

/// SMB dialects tried, best first. SMB1 is never offered.
pub const DIALECTS: [&str; 3] = ["3.1.1", "3.0", "2.1"];

/// Seconds between the client's echo requests; a server silent for a few of
/// these is taken as gone, so a dropped share fails a backup in seconds.
pub const ECHO_INTERVAL: u32 = 5;

/// Everything that goes into one mount attempt.
#[derive(Clone)]
pub struct CifsOptions<'a> {
    pub addr: IpAddr,
    pub port: u16,
    /// Server as the administrator typed it (name or IP), for `\\host\share`.
    pub host: &'a str,
    pub share: &'a str,
    /// Sub-folder inside the share (`a/b`), empty for the share's root.
    pub path: &'a str,
    pub login: &'a Login,
    pub dialect: &'a str,
    /// SMB 3 encryption (`seal`); signing (`sign`) is always required.
    pub seal: bool,
}

/// Checks a share name or path for what the option syntax cannot carry.
pub fn check_share(share: &str, path: &str) -> Result<(), SmbError> {
    match appconfig::smb::share_problem(share).or_else(|| appconfig::smb::path_problem(path)) {
        Some(why) => Err(SmbError::Setting(why)),
        None => Ok(()),
    }
}

/// The path inside the share as `a/b`: separators unified, no empty parts.
pub fn clean_path(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// A comma inside the password is written twice (the kernel's escape).
pub fn escape_password(password: &str) -> String {
    password.replace(',', ",,")
}

impl CifsOptions<'_> {
    /// The `source` argument of mount(2): `//host/share[/path]`. The folder
    /// inside the share goes here: Linux 6.1's cifs ignores `prefixpath=`
    /// (measured in the guest: the share's root was mounted, sets landed
    /// there and a missing folder went unnoticed), while a path in the
    /// source is mounted, and a missing one fails with ENOENT.
    pub fn source(&self) -> String {
        let path = clean_path(self.path);
        if path.is_empty() {
            format!("//{}/{}", self.host, self.share)
        } else {
            format!("//{}/{}/{path}", self.host, self.share)
        }
    }

    /// The data argument of mount(2). The password is last so that a
    /// caller that logs options can cut it off, though none should.
    pub fn data(&self) -> String {
        let mut o = vec![
            format!("ip={}", self.addr),
            format!("unc=\\\\{}\\{}", self.host, self.share),
            format!("port={}", self.port),
            format!("vers={}", self.dialect),
            format!("username={}", self.login.user),
        ];
        if let Some(d) = &self.login.domain {
            o.push(format!("domain={d}"));
        }
        o.extend(
            [
                // Fail calls instead of retrying forever when the server goes.
                "soft",
                // Its own connection: a test must not ride on an old session.
                "nosharesock",
                "noserverino",
                "uid=0",
                "gid=0",
                "file_mode=0600",
                "dir_mode=0700",
                // Every message signed: a man in the middle cannot change
                // what is written, nor pose as the server.
                "sign",
            ]
            .map(String::from),
        );
        if self.seal {
            // SMB 3 encryption: nobody on the wire reads the sets.
            o.push("seal".into());
        }
        o.push(format!("echo_interval={ECHO_INTERVAL}"));
        o.push(format!(
            "password={}",
            escape_password(&self.login.password)
        ));
        o.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UpnForm;

    #[test]
    fn options_for_a_domain_user_with_path() {
        let login = Login::parse("CORP\\backup", "pa,ss,,w", UpnForm::Split).expect("login");
        let o = CifsOptions {
            addr: "10.0.2.2".parse().expect("ip"),
            port: 4450,
            host: "fs1.corp.example.com",
            share: "Backups",
            path: "\\mail\\nightly/",
            login: &login,
            dialect: "3.1.1",
            seal: false,
        };
        assert_eq!(o.source(), "//fs1.corp.example.com/Backups/mail/nightly");
        assert_eq!(
            o.data(),
            "ip=10.0.2.2,unc=\\\\fs1.corp.example.com\\Backups,port=4450,vers=3.1.1,\
             username=backup,domain=CORP,soft,nosharesock,noserverino,\
             uid=0,gid=0,file_mode=0600,dir_mode=0700,sign,echo_interval=5,password=pa,,ss,,,,w"
        );
        let sealed = CifsOptions { seal: true, ..o };
        assert!(
            sealed.data().contains(",sign,seal,echo_interval=5,"),
            "{}",
            sealed.data()
        );
    }

    #[test]
    fn upn_forms_and_no_path() {
        let split = Login::parse("backup@corp.example.com", "x", UpnForm::Split).expect("login");
        let whole = Login::parse("backup@corp.example.com", "x", UpnForm::Whole).expect("login");
        let mk = |login| {
            CifsOptions {
                addr: "192.168.1.9".parse().expect("ip"),
                port: 445,
                host: "192.168.1.9",
                share: "b",
                path: "",
                login,
                dialect: "3.0",
                seal: false,
            }
            .data()
        };
        let s = mk(&split);
        assert!(
            s.contains(",username=backup,domain=corp.example.com,"),
            "{s}"
        );
        assert!(!s.contains("prefixpath"), "{s}");
        let o = CifsOptions {
            addr: "192.168.1.9".parse().expect("ip"),
            port: 445,
            host: "192.168.1.9",
            share: "b",
            path: "",
            login: &split,
            dialect: "3.0",
            seal: false,
        };
        assert_eq!(o.source(), "//192.168.1.9/b");
        let w = mk(&whole);
        assert!(w.contains(",username=backup@corp.example.com,soft"), "{w}");
        assert!(!w.contains("domain="), "{w}");
    }

    #[test]
    fn share_and_path_checks() {
        assert!(check_share("Backups", "a/b").is_ok());
        assert!(check_share("", "").is_err());
        assert!(check_share("a/b", "").is_err());
        assert!(check_share("a,b", "").is_err());
        assert!(check_share("a", "x/../y").is_err());
        assert_eq!(clean_path("/a//b/./c/"), "a/b/c");
        assert_eq!(escape_password("a,b"), "a,,b");
    }

    #[test]
    fn no_smb1() {
        assert!(!DIALECTS.iter().any(|d| d.starts_with('1')));
        assert_eq!(DIALECTS[0], "3.1.1");
    }
}
