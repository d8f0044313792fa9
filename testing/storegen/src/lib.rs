//! A deterministic generator of realistic appliance data trees.
//!
//! [`generate`] writes the layout the backup understands (DESIGN.md, "The
//! data that is protected") under a root folder: configuration files,
//! certificates, a Maildir store with many domains, users and nested folders
//! (with spaces and non-ASCII names), public folders, lists, contacts,
//! queues and SpamAssassin data. Message sizes follow a log-normal
//! distribution and message dates spread over several days, so a body
//! window matters. The same seed and options give the same tree, bytes and
//! times included. [`mutate`] then changes, adds and deletes a share of the
//! files, for differential tests and benchmarks.

mod dates;
mod error;
mod generate;
mod layout;
mod message;
mod mutate;
mod size;
pub mod tree;

pub use error::GenError;
pub use generate::{Options, Stats, generate};
pub use mutate::{MutateOptions, MutateStats, mutate};
pub use size::parse_size;
