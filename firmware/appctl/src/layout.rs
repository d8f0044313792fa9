use appconfig::Config;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Folders of the data partition and their modes (DESIGN.md, "The data
/// that is protected"). Private ones hold secrets or mail.
pub const FOLDERS: &[(&str, u32)] = &[
    ("config", 0o700),
    ("license", 0o700),
    ("sslca", 0o700),
    ("sslcert", 0o700),
    ("store", 0o700),
    ("store/mail", 0o700),
    ("store/public", 0o700),
    ("store/lists", 0o700),
    ("store/contacts", 0o700),
    ("store/queue", 0o700),
    ("store/queue/incoming", 0o700),
    ("store/queue/outgoing", 0o700),
    ("store/spamassassin", 0o700),
    ("backup", 0o750),
    ("restore", 0o750),
    ("state", 0o700),
    ("log", 0o750),
];

/// What [`ensure_layout`] did, for the boot log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LayoutReport {
    pub created: Vec<String>,
    pub wrote_default_config: bool,
    /// The identity this unit got (first boot, or a configuration from a
    /// firmware before identities).
    pub new_identity: Option<String>,
}

/// Creates the missing folders of the data partition and, on first boot,
/// the default configuration with a new unit identity and a host name made
/// unique from `mac` (the network interface's address, when there is one).
/// A configuration without an identity gets one; nothing else in an
/// existing file is changed, and a file that does not parse is left for
/// the administrator.
pub fn ensure_layout(data: &Path, mac: Option<[u8; 6]>) -> io::Result<LayoutReport> {
    let mut report = LayoutReport::default();
    for (rel, mode) in FOLDERS {
        let dir = data.join(rel);
        if !dir.is_dir() {
            fs::create_dir_all(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(*mode))?;
            report.created.push((*rel).to_string());
        }
    }
    let path = data.join("config/appliance.toml");
    let (loaded, base) = match Config::load_with_revision(&path) {
        Ok(x) => x,
        Err(_) => return Ok(report),
    };
    let mut config = if path.exists() {
        if !loaded.system.unit_id.is_empty() {
            return Ok(report);
        }
        loaded
    } else {
        report.wrote_default_config = true;
        let mut c = Config::default();
        if let Some(mac) = mac {
            c.system.hostname = appconfig::Hostname::for_unit(mac);
        }
        c
    };
    config.system.unit_id = appconfig::UnitId::generate().map_err(io::Error::other)?;
    report.new_identity = Some(config.system.unit_id.to_string());
    config
        .save_if_unchanged(&path, &base)
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(report)
}

/// Reads a network interface's MAC address from sysfs
/// (`/sys/class/net/<interface>/address`); `None` for a missing interface
/// or an all-zero address (loopback).
pub fn mac_address(sys_class_net: &Path, interface: &str) -> Option<[u8; 6]> {
    let text = fs::read_to_string(sys_class_net.join(interface).join("address")).ok()?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    (parts.next().is_none() && mac != [0; 6]).then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_boot_makes_an_identity_and_a_unique_host_name() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let ra = ensure_layout(a.path(), Some([0x52, 0x54, 0, 0x12, 0x34, 0x56])).expect("a");
        let rb = ensure_layout(b.path(), Some([0x52, 0x54, 0, 0x12, 0x34, 0x57])).expect("b");
        let ca = Config::load(&a.path().join("config/appliance.toml")).expect("a");
        let cb = Config::load(&b.path().join("config/appliance.toml")).expect("b");
        assert_eq!(ra.new_identity.as_deref(), Some(ca.system.unit_id.as_str()));
        assert_eq!(rb.new_identity.as_deref(), Some(cb.system.unit_id.as_str()));
        assert_ne!(ca.system.unit_id, cb.system.unit_id);
        assert_eq!(ca.system.hostname.as_str(), "appliance-123456");
        assert_eq!(cb.system.hostname.as_str(), "appliance-123457");
        // Without a network interface the factory name stays.
        let c = tempfile::tempdir().expect("tempdir");
        ensure_layout(c.path(), None).expect("c");
        let cc = Config::load(&c.path().join("config/appliance.toml")).expect("c");
        assert!(cc.system.hostname.is_factory());
        assert!(!cc.system.unit_id.is_empty());
    }

    #[test]
    fn an_older_configuration_gets_an_identity_and_keeps_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config/appliance.toml");
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, "[system]\nhostname = \"appliance\"\n").expect("write");
        let r = ensure_layout(dir.path(), Some([1, 2, 3, 4, 5, 6])).expect("layout");
        let c = Config::load(&path).expect("load");
        assert_eq!(r.new_identity.as_deref(), Some(c.system.unit_id.as_str()));
        assert!(c.system.hostname.is_factory(), "an existing name is kept");
        let again = ensure_layout(dir.path(), Some([1, 2, 3, 4, 5, 6])).expect("again");
        assert_eq!(again.new_identity, None);
        assert_eq!(
            Config::load(&path).expect("load").system.unit_id,
            c.system.unit_id
        );
        // A file that does not parse is left as it is.
        fs::write(&path, "[system\n").expect("write");
        assert_eq!(
            ensure_layout(dir.path(), None).expect("bad").new_identity,
            None
        );
        assert_eq!(fs::read_to_string(&path).expect("read"), "[system\n");
    }

    #[test]
    fn mac_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("eth0")).expect("mkdir");
        fs::write(dir.path().join("eth0/address"), "52:54:00:12:34:56\n").expect("w");
        fs::create_dir_all(dir.path().join("lo")).expect("mkdir");
        fs::write(dir.path().join("lo/address"), "00:00:00:00:00:00\n").expect("w");
        assert_eq!(
            mac_address(dir.path(), "eth0"),
            Some([0x52, 0x54, 0, 0x12, 0x34, 0x56])
        );
        assert_eq!(mac_address(dir.path(), "lo"), None);
        assert_eq!(mac_address(dir.path(), "eth9"), None);
    }

    #[test]
    fn first_boot_then_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = ensure_layout(dir.path(), None).expect("layout");
        assert!(r.wrote_default_config);
        assert_eq!(r.created.len(), FOLDERS.len());
        let mode = fs::metadata(dir.path().join("store/mail"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        fs::write(
            dir.path().join("config/appliance.toml"),
            "[system]\nunit_id = \"0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f\"\nhostname = \"kept\"\n",
        )
        .expect("write");
        let r = ensure_layout(dir.path(), None).expect("again");
        assert_eq!(r, LayoutReport::default());
        let text = fs::read_to_string(dir.path().join("config/appliance.toml")).expect("read");
        assert!(text.contains("kept"));
    }
}
