//! usbctl's commands: hotplugd's status in readable form, and eject.

use control::hotplug::{Client, UsbDrive, UsbStatus};
use std::fmt::Write as _;
use std::path::Path;

/// Eject flushes everything still in the page cache to the drive first.
pub use control::hotplug::EJECT_TIMEOUT;

fn drive_text(d: &UsbDrive) -> String {
    let mut out = format!("{}:", d.device);
    let what = [d.vendor.as_str(), d.model.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if !what.is_empty() {
        let _ = write!(out, " {what},");
    }
    let _ = write!(out, " {}, {}", humanfmt::bytes(d.size_bytes), d.filesystem);
    if !d.label.is_empty() {
        let _ = write!(out, " \"{}\"", d.label);
    }
    if d.mounted {
        let _ = write!(
            out,
            ", mounted at {}",
            d.mount_point.as_deref().unwrap_or("?")
        );
        if let Some(free) = d.free_bytes {
            let _ = write!(out, ", {} free", humanfmt::bytes(free));
        }
    }
    if let Some(p) = &d.problem {
        let _ = write!(out, "\n  not mounted: {p}");
    }
    out
}

/// One paragraph per drive, or a line saying there is none.
pub fn format_status(s: &UsbStatus) -> String {
    if s.drives.is_empty() {
        return "No USB drive.\n".into();
    }
    s.drives.iter().map(|d| drive_text(d) + "\n").collect()
}

/// `usbctl status`: the drives, and whether one is mounted.
pub fn status(socket: &Path) -> anyhow::Result<(UsbStatus, String)> {
    let s = Client::new(socket).status()?;
    let text = format_status(&s);
    Ok((s, text))
}

/// `usbctl eject`: flush and unmount; the message says the drive can go.
pub fn eject(socket: &Path) -> anyhow::Result<String> {
    Ok(Client::new(socket).eject()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text() {
        assert_eq!(format_status(&UsbStatus::default()), "No USB drive.\n");
        let s = UsbStatus {
            drives: vec![
                UsbDrive {
                    device: "sda".into(),
                    vendor: "QEMU".into(),
                    model: "QEMU HARDDISK".into(),
                    size_bytes: 64 << 20,
                    filesystem: "vfat (FAT32)".into(),
                    label: "NIGHTLY".into(),
                    mounted: true,
                    mount_point: Some("/media/usb".into()),
                    free_bytes: Some(60 << 20),
                    problem: None,
                },
                UsbDrive {
                    device: "sdb".into(),
                    size_bytes: 1 << 30,
                    filesystem: "exfat".into(),
                    problem: Some("exFAT is not supported, format the drive as FAT32".into()),
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            format_status(&s),
            "sda: QEMU QEMU HARDDISK, 64.0 MiB, vfat (FAT32) \"NIGHTLY\", mounted at /media/usb, 60.0 MiB free\n\
             sdb: 1.0 GiB, exfat\n  not mounted: exFAT is not supported, format the drive as FAT32\n"
        );
    }
}
