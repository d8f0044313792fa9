#![no_main]
//! Any bytes as a compressed backup set (`.tar.zst`, with a matching
//! .md5): the seek table, every frame and the tar inside are checked;
//! listed, restored whole and selectively, or refused with an error;
//! never a panic, no unbounded memory (a frame that decompresses beyond
//! its table's size stops), nothing written outside the target.

use libfuzzer_sys::fuzz_target;

#[path = "shared/set_run.rs"]
mod set_run;

fuzz_target!(|data: &[u8]| {
    set_run::exercise(data, "mail-F20260101T000000Z.tar.zst");
});
