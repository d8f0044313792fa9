use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The conversions of a checked string (a newtype over `String` whose
/// `FromStr` is the check): shown as itself, and read by serde through the
/// check (`#[serde(try_from = "String", into = "String")]`).
macro_rules! checked_string {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }

        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
    };
}

checked_string!(UnitId);
checked_string!(Hostname);

/// Host name, time zone and time source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemSettings {
    /// This unit's identity, made on its first boot (`appctl data-layout`)
    /// and written into every set it makes: retention and leftover
    /// cleaning touch only sets with this identity, whatever their host
    /// name says. Empty only before the first boot.
    #[serde(skip_serializing_if = "UnitId::is_empty")]
    pub unit_id: UnitId,
    pub hostname: Hostname,
    /// A POSIX TZ value or a zone name such as `Europe/Prague`; `UTC` by default.
    pub timezone: String,
    /// NTP servers, each an IPv4 address or a host name with an optional
    /// `:port`, separated by spaces or commas; empty: no time sync. See
    /// [`SystemSettings::ntp_servers`].
    pub ntp_server: String,
}

/// The port NTP servers listen on.
pub const NTP_PORT: u16 = 123;

/// One NTP server of `system.ntp_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtpServer {
    /// An IPv4 address or a host name (lower case).
    pub host: String,
    pub port: u16,
}

impl NtpServer {
    /// The address, when the host is one (else a name to look up).
    pub fn ip(&self) -> Option<std::net::Ipv4Addr> {
        self.host.parse().ok()
    }
}

/// Reads an NTP server list (see [`SystemSettings::ntp_server`]).
pub fn parse_ntp_servers(text: &str) -> Result<Vec<NtpServer>, String> {
    text.split([' ', ',', '\t'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (host, port) = match s.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
                        format!("NTP server {s:?}: the port must be a number from 1 to 65535")
                    })?,
                ),
                None => (s, NTP_PORT),
            };
            let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if numeric && host.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(format!("NTP server {s:?} is not an IPv4 address"));
            }
            if !numeric && host.parse::<Hostname>().is_err() {
                return Err(format!("NTP server {s:?} is not an address or host name"));
            }
            Ok(NtpServer {
                host: host.to_ascii_lowercase(),
                port,
            })
        })
        .collect()
}

impl SystemSettings {
    /// The NTP servers, in the order they are asked.
    pub fn ntp_servers(&self) -> Result<Vec<NtpServer>, String> {
        parse_ntp_servers(&self.ntp_server)
    }

    /// The zone of [`SystemSettings::timezone`].
    pub fn zone(&self) -> Result<jiff::tz::TimeZone, String> {
        crate::zone(&self.timezone)
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        self.zone().map_err(|e| format!("system.timezone: {e}"))?;
        self.ntp_servers()
            .map(drop)
            .map_err(|e| format!("system.ntp_server: {e}"))
    }
}

impl Default for SystemSettings {
    fn default() -> Self {
        SystemSettings {
            unit_id: UnitId::default(),
            hostname: Hostname(FACTORY_HOSTNAME.into()),
            timezone: "UTC".into(),
            ntp_server: String::new(),
        }
    }
}

/// The host name of a unit that has not got its own yet; the first boot
/// makes it unique ([`Hostname::for_unit`]).
pub const FACTORY_HOSTNAME: &str = "appliance";

/// A unit's identity: a random UUID (version 4), in its usual text form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitId(String);

impl UnitId {
    /// A new random identity.
    pub fn generate() -> Result<UnitId, String> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| format!("no random numbers: {e}"))?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Ok(UnitId(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for UnitId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let groups: Vec<&str> = s.split('-').collect();
        let shape = [8, 4, 4, 4, 12];
        let ok = s.is_empty()
            || (groups.len() == shape.len()
                && groups
                    .iter()
                    .zip(shape)
                    .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit())));
        if ok {
            Ok(UnitId(s))
        } else {
            Err(format!(
                "unit id {s:?} is not a UUID such as 0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f"
            ))
        }
    }
}

/// An RFC 1123 host name (labels of letters, digits and hyphens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hostname(String);

impl Hostname {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The factory name made unique for one unit: `appliance-` and the last
    /// three bytes of its MAC address (`appliance-5e1f0a`), as routers and
    /// printers name themselves, so two new units never share a name.
    pub fn for_unit(mac: [u8; 6]) -> Hostname {
        Hostname(format!(
            "{FACTORY_HOSTNAME}-{:02x}{:02x}{:02x}",
            mac[3], mac[4], mac[5]
        ))
    }

    /// Still the factory name every unit starts with.
    pub fn is_factory(&self) -> bool {
        self.0 == FACTORY_HOSTNAME
    }
}

impl FromStr for Hostname {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("host name is empty".into());
        }
        if s.len() > 253 {
            return Err("host name is longer than 253 characters".into());
        }
        for label in s.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(format!(
                    "host name {s:?}: each part must be 1 to 63 characters"
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!(
                    "host name {s:?}: only letters, digits and '-' are allowed"
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(format!(
                    "host name {s:?}: a part cannot start or end with '-'"
                ));
            }
        }
        Ok(Hostname(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_servers() {
        assert_eq!(parse_ntp_servers(""), Ok(vec![]));
        let s = parse_ntp_servers("10.0.2.2:12300, Pool.NTP.org 192.168.1.1").expect("parses");
        let hosts: Vec<(&str, u16)> = s.iter().map(|n| (n.host.as_str(), n.port)).collect();
        assert_eq!(
            hosts,
            [
                ("10.0.2.2", 12300),
                ("pool.ntp.org", 123),
                ("192.168.1.1", 123)
            ]
        );
        assert!(
            parse_ntp_servers("10.0.2.2:0")
                .unwrap_err()
                .contains("port")
        );
        assert!(
            parse_ntp_servers("10.0.2.300")
                .unwrap_err()
                .contains("not an IPv4")
        );
        assert!(parse_ntp_servers("bad_host").is_err());
    }

    #[test]
    fn unit_ids() {
        let a = UnitId::generate().expect("random");
        let b = UnitId::generate().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 36);
        assert_eq!(a.as_str().as_bytes()[14], b'4', "version 4: {a}");
        assert_eq!(a.as_str().parse::<UnitId>().expect("parses"), a);
        assert_eq!(
            "0F8C2D3E-5B7A-4C1D-9E2F-3A4B5C6D7E8F"
                .parse::<UnitId>()
                .expect("upper case")
                .as_str(),
            "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f"
        );
        assert!("".parse::<UnitId>().expect("empty").is_empty());
        for bad in [
            "x",
            "0f8c2d3e-5b7a-4c1d-9e2f",
            "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8g",
        ] {
            assert!(bad.parse::<UnitId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_host_names() {
        let h = Hostname::for_unit([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(h.as_str(), "appliance-123456");
        assert!(!h.is_factory());
        assert!(SystemSettings::default().hostname.is_factory());
        assert!(h.as_str().parse::<Hostname>().is_ok());
    }

    #[test]
    fn hostnames() {
        assert!("mail-1.example.com".parse::<Hostname>().is_ok());
        assert!("".parse::<Hostname>().is_err());
        assert!("bad_name".parse::<Hostname>().is_err());
        assert!("-x".parse::<Hostname>().is_err());
        assert!("a..b".parse::<Hostname>().is_err());
    }
}
