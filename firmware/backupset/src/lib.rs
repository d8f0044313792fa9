//! The backup set format and its I/O.
//!
//! A set is `<host>-<T><YYYYMMDD>T<hhmmss>Z.tar` (with `.tar.001`, ... when
//! split into volumes) and `<same>.tar.md5` in `md5sum` format. The tar is
//! plain: `.version.txt` first, the data partition under `@backup/`, then
//! `.deleted.txt` (differentials), `.index.txt` and `.summary.txt` last.
//! `docs/set-format.md` describes it for administrators and programmers.
//!
//! - [`write_set`]: scan, hash and write on separate threads with a fixed
//!   number of buffers; body window; differentials against the state of
//!   the last full; volumes; read-back check and safe publish.
//! - [`catalog`]: the sets in a folder and whether they are complete.
//! - [`retention`]: pruning to N restore points, cleaning leftovers.
//! - [`SetReader`]: verify, metadata, index, a subtree by byte range.
//! - [`verdict`]: which sets in a folder were checked against their `.md5`
//!   since their files last changed.
//! - [`crypt`]: whole sets encrypted with age (`.tar.age`).
//! - [`zst`]: compressed sets (`.tar.zst`): independent zstd frames and a
//!   seek table, so a range of the tar is read from the frames it touches.
//! - `testing` (feature `test-support`): generated stores written as sets
//!   and checked with the stock tools, and a minimal applier, for this
//!   crate's tests and others'.

pub mod catalog;
pub mod crypt;
mod error;
pub mod escape;
pub mod index;
pub mod md5file;
pub mod meta;
pub mod name;
pub mod publish;
pub mod reader;
pub mod retention;
mod seekpos;
pub mod state;
pub mod tarfmt;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod timefmt;
pub mod verdict;
pub mod window;
mod writer;
pub mod zst;

pub use catalog::{SetStatus, list_sets, set_status};
pub use error::SetError;
pub use index::IndexEntry;
pub use meta::{Summary, VersionInfo};
pub use name::{SetKind, SetName};
pub use publish::PublishedVolume;
pub use reader::{SetEntry, SetReader, VolumeCheck};
pub use writer::{
    Exclude, MAX_SECRET, Outcome, Phase, Progress, Sealer, SecretFiles, WriteOptions,
    effective_kind, set_name, write_set,
};
