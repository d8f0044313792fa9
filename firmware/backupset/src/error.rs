use std::path::PathBuf;

/// Why a set could not be written, published, listed or read.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// The destination ran out of space; partial files were removed.
    #[error("the destination is full while writing {path}")]
    DestinationFull { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the data folder {path} cannot be read: {source}")]
    DataRoot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the backup was cancelled")]
    Cancelled,
    /// Read-back found different bytes than were written.
    #[error(
        "{volume}: read back differs from what was written (MD5 {written} written, {read} read)"
    )]
    ReadBackMismatch {
        volume: String,
        written: String,
        read: String,
    },
    #[error("{0:?} is not the name of a backup set")]
    BadName(String),
    #[error("set {set}: {reason}")]
    Incomplete { set: String, reason: String },
    /// The set's bytes do not follow the format (damaged or hostile).
    #[error("set {set}: {reason}")]
    Malformed { set: String, reason: String },
    /// A set of the same name is already at the destination (another unit
    /// with the same host name, started in the same second).
    #[error(
        "a set named {name} is already at the destination, from another appliance with the host name {host:?}? It was left as it is; give each appliance its own host name"
    )]
    NameTaken { name: String, host: String },
    /// An encrypted set read without an identity.
    #[error("{set} is encrypted to {recipient}; its age identity is needed to read it")]
    Encrypted { set: String, recipient: String },
    /// None of the identities given opens the set.
    #[error("the identity given does not open {set}: it is encrypted to {recipient}")]
    WrongIdentity { set: String, recipient: String },
    #[error("the backup writer stopped unexpectedly: {0}")]
    Internal(String),
}

impl SetError {
    /// An I/O error at `path`, with ENOSPC/EDQUOT turned into [`SetError::DestinationFull`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> SetError {
        let path = path.into();
        match source.raw_os_error() {
            Some(code) if code == nix::libc::ENOSPC || code == nix::libc::EDQUOT => {
                SetError::DestinationFull { path }
            }
            _ => SetError::Io { path, source },
        }
    }

    pub(crate) fn malformed(set: &str, reason: impl Into<String>) -> SetError {
        SetError::Malformed {
            set: set.to_string(),
            reason: reason.into(),
        }
    }
}

pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SetError + '_ {
    move |e| SetError::io(path, e)
}
