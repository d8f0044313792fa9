//! Where restored data goes: `-s/--store` for the store, `-c/--cfgdir` for
//! everything else (configuration, license, certificates), as in Kerio.

use std::path::{Path, PathBuf};

/// The appliance's store.
pub const DEFAULT_STORE: &str = "/data/store";
/// The appliance's data partition: `config/`, `license/`, `sslca/`, `sslcert/`.
pub const DEFAULT_CFGDIR: &str = "/data";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub store: PathBuf,
    pub cfgdir: PathBuf,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            store: PathBuf::from(DEFAULT_STORE),
            cfgdir: PathBuf::from(DEFAULT_CFGDIR),
        }
    }
}

impl Targets {
    /// `(root, destination)` of a path of the set (relative to `@backup/`).
    pub fn dest(&self, rel: &str) -> (PathBuf, PathBuf) {
        if rel == "store" {
            return (self.store.clone(), self.store.clone());
        }
        match rel.strip_prefix("store/") {
            Some(rest) => (self.store.clone(), self.store.join(rest)),
            None => (self.cfgdir.clone(), self.cfgdir.join(rel)),
        }
    }

    /// The running appliance's own folders.
    pub fn are_default(&self) -> bool {
        *self == Targets::default()
    }

    /// Absolute forms (a relative `-s` means from the current folder).
    pub fn absolute(&self) -> std::io::Result<Targets> {
        let abs = |p: &Path| -> std::io::Result<PathBuf> {
            if p.is_absolute() {
                Ok(p.to_path_buf())
            } else {
                Ok(std::env::current_dir()?.join(p))
            }
        };
        Ok(Targets {
            store: abs(&self.store)?,
            cfgdir: abs(&self.cfgdir)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        let t = Targets {
            store: "/s".into(),
            cfgdir: "/c".into(),
        };
        assert_eq!(t.dest("store/mail/a").1, PathBuf::from("/s/mail/a"));
        assert_eq!(t.dest("store").1, PathBuf::from("/s"));
        assert_eq!(
            t.dest("config/users.cfg").1,
            PathBuf::from("/c/config/users.cfg")
        );
        assert_eq!(t.dest("storeroom").1, PathBuf::from("/c/storeroom"));
        assert!(Targets::default().are_default());
    }
}
