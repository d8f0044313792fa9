#![no_main]
//! Any text as the whole-system restore's journal (what `recover --resume`
//! reads at boot): parsed, and when it parses, written back and parsed
//! again to the same journal. Never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(j) = recover::journal::Journal::parse(text) {
        let again = recover::journal::Journal::parse(&j.to_text()).expect("its own text parses");
        assert_eq!(again.to_text(), j.to_text());
    }
});
