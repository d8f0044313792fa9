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

    #[test]
    fn bad_zones() {
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("UTC").is_ok());
    }
}
