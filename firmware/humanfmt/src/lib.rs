//! Numbers for people, in plain ASCII: byte sizes, durations, progress
//! bars, digests. The console and the command-line tools show them alike.

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Text from outside (names in a backup set, on a share) made safe to print
/// on a terminal: control characters, which could move the cursor, retitle
/// the window or hide lines (an escape sequence in a file name), are shown
/// as escapes (`\u{1b}`) instead. Line breaks stay only with `keep_newlines`.
pub fn printable(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `0:42`, `1:03:07`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A wait for people: seconds under two minutes (`90 s`), else minutes
/// rounded up (`15 min`).
pub fn minutes(secs: u64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs.div_ceil(60))
    }
}

/// `0:00:42`, `1:03:07`: hours always shown, so that a line read by a
/// script keeps one shape.
pub fn clock(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Lower-case hex, as `md5sum` prints a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `[#########...........]  45%` in `width` characters of bar.
pub fn bar(done: u64, total: u64, width: usize) -> String {
    let fraction = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let filled = (fraction * width as f64).round() as usize;
    format!(
        "[{}{}] {:3}%",
        "#".repeat(filled),
        ".".repeat(width - filled),
        (fraction * 100.0).floor() as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(printable("INBOX", false), "INBOX");
        assert_eq!(
            printable("a\x1b]0;owned\x07b\r\nc", false),
            "a\\u{1b}]0;owned\\u{7}b\\u{d}\\u{a}c"
        );
        assert_eq!(printable("x\ny\u{9b}2J", true), "x\ny\\u{9b}2J");
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(42), "0:42");
        assert_eq!(duration(3787), "1:03:07");
        assert_eq!(clock(42), "0:00:42");
        assert_eq!(clock(3787), "1:03:07");
        assert_eq!(minutes(119), "119 s");
        assert_eq!(minutes(890), "15 min");
    }

    #[test]
    fn digests() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }

    #[test]
    fn bars() {
        assert_eq!(bar(1, 4, 8), "[##......]  25%");
        assert_eq!(bar(5, 0, 4), "[....]   0%");
        assert_eq!(bar(9, 4, 4), "[####] 100%");
    }
}
