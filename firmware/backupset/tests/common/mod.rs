// Not every test file uses all of them.
#![allow(unused_imports)]

pub use backupset::testing::{Fixture, NOW, UNIT, gnu_extract, md5sum_check, tar_list};
pub use storegen::tree::{Tree, assert_same, snapshot};
