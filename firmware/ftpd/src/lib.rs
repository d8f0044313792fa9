//! ftpd: the FTP pull service of the appliance.
//!
//! Administrators pull the local backup sets over FTP(S) and drop sets to
//! restore from, as the Sendio guide describes: user `sysarchive`, a
//! read-only `backup` folder and a writable `restore` folder, nothing else.
//! Only addresses on the FTP Access List get as far as the greeting.
//!
//! - [`supervisor`]: the listening service; admission ([`gate`]), one
//!   process per session, reload and stop, the certificate ([`cert`]).
//! - [`session`]: one session served by libunftp, with the account of
//!   [`auth`] and the storage back-end of [`storage`] over the virtual tree
//!   of [`vfs`]; [`transfer`] moves the bytes, [`upload`] keeps unfinished
//!   uploads out of sight.
//! - [`verify`]: checks sets uploaded to `restore` against their `.md5`.
//! - [`settings`]: paths and what a session is told; [`notice`]: what a
//!   session tells the supervisor.

pub mod auth;
pub mod cert;
pub mod gate;
pub mod notice;
pub mod session;
pub mod settings;
pub mod storage;
pub mod supervisor;
pub mod transfer;
pub mod upload;
pub mod verify;
pub mod vfs;
