//! Reading the kernel's mount table, `/proc/self/mountinfo`: what is
//! mounted at a path (the topmost mount), its type, source and super
//! options. hotplugd (the USB drive), smbmount (its shares and guards) and
//! the destinations read it alike.

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
        // id parent major:minor root mount-point options... - type source super-options
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

/// The live entry for `target`.
pub fn current(target: &Path) -> Option<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mount_entry(&text, target)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
pub fn unescape(s: &str) -> String {
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
    fn entries_escapes_and_the_topmost_mount() {
        let text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    40 22 8:17 / /media/usb rw,nosuid,nodev,noexec - vfat /dev/sdb1 rw,fmask=0077\n\
                    41 22 0:50 / /media/usb\\040stick rw - vfat /dev/sdc1 rw\n\
                    42 40 0:51 / /media/usb rw - tmpfs guard\\134x ro\n";
        let e = mount_entry(text, Path::new("/media/usb")).expect("entry");
        assert_eq!(
            (
                e.fstype.as_str(),
                e.source.as_str(),
                e.super_options.as_str()
            ),
            ("tmpfs", "guard\\x", "ro"),
            "the topmost of two"
        );
        let e = mount_entry(text, Path::new("/media/usb stick")).expect("escaped");
        assert_eq!(e.source, "/dev/sdc1");
        assert_eq!(mount_entry(text, Path::new("/mnt")), None);
        assert_eq!(mount_entry("garbage\n\n", Path::new("/")), None);
        assert_eq!(unescape("a\\040b\\134c\\9"), "a b\\c\\9");
    }

    /// This machine's own mount table parses, and / is found.
    #[test]
    fn real_mountinfo() {
        assert!(current(Path::new("/")).is_some());
    }
}
