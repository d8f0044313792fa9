//! Reaching the configured servers (`appconfig::SystemSettings::ntp_servers`):
//! an address is used as it is, a name is asked of the configured DNS
//! servers (the binaries are static: no glibc resolver).

use appconfig::NtpServer;
use smbmount::Resolver;
use std::net::{IpAddr, SocketAddr};

/// The server's addresses: itself when it is one, else from DNS.
pub fn addresses(server: &NtpServer, resolver: &Resolver) -> Result<Vec<SocketAddr>, String> {
    if let Some(ip) = server.ip() {
        return Ok(vec![SocketAddr::new(IpAddr::V4(ip), server.port)]);
    }
    let found = resolver
        .resolve(&server.host)
        .map_err(|e| format!("NTP server {}: {e}", server.host))?;
    Ok(found
        .into_iter()
        .map(|a| SocketAddr::new(IpAddr::V4(a), server.port))
        .collect())
}
