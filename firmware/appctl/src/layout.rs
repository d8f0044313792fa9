use appconfig::Config;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Folders of the data partition and their modes (DESIGN.md, "The data
/// that is protected"). Private ones hold secrets or mail.
pub const FOLDERS: &[(&str, u32)] = &[
    ("config", 0o700),
    ("license", 0o700),
    ("sslca", 0o700),
    ("sslcert", 0o700),
    ("store", 0o700),
    ("store/mail", 0o700),
    ("store/public", 0o700),
    ("store/lists", 0o700),
    ("store/contacts", 0o700),
    ("store/queue", 0o700),
    ("store/queue/incoming", 0o700),
    ("store/queue/outgoing", 0o700),
    ("store/spamassassin", 0o700),
    ("backup", 0o750),
    ("restore", 0o750),
    ("state", 0o700),
    ("log", 0o750),
];

/// What [`ensure_layout`] did, for the boot log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LayoutReport {
    pub created: Vec<String>,
    pub wrote_default_config: bool,
}

/// Creates the missing folders of the data partition and, on first boot,
/// the default configuration. Existing files are never touched.
pub fn ensure_layout(data: &Path) -> io::Result<LayoutReport> {
    let mut report = LayoutReport::default();
    for (rel, mode) in FOLDERS {
        let dir = data.join(rel);
        if !dir.is_dir() {
            fs::create_dir_all(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(*mode))?;
            report.created.push((*rel).to_string());
        }
    }
    let config = data.join("config/appliance.toml");
    if !config.exists() {
        Config::default()
            .save(&config)
            .map_err(|e| io::Error::other(e.to_string()))?;
        report.wrote_default_config = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_boot_then_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = ensure_layout(dir.path()).expect("layout");
        assert!(r.wrote_default_config);
        assert_eq!(r.created.len(), FOLDERS.len());
        let mode = fs::metadata(dir.path().join("store/mail"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        fs::write(
            dir.path().join("config/appliance.toml"),
            "[system]\nhostname = \"kept\"\n",
        )
        .expect("write");
        let r = ensure_layout(dir.path()).expect("again");
        assert_eq!(r, LayoutReport::default());
        let text = fs::read_to_string(dir.path().join("config/appliance.toml")).expect("read");
        assert!(text.contains("kept"));
    }
}
