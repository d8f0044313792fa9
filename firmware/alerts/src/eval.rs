//! Whether backups need the administrator, and why: pure, from the facts
//! backupd keeps and a clock given in (so tests move time, also backwards).
//!
//! The age of the last verified set is measured on the wall clock and on
//! the monotonic clock, and the larger counts: the clock put back (by hand,
//! by NTP or a flat RTC battery) must not silence the alert for as long as
//! it went back.

use std::time::Duration;

/// The last backup run's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub ok: bool,
    /// When it ended, Unix seconds (wall clock).
    pub finished: i64,
    /// "verified, 1234 files" or why it failed.
    pub message: String,
}

/// What backupd knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// When the newest verified set was written, Unix seconds; `None`: never.
    pub last_ok: Option<i64>,
    pub last_run: Option<LastRun>,
    /// When this unit began to be watched (its first start with alerts),
    /// Unix seconds: the age of "no set yet" counts from here.
    pub watching_since: i64,
}

/// The clock, as given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Wall-clock time, Unix seconds.
    pub wall: i64,
    /// Time known to have passed since the last verified set (or since
    /// watching began) on the monotonic clock: since it, when it happened
    /// while backupd ran, else since backupd started. A lower bound of the
    /// age that clock steps cannot change.
    pub elapsed_floor: Duration,
}

/// Why backups need attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The last run failed.
    pub failed: bool,
    /// No verified set for longer than the limit.
    pub stale: bool,
    /// One line for the banner, the syslog message and the mail's subject.
    pub text: String,
}

/// The verdict: `None` when all is well.
pub fn evaluate(facts: &Facts, stale_after_hours: u32, clock: Clock) -> Option<Alert> {
    let since = facts.last_ok.unwrap_or(facts.watching_since);
    let wall_age = clock.wall.saturating_sub(since).max(0) as u64;
    let age = wall_age.max(clock.elapsed_floor.as_secs());
    let limit = u64::from(stale_after_hours) * 3600;
    let stale = age > limit;
    let failed = facts.last_run.as_ref().is_some_and(|r| !r.ok);
    if !stale && !failed {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(r) = facts.last_run.as_ref().filter(|r| !r.ok) {
        parts.push(format!(
            "the last backup failed ({}): {}",
            utc_minutes(r.finished),
            one_line(&r.message)
        ));
    }
    if stale {
        parts.push(match facts.last_ok {
            Some(t) => format!(
                "no verified backup for {} (last {})",
                hours(age),
                utc_minutes(t)
            ),
            None => format!("no verified backup yet after {}", hours(age)),
        });
    }
    let mut text = parts.join("; ");
    if let Some(first) = text.get(0..1) {
        text = first.to_uppercase() + &text[1..];
    }
    Some(Alert {
        failed,
        stale,
        text,
    })
}

fn hours(secs: u64) -> String {
    let h = secs / 3600;
    if h >= 72 {
        format!("{} days", h / 24)
    } else {
        format!("{h} h")
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn utc_minutes(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => format!("@{secs}"),
    }
}

/// Control characters become spaces: the text travels in one line.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// What to send now, from the verdict's changes (see [`Notifier::step`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The alert began.
    Raised(String),
    /// Still in alert, a day after the last notice.
    Reminder(String),
    /// The alert is over.
    Cleared,
}

/// When notices go out: on entering the alert, at most once a day while it
/// lasts, and once when it clears. Times are monotonic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifier {
    /// In alert, and when the last notice went out.
    active: Option<Duration>,
}

/// How often a lasting alert is repeated.
pub const REMIND_EVERY: Duration = Duration::from_secs(24 * 3600);

