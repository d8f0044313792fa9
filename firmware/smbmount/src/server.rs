//! The server as the administrator typed it: an IP address or a fully
//! qualified name, optionally with a port (`10.0.2.2:4450`, `[fd00::5]:445`).
//! The rules are the configuration's own ([`appconfig::smb`]), so a server
//! the console saved is one the mount takes.

pub use appconfig::smb::{Host, SMB_PORT, Server};
