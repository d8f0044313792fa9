//! The Log view's reading: the last lines of the system log
//! (`/data/log/messages`, written by BusyBox syslogd and rotated at 4 MiB
//! into `messages.0`), read from the end so a full log is never loaded
//! whole, and the service each line comes from.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bytes read back from the end of a file at most: 2000 lines of syslog
/// are well under this.
pub const MAX_TAIL_BYTES: u64 = 512 << 10;

/// The services the view filters by: the label shown, and the syslog tags
/// that count as it.
pub const SERVICES: &[(&str, &[&str])] = &[
    ("all", &[]),
    ("backupd", &["backupd"]),
    ("ftpd", &["ftpd"]),
    ("recover", &["recover"]),
    ("hotplugd", &["hotplugd"]),
    ("timesyncd", &["timesyncd"]),
    ("sshd", &["dropbear", "sshd"]),
    ("console", &["console"]),
    ("kernel", &["kernel"]),
];

/// The last `max_lines` lines of `path`, oldest first, from at most
/// [`MAX_TAIL_BYTES`] of its end. A missing file has no lines.
pub fn tail_file(path: &Path, max_lines: usize) -> std::io::Result<Vec<String>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(MAX_TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(MAX_TAIL_BYTES).read_to_end(&mut bytes)?;
    // Started mid-file: the first line is likely cut, so it goes.
    let body: &[u8] = if start > 0 {
        match bytes.iter().position(|b| *b == b'\n') {
            Some(i) => &bytes[i + 1..],
            None => &[],
        }
    } else {
        &bytes
    };
    let text = String::from_utf8_lossy(body);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(max_lines);
    Ok(lines[skip..]
        .iter()
        .map(|l| crate::format::printable(l))
        .collect())
}

/// The last `max_lines` lines of the log at `path`, topped up from the
/// rotated file (`<path>.0`) when the current one has fewer: just after a
/// rotation the recent past is there.
pub fn tail_log(path: &Path, max_lines: usize) -> std::io::Result<Vec<String>> {
    let mut lines = tail_file(path, max_lines)?;
    if lines.len() < max_lines {
        let mut rotated = PathBuf::from(path);
        rotated.as_mut_os_string().push(".0");
        let mut older = tail_file(&rotated, max_lines - lines.len()).unwrap_or_default();
        older.append(&mut lines);
        lines = older;
    }
    Ok(lines)
}

/// The syslog tag of a line (`backupd` in `Dec  4 04:03:37 mx1
/// daemon.info backupd[212]: ...`), without its process id.
pub fn tag(line: &str) -> Option<&str> {
    // Time (three words), host, then an optional facility.priority.
    let mut words = line.split_whitespace().skip(4);
    let mut word = words.next()?;
    if !word.ends_with(':') && word.contains('.') {
        word = words.next()?;
    }
    let word = word.strip_suffix(':')?;
    Some(word.split('[').next().unwrap_or(word))
}

/// Whether `line` belongs to the service [`SERVICES`]`[service]`.
pub fn matches(line: &str, service: usize) -> bool {
    match SERVICES.get(service) {
        None | Some((_, [])) => true,
        Some((_, tags)) => tag(line).is_some_and(|t| tags.contains(&t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_busybox_lines() {
        let l = "Dec  4 04:03:37 mx1 daemon.info backupd[212]: backup started";
        assert_eq!(tag(l), Some("backupd"));
        assert_eq!(
            tag("Dec 14 04:03:37 mx1 kern.warn kernel: [ 1.2] x"),
            Some("kernel")
        );
        assert_eq!(
            tag("Dec 14 04:03:37 mx1 auth.info dropbear[9]: Child"),
            Some("dropbear")
        );
        // syslogd -S leaves out the facility.
        assert_eq!(tag("Dec 14 04:03:37 mx1 ftpd[3]: login"), Some("ftpd"));
        assert_eq!(tag("garbage"), None);
        assert_eq!(tag(""), None);
        let sshd = SERVICES
            .iter()
            .position(|(n, _)| *n == "sshd")
            .expect("sshd");
        assert!(matches(
            "Dec 14 04:03:37 mx1 auth.info dropbear[9]: x",
            sshd
        ));
        assert!(!matches(l, sshd));
        assert!(matches(l, 0));
        assert!(matches(l, 1));
    }

    #[test]
    fn tail_reads_the_end_only_and_tops_up_from_the_rotated_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("messages");
        assert!(tail_log(&log, 10).expect("missing").is_empty());
        // A log bigger than what is read back: only its end comes back,
        // whole lines only.
        let mut text = String::new();
        let mut n = 0;
        while (text.len() as u64) < MAX_TAIL_BYTES * 2 {
            text.push_str(&format!(
                "Dec  4 04:03:37 mx1 daemon.info backupd[1]: line {n}\n"
            ));
            n += 1;
        }
        std::fs::write(&log, &text).expect("write");
        let lines = tail_log(&log, 2000).expect("tail");
        assert_eq!(lines.len(), 2000);
        assert!(lines[1999].ends_with(&format!("line {}", n - 1)));
        assert!(lines[0].ends_with(&format!("line {}", n - 2000)));
        let few = tail_log(&log, 3).expect("tail");
        assert_eq!(few.len(), 3);
        // Fewer lines than asked: the rotated file gives the rest.
        std::fs::write(&log, "a b c h x: new 1\na b c h x: new 2\n").expect("write");
        std::fs::write(
            dir.path().join("messages.0"),
            "a b c h x: old 1\na b c h x: old 2\n",
        )
        .expect("write");
        assert_eq!(
            tail_log(&log, 3).expect("tail"),
            ["a b c h x: old 2", "a b c h x: new 1", "a b c h x: new 2"]
        );
        // Control characters in a line never reach the terminal.
        std::fs::write(&log, "a b c h x: \x1b[2Jbad\n").expect("write");
        assert!(!tail_file(&log, 5).expect("tail")[0].contains('\x1b'));
    }
}