impl Notifier {
    /// A notifier that knows an alert was already announced (before a
    /// restart): it reminds a day from `now`, and says when it clears.
    pub fn resumed(now: Duration) -> Notifier {
        Notifier { active: Some(now) }
    }

    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    pub fn step(&mut self, alert: Option<&Alert>, now: Duration) -> Option<Notice> {
        match (alert, self.active) {
            (Some(a), None) => {
                self.active = Some(now);
                Some(Notice::Raised(a.text.clone()))
            }
            (Some(a), Some(last)) if now.saturating_sub(last) >= REMIND_EVERY => {
                self.active = Some(now);
                Some(Notice::Reminder(a.text.clone()))
            }
            (Some(_), Some(_)) => None,
            (None, Some(_)) => {
                self.active = None;
                Some(Notice::Cleared)
            }
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    /// 2026-12-04 00:00 UTC.
    const T0: i64 = 1_796_342_400;

    fn ok_at(t: i64) -> Facts {
        Facts {
            last_ok: Some(t),
            last_run: Some(LastRun {
                ok: true,
                finished: t,
                message: "verified, 12 files".into(),
            }),
            watching_since: t - 100 * H,
        }
    }

    fn clock(wall: i64, floor_h: u64) -> Clock {
        Clock {
            wall,
            elapsed_floor: Duration::from_secs(floor_h * 3600),
        }
    }

    #[test]
    fn a_fresh_set_is_quiet_and_an_old_one_alerts() {
        let f = ok_at(T0);
        assert_eq!(
            evaluate(&f, 26, clock(T0 + 26 * H, 26)),
            None,
            "at the limit"
        );
        let a = evaluate(&f, 26, clock(T0 + 27 * H, 27)).expect("past the limit");
        assert!(a.stale && !a.failed);
        assert_eq!(
            a.text,
            "No verified backup for 27 h (last 2026-12-04 00:00 UTC)"
        );
        let a = evaluate(&f, 26, clock(T0 + 100 * H, 0)).expect("days");
        assert!(a.text.contains("for 4 days"), "{}", a.text);
    }

    #[test]
    fn a_failed_run_alerts_at_once_with_its_reason() {
        let mut f = ok_at(T0);
        f.last_run = Some(LastRun {
            ok: false,
            finished: T0 + 2 * H,
            message: "host unreachable:\n10.0.2.2".into(),
        });
        let a = evaluate(&f, 26, clock(T0 + 2 * H, 2)).expect("failed");
        assert!(a.failed && !a.stale);
        assert_eq!(
            a.text,
            "The last backup failed (2026-12-04 02:00 UTC): host unreachable: 10.0.2.2"
        );
        let a = evaluate(&f, 26, clock(T0 + 30 * H, 30)).expect("both");
        assert!(a.failed && a.stale, "{a:?}");
        assert!(
            a.text.contains("; no verified backup for 30 h"),
            "{}",
            a.text
        );
    }

    #[test]
    fn a_new_unit_counts_from_when_watching_began() {
        let f = Facts {
            last_ok: None,
            last_run: None,
            watching_since: T0,
        };
        assert_eq!(evaluate(&f, 26, clock(T0 + 3 * H, 3)), None);
        let a = evaluate(&f, 26, clock(T0 + 27 * H, 27)).expect("stale");
        assert_eq!(a.text, "No verified backup yet after 27 h");
    }

    #[test]
    fn the_clock_put_back_does_not_hide_an_old_set() {
        let f = ok_at(T0);
        // Thirty hours later the wall clock is put back a week: the
        // monotonic clock still knows 30 h passed.
        let a = evaluate(&f, 26, clock(T0 - 7 * 24 * H, 30)).expect("still stale");
        assert!(a.stale, "{a:?}");
        // Put back only an hour after the set: nothing to say.
        assert_eq!(evaluate(&f, 26, clock(T0 - 24 * H, 1)), None);
        // Put forward (a wrong RTC): the wall age counts, the floor is lower.
        assert!(evaluate(&f, 26, clock(T0 + 48 * H, 1)).is_some());
    }

    #[test]
    fn notices_go_out_once_daily_and_when_it_clears() {
        let a = Alert {
            failed: true,
            stale: false,
            text: "x".into(),
        };
        let s = |h: u64| Duration::from_secs(h * 3600);
        let mut n = Notifier::default();
        assert_eq!(n.step(None, s(0)), None);
        assert_eq!(n.step(Some(&a), s(1)), Some(Notice::Raised("x".into())));
        assert_eq!(n.step(Some(&a), s(2)), None);
        assert_eq!(n.step(Some(&a), s(24)), None);
        assert_eq!(n.step(Some(&a), s(25)), Some(Notice::Reminder("x".into())));
        assert_eq!(n.step(Some(&a), s(30)), None);
        assert_eq!(n.step(None, s(31)), Some(Notice::Cleared));
        assert_eq!(n.step(None, s(32)), None);
        let mut r = Notifier::resumed(s(0));
        assert_eq!(r.step(Some(&a), s(1)), None, "already announced");
        assert_eq!(r.step(None, s(2)), Some(Notice::Cleared));
    }
}
