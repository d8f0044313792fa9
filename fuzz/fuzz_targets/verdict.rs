#![no_main]
//! Any bytes as the `.verified` record beside the sets of the FTP restore
//! folder (a folder an FTP user writes to): looked up for a set there, and
//! a new verdict recorded over it. Never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tmp) = tempfile::tempdir() else { return };
    let name = "mail-F20260101T000000Z.tar";
    let _ = std::fs::write(tmp.path().join(name), b"x");
    let _ = std::fs::write(tmp.path().join(format!("{name}.md5")), b"x");
    let _ = std::fs::write(tmp.path().join(backupset::verdict::VERDICT_FILE), data);
    let Ok(sets) = backupset::list_sets(tmp.path()) else {
        return;
    };
    for s in &sets {
        let _ = backupset::verdict::lookup(tmp.path(), s);
        if let Ok(fp) = backupset::verdict::fingerprint(tmp.path(), s) {
            let v = backupset::verdict::Verdict {
                ok: false,
                detail: "fuzz".into(),
            };
            let _ = backupset::verdict::record(tmp.path(), s, &fp, &v, &[name.to_string()]);
            let _ = backupset::verdict::lookup(tmp.path(), s);
        }
    }
});
