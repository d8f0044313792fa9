#![no_main]
//! Any text as `/data/config/appliance.toml` (a restored set carries one,
//! a power cut may damage one): parsed and checked; what parses is saved
//! and read back to the same configuration. Never a panic.

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = appconfig::Config::from_toml(text, Path::new("appliance.toml")) {
        let back = appconfig::Config::from_toml(&c.to_toml(), Path::new("appliance.toml"))
            .expect("its own text parses");
        assert_eq!(back, c);
        // Whatever parses renders a shadow file of whole lines only.
        let shadow = c.accounts.render_shadow("root:*:20000:0:99999:7:::\n");
        assert_eq!(shadow.lines().count(), 2, "{shadow:?}");
        assert!(
            shadow.lines().all(|l| l.split(':').count() == 9),
            "{shadow:?}"
        );
    }
});
