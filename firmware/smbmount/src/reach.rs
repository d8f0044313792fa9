//! Is the server there at all? A TCP connect with a time-out before the
//! mount, so an unreachable host fails in seconds instead of after the
//! kernel's own, much longer, connection attempts.

use crate::SmbError;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

pub fn check_reachable(addr: IpAddr, port: u16, timeout: Duration) -> Result<(), SmbError> {
    match TcpStream::connect_timeout(&SocketAddr::new(addr, port), timeout) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            Err(SmbError::ConnectionRefused { addr, port })
        }
        Err(_) => Err(SmbError::HostUnreachable { addr, port }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsRawFd;

    #[test]
    fn open_and_closed_ports() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let lo: IpAddr = "127.0.0.1".parse().expect("ip");
        assert_eq!(check_reachable(lo, port, CONNECT_TIMEOUT), Ok(()));
        drop(l);
        assert_eq!(
            check_reachable(lo, port, CONNECT_TIMEOUT),
            Err(SmbError::ConnectionRefused { addr: lo, port })
        );
    }

    /// A server that never answers the handshake: a loopback listener with
    /// a full backlog drops further SYNs, so the connect gives up after the
    /// time-out (no packet leaves the machine).
    #[test]
    fn silent_server_is_unreachable() {
        use nix::sys::socket::{
            AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, bind, getsockname, listen,
            socket,
        };
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )
        .expect("socket");
        bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).expect("bind");
        listen(&fd, Backlog::new(0).expect("backlog")).expect("listen");
        let port = getsockname::<SockaddrIn>(fd.as_raw_fd())
            .expect("name")
            .port();
        let lo: IpAddr = "127.0.0.1".parse().expect("ip");
        // Fill the queue; nothing is ever accepted.
        let mut held = Vec::new();
        let mut result = Ok(());
        for _ in 0..8 {
            match TcpStream::connect_timeout(&SocketAddr::new(lo, port), Duration::from_millis(300))
            {
                Ok(s) => held.push(s),
                Err(_) => {
                    result = check_reachable(lo, port, Duration::from_millis(300));
                    break;
                }
            }
        }
        let err = result.expect_err("the backlog never filled");
        assert_eq!(err, SmbError::HostUnreachable { addr: lo, port });
        assert_eq!(
            err.to_string(),
            format!("host unreachable: 127.0.0.1 does not answer on port {port}")
        );
    }
}
