// Not every test file uses all of them.
#![allow(unused_imports)]

pub use backupset::testing::{Fixture, NOW, UNIT, extract, gnu_extract, md5sum_check, tar_list};
pub use storegen::tree::{Tree, assert_same, snapshot};

/// The zstd level a new unit writes with (`backup.compression_level`'s
/// default, which the configuration's own tests pin).
#[allow(dead_code)] // not every test file compresses
pub const UNIT_LEVEL: i32 = 3;
