//! Alerts when backups stop working: backupd knows the runs and the sets,
//! so it judges (`alerts::eval`) and tells: a syslog warning here, and
//! remote syslog and e-mail as configured, on entering the alert, once a
//! day while it lasts, and when it clears. Failed deliveries are retried
//! a few times, then left to the next reminder; nothing here stops backupd.

use crate::service::Service;
use alerts::eval::{self, Clock, Facts, LastRun, Notice, Notifier};
use alerts::{Delivery, Kind, Target};
use appconfig::{AlertSettings, Config};
use atomicfile::write_atomically;
use control::backupd::RunResult;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const STATE_FILE: &str = "alerts.json";
/// How often the verdict is looked at when nothing happens.
const EVERY: Duration = Duration::from_secs(30);
/// After a failed delivery: the waits before each retry.
const RETRIES: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
];

/// What survives a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// When this unit began to be watched, Unix seconds.
    pub watching_since: i64,
    /// An alert was announced and has not cleared.
    pub announced: bool,
}

impl State {
    pub fn load_or_new(state_dir: &Path, now: i64) -> State {
        std::fs::read(state_dir.join(STATE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(State {
                watching_since: now,
                announced: false,
            })
    }

    pub fn save(&self, state_dir: &Path) {
        let text = serde_json::to_vec_pretty(self).unwrap_or_default();
        if let Err(e) = write_atomically(&state_dir.join(STATE_FILE), &text, 0o600) {
            log::warn!("cannot save the alert state: {e}");
        }
    }
}

/// Unix seconds of a `YYYY-MM-DD HH:MM:SS` UTC text.
fn parse_utc(s: &str) -> Option<i64> {
    let t: jiff::civil::DateTime = s.trim().parse().ok()?;
    t.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// The facts from the run history (newest first).
pub fn facts(recent: &[RunResult], watching_since: i64) -> Facts {
    Facts {
        last_ok: recent
            .iter()
            .filter(|r| r.ok)
            .find_map(|r| parse_utc(&r.finished)),
        last_run: recent.first().map(|r| LastRun {
            ok: r.ok,
            finished: parse_utc(&r.finished).unwrap_or(0),
            message: r.message.clone(),
        }),
        watching_since,
    }
}

/// The monotonic lower bound of the age: since the last good run when it
/// ended while this backupd ran, else since backupd started.
pub fn elapsed_floor(started: Instant, last_ok: Option<Instant>) -> Duration {
    last_ok.unwrap_or(started).elapsed()
}

pub fn target<'a>(settings: &'a AlertSettings, config: &'a Config) -> Target<'a> {
    Target {
        settings,
        hostname: config.system.hostname.as_str(),
        dns: &config.network.dns,
        timeout: alerts::STEP_TIMEOUT,
    }
}

/// Logs what each channel did.
fn log_deliveries(what: &str, d: &[Delivery]) {
    for x in d {
        if x.ok {
            log::info!("{what} by {}: {}", x.channel, x.text);
        } else {
            log::warn!("{what} by {} failed: {}", x.channel, x.text);
        }
    }
}

/// Settings with only the channels that failed (for a retry).
fn only_failed(settings: &AlertSettings, d: &[Delivery]) -> Option<AlertSettings> {
    let failed = |c: &str| d.iter().any(|x| x.channel == c && !x.ok);
    let mut s = settings.clone();
    if !failed("remote syslog") {
        s.syslog.host.clear();
    }
    if !failed("e-mail") {
        s.email_to.clear();
    }
    (!s.syslog.host.is_empty() || !s.email_to.is_empty()).then_some(s)
}

struct Retry {
    kind: Kind,
    text: String,
    settings: AlertSettings,
    attempt: usize,
    due: Instant,
}

/// The settings that say where notices go (not when).
fn channels(a: &AlertSettings) -> AlertSettings {
    AlertSettings {
        stale_after_hours: 0,
        ..a.clone()
    }
}

/// Sends a notice to every configured channel; a retry for those that failed.
fn notify(kind: Kind, text: String, settings: &AlertSettings, config: &Config) -> Option<Retry> {
    let t = target(settings, config);
    if !t.any() {
        return None;
    }
    let d = t.deliver(kind, &text);
    log_deliveries("alert notice", &d);
    only_failed(settings, &d).map(|s| Retry {
        kind,
        text,
        settings: s,
        attempt: 0,
        due: Instant::now() + RETRIES[0],
    })
}

/// The alert thread: looks every [`EVERY`] or when `wake` says a run ended.
pub fn run(svc: Arc<Service>, wake: Receiver<()>) {
    let now = jiff::Timestamp::now().as_second();
    let mut state = State::load_or_new(&svc.paths.state_dir, now);
    state.save(&svc.paths.state_dir);
    let mut notifier = if state.announced {
        Notifier::resumed(svc.uptime())
    } else {
        Notifier::default()
    };
    let mut retry: Option<Retry> = None;
    // The channels the current alert was told to (after a restart: as now).
    let mut told = channels(&svc.loaded().config.alerts);
    loop {
        let verdict = svc.alert_verdict(state.watching_since);
        let loaded = svc.loaded();
        if let Some(notice) = notifier.step(verdict.as_ref(), svc.uptime()) {
            let (kind, text) = match notice {
                Notice::Raised(t) => {
                    log::warn!("ALERT: {t}");
                    (Kind::Alert, t)
                }
                Notice::Reminder(t) => {
                    log::warn!("ALERT (still): {t}");
                    (Kind::Reminder, t)
                }
                Notice::Cleared => {
                    let t = svc
                        .last_result()
                        .map(|r| format!("the last backup, {}, ended well: {}", r.set, r.message))
                        .unwrap_or_else(|| "backups work again".into());
                    log::info!("backups OK again: {t}");
                    (Kind::Cleared, t)
                }
            };
            state.announced = notifier.is_active();
            state.save(&svc.paths.state_dir);
            told = channels(&loaded.config.alerts);
            retry = notify(kind, text, &loaded.config.alerts, &loaded.config);
        } else if let Some(a) = verdict.as_ref().filter(|_| notifier.is_active())
            && told != channels(&loaded.config.alerts)
        {
            // The channels changed during an alert (an address set, a
            // relay fixed): the new ones hear of it now, not in a day.
            log::info!("alert settings changed during an alert: telling them now");
            told = channels(&loaded.config.alerts);
            retry = notify(
                Kind::Alert,
                a.text.clone(),
                &loaded.config.alerts,
                &loaded.config,
            );
        } else if let Some(r) = retry.take_if(|r| Instant::now() >= r.due) {
            let t = target(&r.settings, &loaded.config);
            let d = t.deliver(r.kind, &r.text);
            log_deliveries("alert notice (again)", &d);
            let attempt = r.attempt + 1;
            retry = match (only_failed(&r.settings, &d), RETRIES.get(attempt)) {
                (Some(settings), Some(wait)) => Some(Retry {
                    settings,
                    attempt,
                    due: Instant::now() + *wait,
                    ..r
                }),
                (Some(_), None) => {
                    log::warn!("alert notice: giving up until the next reminder");
                    None
                }
                (None, _) => None,
            };
        }
        match wake.recv_timeout(EVERY) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The reply to the console's "Send test e-mail".
pub fn test(settings: &AlertSettings, config: &Config) -> Result<(bool, Vec<String>), String> {
    let mut t = target(settings, config);
    if !t.any() {
        return Err("neither an e-mail address nor a remote syslog host is set".into());
    }
    // The console waits for the answer: shorter steps.
    t.timeout = Duration::from_secs(8);
    let d = t.deliver(
        Kind::Test,
        &format!(
            "test alert from {}",
            eval::utc_minutes(jiff::Timestamp::now().as_second())
        ),
    );
    log_deliveries("test alert", &d);
    let ok = d.iter().all(|x| x.ok);
    let lines = d
        .iter()
        .map(|x| {
            format!(
                "{}: {}{}",
                x.channel,
                if x.ok { "sent, " } else { "FAILED, " },
                x.text
            )
        })
        .collect();
    Ok((ok, lines))
}

/// The verdict now, for `status` and the thread.
pub fn verdict(
    recent: &[RunResult],
    settings: &AlertSettings,
    watching_since: i64,
    floor: Duration,
) -> Option<eval::Alert> {
    eval::evaluate(
        &facts(recent, watching_since),
        settings.stale_after_hours,
        Clock {
            wall: jiff::Timestamp::now().as_second(),
            elapsed_floor: floor,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use appconfig::{BackupType, DestinationKind};

    fn run(ok: bool, finished: &str) -> RunResult {
        RunResult {
            set: "mx1-F20261204T000000Z.tar".into(),
            kind: BackupType::Full,
            destination: DestinationKind::Local,
            started: finished.into(),
            finished: finished.into(),
            ok,
            message: if ok {
                "verified".into()
            } else {
                "disk full".into()
            },
            bytes: 0,
            stream_bytes: 0,
            files: 0,
            skipped: 0,
            warnings: vec![],
        }
    }

    #[test]
    fn facts_come_from_the_history() {
        let recent = [
            run(false, "2026-12-04 02:00:00"),
            run(true, "2026-12-03 22:00:05"),
        ];
        let f = facts(&recent, 5);
        assert_eq!(f.last_ok, Some(1_796_335_205));
        let last = f.last_run.expect("a run");
        assert!(!last.ok && last.message == "disk full");
        assert_eq!(last.finished, 1_796_349_600);
        assert_eq!(facts(&[], 5).last_ok, None);
    }

    #[test]
    fn a_retry_goes_only_where_it_failed() {
        let mut s = AlertSettings {
            email_to: "a@b.c".into(),
            ..Default::default()
        };
        s.syslog.host = "10.0.0.1".into();
        let d = |c: &'static str, ok| Delivery {
            channel: c,
            ok,
            text: String::new(),
        };
        let r = only_failed(&s, &[d("remote syslog", true), d("e-mail", false)]).expect("retry");
        assert!(r.syslog.host.is_empty() && r.email_to == "a@b.c");
        assert!(only_failed(&s, &[d("remote syslog", true), d("e-mail", true)]).is_none());
    }
}
