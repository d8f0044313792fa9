//! What the typed clients ([`crate::backupd::Client`], [`crate::hotplug::Client`])
//! share: one call, the service's own refusal, and an answer that does not
//! belong to the request.

use crate::wire::{ControlError, call};
use serde::{Serialize, de::DeserializeOwned};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One service's side of the protocol, as its typed client needs it.
pub trait Service {
    /// The name in messages ("backupd: unexpected answer ...").
    const NAME: &'static str;
    /// Where it listens on the appliance.
    const SOCKET: &'static str;
    /// The environment variable that moves [`Service::SOCKET`] (host tests),
    /// read by the service and every client alike.
    const SOCKET_ENV: &'static str;
    type Request: Serialize;
    /// Tagged `"reply"`; every service refuses with `{"reply":"error","message":...}`.
    type Reply: Serialize + DeserializeOwned;
}

/// The service's own refusal, in its words, if `reply` is one.
fn refusal<Rep: Serialize>(reply: &Rep) -> Option<String> {
    let value = serde_json::to_value(reply).ok()?;
    if value.get("reply")?.as_str()? != "error" {
        return None;
    }
    Some(value.get("message")?.as_str()?.to_string())
}

/// `socket`, or where the variable `env` puts it.
pub(crate) fn socket_path(socket: &str, env: &str) -> PathBuf {
    std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(socket))
}

/// A service's typed client: the service module adds one method per
/// request, each returning its own answer. Every request has its own
/// time-out; [`Client::with_timeout`] replaces it for every request.
#[derive(Debug)]
pub struct Client<S: Service> {
    socket: PathBuf,
    timeout: Option<Duration>,
    service: PhantomData<fn() -> S>,
}

impl<S: Service> Clone for Client<S> {
    fn clone(&self) -> Self {
        Client {
            socket: self.socket.clone(),
            timeout: self.timeout,
            service: PhantomData,
        }
    }
}

impl<S: Service> Client<S> {
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Client {
            socket: socket.into(),
            timeout: None,
            service: PhantomData,
        }
    }

    /// The client of the appliance's own service (its socket, or where
    /// the service's environment variable puts it).
    pub fn system() -> Self {
        Client::new(socket_path(S::SOCKET, S::SOCKET_ENV))
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Waits at most `timeout` for any answer (a quick status for a banner).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends `request` and hands the answer to `pick`, which takes the
    /// answer that belongs to it (`Ok`) or gives it back (`Err`, boxed: some
    /// answers are large). The service's refusal is told apart first.
    pub(crate) fn ask<T>(
        &self,
        request: &S::Request,
        timeout: Duration,
        pick: impl FnOnce(S::Reply) -> Result<T, Box<S::Reply>>,
    ) -> Result<T, ClientError> {
        let reply: S::Reply = call(
            S::NAME,
            &self.socket,
            request,
            self.timeout.unwrap_or(timeout),
        )?;
        if let Some(message) = refusal(&reply) {
            return Err(ClientError::Refused(message));
        }
        pick(reply).map_err(|other| ClientError::Unexpected {
            service: S::NAME,
            request: tag(request, "request"),
            answer: tag(&*other, "reply"),
        })
    }
}

/// Why a typed request got no typed answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: the service is not running, timed out or spoke nonsense.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The service answered that it could not do it, in its own words.
    #[error("{0}")]
    Refused(String),
    /// An answer of the protocol, but not to this request.
    #[error("{service}: unexpected answer {answer} to request {request}")]
    Unexpected {
        service: &'static str,
        request: String,
        answer: String,
    },
}

impl ClientError {
    /// The service is not running (no socket): callers often say more.
    pub fn is_not_running(&self) -> bool {
        matches!(self, ClientError::Control(ControlError::NotRunning { .. }))
    }
}

/// The name serde gives a value's variant (`"request"` or `"reply"` tag).
fn tag<T: Serialize>(value: &T, field: &str) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.get(field).and_then(|t| t.as_str()).map(String::from))
        .unwrap_or_else(|| "(unnamed)".into())
}
