//! sshgate: SSH access to the console.
//!
//! Dropbear serves the SSH protocol; it has no address list and no limits
//! across connections, so this small front listens on port 22 instead and
//! starts one `dropbear -i` (inetd mode) per connection it admits, with the
//! socket as its standard input and output:
//!
//! - [`gate`]: the SSH Access List (addresses or blocks, as FTP's), sessions
//!   at once (in all and per address), new sessions per address and
//!   minute, and a block on addresses that keep failing logins (counted
//!   from Dropbear's own log lines, read back from the system log:
//!   [`logtail`]);
//! - [`keys`]: the host keys under `/data/state/sshd` (made once with
//!   `dropbearkey`, kept across upgrades) and `sysconfig`'s
//!   `authorized_keys`, written from the configuration;
//! - [`service`]: the poll loop, SIGHUP (re-read the configuration: the
//!   console sends it on Save), SIGTERM.
//!
//! SSH runs only when `ssh.enabled` is set and the console password
//! exists; otherwise port 22 is closed. The gate never reads a byte the
//! client sends: it only accepts, checks the peer's address and counts.

pub mod dropbear;
pub mod gate;
pub mod keys;
pub mod logtail;
pub mod service;
