//! The server as the administrator typed it: an IP address or a fully
//! qualified name, optionally with a port (`10.0.2.2:4450`, `[fd00::5]:445`).

use crate::SmbError;
use std::net::IpAddr;

/// The standard SMB port.
pub const SMB_PORT: u16 = 445;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: Host,
    pub port: u16,
}

impl Server {
    pub fn parse(text: &str) -> Result<Server, SmbError> {
        let text = text.trim();
        let bad = |why: &str| SmbError::Setting(format!("server {text:?}: {why}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
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
}
