#![no_main]
//! Any text as a set's `.md5` file (an FTP upload to the restore folder,
//! a USB stick): parsed as the catalog and the reader parse it, then a set
//! with it opened and verified. Refused or used, never a panic, and never a
//! volume named outside the folder.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(name) = backupset::SetName::parse_tar("mail-F20260101T000000Z.tar") else {
        return;
    };
    if let Ok(volumes) = backupset::md5file::parse(text, &name) {
        for (file, _) in &volumes {
            assert!(!file.contains('/'), "a volume outside the folder: {file:?}");
        }
    }
    let Ok(tmp) = tempfile::tempdir() else { return };
    let _ = std::fs::write(
        tmp.path().join("mail-F20260101T000000Z.tar"),
        vec![0u8; 2048],
    );
    let _ = std::fs::write(tmp.path().join("mail-F20260101T000000Z.tar.md5"), data);
    let _ = backupset::list_sets(tmp.path());
    if let Ok(r) = backupset::SetReader::open(tmp.path(), "mail-F20260101T000000Z.tar") {
        let _ = r.verify(&std::sync::atomic::AtomicBool::new(false));
        let _ = r.version();
        let _ = r.summary();
    }
});
