//! Firmware update bundles (`.raucb`) waiting on a USB drive or in the FTP
//! `restore` folder.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// One bundle file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time, seconds since the epoch (0 when unknown).
    pub modified: u64,
}

impl Bundle {
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The folder it was found in.
    pub fn folder(&self) -> String {
        self.path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// The `.raucb` files directly inside each folder, newest first. Folders that
/// do not exist (no USB drive plugged in) are skipped.
pub fn find(folders: &[PathBuf]) -> Vec<Bundle> {
    let mut out: Vec<Bundle> = folders.iter().flat_map(|f| in_folder(f)).collect();
    out.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.path.cmp(&b.path)));
    out
}

fn in_folder(folder: &Path) -> Vec<Bundle> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .to_ascii_lowercase()
                .ends_with(".raucb")
        })
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| Bundle {
                path: e.path(),
                size: meta.len(),
                modified: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bundles_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let usb = dir.path().join("usb");
        std::fs::create_dir(&usb).expect("mkdir");
        std::fs::write(usb.join("appliance-1.2.RAUCB"), b"x").expect("write");
        std::fs::write(usb.join("notes.txt"), b"x").expect("write");
        std::fs::create_dir(usb.join("dir.raucb")).expect("mkdir");
        let found = find(&[usb.clone(), dir.path().join("absent")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name(), "appliance-1.2.RAUCB");
        assert_eq!(found[0].folder(), usb.display().to_string());
    }
}
