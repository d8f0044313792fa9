use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Host name, time zone and time source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemSettings {
    pub hostname: Hostname,
    /// A POSIX TZ value or a zone name such as `Europe/Prague`; `UTC` by default.
    pub timezone: String,
    /// NTP server as an IPv4 address or host name; empty: no time sync.
    pub ntp_server: String,
}

impl Default for SystemSettings {
    fn default() -> Self {
        SystemSettings {
            hostname: Hostname("appliance".into()),
            timezone: "UTC".into(),
            ntp_server: String::new(),
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
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Hostname> for String {
    fn from(h: Hostname) -> String {
        h.0
    }
}

impl TryFrom<String> for Hostname {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
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
    fn hostnames() {
        assert!("mail-1.example.com".parse::<Hostname>().is_ok());
        assert!("".parse::<Hostname>().is_err());
        assert!("bad_name".parse::<Hostname>().is_err());
        assert!("-x".parse::<Hostname>().is_err());
        assert!("a..b".parse::<Hostname>().is_err());
    }
}
