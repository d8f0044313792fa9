use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// The FTP pull service's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FtpSettings {
    /// Who may connect; empty means nobody.
    pub access_list: AccessList,
    /// Allow FTP without TLS (explicit FTPS is always offered).
    pub allow_plain: bool,
    /// Ports for passive-mode data connections.
    pub passive_ports: PortRange,
    /// Address announced in passive-mode replies, for clients that reach the
    /// appliance through address translation (a port forward, a NAT
    /// router). Unset: the address the client connected to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passive_address: Option<Ipv4Addr>,
}

impl Default for FtpSettings {
    fn default() -> Self {
        FtpSettings {
            access_list: AccessList::default(),
            allow_plain: false,
            passive_ports: PortRange {
                first: 50000,
                last: 50100,
            },
            passive_address: None,
        }
    }
}

impl FtpSettings {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.passive_ports.first < 1024 || self.passive_ports.first > self.passive_ports.last {
            return Err(format!(
                "ftp.passive_ports {}: must be a range of ports from 1024 up",
                self.passive_ports
            ));
        }
        Ok(())
    }
}

/// One entry of the FTP Access List: an address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRule {
    Host(Ipv4Addr),
    Net(Ipv4Net),
}

impl AccessRule {
    pub fn allows(&self, ip: Ipv4Addr) -> bool {
        match self {
            AccessRule::Host(h) => *h == ip,
            AccessRule::Net(n) => n.contains(&ip),
        }
    }
}

impl fmt::Display for AccessRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessRule::Host(h) => write!(f, "{h}"),
            AccessRule::Net(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for AccessRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.contains('/') {
            let net: Ipv4Net = s
                .parse()
                .map_err(|_| format!("{s:?} is not an address block such as 192.168.1.0/24"))?;
            if net.trunc() != net {
                return Err(format!(
                    "{s:?} has host bits set; the block is {}",
                    net.trunc()
                ));
            }
            Ok(AccessRule::Net(net))
        } else {
            s.parse()
                .map(AccessRule::Host)
                .map_err(|_| format!("{s:?} is not an IPv4 address"))
        }
    }
}

/// The FTP Access List, written in the console as comma-separated entries.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct AccessList(pub Vec<AccessRule>);

impl AccessList {
    /// Whether a peer may connect. IPv4-mapped IPv6 peers count as IPv4.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let ip = match peer {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4,
                None => return false,
            },
        };
        self.0.iter().any(|r| r.allows(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the console's comma-separated form.
    pub fn parse_list(s: &str) -> Result<AccessList, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(AccessList)
    }
}

impl fmt::Display for AccessList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

impl TryFrom<Vec<String>> for AccessList {
    type Error = String;
    fn try_from(v: Vec<String>) -> Result<Self, String> {
        v.iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<_>, _>>()
            .map(AccessList)
    }
}

impl From<AccessList> for Vec<String> {
    fn from(l: AccessList) -> Vec<String> {
        l.0.iter().map(ToString::to_string).collect()
    }
}

/// An inclusive range of TCP ports, written `first-last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a port range such as 50000-50100");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let first = a.trim().parse().map_err(|_| bad())?;
        let last = b.trim().parse().map_err(|_| bad())?;
        Ok(PortRange { first, last })
    }
}

impl TryFrom<String> for PortRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<PortRange> for String {
    fn from(p: PortRange) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_address_is_optional() {
        let c: FtpSettings = toml::from_str("").expect("empty");
        assert_eq!(c.passive_address, None);
        assert!(
            !toml::to_string(&c)
                .expect("ser")
                .contains("passive_address")
        );
        let c: FtpSettings = toml::from_str("passive_address = \"127.0.0.1\"\n").expect("address");
        assert_eq!(c.passive_address, Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert!(toml::from_str::<FtpSettings>("passive_address = \"mx1\"\n").is_err());
    }

    #[test]
    fn access_list() {
        let l = AccessList::parse_list("192.168.1.15, 10.0.0.0/8,").expect("parses");
        assert!(l.allows("192.168.1.15".parse().expect("ip")));
        assert!(l.allows("10.9.8.7".parse().expect("ip")));
        assert!(l.allows("::ffff:10.1.1.1".parse().expect("ip")));
        assert!(!l.allows("192.168.1.16".parse().expect("ip")));
        assert!(!AccessList::default().allows("127.0.0.1".parse().expect("ip")));
        assert!(
            AccessList::parse_list("1.2.3")
                .unwrap_err()
                .contains("not an IPv4 address")
        );
        assert!(
            AccessList::parse_list("10.0.0.1/8")
                .unwrap_err()
                .contains("host bits")
        );
        assert_eq!(l.to_string(), "192.168.1.15, 10.0.0.0/8");
    }
}
