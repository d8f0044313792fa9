//! What the typed clients ([`crate::backupd::Client`], [`crate::hotplug::Client`])
//! share: one call, the service's own refusal, and an answer that does not
//! belong to the request.

use crate::wire::{ControlError, call};
use serde::{Serialize, de::DeserializeOwned};
use std::path::Path;
use std::time::Duration;

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

/// Sends `request` and hands the answer to `pick`, which takes the answer
/// that belongs to it (`Ok`) or gives it back (`Err`, boxed: some answers
/// are large). `refusal` tells the service's error answer apart.
pub(crate) fn ask<Req, Rep, T>(
    service: &'static str,
    socket: &Path,
    request: &Req,
    timeout: Duration,
    refusal: impl FnOnce(&Rep) -> Option<String>,
    pick: impl FnOnce(Rep) -> Result<T, Box<Rep>>,
) -> Result<T, ClientError>
where
    Req: Serialize,
    Rep: Serialize + DeserializeOwned,
{
    let reply: Rep = call(socket, request, timeout)?;
    if let Some(message) = refusal(&reply) {
        return Err(ClientError::Refused(message));
    }
    pick(reply).map_err(|other| ClientError::Unexpected {
        service,
        request: tag(request, "request"),
        answer: tag(&*other, "reply"),
    })
}
