//! Mounting a Windows/Samba share with the kernel's cifs module, the way the
//! appliance's SMB destination needs it.
//!
//! - [`server`]: `host[:port]`, an IP or a fully qualified name
//! - [`login`]: `DOMAIN\user` and `user@fqdn` into user and domain
//! - [`dns`]: name resolution through the configured DNS servers
//! - [`reach`]: a TCP check so an unreachable host fails in seconds
//! - [`options`]: the cifs option string (password commas doubled)
//! - [`mount`]: mount(2) with dialect fallback, errors in plain words,
//!   unmount when done
//! - [`mountpoint`]: a private mount point per mount under `/run/smb`, a
//!   read-only guard under the share, stale mount points of dead
//!   processes cleaned
//! - `testserver` (feature `test-support`): a Samba server on loopback

pub mod dns;
mod error;
mod kmsg;
pub mod login;
pub mod mount;
pub mod mountinfo;
pub mod mountpoint;
pub mod options;
pub mod reach;
pub mod server;
#[cfg(any(test, feature = "test-support"))]
pub mod testserver;

pub use dns::Resolver;
pub use error::SmbError;
pub use login::{Login, UpnForm};
pub use mount::{Cutoff, MountConfig, Share, SmbMount, mount, mount_at, resolve};
pub use mountpoint::DEFAULT_MOUNT_BASE;
pub use server::{Host, Server};
