//! Kernel uevents about block devices, parsed from the bytes of one
//! `NETLINK_KOBJECT_UEVENT` message.
//!
//! The kernel sends `action@devpath` followed by NUL-separated `KEY=value`
//! pairs; `kobject-uevent` reads the pairs, and this module keeps only what
//! hotplugd acts on (block devices, their kernel name and whether they are a
//! whole disk or a partition).

use kobject_uevent::{ActionType, UEvent};

/// What happened to a block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
    /// Media change, partition table re-read, resize...
    Change,
}

/// Whole disk or partition (`DEVTYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevType {
    Disk,
    Partition,
    /// No or another `DEVTYPE`; treated like a disk.
    Unknown,
}

/// A uevent about a block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEvent {
    pub action: Action,
    /// Path under `/sys` (`/devices/pci0000:00/.../block/sda/sda1`).
    pub devpath: String,
    /// Kernel name, also the node under `/dev` (`sda1`).
    pub devname: String,
    pub devtype: DevType,
    pub seqnum: u64,
}

/// Why a message was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UeventError {
    #[error("malformed uevent: {0}")]
    Malformed(String),
    #[error("uevent header {header:?} does not match ACTION/DEVPATH")]
    HeaderMismatch { header: String },
    #[error("uevent names an unsafe device {0:?}")]
    BadDevname(String),
}

/// Parses one message. `Ok(None)` for well-formed events that are not about
/// block devices or whose action hotplugd ignores (bind, move...).
pub fn parse(msg: &[u8]) -> Result<Option<BlockEvent>, UeventError> {
    // The header is checked against the pairs so that a message of another
    // format (libudev's "libudev\0..." from udevd) is refused, not half-read.
    let header_end = msg.iter().position(|&b| b == 0).unwrap_or(msg.len());
    let header = String::from_utf8_lossy(&msg[..header_end]).into_owned();
    let ev = UEvent::from_netlink_packet(msg).map_err(|e| UeventError::Malformed(e.to_string()))?;
    let devpath = ev.devpath.to_string_lossy().into_owned();
    let Some((h_action, h_path)) = header.split_once('@') else {
        return Err(UeventError::HeaderMismatch { header });
    };
    if h_path != devpath || ev.env.get("ACTION").map(String::as_str) != Some(h_action) {
        return Err(UeventError::HeaderMismatch { header });
    }
    if ev.subsystem != "block" {
        return Ok(None);
    }
    let action = match ev.action {
        ActionType::Add => Action::Add,
        ActionType::Remove => Action::Remove,
        ActionType::Change => Action::Change,
        _ => return Ok(None),
    };
    // DEVNAME is relative to /dev; the last component of DEVPATH is the
    // kernel name when DEVNAME is absent.
    let devname = match ev.env.get("DEVNAME") {
        Some(n) => n.clone(),
        None => devpath.rsplit('/').next().unwrap_or_default().to_string(),
    };
    if !safe_devname(&devname) {
        return Err(UeventError::BadDevname(devname));
    }
    let devtype = match ev.env.get("DEVTYPE").map(String::as_str) {
        Some("disk") => DevType::Disk,
        Some("partition") => DevType::Partition,
        _ => DevType::Unknown,
    };
    Ok(Some(BlockEvent {
        action,
        devpath,
        devname,
        devtype,
        seqnum: ev.seq,
    }))
}

/// A kernel block device name hotplugd may join to `/dev` and `/sys/class/block`:
/// one plain path component.
pub fn safe_devname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'!'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USB_PART_ADD: &[u8] = b"add@/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda/sda1\0\
ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda/sda1\0\
SUBSYSTEM=block\0MAJOR=8\0MINOR=1\0DEVNAME=sda1\0DEVTYPE=partition\0DISKSEQ=12\0PARTN=1\0SEQNUM=1502\0";

    #[test]
    fn partition_add() {
        let ev = parse(USB_PART_ADD).expect("parses").expect("block");
        assert_eq!(ev.action, Action::Add);
        assert_eq!(ev.devname, "sda1");
        assert_eq!(ev.devtype, DevType::Partition);
        assert_eq!(ev.seqnum, 1502);
        assert!(ev.devpath.ends_with("/block/sda/sda1"));
    }

    #[test]
    fn disk_remove() {
        let msg = b"remove@/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda\0\
ACTION=remove\0DEVPATH=/devices/pci0000:00/0000:00:04.0/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0/block/sda\0\
SUBSYSTEM=block\0MAJOR=8\0MINOR=0\0DEVNAME=sda\0DEVTYPE=disk\0DISKSEQ=12\0SEQNUM=1530\0";
        let ev = parse(msg).expect("parses").expect("block");
        assert_eq!(ev.action, Action::Remove);
        assert_eq!(ev.devtype, DevType::Disk);
        assert_eq!(ev.devname, "sda");
    }

    /// Captured on this machine from `losetup` (a real kernel message).
    #[test]
    fn captured_loop_change() {
        let msg = b"change@/devices/virtual/block/loop0\0ACTION=change\0DEVPATH=/devices/virtual/block/loop0\0SUBSYSTEM=block\0DISK_MEDIA_CHANGE=1\0MAJOR=7\0MINOR=0\0DEVNAME=loop0\0DEVTYPE=disk\0DISKSEQ=13\0SEQNUM=828\0";
        let ev = parse(msg).expect("parses").expect("block");
        assert_eq!(ev.action, Action::Change);
        assert_eq!(ev.devname, "loop0");
        assert_eq!(ev.seqnum, 828);
    }

    #[test]
    fn without_devtype_or_devname() {
        let msg = b"add@/devices/virtual/block/ram0\0ACTION=add\0DEVPATH=/devices/virtual/block/ram0\0SUBSYSTEM=block\0SEQNUM=7\0";
        let ev = parse(msg).expect("parses").expect("block");
        assert_eq!(ev.devtype, DevType::Unknown);
        assert_eq!(ev.devname, "ram0");
    }

    #[test]
    fn other_subsystems_and_actions_are_ignored() {
        let usb = b"add@/devices/pci0000:00/usb2/2-1\0ACTION=add\0DEVPATH=/devices/pci0000:00/usb2/2-1\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0SEQNUM=9\0";
        assert_eq!(parse(usb), Ok(None));
        let bind = b"bind@/devices/virtual/block/sdb\0ACTION=bind\0DEVPATH=/devices/virtual/block/sdb\0SUBSYSTEM=block\0SEQNUM=10\0";
        assert_eq!(parse(bind), Ok(None));
    }

    #[test]
    fn malformed_messages_are_refused() {
        assert!(parse(b"").is_err());
        assert!(parse(b"libudev\0\xfe\xed\xca\xfe").is_err());
        // Header and pairs disagree.
        let lie = b"add@/devices/a\0ACTION=remove\0DEVPATH=/devices/a\0SUBSYSTEM=block\0SEQNUM=1\0";
        assert!(matches!(
            parse(lie),
            Err(UeventError::HeaderMismatch { .. })
        ));
        let traversal = b"add@/devices/a\0ACTION=add\0DEVPATH=/devices/a\0SUBSYSTEM=block\0DEVNAME=../etc/passwd\0SEQNUM=1\0";
        assert!(matches!(parse(traversal), Err(UeventError::BadDevname(_))));
        let no_seq = b"add@/devices/a\0ACTION=add\0DEVPATH=/devices/a\0SUBSYSTEM=block\0";
        assert!(parse(no_seq).is_err());
    }
}
