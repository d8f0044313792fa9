//! Who may log in: `sysarchive` with the password hash from the
//! configuration, nobody while that hash is unset. Every refusal is logged
//! and slowed down; a session that keeps guessing is ended, and its address
//! is then refused for a while by the supervisor.

use async_trait::async_trait;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use unftp_core::auth::{
    AuthenticationError, Authenticator, ChannelEncryptionState, Credentials, Principal,
};

/// Failed logins after which the session is closed.
pub const MAX_FAILURES: u32 = 3;
/// Pause after each failed login, against guessing.
pub const FAILURE_DELAY: Duration = Duration::from_secs(1);

/// The `sysarchive` account of one session.
#[derive(Clone)]
pub struct Login {
    hash: String,
    peer: IpAddr,
    failures: Arc<AtomicU32>,
    /// Called once the session has failed [`MAX_FAILURES`] times.
    on_too_many: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("hash", &if self.hash.is_empty() { "unset" } else { "set" })
            .field("peer", &self.peer)
            .field("failures", &self.failures)
            .finish()
    }
}

impl Login {
    pub fn new(hash: String, peer: IpAddr, on_too_many: Arc<dyn Fn() + Send + Sync>) -> Login {
        Login {
            hash,
            peer,
            failures: Arc::new(AtomicU32::new(0)),
            on_too_many,
        }
    }

    /// Failed logins so far in this session.
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    async fn refuse(&self, err: AuthenticationError) -> Result<Principal, AuthenticationError> {
        tokio::time::sleep(FAILURE_DELAY).await;
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= MAX_FAILURES {
            log::warn!("{}: {n} failed logins; closing the session", self.peer);
            (self.on_too_many)();
        }
        Err(err)
    }
}

/// A user name as it may appear in a log line: printable and short.
fn shown(name: &str) -> String {
    let s: String = name.chars().take(64).collect();
    format!("{s:?}")
}

#[async_trait]
impl Authenticator for Login {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        if username != appconfig::FTP_USER {
            log::warn!(
                "{}: login refused: unknown user {} (the FTP account is {})",
                self.peer,
                shown(username),
                appconfig::FTP_USER
            );
            return self.refuse(AuthenticationError::BadUser).await;
        }
        if self.hash.is_empty() {
            log::error!(
                "{}: login refused: no FTP password is set; set the {} password in the console first",
                self.peer,
                appconfig::FTP_USER
            );
            return self.refuse(AuthenticationError::BadPassword).await;
        }
        let password = creds.password.clone().unwrap_or_default();
        let hash = self.hash.clone();
        // SHA-512-crypt costs a few milliseconds: keep it off the session's reactor.
        let ok = tokio::task::spawn_blocking(move || appconfig::verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            log::warn!(
                "{}: login refused: wrong password for {}",
                self.peer,
                appconfig::FTP_USER
            );
            return self.refuse(AuthenticationError::BadPassword).await;
        }
        let how = match creds.command_channel_security {
            ChannelEncryptionState::Tls => "FTPS",
            ChannelEncryptionState::Plaintext => "plain FTP",
        };
        log::info!("{}@{}: logged in ({how})", appconfig::FTP_USER, self.peer);
        Ok(Principal {
            username: username.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn creds(pw: &str) -> Credentials {
        let mut c = Credentials::from(pw);
        c.source_ip = "192.0.2.7".parse().expect("ip");
        c
    }

    #[tokio::test(start_paused = true)]
    async fn only_sysarchive_with_the_right_password() {
        let hash = appconfig::hash_password("blue-harbour-42").expect("hash");
        let closed = Arc::new(AtomicBool::new(false));
        let c = closed.clone();
        let login = Login::new(
            hash,
            "192.0.2.7".parse().expect("ip"),
            Arc::new(move || c.store(true, Ordering::Relaxed)),
        );
        assert!(
            login
                .authenticate("sysarchive", &creds("blue-harbour-42"))
                .await
                .is_ok()
        );
        assert!(matches!(
            login.authenticate("root", &creds("blue-harbour-42")).await,
            Err(AuthenticationError::BadUser)
        ));
        assert!(
            login
                .authenticate("sysarchive", &creds("sendio"))
                .await
                .is_err()
        );
        assert!(!closed.load(Ordering::Relaxed));
        assert!(login.authenticate("sysarchive", &creds("")).await.is_err());
        assert_eq!(login.failures(), 3);
        assert!(
            closed.load(Ordering::Relaxed),
            "the third failure ends the session"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_password_set_refuses_everything() {
        let login = Login::new(
            String::new(),
            "192.0.2.7".parse().expect("ip"),
            Arc::new(|| {}),
        );
        for pw in ["", "sendio", "sysarchive"] {
            assert!(login.authenticate("sysarchive", &creds(pw)).await.is_err());
        }
    }
}
