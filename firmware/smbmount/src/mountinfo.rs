//! The mount table as smbmount reads it ([`mountinfo`], the workspace's
//! one reader), and which SMB dialect a cifs mount negotiated (`vers=` in
//! its options).

pub use mountinfo::{MountEntry, current, mount_entry};

/// The negotiated dialect from cifs's options (`vers=3.1.1`).
pub fn dialect(super_options: &str) -> Option<String> {
    super_options
        .split(',')
        .find_map(|o| o.strip_prefix("vers="))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn cifs_entry_and_dialect() {
        let text = "22 1 8:1 / / rw - ext4 /dev/vda rw\n\
            90 22 0:55 / /run/smb rw,nosuid,nodev,noexec,relatime shared:40 - cifs //10.0.2.2/backups rw,vers=3.1.1,cache=strict,username=backup,uid=0,addr=10.0.2.2,soft,echo_interval=5\n";
        let e = mount_entry(text, Path::new("/run/smb")).expect("entry");
        assert_eq!(e.fstype, "cifs");
        assert_eq!(e.source, "//10.0.2.2/backups");
        assert_eq!(dialect(&e.super_options).as_deref(), Some("3.1.1"));
        assert_eq!(dialect("rw,soft"), None);
    }
}
