//! The running service: configuration, the backup in progress, recent
//! results, and the answers to control requests.

use crate::config::{self, Loaded};
use crate::paths::Paths;
use crate::runner::{self, RunRequest, now_secs};
use crate::schedule;
use appconfig::BackupType;
use atomicfile::write_atomically;
use backupset::{Progress, SetReader, list_sets};
use control::backupd::{Location, Reply, Request, RunResult, SetInfo, Status, Verification};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Results kept for `status`.
const HISTORY: usize = 20;
const HISTORY_FILE: &str = "history.json";

struct Running {
    set: String,
    kind: BackupType,
    since: Instant,
    progress: Arc<Progress>,
    cancel: Arc<AtomicBool>,
    estimate: u64,
}

/// A set being checked for `VerifySet`, for `status`.
struct Checking {
    set: String,
    kind: BackupType,
    since: Instant,
    done: Arc<AtomicU64>,
    total: u64,
}

impl Checking {
    fn progress(&self) -> control::backupd::Progress {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self.since.elapsed();
        control::backupd::Progress {
            set: self.set.clone(),
            kind: self.kind,
            phase: "verifying".into(),
            bytes_done: done,
            bytes_total: self.total,
            files_done: 0,
            elapsed_secs: elapsed.as_secs(),
            eta_secs: eta(done, self.total, elapsed),
        }
    }
}

/// Seconds left at the rate so far, once something was done.
fn eta(done: u64, total: u64, elapsed: Duration) -> Option<u64> {
    (done > 0 && total > done).then(|| {
        let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
        ((total - done) as f64 / rate) as u64
    })
}

struct Inner {
    loaded: Loaded,
    running: Option<Running>,
    /// Sets being verified for control requests (two consoles may).
    checking: Vec<Checking>,
    worker: Option<JoinHandle<()>>,
    recent: Vec<RunResult>,
    /// When the last good run ended, if it ended while this backupd ran.
    last_ok_at: Option<Instant>,
    /// Tells the alert thread a run ended.
    alert_wake: Option<mpsc::Sender<()>>,
}

pub struct Service {
    pub paths: Paths,
    inner: Mutex<Inner>,
    /// Set on shutdown: stops verifications and the backup in progress.
    stopping: Arc<AtomicBool>,
    /// When this backupd started (monotonic), for the alert's age.
    started: Instant,
    /// When alerting began to watch this unit, Unix seconds.
    watching_since: i64,
    /// Configurations loaded since start: the schedule loop recomputes
    /// the next run when it changes (a reload comes by the control socket
    /// as well as by SIGHUP).
    reloads: AtomicU64,
}

