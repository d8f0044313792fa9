#![no_main]
//! Any bytes as a backup set (with a matching .md5, so every check past
//! the MD5 is exercised): listed, restored whole and selectively, or
//! refused with an error; never a panic, and nothing is ever written
//! outside the target.

use libfuzzer_sys::fuzz_target;
use recover::{Action, Reporter, Request, Selection, Targets};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

const NAME: &str = "mail-F20260101T000000Z.tar";

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.clone());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, out);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(tmp) = tempfile::tempdir() else { return };
    let sets = tmp.path().join("sets");
    let target = tmp.path().join("target");
    if std::fs::create_dir_all(&sets).is_err() {
        return;
    }
    let _ = std::fs::write(sets.join(NAME), data);
    let _ = std::fs::write(
        sets.join("mail-F20260101T000000Z.tar.md5"),
        format!("{}  {NAME}\n", md5_hex(data)),
    );
    let request = |action: Action, selection: Selection| Request {
        action,
        source: sets.join(NAME),
        selection,
        targets: Targets {
            store: target.join("store"),
            cfgdir: target.clone(),
        },
        keep_bak: false,
        verify: false,
        hooks: Default::default(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let mut report = Reporter::quiet();
    let _ = recover::run(&request(Action::List, Selection::default()), &mut report);
    let _ = recover::run(&request(Action::Restore, Selection::default()), &mut report);
    let user = Selection {
        domain: Some("a.com".into()),
        user: Some("bob".into()),
        ..Default::default()
    };
    let _ = recover::run(&request(Action::List, user.clone()), &mut report);
    let _ = recover::run(&request(Action::Restore, user), &mut report);
    let mut all = Vec::new();
    walk(tmp.path(), &mut all);
    for p in all {
        assert!(
            p.starts_with(&sets) || p.starts_with(&target),
            "written outside the target: {}",
            p.display()
        );
    }
});
