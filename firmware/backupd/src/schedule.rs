//! When the next scheduled backup runs, in the appliance's local time.

use appconfig::{BackupSettings, BackupType, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The next scheduled run strictly after `now`, and its type.
pub fn next_run(
    settings: &BackupSettings,
    zone: &TimeZone,
    now: Timestamp,
) -> (Timestamp, BackupType) {
    let local = now.to_zoned(zone.clone());
    let mut date = local.date();
    for _ in 0..3 {
        let at = date.at(
            settings.schedule.hour as i8,
            settings.schedule.minute as i8,
            0,
            0,
        );
        // A time skipped by a DST change runs at the first instant after the gap.
        if let Ok(z) = at.to_zoned(zone.clone())
            && z.timestamp() > now
        {
            let days = z
                .date()
                .since(jiff::civil::date(1970, 1, 1))
                .map(|s| s.get_days())
                .unwrap_or(0);
            let kind = settings.scheduled_type(Weekday::from_days_since_epoch(i64::from(days)));
            return (z.timestamp(), kind);
        }
        date = date.checked_add(1.day()).unwrap_or(date);
    }
    (now, BackupType::Full)
}

/// The service loop's view of the schedule: the next run, recomputed when
/// the configuration changed from the moment up to which the loop had
/// looked. Without that a schedule changed from the console took effect
/// only after the run planned under the old one (which still ran).
#[derive(Debug, Clone)]
pub struct Plan {
    pub at: Timestamp,
    pub kind: BackupType,
    /// Runs planned up to here were started (or were not due).
    checked: Timestamp,
    generation: u64,
}

impl Plan {
    /// `next_after(t)`: the next run strictly after `t` under the current
    /// configuration, whose `generation` says which it is.
    pub fn new(
        now: Timestamp,
        generation: u64,
        next_after: impl Fn(Timestamp) -> (Timestamp, BackupType),
    ) -> Plan {
        let (at, kind) = next_after(now);
        Plan {
            at,
            kind,
            checked: now,
            generation,
        }
    }

    /// Looked at each time the loop wakes: the run to start now, if one is
    /// due.
    pub fn due(
        &mut self,
        now: Timestamp,
        generation: u64,
        next_after: impl Fn(Timestamp) -> (Timestamp, BackupType),
    ) -> Option<BackupType> {
        if generation != self.generation {
            self.generation = generation;
            // A clock put back: from now.
            (self.at, self.kind) = next_after(self.checked.min(now));
        }
        let due = (now >= self.at).then_some(self.kind);
        if due.is_some() {
            (self.at, self.kind) = next_after(now);
        }
        self.checked = now;
        due
    }
}

/// `YYYY-MM-DD HH:MM` in the zone.
pub fn local_text(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use appconfig::zone;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn default_is_daily_at_22_local() {
        let s = BackupSettings::default();
        let (t, k) = next_run(&s, &TimeZone::UTC, at("2026-11-22T10:00:00Z"));
        assert_eq!(t, at("2026-11-22T22:00:00Z"));
        assert_eq!(k, BackupType::Full);
        let (t, _) = next_run(&s, &TimeZone::UTC, at("2026-11-22T22:00:00Z"));
        assert_eq!(t, at("2026-11-23T22:00:00Z"), "strictly after now");
        let prague = zone("Europe/Prague").expect("zone");
        let (t, _) = next_run(&s, &prague, at("2026-11-22T10:00:00Z"));
        assert_eq!(t, at("2026-11-22T21:00:00Z"), "22:00 CET is 21:00 UTC");
        let posix = zone("EST5EDT,M3.2.0,M11.1.0").expect("posix");
        let (t, _) = next_run(&s, &posix, at("2026-07-01T00:00:00Z"));
        assert_eq!(t, at("2026-07-01T02:00:00Z"), "22:00 EDT on June 30");
        assert_eq!(local_text(t, &posix), "2026-06-30 22:00");
    }

    #[test]
    fn differential_days() {
        let s = BackupSettings {
            differential_days: vec![Weekday::Mon, Weekday::Tue],
            ..Default::default()
        };
        // 2026-11-23 is a Monday.
        let (_, k) = next_run(&s, &TimeZone::UTC, at("2026-11-23T08:00:00Z"));
        assert_eq!(k, BackupType::Differential);
        let (_, k) = next_run(&s, &TimeZone::UTC, at("2026-11-22T08:00:00Z"));
        assert_eq!(k, BackupType::Full);
    }

    /// The plan under settings that a test changes (`TimeOfDay` "HH:MM").
    fn plan_at(hhmm: &str) -> BackupSettings {
        BackupSettings {
            schedule: hhmm.parse().expect("time of day"),
            ..Default::default()
        }
    }

    #[test]
    fn a_plan_runs_once_when_due_then_the_next_day() {
        let s = plan_at("22:00");
        let next = |t| next_run(&s, &TimeZone::UTC, t);
        let mut p = Plan::new(at("2026-12-04T20:00:00Z"), 0, next);
        assert_eq!(p.due(at("2026-12-04T21:59:59Z"), 0, next), None);
        assert_eq!(
            p.due(at("2026-12-04T22:00:00Z"), 0, next),
            Some(BackupType::Full)
        );
        assert_eq!(p.due(at("2026-12-04T22:00:01Z"), 0, next), None);
        assert_eq!(p.at, at("2026-12-05T22:00:00Z"));
    }

    #[test]
    fn a_schedule_changed_by_a_reload_counts_at_once() {
        let old = plan_at("22:00");
        let mut p = Plan::new(at("2026-12-04T20:00:00Z"), 0, |t| {
            next_run(&old, &TimeZone::UTC, t)
        });
        // Moved to 08:00 at 20:41 (backupctl reload): no run at 22:00, nor
        // when the clock is then put 2 h on (the alert system test).
        let new = plan_at("08:00");
        let next = |t| next_run(&new, &TimeZone::UTC, t);
        assert_eq!(p.due(at("2026-12-04T20:41:00Z"), 1, next), None);
        assert_eq!(p.at, at("2026-12-05T08:00:00Z"));
        assert_eq!(p.due(at("2026-12-04T22:41:00Z"), 1, next), None);
        // Moved to a time already past since the loop last looked: runs now.
        let mut p = Plan::new(at("2026-12-04T20:00:00Z"), 0, |t| {
            next_run(&old, &TimeZone::UTC, t)
        });
        assert_eq!(p.due(at("2026-12-04T20:59:50Z"), 0, next), None);
        let soon = plan_at("21:00");
        let next = |t| next_run(&soon, &TimeZone::UTC, t);
        assert_eq!(
            p.due(at("2026-12-04T21:00:20Z"), 1, next),
            Some(BackupType::Full),
            "21:00 fell between two looks"
        );
        assert_eq!(p.at, at("2026-12-05T21:00:00Z"));
    }

    #[test]
    fn bad_zones() {
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("UTC").is_ok());
    }
}
