//! Alerts when backups stop working: how old the last verified set may get,
//! where the e-mail goes (through which SMTP relay), and the remote syslog
//! host. The relay's password lives in the secrets file like the SMB one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Alert settings (`[alerts]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// Alert when no verified set was written for longer than this.
    pub stale_after_hours: u32,
    /// Where alert e-mail goes; empty: no e-mail.
    pub email_to: String,
    pub smtp: SmtpSettings,
    pub syslog: RemoteSyslog,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            stale_after_hours: 26,
            email_to: String::new(),
            smtp: SmtpSettings::default(),
            syslog: RemoteSyslog::default(),
        }
    }
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// STARTTLS on the submission port; a relay without it is refused.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption, only when chosen; no password is sent then.
    Plain,
}

impl SmtpSecurity {
    pub const ALL: [SmtpSecurity; 3] = [
        SmtpSecurity::Starttls,
        SmtpSecurity::Tls,
        SmtpSecurity::Plain,
    ];
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::Plain => "plain",
        })
    }
}

impl FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" => Ok(SmtpSecurity::Tls),
            "plain" => Ok(SmtpSecurity::Plain),
            _ => Err(format!("{s:?} is not one of starttls, tls, plain")),
        }
    }
}

/// The SMTP relay alert e-mail goes through.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// IPv4 address or name of the relay; empty: none.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty: the relay takes mail without authentication.
    pub username: String,
    /// Kept in the secrets file.
    #[serde(skip_serializing_if = "crate::omitted_from_file")]
    pub password: String,
    /// Sender address; empty: `backup@<host name>`.
    pub from: String,
    /// SHA-256 of the relay's certificate (hex, colons allowed): trusted
    /// instead of the bundled public roots, for a private relay. Empty: the
    /// certificate must chain to a public root and name the host.
    pub pin_sha256: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: String::new(),
            from: String::new(),
            pin_sha256: String::new(),
        }
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password never reaches a log line.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("from", &self.from)
            .field("pin_sha256", &self.pin_sha256)
            .finish()
    }
}

/// The transport of remote syslog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    #[default]
    Udp,
    Tcp,
}

impl SyslogTransport {
    pub const ALL: [SyslogTransport; 2] = [SyslogTransport::Udp, SyslogTransport::Tcp];
}

impl fmt::Display for SyslogTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyslogTransport::Udp => "udp",
            SyslogTransport::Tcp => "tcp",
        })
    }
}

/// A remote syslog host (RFC 5424 messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteSyslog {
    /// IPv4 address or name; empty: no remote syslog.
    pub host: String,
    pub port: u16,
    pub transport: SyslogTransport,
}

impl Default for RemoteSyslog {
    fn default() -> Self {
        RemoteSyslog {
            host: String::new(),
            port: 514,
            transport: SyslogTransport::Udp,
        }
    }
}

/// Why `host` is not an IPv4 address or host name (`None`: it is one).
pub fn host_problem(host: &str) -> Option<String> {
    if host.parse::<Ipv4Addr>().is_ok() {
        return None;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Some(format!("{host:?} is not an IPv4 address"));
    }
    host.parse::<crate::Hostname>().err()
}

/// Why `addr` is not a plain e-mail address `user@domain` (`None`: it is).
pub fn address_problem(addr: &str) -> Option<String> {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Some(format!(
            "{addr:?} is not an e-mail address such as admin@example.com"
        ));
    };
    if addr.len() > 254
        || local.is_empty()
        || local.len() > 64
        || !local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Some(format!(
            "{addr:?} is not an e-mail address such as admin@example.com"
        ));
    }
    if let Some(why) = host_problem(domain) {
        return Some(format!(
            "{addr:?}: the part after @ is not a domain ({why})"
        ));
    }
    None
}

