//! The host's side of the network tests: free loopback ports for QEMU's
//! port forwards, and a client program's output in words for a failed
//! assertion.

use std::net::TcpListener;
use std::process::Output;

/// A free port on the host's loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The first of `count` free consecutive ports on the host's loopback, for
/// FTP's passive ports: forwarded one to one, since the guest announces
/// its own port numbers. Tests running side by side start from different
/// places (the process id) and move on past ports in use.
pub fn free_port_range(count: u16) -> u16 {
    let mut base = 40000 + (std::process::id() % 2000) as u16 * 10;
    loop {
        let held: Vec<_> = (base..base + count)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == count as usize {
            return base;
        }
        base = if base > 60000 { 40000 } else { base + count };
    }
}

/// A finished program's status, standard output and standard error.
pub fn output_text(o: &Output) -> String {
    format!(
        "{}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
