//! Who may log in: the session asks the supervisor, which alone holds the
//! `sysarchive` hash and paces guessers per address across sessions
//! ([`crate::logins`]); the session only passes the question on and
//! acts on the verdict. The front ([`crate::front`]) closes a session
//! after [`MAX_FAILURES`] refusals, or at once when the address is blocked.

use crate::channel::{Link, Verdict};
use async_trait::async_trait;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};

/// Failed logins after which the session is closed.
pub const MAX_FAILURES: u32 = 3;

/// A reply that ends the session instead of the usual `530`; set by a
/// login the supervisor refuses outright.
pub type Closing = Arc<Mutex<Option<String>>>;

/// The `sysarchive` account, as one session sees it.
#[derive(Clone)]
pub struct Login {
    link: Option<Arc<Link>>,
    peer: IpAddr,
    /// The control connection is TLS (the front ends TLS, so libunftp
    /// cannot tell).
    secure: Arc<AtomicBool>,
    closing: Closing,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("peer", &self.peer).finish()
    }
}

impl Login {
    pub fn new(
        link: Option<Arc<Link>>,
        peer: IpAddr,
        secure: Arc<AtomicBool>,
        closing: Closing,
    ) -> Login {
        Login {
            link,
            peer,
            secure,
            closing,
        }
    }

    fn close_with(&self, reply: String) {
        if let Ok(mut c) = self.closing.lock() {
            *c = Some(reply);
        }
    }
}

#[async_trait]
impl Authenticator for Login {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        let Some(link) = &self.link else {
            self.close_with("421 Service not available.".into());
            return Err(AuthenticationError::BadPassword);
        };
        let password = creds.password.clone().unwrap_or_default();
        match link.login(username, &password).await {
            Ok(Verdict::Accepted) => {
                let how = if self.secure.load(Ordering::Relaxed) {
                    "FTPS"
                } else {
                    "plain FTP"
                };
                log::info!("{username}@{}: logged in ({how})", self.peer);
                Ok(Principal {
                    username: username.to_string(),
                })
            }
            // The supervisor has logged why.
            Ok(Verdict::Refused) => Err(AuthenticationError::BadPassword),
            Ok(Verdict::Blocked { secs }) => {
                self.close_with(format!(
                    "421 Too many failed logins from {}; try again in {}.",
                    self.peer,
                    humanfmt::minutes(secs)
                ));
                Err(AuthenticationError::BadPassword)
            }
            Err(e) => {
                log::error!("{}: cannot check a login: {e}", self.peer);
                self.close_with("421 Service not available.".into());
                Err(AuthenticationError::BadPassword)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{Request, line};
    use std::io::{BufRead, Write};

    /// A stand-in supervisor answering each login with the next verdict.
    fn supervisor(verdicts: Vec<Verdict>) -> (Arc<Link>, std::thread::JoinHandle<Vec<String>>) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("pair");
        let link = Arc::new(Link::new(ours).expect("link"));
        let t = std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(theirs.try_clone().expect("clone"));
            let mut seen = Vec::new();
            for v in verdicts {
                let mut l = String::new();
                r.read_line(&mut l).expect("read");
                if let Ok(Request::Login { password, .. }) = serde_json::from_str(&l) {
                    seen.push(password);
                }
                (&theirs).write_all(&line(&v)).expect("write");
            }
            seen
        });
        (link, t)
    }

    fn creds(pw: &str) -> Credentials {
        Credentials::from(pw)
    }

    #[tokio::test]
    async fn verdicts_come_from_the_supervisor() {
        let (link, t) = supervisor(vec![
            Verdict::Refused,
            Verdict::Accepted,
            Verdict::Blocked { secs: 840 },
        ]);
        let closing = Closing::default();
        let login = Login::new(
            Some(link),
            "192.0.2.7".parse().expect("ip"),
            Arc::new(AtomicBool::new(true)),
            closing.clone(),
        );
        assert!(login.authenticate("sysarchive", &creds("a")).await.is_err());
        assert!(login.authenticate("sysarchive", &creds("b")).await.is_ok());
        assert!(closing.lock().expect("lock").is_none());
        assert!(login.authenticate("sysarchive", &creds("c")).await.is_err());
        assert_eq!(
            closing.lock().expect("lock").as_deref(),
            Some("421 Too many failed logins from 192.0.2.7; try again in 14 min.")
        );
        assert_eq!(t.join().expect("thread"), vec!["a", "b", "c"]);
        // The supervisor gone: refused, and the session is to close.
        let closing = Closing::default();
        let (link, t) = supervisor(vec![]);
        t.join().expect("thread");
        let login = Login::new(
            Some(link),
            "192.0.2.7".parse().expect("ip"),
            Arc::new(AtomicBool::new(true)),
            closing.clone(),
        );
        assert!(login.authenticate("sysarchive", &creds("a")).await.is_err());
        assert!(closing.lock().expect("lock").is_some());
    }
}
