//! ftpd: the FTP pull service of the appliance.
//!
//! Administrators pull the local backup sets over FTP(S) and drop sets to
//! restore from, as the Sendio guide describes: user `sysarchive`, a
//! read-only `backup` folder and a writable `restore` folder, nothing else.
//! Only addresses on the FTP Access List get as far as the greeting.
//!
//! - [`supervisor`]: the listening service, as root; admission ([`gate`]),
//!   one process per session, login checks paced per address
//!   ([`logins`]), reload and stop, the certificate ([`cert`]).
//! - [`session`]: one session, unprivileged ([`privs`]). Its [`front`]
//!   holds the client's connections (TLS, the FTPS policy, data
//!   connections relayed by [`relay`], bounded command lines of
//!   [`ftpcmd`]); libunftp serves the session behind it, with the account
//!   of [`auth`] and the storage back-end of [`storage`] over the virtual
//!   tree of [`vfs`]; [`transfer`] moves the bytes, [`upload`] keeps
//!   unfinished uploads out of sight, [`space`] keeps the mail store's
//!   share of the partition free.
//! - [`verify`]: checks sets uploaded to `restore` against their `.md5`.
//! - [`settings`]: paths and what a session is told; [`channel`]: what a
//!   session and the supervisor tell each other.

pub mod auth;
pub mod cert;
pub mod channel;
pub mod front;
pub mod ftpcmd;
pub mod gate;
pub mod logins;
pub mod privs;
pub mod relay;
pub mod session;
pub mod settings;
pub mod space;
pub mod storage;
pub mod supervisor;
pub mod transfer;
pub mod upload;
pub mod verify;
pub mod vfs;
