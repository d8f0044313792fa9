use std::path::{Path, PathBuf};

/// Why a configuration could not be read, checked or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: line {line}, column {column}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "{path}: written by a newer firmware (config version {found}, this one reads up to {supported})"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Someone else saved since this copy was read (the other console).
    #[error(
        "{path} was changed elsewhere (on the other console?) since this screen read it: nothing was saved; open the screen again to see the current settings"
    )]
    ChangedElsewhere { path: PathBuf },
}

impl ConfigError {
    pub(crate) fn parse(path: &Path, text: &str, err: toml::de::Error) -> ConfigError {
        let (line, column) = match err.span() {
            Some(span) => line_column(text, span.start),
            None => (0, 0),
        };
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            reason: err.message().trim().to_string(),
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}