impl Service {
    pub fn new(paths: Paths, loaded: Loaded) -> Arc<Service> {
        let recent = std::fs::read(paths.state_dir.join(HISTORY_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let alert_state = crate::alerting::State::load_or_new(
            &paths.state_dir,
            jiff::Timestamp::now().as_second(),
        );
        Arc::new(Service {
            inner: Mutex::new(Inner {
                loaded,
                running: None,
                checking: Vec::new(),
                worker: None,
                recent,
                last_ok_at: None,
                alert_wake: None,
            }),
            stopping: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
            watching_since: alert_state.watching_since,
            reloads: AtomicU64::new(0),
            paths,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the control socket down with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn loaded(&self) -> Loaded {
        self.lock().loaded.clone()
    }

    /// The next scheduled run after now.
    pub fn next_run(&self) -> (jiff::Timestamp, BackupType) {
        self.next_run_after(jiff::Timestamp::now())
    }

    /// The next scheduled run strictly after `from`.
    pub fn next_run_after(&self, from: jiff::Timestamp) -> (jiff::Timestamp, BackupType) {
        let l = self.loaded();
        schedule::next_run(&l.config.backup, &l.zone, from)
    }

    /// How many times a configuration was loaded since start.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    pub fn is_running(&self) -> bool {
        self.lock().running.is_some()
    }

    /// Starts a backup on a worker thread; returns the set's name.
    pub fn start_backup(self: &Arc<Self>, kind: BackupType) -> Result<String, String> {
        let mut inner = self.lock();
        if let Some(r) = &inner.running {
            return Err(format!("a backup is already running ({})", r.set));
        }
        if self.stopping.load(Ordering::Relaxed) {
            return Err("backupd is stopping".into());
        }
        if let Some(w) = inner.worker.take() {
            let _ = w.join();
        }
        let config = inner.loaded.config.clone();
        let estimate = inner
            .recent
            .iter()
            .find(|r| r.ok && r.kind == kind)
            // Progress counts the tar stream; older records have only the
            // set's size (the same for a plain set).
            .map(|r| {
                if r.stream_bytes > 0 {
                    r.stream_bytes
                } else {
                    r.bytes
                }
            })
            .unwrap_or(0);
        let req = RunRequest {
            kind,
            started: now_secs(),
            cancel: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(Progress::default()),
            no_verify: false,
        };
        inner.running = Some(Running {
            set: String::new(),
            kind,
            since: Instant::now(),
            progress: req.progress.clone(),
            cancel: req.cancel.clone(),
            estimate,
        });
        let (named_tx, named_rx) = mpsc::channel::<String>();
        let svc = Arc::clone(self);
        let paths = self.paths.clone();
        let worker = std::thread::Builder::new()
            .name("backup".into())
            .stack_size(16 << 20)
            .spawn(move || {
                let mut named = Some(named_tx);
                let mut on_named = |set: &str| {
                    {
                        let mut inner = svc.lock();
                        if let Some(r) = inner.running.as_mut() {
                            r.set = set.to_string();
                        }
                    }
                    if let Some(tx) = named.take() {
                        let _ = tx.send(set.to_string());
                    }
                };
                let result = runner::run(&config, &paths, &req, &mut on_named);
                svc.finished(result);
            })
            .map_err(|e| format!("cannot start the backup: {e}"))?;
        inner.worker = Some(worker);
        drop(inner);
        // Clients wait 10 s for a reply; a slow mount must not make them give up.
        match named_rx.recv_timeout(Duration::from_secs(8)) {
            Ok(set) if !set.is_empty() => Ok(set),
            Ok(_) => {
                // It failed before it had a name: its result says why.
                let worker = self.lock().worker.take();
                if let Some(w) = worker {
                    let _ = w.join();
                }
                let last = self.lock().recent.first().map(|r| r.message.clone());
                Err(last.unwrap_or_else(|| "the backup could not start".into()))
            }
            Err(_) => Ok("(starting)".into()),
        }
    }

    /// Time since this backupd started (monotonic).
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Lets `wake` hear when a run ends (the alert thread).
    pub fn set_alert_wake(&self, wake: mpsc::Sender<()>) {
        self.lock().alert_wake = Some(wake);
    }

    pub fn last_result(&self) -> Option<RunResult> {
        self.lock().recent.first().cloned()
    }

    /// Whether backups need the administrator now, and why.
    pub fn alert_verdict(&self, watching_since: i64) -> Option<alerts::eval::Alert> {
        let inner = self.lock();
        let floor = crate::alerting::elapsed_floor(self.started, inner.last_ok_at);
        crate::alerting::verdict(
            &inner.recent,
            &inner.loaded.config.alerts,
            watching_since,
            floor,
        )
    }

    fn finished(&self, result: RunResult) {
        let mut inner = self.lock();
        inner.running = None;
        if result.ok {
            inner.last_ok_at = Some(Instant::now());
        }
        if let Some(w) = &inner.alert_wake {
            let _ = w.send(());
        }
        inner.recent.insert(0, result);
        inner.recent.truncate(HISTORY);
        let text = serde_json::to_vec_pretty(&inner.recent).unwrap_or_default();
        drop(inner);
        if let Err(e) = write_atomically(&self.paths.state_dir.join(HISTORY_FILE), &text, 0o600) {
            log::warn!("cannot save the run history: {e}");
        }
    }

    /// Re-reads the configuration; on error the last good one stays.
    pub fn reload(&self) -> Result<String, String> {
        match config::load(&self.paths.config) {
            Ok(loaded) => {
                {
                    let mut inner = self.lock();
                    inner.loaded = loaded;
                    self.reloads.fetch_add(1, Ordering::Relaxed);
                    // New alert settings are looked at now.
                    if let Some(w) = &inner.alert_wake {
                        let _ = w.send(());
                    }
                }
                let (t, k) = self.next_run();
                let msg = format!(
                    "configuration reloaded; next backup {} ({k})",
                    schedule::local_text(t, &self.loaded().zone)
                );
                log::info!("{msg}");
                Ok(msg)
            }
            Err(e) => {
                log::error!("keeping the last good configuration: {e}");
                Err(format!("keeping the last good configuration: {e}"))
            }
        }
    }

    /// Abandons a backup in progress and waits for its worker.
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        let worker = {
            let mut inner = self.lock();
            if let Some(r) = &inner.running {
                log::warn!("stopping: abandoning the backup in progress ({})", r.set);
                r.cancel.store(true, Ordering::Relaxed);
            }
            inner.worker.take()
        };
        if let Some(w) = worker {
            let _ = w.join();
        }
    }

    pub fn status(&self) -> Status {
        let alert = self.alert_verdict(self.watching_since).map(|a| a.text);
        let inner = self.lock();
        let (t, k) = schedule::next_run(
            &inner.loaded.config.backup,
            &inner.loaded.zone,
            jiff::Timestamp::now(),
        );
        let running = inner.running.as_ref().map(|r| {
            let done = r.progress.bytes.load(Ordering::Relaxed);
            let elapsed = r.since.elapsed();
            let total = r.estimate.max(done);
            let eta = eta(done, r.estimate, elapsed);
            control::backupd::Progress {
                set: r.set.clone(),
                kind: r.kind,
                phase: match r.progress.phase() {
                    backupset::Phase::Writing => "writing",
                    backupset::Phase::Verifying => "verifying",
                    backupset::Phase::Publishing => "publishing",
                }
                .into(),
                bytes_done: done,
                bytes_total: if r.estimate > 0 { total } else { 0 },
                files_done: r.progress.files.load(Ordering::Relaxed),
                elapsed_secs: elapsed.as_secs(),
                eta_secs: eta,
            }
        });
        Status {
            destination: inner.loaded.config.backup.destination,
            next_run: schedule::local_text(t, &inner.loaded.zone),
            next_kind: k,
            running,
            recent: inner.recent.clone(),
            verifying: inner.checking.iter().map(Checking::progress).collect(),
            alert,
        }
    }

    /// The folder of sets a request is about, open for as long as the
    /// session lives.
    fn location_dir(
        &self,
        location: &Location,
    ) -> Result<(PathBuf, Option<Box<dyn destinations::Session>>), String> {
        let l = self.loaded();
        let session = destinations::open_location(
            location,
            &l.config.backup,
            &l.config.network.dns,
            &crate::destination::destination_paths(&self.paths),
        )
        .map_err(|e| e.to_string())?;
        Ok((session.dir().to_path_buf(), Some(session)))
    }

    pub fn list(&self, location: &Location) -> Result<Vec<SetInfo>, String> {
        let (dir, _session) = self.location_dir(location)?;
        sets_in(&dir)
    }

    pub fn verify(&self, location: &Location, name: &str) -> Result<Verification, String> {
        if name.contains('/') {
            return Err(format!("{name:?} is a set name, not a path"));
        }
        let (dir, _session) = self.location_dir(location)?;
        let set = SetReader::open(&dir, name).map_err(|e| e.to_string())?;
        let done = Arc::new(AtomicU64::new(0));
        self.lock().checking.push(Checking {
            set: name.to_string(),
            kind: crate::kind::backup_type(set.name().kind),
            since: Instant::now(),
            done: done.clone(),
            total: set.total_size(),
        });
        let checks = set.verify_counting(&self.stopping, &done);
        self.lock()
            .checking
            .retain(|c| !Arc::ptr_eq(&c.done, &done));
        let checks = checks.map_err(|e| e.to_string())?;
        let mut details: Vec<String> = checks
            .iter()
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        let mut ok = checks.iter().all(|c| c.ok);
        if ok {
            // The bytes are right; check the set also reads as a set (an
            // encrypted one: its age header, the contents need the key).
            if let Err(e) = set.check_readable() {
                ok = false;
                details.push(e.to_string());
            }
        }
        Ok(Verification {
            name: name.to_string(),
            ok,
            details,
        })
    }

    pub fn handle(self: &Arc<Self>, req: Request) -> Reply {
        match req {
            Request::Status => Reply::Status(self.status()),
            Request::BackupNow { kind } => match self.start_backup(kind) {
                Ok(set) => Reply::Started { set },
                Err(message) => Reply::Error { message },
            },
            Request::ListSets { location } => match self.list(&location) {
                Ok(sets) => Reply::Sets { sets },
                Err(message) => Reply::Error { message },
            },
            Request::VerifySet { location, name } => match self.verify(&location, &name) {
                Ok(v) => Reply::Verified(v),
                Err(message) => Reply::Error { message },
            },
            Request::TestConnectivity { settings } => {
                let config = self.loaded().config;
                let settings = settings.unwrap_or(config.backup);
                match crate::destination::destination_for(
                    &settings,
                    &config.network.dns,
                    &self.paths,
                ) {
                    Err(message) => Reply::Error { message },
                    Ok(dest) => Reply::Connectivity(crate::destination::test_connectivity(&*dest)),
                }
            }
            Request::Reload => match self.reload() {
                Ok(message) => Reply::Reloaded { message },
                Err(message) => Reply::Error { message },
            },
            Request::SendTestAlert { settings } => {
                let config = self.loaded().config;
                let settings = settings.unwrap_or_else(|| config.alerts.clone());
                match crate::alerting::test(&settings, &config) {
                    Ok((ok, lines)) => Reply::AlertTested { ok, lines },
                    Err(message) => Reply::Error { message },
                }
            }
        }
    }
}

/// The sets in a folder, newest first, for the protocol.
pub fn sets_in(dir: &std::path::Path) -> Result<Vec<SetInfo>, String> {
    let mut sets: Vec<SetInfo> = list_sets(dir)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| {
            let verdict = s
                .complete
                .then(|| backupset::verdict::lookup(dir, &s))
                .flatten();
            SetInfo {
                name: s.name.tar_name(),
                host: s.name.host.clone(),
                kind: crate::kind::backup_type(s.name.kind),
                time: backupset::timefmt::utc_text(s.name.time),
                size: s.size,
                volumes: s.volumes.len() as u32,
                complete: s.complete,
                verified: verdict.as_ref().map(|v| v.ok),
                problem: s
                    .problem
                    .or_else(|| verdict.filter(|v| !v.ok).map(|v| v.detail)),
                base: s.base,
                unit: s.unit,
            }
        })
        .collect();
    sets.reverse();
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_reports_its_progress_and_time_left() {
        let c = Checking {
            set: "mx1-F20261120T220000Z.tar".into(),
            kind: BackupType::Full,
            since: Instant::now() - Duration::from_secs(10),
            done: Arc::new(AtomicU64::new(0)),
            total: 4000,
        };
        let p = c.progress();
        assert_eq!(
            (p.phase.as_str(), p.bytes_done, p.eta_secs),
            ("verifying", 0, None)
        );
        c.done.store(1000, Ordering::Relaxed);
        let p = c.progress();
        assert_eq!((p.bytes_done, p.bytes_total), (1000, 4000));
        // A quarter in ten seconds: thirty more.
        assert!(matches!(p.eta_secs, Some(29..=30)), "{:?}", p.eta_secs);
        assert_eq!(eta(4000, 4000, Duration::from_secs(1)), None);
    }
}
