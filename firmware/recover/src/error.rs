use backupset::SetError;
use std::path::PathBuf;

/// Why a listing or a restore did not happen, in one line an administrator
/// can act on.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Options that do not go together.
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {reason}")]
    Source { path: PathBuf, reason: String },
    #[error("no complete backup set in {0}")]
    NoSet(PathBuf),
    #[error("set {set} is missing {what}: it cannot be restored")]
    MissingVolume { set: String, what: String },
    #[error("set {set} is incomplete: {reason}")]
    Incomplete { set: String, reason: String },
    #[error("set {set} does not match its .md5 file ({detail}): nothing was changed")]
    Md5Mismatch { set: String, detail: String },
    #[error(
        "set {set} was written by a newer firmware (set format {found}; this recover reads format {supported} and older)"
    )]
    NewerFormat {
        set: String,
        found: u32,
        supported: u32,
    },
    #[error("set {set} is damaged or not a backup set: {reason}")]
    Damaged { set: String, reason: String },
    #[error("differential {set} needs its full backup {base}, which is not complete in {dir}")]
    MissingBase {
        set: String,
        base: String,
        dir: PathBuf,
    },
    #[error("{set} is encrypted to {recipient}; give its identity with --identity")]
    NeedsIdentity { set: String, recipient: String },
    #[error(
        "the identity given does not open {set}: it is encrypted to {recipient}; give that key's identity with --identity"
    )]
    WrongIdentity { set: String, recipient: String },
    #[error("{0}")]
    NothingSelected(String),
    #[error(
        "not enough free space in {path}: {what} needs about {needed} bytes, {free} are free; nothing was changed"
    )]
    NoSpace {
        path: PathBuf,
        what: String,
        needed: u64,
        free: u64,
    },
    #[error("{path} is full")]
    DiskFull { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} (another recover is running)")]
    Busy(PathBuf),
    #[error("the set's appliance configuration cannot be used by this firmware: {0}")]
    BadConfig(String),
    #[error("{0}")]
    Service(String),
    /// The new data is committed but could not all be put in place; the
    /// next `recover --resume` (at boot) finishes it.
    #[error("the restore could not be finished: {0}; restart the appliance to finish it")]
    Unfinished(String),
    /// The journal itself cannot be read as one: nothing was run from it,
    /// and restarting cannot help; a person must look at it.
    #[error("{0}; nothing was touched: look at it, move it aside and restart the appliance")]
    DamagedJournal(String),
    #[error("interrupted")]
    Interrupted,
    #[error("interrupted before the restored data was committed: nothing was changed")]
    InterruptedNothingChanged,
}

impl RecoverError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> RecoverError {
        let path = path.into();
        match source.raw_os_error() {
            Some(c) if c == nix::libc::ENOSPC || c == nix::libc::EDQUOT => {
                RecoverError::DiskFull { path }
            }
            _ => RecoverError::Io { path, source },
        }
    }

    pub fn damaged(set: &str, reason: impl Into<String>) -> RecoverError {
        RecoverError::Damaged {
            set: set.to_string(),
            reason: reason.into(),
        }
    }

    /// Reads a [`SetError`] from the set `set` as what it means for a restore.
    pub fn from_set(set: &str, e: SetError) -> RecoverError {
        match e {
            SetError::Malformed { set: s, reason } => RecoverError::Damaged {
                set: if s.is_empty() { set.to_string() } else { s },
                reason,
            },
            SetError::Incomplete { set: s, reason } => {
                // The reader says "volume <name>: <error>" for a missing file.
                match reason.strip_prefix("volume ") {
                    Some(rest) if rest.contains("No such file") => RecoverError::MissingVolume {
                        set: s,
                        what: format!("volume {}", rest.split(':').next().unwrap_or(rest).trim()),
                    },
                    _ if reason.contains(".md5") && reason.contains("No such file") => {
                        RecoverError::MissingVolume {
                            set: s,
                            what: "its .md5 file".into(),
                        }
                    }
                    _ => RecoverError::Incomplete { set: s, reason },
                }
            }
            SetError::Io { path, source } => RecoverError::io(path, source),
            SetError::DestinationFull { path } => RecoverError::DiskFull { path },
            SetError::DataRoot { path, source } => RecoverError::io(path, source),
            SetError::Cancelled => RecoverError::Interrupted,
            SetError::Encrypted { set, recipient } => {
                RecoverError::NeedsIdentity { set, recipient }
            }
            SetError::WrongIdentity { set, recipient } => {
                RecoverError::WrongIdentity { set, recipient }
            }
            SetError::BadName(n) => RecoverError::Source {
                path: PathBuf::from(n),
                reason: "not the name of a backup set".into(),
            },
            other => RecoverError::damaged(set, other.to_string()),
        }
    }
}
