use std::path::PathBuf;

/// Why a step of a system test failed. The console tail is part of the
/// message so that a CI log shows what the appliance printed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{what}: timed out after {secs} s\n--- last console lines ({log}) ---\n{tail}")]
    Timeout {
        what: String,
        secs: u64,
        log: PathBuf,
        tail: String,
    },
    #[error("QEMU exited ({status})\n--- last console lines ({log}) ---\n{tail}")]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("`{cmd}` exited with status {status}:\n{output}")]
    Command {
        cmd: String,
        status: i32,
        output: String,
    },
    #[error("QMP {command}: {reason}")]
    Qmp { command: String, reason: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

impl HarnessError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
        let what = what.into();
        move |source| HarnessError::Io { what, source }
    }
}
