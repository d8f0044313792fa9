#![no_main]
//! Any bytes as a plain backup set (with a matching .md5, so every check
//! past the MD5 is exercised): listed, restored whole and selectively, or
//! refused with an error; never a panic, and nothing is ever written
//! outside the target.

use libfuzzer_sys::fuzz_target;

#[path = "shared/set_run.rs"]
mod set_run;

fuzz_target!(|data: &[u8]| {
    set_run::exercise(data, "mail-F20260101T000000Z.tar");
});
