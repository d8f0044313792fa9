//! Tar headers, written by hand for speed: POSIX ustar, with a PAX extended
//! header in front when a path or link target does not fit. GNU tar, bsdtar
//! and 7-Zip read both. No sparse entries, numeric owners only (no user
//! database on the appliance).

pub const BLOCK: u64 = 512;

/// What a tar entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One entry's header fields.
#[derive(Debug, Clone)]
pub struct EntryHeader<'a> {
    /// Path inside the archive, without a trailing slash.
    pub path: &'a str,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub link: &'a str,
}

/// Bytes of padding after `size` bytes of data.
pub fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

fn octal(field: &mut [u8], value: u64) {
    // Digits fill the field but its last byte, which stays NUL.
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        // Too big for octal: GNU's base-256 form (first byte 0x80, big-endian).
        field.fill(0);
        field[0] = 0x80;
        let bytes = value.to_be_bytes();
        let n = bytes.len().min(field.len() - 1);
        let flen = field.len();
        field[flen - n..].copy_from_slice(&bytes[bytes.len() - n..]);
        return;
    }
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
}

/// Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes).
fn split_ustar(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 {
        return Some(("", path));
    }
    if path.len() > 256 {
        return None;
    }
    let bytes = path.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'/')
        .find(|&i| i <= 155 && i > 0 && path.len() - i - 1 <= 100 && path.len() - i > 1)
        .map(|i| (&path[..i], &path[i + 1..]))
}

fn ustar_block(
    out: &mut Vec<u8>,
    prefix: &str,
    name: &str,
    typeflag: u8,
    h: &EntryHeader<'_>,
    size: u64,
    link: &str,
) {
    let start = out.len();
    out.resize(start + BLOCK as usize, 0);
    let b = &mut out[start..];
    b[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut b[100..108], u64::from(h.mode & 0o7777));
    octal(&mut b[108..116], u64::from(h.uid));
    octal(&mut b[116..124], u64::from(h.gid));
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], h.mtime.max(0) as u64);
    b[156] = typeflag;
    b[157..157 + link.len()].copy_from_slice(link.as_bytes());
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let text = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(text.as_bytes());
}

/// One PAX record, `"<len> <key>=<value>\n"`, where len counts itself.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &str) {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len = len.to_string().len() + body;
    }
    out.extend_from_slice(format!("{len} {key}={value}\n").as_bytes());
}

/// Appends the header block(s) of an entry to `out` and returns how many
/// bytes were added. Data (and its padding) follow separately.
pub fn write_header(out: &mut Vec<u8>, h: &EntryHeader<'_>) -> usize {
    let start = out.len();
    let (typeflag, size) = match h.kind {
        EntryKind::File => (b'0', h.size),
        EntryKind::Dir => (b'5', 0),
        EntryKind::Symlink => (b'2', 0),
    };
    let full: std::borrow::Cow<'_, str> = if h.kind == EntryKind::Dir {
        format!("{}/", h.path).into()
    } else {
        h.path.into()
    };
    let split = split_ustar(&full);
    let link_fits = h.link.len() <= 100;
    let (prefix, name, link) = match split {
        Some((p, n)) if link_fits => (p, n, h.link),
        _ => {
            let mut records = Vec::new();
            if split.is_none() {
                pax_record(&mut records, "path", &full);
            }
            if !link_fits {
                pax_record(&mut records, "linkpath", h.link);
            }
            let pax = EntryHeader {
                path: "",
                kind: EntryKind::File,
                size: records.len() as u64,
                link: "",
                ..*h
            };
            ustar_block(out, "", "@PaxHeader", b'x', &pax, records.len() as u64, "");
            let plen = records.len() as u64;
            out.extend_from_slice(&records);
            out.resize(out.len() + padding(plen) as usize, 0);
            let (p, n) = split.unwrap_or(("", truncate(&full, 100)));
            (
                p,
                n,
                if link_fits {
                    h.link
                } else {
                    truncate(h.link, 100)
                },
            )
        }
    };
    ustar_block(out, prefix, name, typeflag, h, size, link);
    out.len() - start
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn entry<'a>(path: &'a str, kind: EntryKind, size: u64, link: &'a str) -> EntryHeader<'a> {
        EntryHeader {
            path,
            kind,
            size,
            mode: 0o640,
            uid: 1000,
            gid: 1000,
            mtime: 1_795_317_495,
            link,
        }
    }

    #[test]
    fn the_tar_crate_reads_what_we_write() {
        let long_dir = format!("@backup/{}", "Входящие/".repeat(20));
        let long_file = format!("{long_dir}message with a long name.eml");
        let long_link = "x".repeat(300);
        let mut out = Vec::new();
        for (path, kind, data, link) in [
            ("@backup", EntryKind::Dir, &b""[..], ""),
            ("@backup/short.txt", EntryKind::File, &b"hello"[..], ""),
            (long_dir.trim_end_matches('/'), EntryKind::Dir, &b""[..], ""),
            (long_file.as_str(), EntryKind::File, &b"body\n"[..], ""),
            (
                "@backup/link",
                EntryKind::Symlink,
                &b""[..],
                long_link.as_str(),
            ),
        ] {
            write_header(&mut out, &entry(path, kind, data.len() as u64, link));
            out.extend_from_slice(data);
            out.resize(out.len() + padding(data.len() as u64) as usize, 0);
        }
        out.resize(out.len() + 1024, 0);
        let mut ar = tar::Archive::new(&out[..]);
        let mut seen = Vec::new();
        for e in ar.entries().expect("entries") {
            let mut e = e.expect("entry");
            let path = e.path().expect("path").to_string_lossy().into_owned();
            let link = e
                .link_name()
                .expect("link")
                .map(|l| l.to_string_lossy().into_owned());
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("data");
            assert_eq!(e.header().mode().expect("mode"), 0o640);
            assert_eq!(e.header().mtime().expect("mtime"), 1_795_317_495);
            seen.push((path, data, link));
        }
        assert_eq!(seen.len(), 5);
        assert_eq!(seen[1].0, "@backup/short.txt");
        assert_eq!(seen[1].1, b"hello");
        assert_eq!(
            seen[2].0.trim_end_matches('/'),
            long_dir.trim_end_matches('/')
        );
        assert_eq!(seen[3].0, long_file);
        assert_eq!(seen[3].1, b"body\n");
        assert_eq!(seen[4].2.as_deref(), Some(long_link.as_str()));
    }

    #[test]
    fn huge_sizes_use_base_256() {
        let mut out = Vec::new();
        write_header(&mut out, &entry("big", EntryKind::File, 10 << 30, ""));
        let h = tar::Header::from_byte_slice(&out[..512]);
        assert_eq!(h.size().expect("size"), 10 << 30);
    }
}
