//! The body window: messages in `store/mail` and `store/public` older than
//! the window keep only their header section, with a header added on top
//! that says so.

/// The header added to a message whose body was left out.
pub const OMITTED_HEADER: &str = "X-Backup-Body-Omitted";

/// Longest header section looked for; a "message" without a blank line in
/// its first bytes is stored whole.
pub const MAX_HEADER: usize = 256 << 10;

/// Whether `rel` (relative to the data root) is a message the window applies
/// to: a file in a `cur` or `new` folder under `store/mail/` or `store/public/`.
pub fn is_windowed_message(rel: &str) -> bool {
    if !(rel.starts_with("store/mail/") || rel.starts_with("store/public/")) {
        return false;
    }
    let mut parts = rel.rsplit('/');
    parts.next();
    matches!(parts.next(), Some("cur" | "new"))
}

/// Length of the header section including the blank line that ends it,
/// if it ends within `data`.
pub fn header_len(data: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(pos) = data[i..].iter().position(|&b| b == b'\n') {
        let nl = i + pos;
        let rest = &data[nl + 1..];
        if rest.first() == Some(&b'\n') {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

/// The stored form of an old message: the added header, then the original
/// header section (blank line included).
pub fn headers_only(headers: &[u8], original_size: u64, window_hours: u32) -> Vec<u8> {
    let crlf = headers.ends_with(b"\r\n\r\n");
    let mut out = format!(
        "{OMITTED_HEADER}: body of {original_size} bytes older than {window_hours} h not backed up{}",
        if crlf { "\r\n" } else { "\n" }
    )
    .into_bytes();
    out.extend_from_slice(headers);
    out
}

/// Whether a stored message is headers-only (starts with the added header).
pub fn is_headers_only(stored: &[u8]) -> bool {
    stored.starts_with(OMITTED_HEADER.as_bytes()) && stored.get(OMITTED_HEADER.len()) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_files() {
        assert!(is_windowed_message(
            "store/mail/a.com/bob/INBOX/cur/1.M1P1.mail"
        ));
        assert!(is_windowed_message("store/public/a.com/News/new/x"));
        assert!(!is_windowed_message("store/queue/incoming/x.eml"));
        assert!(!is_windowed_message("store/mail/a.com/bob/INBOX/cur"));
        assert!(!is_windowed_message("store/contacts/a.com/bob.vcf"));
    }

    #[test]
    fn headers() {
        assert_eq!(header_len(b"A: b\nC: d\n\nbody"), Some(11));
        assert_eq!(header_len(b"A: b\r\n\r\nbody"), Some(8));
        assert_eq!(header_len(b"A: b\nno end"), None);
        let h = headers_only(b"A: b\n\n", 100, 24);
        assert!(is_headers_only(&h));
        assert!(h.ends_with(b"A: b\n\n"));
        assert!(!is_headers_only(b"A: b\n\nbody"));
    }
}
