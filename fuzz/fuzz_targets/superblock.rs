#![no_main]
//! Any first sectors of a drive: identified without a panic, and the label
//! is printable text.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = hotplugd::superblock::identify(data) {
        assert!(id.label.chars().all(|c| !c.is_control()));
        let _ = id.content.refusal();
    }
});
