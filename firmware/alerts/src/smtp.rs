//! E-mail through the configured SMTP relay: lettre's SMTP client step by
//! step (so that each step's failure can be named, and a pinned
//! certificate is checked before the password is sent), rustls with ring.

use crate::AlertError;
use appconfig::SmtpSecurity;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{CertificateStore, SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::time::Duration;

/// The relay as resolved and checked.
#[derive(Clone)]
pub struct Relay {
    pub addr: SocketAddr,
    /// The name the certificate must carry (the configured host: a name,
    /// or the address itself).
    pub name: String,
    pub security: SmtpSecurity,
    /// User and password; `None`: no AUTH.
    pub login: Option<(String, String)>,
    /// SHA-256 of the relay's certificate; `None`: the public roots.
    pub pin: Option<[u8; 32]>,
    /// Bounds the connection and every reply.
    pub timeout: Duration,
}

/// One e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends `mail`; says how the relay answered (`250 ...`), or which step
/// failed and why. `hello` is the name given in EHLO (the host name).
pub fn send(relay: &Relay, hello: &str, mail: &Mail) -> Result<String, AlertError> {
    let at = relay.addr;
    let fail = |step: &str, e: lettre::transport::smtp::Error| AlertError::Smtp {
        relay: at,
        detail: format!("{step}: {}", words(&e)),
    };
    let message = Message::builder()
        .from(mail.from.parse().map_err(|e| AlertError::Mail {
            detail: format!("sender {:?}: {e}", mail.from),
        })?)
        .to(mail.to.parse().map_err(|e| AlertError::Mail {
            detail: format!("recipient {:?}: {e}", mail.to),
        })?)
        .subject(crate::eval::one_line(&mail.subject))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| AlertError::Mail {
            detail: e.to_string(),
        })?;
    let hello = ClientId::Domain(hello.to_string());
    let tls = match relay.security {
        SmtpSecurity::Plain => None,
        _ => Some(tls_parameters(relay).map_err(|e| fail("TLS set-up", e))?),
    };
    let implicit = match relay.security {
        SmtpSecurity::Tls => tls.as_ref(),
        _ => None,
    };
    let mut conn = SmtpConnection::connect(at, Some(relay.timeout), &hello, implicit, None)
        .map_err(|e| fail("connect", e))?;
    let result = (|| {
        if relay.security == SmtpSecurity::Starttls {
            if !conn.can_starttls() {
                return Err(AlertError::Smtp {
                    relay: at,
                    detail: "the relay does not offer STARTTLS (security is set to starttls)"
                        .into(),
                });
            }
            if let Some(tls) = &tls {
                conn.starttls(tls, &hello)
                    .map_err(|e| fail("STARTTLS", e))?;
            }
        }
        if let Some(pin) = relay.pin.filter(|_| relay.security != SmtpSecurity::Plain) {
            // The handshake proved the relay holds this certificate's key;
            // now the certificate must be the pinned one, before the
            // password goes out.
            let der = conn
                .peer_certificate()
                .map_err(|e| fail("reading the relay's certificate", e))?;
            let seen: [u8; 32] = Sha256::digest(&der).into();
            if seen != pin {
                return Err(AlertError::Smtp {
                    relay: at,
                    detail: format!(
                        "the relay's certificate is not the pinned one (its SHA-256 is {})",
                        hex(&seen)
                    ),
                });
            }
        }
        if let Some((user, password)) = &relay.login {
            conn.auth(
                &[Mechanism::Plain, Mechanism::Login],
                &Credentials::new(user.clone(), password.clone()),
            )
            .map_err(|e| fail("authentication", e))?;
        }
        let reply = conn
            .send(message.envelope(), &message.formatted())
            .map_err(|e| fail("sending", e))?;
        Ok(format!(
            "{} {}",
            reply.code(),
            reply.message().next().unwrap_or("")
        ))
    })();
    match &result {
        Ok(_) => {
            let _ = conn.quit();
        }
        Err(_) => conn.abort(),
    }
    result
}

fn tls_parameters(relay: &Relay) -> Result<TlsParameters, lettre::transport::smtp::Error> {
    let b = TlsParameters::builder(relay.name.clone());
    match relay.pin {
        // Chain and name are not checked: the pin is, right after the
        // handshake (see `send`).
        Some(_) => b
            .dangerous_accept_invalid_certs(true)
            .dangerous_accept_invalid_hostnames(true)
            .build_rustls(),
        None => b
            .certificate_store(CertificateStore::WebpkiRoots)
            .build_rustls(),
    }
}

/// lettre's error in words: the relay's reply with its code, or the cause.
fn words(e: &lettre::transport::smtp::Error) -> String {
    let cause = std::error::Error::source(e)
        .map(one_line_chain)
        .unwrap_or_default();
    match e.status() {
        Some(code) => format!("{code} {cause}").trim().to_string(),
        None if e.is_timeout() => "no answer in time".into(),
        None if cause.is_empty() => e.to_string(),
        None => cause,
    }
}

fn one_line_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    crate::eval::one_line(&s)
}

/// Lower-case hex with colons, as `openssl x509 -fingerprint` shows it.
pub fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
