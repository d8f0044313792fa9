//! Checking the sets dropped into the `restore` folder against their `.md5`
//! files, on a thread of the supervisor: at start, and whenever a session
//! reports a completed upload. Each verdict is recorded beside the sets
//! ([`backupset::verdict`]), where backupd reads it for the console.

use backupset::verdict::{self, Verdict};
use backupset::{SetError, SetReader, SetStatus, VolumeCheck, list_sets};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Checks one set; `Err` only when cancelled or the folder is unreadable.
fn check_set(dir: &Path, set: &SetStatus, cancel: &AtomicBool) -> Result<Verdict, SetError> {
    let name = set.name.tar_name();
    let reader = match SetReader::open(dir, &name) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Verdict {
                ok: false,
                detail: e.to_string(),
            });
        }
    };
    let checks = reader.verify(cancel)?;
    if let Some(detail) = VolumeCheck::failures(&checks) {
        return Ok(Verdict { ok: false, detail });
    }
    // The bytes match; the set must also read as a set (an encrypted set:
    // its age header; its contents need the key, which ftpd never has).
    if let Err(e) = reader.check_readable() {
        return Ok(Verdict {
            ok: false,
            detail: e.to_string(),
        });
    }
    let n = checks.len();
    Ok(Verdict {
        ok: true,
        detail: format!("{n} volume{} checked", if n == 1 { "" } else { "s" }),
    })
}

/// Checks every complete set in `dir` that has no verdict for its current
/// files, records the verdicts, and returns them by set name.
pub fn check_folder(dir: &Path, cancel: &AtomicBool) -> Result<Vec<(String, Verdict)>, SetError> {
    let mut decided = Vec::new();
    let sets = match list_sets(dir) {
        Ok(s) => s,
        Err(SetError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(decided);
        }
        Err(e) => return Err(e),
    };
    let present: Vec<String> = sets.iter().map(|s| s.name.tar_name()).collect();
    for set in sets.iter().filter(|s| s.complete) {
        if verdict::lookup(dir, set).is_some() {
            continue;
        }
        let Ok(before) = verdict::fingerprint(dir, set) else {
            continue;
        };
        let v = check_set(dir, set, cancel)?;
        // A file replaced while it was read gets checked again next time.
        if verdict::fingerprint(dir, set).ok().as_ref() != Some(&before) {
            continue;
        }
        verdict::record(dir, set, &before, &v, &present)?;
        decided.push((set.name.tar_name(), v));
    }
    Ok(decided)
}

/// The checking thread.
#[derive(Debug)]
pub struct Verifier {
    wake: Option<mpsc::Sender<()>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Verifier {
    /// Starts the thread, which checks the folder once at once.
    pub fn start(dir: PathBuf) -> std::io::Result<Verifier> {
        let (wake, rx) = mpsc::channel::<()>();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("verify".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Several uploads in a row need one pass.
                    while rx.try_recv().is_ok() {}
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    run_pass(&dir, &stop);
                }
            })?;
        let v = Verifier {
            wake: Some(wake),
            cancel,
            thread: Some(thread),
        };
        v.rescan();
        Ok(v)
    }

    /// Asks for a pass over the folder.
    pub fn rescan(&self) {
        if let Some(w) = &self.wake {
            let _ = w.send(());
        }
    }

    /// Abandons a check in progress and waits for the thread.
    pub fn stop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run_pass(dir: &Path, cancel: &AtomicBool) {
    match check_folder(dir, cancel) {
        Ok(decided) => {
            for (name, v) in decided {
                if v.ok {
                    log::info!(
                        "restore folder: {name} matches its .md5 file ({})",
                        v.detail
                    );
                } else {
                    log::error!(
                        "restore folder: {name} cannot be restored from: {}",
                        v.detail
                    );
                }
            }
        }
        Err(SetError::Cancelled) => {}
        Err(e) => log::error!("restore folder: cannot check the sets: {e}"),
    }
}
