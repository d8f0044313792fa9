#![no_main]
//! Any bytes from the netlink socket: parsed or refused, never a panic, and
//! an accepted event always names a device that is safe to join to /dev.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(ev)) = hotplugd::uevent::parse(data) {
        assert!(hotplugd::uevent::safe_devname(&ev.devname));
        assert!(!ev.devname.contains('/'));
    }
});
