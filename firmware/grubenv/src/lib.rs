//! GRUB's environment block, the file GRUB's `load_env`/`save_env` and
//! RAUC's GRUB backend use to keep the A/B boot state.
//!
//! The format is fixed by GRUB: exactly 1024 bytes, starting with the line
//! `# GRUB Environment Block`, then `name=value` lines, padded with `#`.
//! GRUB rewrites the file in place (it cannot allocate blocks), so the size
//! never changes; a value holding a newline or backslash is escaped with a
//! backslash.

use std::path::Path;

const HEADER: &str = "# GRUB Environment Block\n";
/// The size of every environment block.
pub const BLOCK_SIZE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{0}: not a GRUB environment block (bad header or size)")]
    Malformed(String),
    #[error("the variables do not fit in a {BLOCK_SIZE}-byte environment block")]
    TooLarge,
    #[error("{0:?} is not a valid variable name")]
    BadName(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The variables of an environment block, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Env, EnvError> {
        if bytes.len() != BLOCK_SIZE || !bytes.starts_with(HEADER.as_bytes()) {
            return Err(EnvError::Malformed(origin.to_string()));
        }
        let body = &bytes[HEADER.len()..];
        let mut vars = Vec::new();
        let mut line = Vec::new();
        let mut iter = body.iter().copied();
        while let Some(b) = iter.next() {
            match b {
                b'\\' => {
                    if let Some(next) = iter.next() {
                        line.push(next);
                    }
                }
                b'\n' => {
                    push_line(&mut vars, &line);
                    line.clear();
                }
                _ => line.push(b),
            }
        }
        Ok(Env { vars })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EnvError> {
        if name.is_empty() || name.contains(['=', '\n', '\\', '#']) {
            return Err(EnvError::BadName(name.to_string()));
        }
        match self.vars.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self.vars.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    pub fn unset(&mut self, name: &str) {
        self.vars.retain(|(k, _)| k != name);
    }

    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// The 1024-byte block.
    pub fn to_block(&self) -> Result<Vec<u8>, EnvError> {
        let mut out = HEADER.as_bytes().to_vec();
        for (k, v) in &self.vars {
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            for b in v.bytes() {
                if b == b'\\' || b == b'\n' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'\n');
        }
        if out.len() > BLOCK_SIZE {
            return Err(EnvError::TooLarge);
        }
        out.resize(BLOCK_SIZE, b'#');
        Ok(out)
    }

    pub fn load(path: &Path) -> Result<Env, EnvError> {
        let bytes = std::fs::read(path).map_err(|source| EnvError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Env::parse(&bytes, &path.display().to_string())
    }

    /// Writes the block atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), EnvError> {
        atomicfile::write_atomically(path, &self.to_block()?, 0o644).map_err(|source| {
            EnvError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }
}

fn push_line(vars: &mut Vec<(String, String)>, line: &[u8]) {
    if line.is_empty() || line[0] == b'#' {
        return;
    }
    let text = String::from_utf8_lossy(line);
    if let Some((k, v)) = text.split_once('=') {
        vars.push((k.to_string(), v.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn round_trip_with_escapes() {
        let mut e = Env::default();
        e.set("ORDER", "A B").expect("set");
        e.set("odd", "line\nwith\\slash").expect("set");
        let block = e.to_block().expect("block");
        assert_eq!(block.len(), BLOCK_SIZE);
        let back = Env::parse(&block, "mem").expect("parse");
        assert_eq!(back, e);
        assert!(e.set("a=b", "x").is_err());
    }

    #[test]
    fn too_large_refused() {
        let mut e = Env::default();
        e.set("big", &"x".repeat(BLOCK_SIZE)).expect("set");
        assert!(matches!(e.to_block(), Err(EnvError::TooLarge)));
    }

    /// GRUB's own grub-editenv reads what we write and we read what it writes.
    #[test]
    fn interoperates_with_grub_editenv() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("grubenv");
        let status = Command::new("grub-editenv")
            .arg(&path)
            .args(["set", "ORDER=A B", "A_OK=1", "A_TRY=0"])
            .status()
            .expect("grub-editenv (Debian package grub-common) must be installed");
        assert!(status.success());
        let mut env = Env::load(&path).expect("load");
        assert_eq!(env.get("ORDER"), Some("A B"));
        assert_eq!(env.get("A_OK"), Some("1"));
        env.set("A_TRY", "1").expect("set");
        env.unset("A_OK");
        env.save(&path).expect("save");
        let out = Command::new("grub-editenv")
            .arg(&path)
            .arg("list")
            .output()
            .expect("grub-editenv list");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ORDER=A B\nA_TRY=1\n");
    }
}