/// The pin as 32 bytes, from hex with optional colons; `Err` with the reason.
pub fn parse_pin(pin: &str) -> Result<[u8; 32], String> {
    let hex: String = pin
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let bad = || format!("a SHA-256 fingerprint is 64 hex digits (colons allowed), not {pin:?}");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl SmtpSettings {
    /// A user without a password (checked where both are known: the
    /// console's Save and the sender).
    pub fn password_problem(&self) -> Option<String> {
        (!self.username.is_empty() && self.password.is_empty())
            .then(|| "the relay's password is empty".to_string())
    }
}

impl AlertSettings {
    pub fn is_default(&self) -> bool {
        *self == AlertSettings::default()
    }

    /// The sender address: the configured one, or `backup@<hostname>`.
    pub fn sender(&self, hostname: &str) -> String {
        if self.smtp.from.trim().is_empty() {
            format!("backup@{hostname}")
        } else {
            self.smtp.from.trim().to_string()
        }
    }

    /// Field-by-field problems (`(field, reason)`), for the console.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(1..=24 * 90).contains(&self.stale_after_hours) {
            out.push((
                "stale_after_hours",
                "the age limit must be 1 to 2160 hours".to_string(),
            ));
        }
        if !self.email_to.is_empty() {
            if let Some(why) = address_problem(&self.email_to) {
                out.push(("email_to", why));
            }
            if self.smtp.host.is_empty() {
                out.push((
                    "smtp.host",
                    "e-mail needs an SMTP relay: its address or name".into(),
                ));
            }
        }
        let s = &self.smtp;
        if !s.host.is_empty()
            && let Some(why) = host_problem(&s.host)
        {
            out.push(("smtp.host", why));
        }
        if s.port == 0 {
            out.push(("smtp.port", "the port must be 1 to 65535".into()));
        }
        if s.security == SmtpSecurity::Plain && !s.username.is_empty() {
            out.push((
                "smtp.security",
                "a password is only sent over TLS: choose starttls or tls, or no user".into(),
            ));
        }
        // The password is checked apart (`appliance.toml` is checked
        // before the secrets file joins it): see `password_problem`.
        if s.username.contains(['\r', '\n']) || s.password.contains(['\r', '\n']) {
            out.push((
                "smtp.username",
                "no line breaks in the user or password".into(),
            ));
        }
        if !s.from.is_empty()
            && let Some(why) = address_problem(&s.from)
        {
            out.push(("smtp.from", why));
        }
        if !s.pin_sha256.is_empty()
            && let Err(why) = parse_pin(&s.pin_sha256)
        {
            out.push(("smtp.pin_sha256", why));
        }
        if !self.syslog.host.is_empty()
            && let Some(why) = host_problem(&self.syslog.host)
        {
            out.push(("syslog.host", why));
        }
        if self.syslog.port == 0 {
            out.push(("syslog.port", "the port must be 1 to 65535".into()));
        }
        out
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        match self.problems().into_iter().next() {
            Some((field, why)) => Err(format!("alerts.{field}: {why}")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use std::path::Path;

    #[test]
    fn defaults_alert_after_26_hours_and_send_nothing() {
        let a = AlertSettings::default();
        assert_eq!(a.stale_after_hours, 26);
        assert!(a.email_to.is_empty() && a.syslog.host.is_empty());
        assert_eq!(a.smtp.port, 587);
        assert_eq!(a.smtp.security, SmtpSecurity::Starttls);
        assert_eq!(a.syslog.port, 514);
        assert_eq!(a.sender("mx1"), "backup@mx1");
        assert!(a.check().is_ok());
    }

    #[test]
    fn a_full_section_parses() {
        let text = "[alerts]\nstale_after_hours = 30\nemail_to = \"ops@example.com\"\n\
                    [alerts.smtp]\nhost = \"10.0.2.2\"\nport = 2525\nsecurity = \"starttls\"\n\
                    username = \"u\"\npassword = \"p\"\npin_sha256 = \"AB:cd\"\n";
        let err = Config::from_toml(text, Path::new("a.toml"))
            .expect_err("a short pin")
            .to_string();
        assert!(err.contains("alerts.smtp.pin_sha256"), "{err}");
        let pin = "ab".repeat(32);
        let text = text.replace("AB:cd", &pin);
        let c = Config::from_toml(&text, Path::new("a.toml")).expect("parses");
        assert_eq!(c.alerts.smtp.port, 2525);
        assert_eq!(parse_pin(&c.alerts.smtp.pin_sha256), Ok([0xab; 32]));
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        let refuse = |f: &dyn Fn(&mut AlertSettings), field: &str| {
            let mut a = AlertSettings::default();
            f(&mut a);
            let err = a.check().expect_err(field);
            assert!(
                err.starts_with(&format!("alerts.{field}:")),
                "{field}: {err}"
            );
        };
        refuse(&|a| a.stale_after_hours = 0, "stale_after_hours");
        refuse(&|a| a.email_to = "ops".into(), "email_to");
        refuse(&|a| a.email_to = "ops@example.com".into(), "smtp.host");
        refuse(&|a| a.smtp.host = "10.0.2.300".into(), "smtp.host");
        refuse(&|a| a.smtp.host = "bad host".into(), "smtp.host");
        refuse(&|a| a.smtp.port = 0, "smtp.port");
        refuse(
            &|a| {
                a.smtp.security = SmtpSecurity::Plain;
                a.smtp.username = "u".into();
                a.smtp.password = "p".into();
            },
            "smtp.security",
        );
        let mut a = AlertSettings::default();
        a.smtp.username = "u".into();
        assert!(a.check().is_ok() && a.smtp.password_problem().is_some());
        refuse(&|a| a.smtp.from = "a@b@c d".into(), "smtp.from");
        refuse(&|a| a.syslog.host = "-x".into(), "syslog.host");
        assert_eq!(address_problem("Ops.Team+x@mail.example.com"), None);
        assert!(address_problem("ops@").is_some());
        assert!(address_problem("o\r\nps@example.com").is_some());
    }

    #[test]
    fn the_relay_password_is_hidden_and_kept_out_of_the_file() {
        let mut c = Config::default();
        c.alerts.smtp.host = "relay.example.com".into();
        c.alerts.smtp.username = "alerts".into();
        c.alerts.smtp.password = "Relay-pw-42".into();
        assert!(!format!("{c:?}").contains("Relay-pw-42"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("appliance.toml");
        c.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("Relay-pw-42"), "{text}");
        let secrets = std::fs::read_to_string(crate::secrets_path(&path)).expect("secrets");
        assert!(secrets.contains("Relay-pw-42"), "{secrets}");
        assert_eq!(Config::load(&path).expect("load"), c);
    }
}
