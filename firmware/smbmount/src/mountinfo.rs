//! Reading the mount table: is something mounted at a path, and which SMB
//! dialect did a cifs mount negotiate (`vers=` in its options).

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// The topmost mount at `target` in a `/proc/self/mountinfo` text.
pub fn mount_entry(mountinfo: &str, target: &Path) -> Option<MountEntry> {
    let target = target.to_string_lossy();
    let mut found = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.get(4).map(|p| unescape(p)) != Some(target.to_string()) {
            continue;
        }
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        found = Some(MountEntry {
            fstype: fields.get(dash + 1).unwrap_or(&"").to_string(),
            source: unescape(fields.get(dash + 2).unwrap_or(&"")),
            super_options: fields.get(dash + 3).unwrap_or(&"").to_string(),
        });
    }
    found
}

/// The negotiated dialect from cifs's options (`vers=3.1.1`).
pub fn dialect(super_options: &str) -> Option<String> {
    super_options
        .split(',')
        .find_map(|o| o.strip_prefix("vers="))
        .map(str::to_string)
}

/// The live entry for `target`.
pub fn current(target: &Path) -> Option<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mount_entry(&text, target)
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(d) = b.get(i + 1..i + 4)
            && d.iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cifs_entry_and_dialect() {
        let text = "22 1 8:1 / / rw - ext4 /dev/vda rw\n\
            90 22 0:55 / /run/smb rw,nosuid,nodev,noexec,relatime shared:40 - cifs //10.0.2.2/backups rw,vers=3.1.1,cache=strict,username=backup,uid=0,addr=10.0.2.2,soft,echo_interval=5\n";
        let e = mount_entry(text, Path::new("/run/smb")).expect("entry");
        assert_eq!(e.fstype, "cifs");
        assert_eq!(e.source, "//10.0.2.2/backups");
        assert_eq!(dialect(&e.super_options).as_deref(), Some("3.1.1"));
        assert_eq!(mount_entry(text, Path::new("/mnt")), None);
        assert_eq!(dialect("rw,soft"), None);
        assert_eq!(unescape("a\\040b\\134c"), "a b\\c");
    }
}
