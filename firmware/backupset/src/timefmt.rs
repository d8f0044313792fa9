//! UTC times as the set's names and text files write them.

use jiff::Timestamp;

/// `YYYY-MM-DD hh:mm:ss` (UTC) of seconds since the epoch.
pub fn utc_text(secs: i64) -> String {
    match Timestamp::from_second(secs) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => "0000-00-00 00:00:00".to_string(),
    }
}

/// `YYYYMMDDThhmmssZ` (UTC), as in set names.
pub fn utc_compact(secs: i64) -> String {
    match Timestamp::from_second(secs) {
        Ok(t) => t.strftime("%Y%m%dT%H%M%SZ").to_string(),
        Err(_) => "00000000T000000Z".to_string(),
    }
}

/// Parses `YYYYMMDDThhmmssZ`.
pub fn parse_compact(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i16>().ok();
    let dt = jiff::civil::DateTime::new(
        n(0..4)?,
        n(4..6)? as i8,
        n(6..8)? as i8,
        n(9..11)? as i8,
        n(11..13)? as i8,
        n(13..15)? as i8,
        0,
    )
    .ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// `hh:mm:ss:mmm`, Kerio's duration pattern.
pub fn duration_text(millis: u64) -> String {
    let s = millis / 1000;
    format!(
        "{:02}:{:02}:{:02}:{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(utc_text(1_795_317_495), "2026-11-22 03:18:15");
        assert_eq!(utc_compact(1_795_317_495), "20261122T031815Z");
        assert_eq!(parse_compact("20261122T031815Z"), Some(1_795_317_495));
        assert_eq!(parse_compact("20261322T031815Z"), None);
        assert_eq!(parse_compact("2026112T0318150Z"), None);
        assert_eq!(duration_text(3_723_045), "01:02:03:045");
    }
}
