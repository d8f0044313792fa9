//! Alerts when backups stop working (see `docs/architecture.md`).
//!
//! [`eval`] decides, from what backupd knows and the clock, whether the
//! administrator must hear of the backups and why; [`deliver`] tells the
//! configured channels: remote syslog ([`syslog`], RFC 5424) and e-mail
//! through the SMTP relay ([`smtp`]). backupd writes the local syslog line
//! itself and decides when to send (see `eval::Notifier`).
//!
//! Every network step has a time-out; a failure is returned in words,
//! never a panic. Names go through the configured DNS servers
//! (`smbmount::Resolver`), never glibc's resolver.

pub mod eval;
pub mod smtp;
pub mod syslog;
#[cfg(feature = "test-support")]
pub mod testing;

use appconfig::AlertSettings;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How long one network step (connect, a reply, a write) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("{detail} at relay {relay}")]
    Smtp { relay: SocketAddr, detail: String },
    #[error("the e-mail cannot be made: {detail}")]
    Mail { detail: String },
    #[error("remote syslog to {to}: {detail}")]
    Syslog { to: String, detail: String },
    #[error("{what} {host:?}: {detail}")]
    Resolve {
        what: &'static str,
        host: String,
        detail: String,
    },
    #[error("{0}")]
    Settings(String),
}

/// `host` (an IPv4 address or a name) and `port` as a socket address,
/// names through the configured DNS servers.
pub fn resolve(
    what: &'static str,
    host: &str,
    port: u16,
    dns: &[Ipv4Addr],
) -> Result<SocketAddr, AlertError> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(SocketAddr::from((ip, port)));
    }
    let fail = |detail: String| AlertError::Resolve {
        what,
        host: host.to_string(),
        detail,
    };
    let addrs = smbmount::Resolver::new(dns)
        .resolve(host)
        .map_err(|e| fail(e.to_string()))?;
    addrs
        .first()
        .map(|ip| SocketAddr::from((*ip, port)))
        .ok_or_else(|| fail("the name has no IPv4 address".into()))
}

/// Why a notice goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The alert began.
    Alert,
    /// The alert still holds (once a day).
    Reminder,
    /// Backups work again.
    Cleared,
    /// The administrator asked for a test.
    Test,
}

impl Kind {
    fn msgid(self) -> &'static str {
        match self {
            Kind::Alert | Kind::Reminder => "ALERT",
            Kind::Cleared => "OK",
            Kind::Test => "TEST",
        }
    }
    fn severity(self) -> syslog::Severity {
        match self {
            Kind::Alert | Kind::Reminder => syslog::Severity::Warning,
            Kind::Cleared => syslog::Severity::Notice,
            Kind::Test => syslog::Severity::Info,
        }
    }
}

/// Where notices go, and as whom.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub settings: &'a AlertSettings,
    /// The appliance's host name: syslog's HOSTNAME, EHLO, the default sender.
    pub hostname: &'a str,
    /// The configured DNS servers.
    pub dns: &'a [Ipv4Addr],
    pub timeout: Duration,
}

/// What one channel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// "remote syslog", "e-mail".
    pub channel: &'static str,
    pub ok: bool,
    /// "sent to 10.0.2.2:514 (udp)", "250 queued at relay ...", or why not.
    pub text: String,
}

impl Target<'_> {
    /// Whether any channel is configured.
    pub fn any(&self) -> bool {
        !self.settings.syslog.host.is_empty() || !self.settings.email_to.is_empty()
    }

    /// Sends `text` to every configured channel; one [`Delivery`] each.
    pub fn deliver(&self, kind: Kind, text: &str) -> Vec<Delivery> {
        let mut out = Vec::new();
        let s = self.settings;
        if !s.syslog.host.is_empty() {
            let r =
                resolve("syslog host", &s.syslog.host, s.syslog.port, self.dns).and_then(|to| {
                    let m = syslog::Message {
                        severity: kind.severity(),
                        time: jiff::Timestamp::now(),
                        hostname: self.hostname,
                        app: "backupd",
                        pid: std::process::id(),
                        msgid: kind.msgid(),
                        text,
                    };
                    syslog::send(to, s.syslog.transport, &m, self.timeout)
                        .map(|()| format!("sent to {to} ({})", s.syslog.transport))
                });
            out.push(delivery("remote syslog", r));
        }
        if !s.email_to.is_empty() {
            let r = self.relay().and_then(|relay| {
                let mail = smtp::Mail {
                    from: s.sender(self.hostname),
                    to: s.email_to.clone(),
                    subject: subject(kind, self.hostname, text),
                    body: body(kind, self.hostname, text),
                };
                smtp::send(&relay, self.hostname, &mail)
                    .map(|reply| format!("{reply} (relay {}, to {})", relay.addr, s.email_to))
            });
            out.push(delivery("e-mail", r));
        }
        out
    }

    fn relay(&self) -> Result<smtp::Relay, AlertError> {
        // The configuration's own rules (a password only over TLS among
        // them): settings under test come from the console unsaved.
        if let Some((field, why)) = self.settings.problems().into_iter().next() {
            return Err(AlertError::Settings(format!("alerts.{field}: {why}")));
        }
        let s = &self.settings.smtp;
        // The password lives in the secrets file, which a restore may
        // leave out: missing, it stops the sending, not the configuration.
        if let Some(why) = s.password_problem() {
            return Err(AlertError::Settings(why));
        }
        let pin = match s.pin_sha256.trim() {
            "" => None,
            p => Some(appconfig::parse_pin(p).map_err(AlertError::Settings)?),
        };
        Ok(smtp::Relay {
            addr: resolve("SMTP relay", &s.host, s.port, self.dns)?,
            name: s.host.clone(),
            security: s.security,
            login: (!s.username.is_empty()).then(|| (s.username.clone(), s.password.clone())),
            pin,
            timeout: self.timeout,
        })
    }
}

fn delivery(channel: &'static str, r: Result<String, AlertError>) -> Delivery {
    match r {
        Ok(text) => Delivery {
            channel,
            ok: true,
            text,
        },
        Err(e) => Delivery {
            channel,
            ok: false,
            text: e.to_string(),
        },
    }
}

fn subject(kind: Kind, host: &str, text: &str) -> String {
    match kind {
        Kind::Alert | Kind::Reminder => format!("[{host}] Backup alert: {text}"),
        Kind::Cleared => format!("[{host}] Backups OK again"),
        Kind::Test => format!("[{host}] Test e-mail from the backup appliance"),
    }
}

fn body(kind: Kind, host: &str, text: &str) -> String {
    let first = match kind {
        Kind::Alert => format!("The appliance {host} needs attention:\r\n\r\n  {text}\r\n"),
        Kind::Reminder => {
            format!(
                "The appliance {host} still needs attention (daily reminder):\r\n\r\n  {text}\r\n"
            )
        }
        Kind::Cleared => format!("Backups on {host} work again:\r\n\r\n  {text}\r\n"),
        Kind::Test => format!(
            "This is a test of the alert e-mail of {host}; nothing is wrong.\r\n\r\n  {text}\r\n"
        ),
    };
    format!("{first}\r\nSee the console's main menu, or `backupctl status`, on the appliance.\r\n")
}
