//! The kernel's uevent broadcast: a `NETLINK_KOBJECT_UEVENT` socket bound to
//! group 1, read without blocking (the daemon polls it).

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recvfrom, setsockopt,
    socket, sockopt,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// Receive buffer asked for: a burst of events (a hub with several drives)
/// must not overflow it; when it does anyway, the daemon rescans.
const RECV_BUFFER: usize = 4 << 20;

/// Largest uevent the kernel sends is 2 KiB of environment plus the header.
pub const MAX_MESSAGE: usize = 8192;

pub struct UeventSocket {
    fd: OwnedFd,
}

/// One read from the socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// A kernel message of this many bytes is in the buffer.
    Message(usize),
    /// Sent by a process, not the kernel: ignored.
    NotFromKernel,
    /// The kernel dropped events (ENOBUFS): state must be rebuilt by a scan.
    Overrun,
    /// Nothing more to read now.
    Empty,
}

impl UeventSocket {
    pub fn open() -> nix::Result<UeventSocket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkKObjectUEvent,
        )?;
        // RCVBUFFORCE passes the rmem_max cap (root); plain RCVBUF otherwise.
        if setsockopt(&fd, sockopt::RcvBufForce, &RECV_BUFFER).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &RECV_BUFFER);
        }
        // Port id 0: the kernel picks one. Group 1: kernel uevents.
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1))?;
        Ok(UeventSocket { fd })
    }

    /// Reads one message into `buf` without blocking.
    pub fn recv(&self, buf: &mut [u8]) -> nix::Result<Received> {
        match recvfrom::<NetlinkAddr>(self.fd.as_raw_fd(), buf) {
            Ok((n, Some(addr))) if addr.pid() == 0 => Ok(Received::Message(n)),
            Ok(_) => Ok(Received::NotFromKernel),
            Err(Errno::ENOBUFS) => Ok(Received::Overrun),
            Err(Errno::EAGAIN) => Ok(Received::Empty),
            Err(Errno::EINTR) => self.recv(buf),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for UeventSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uevent::{Action, parse};
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// A real kernel event: attaching a loop device makes the kernel send a
    /// `change` for it, which this socket must receive and parse.
    #[test]
    fn receives_kernel_block_events() {
        let sock = UeventSocket::open().expect("netlink socket (needs root)");
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("disk.img");
        std::fs::write(&img, vec![0u8; 1 << 20]).expect("image");
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&img)
            .output()
            .expect("losetup runs");
        assert!(out.status.success(), "losetup: {out:?}");
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let name = dev.trim_start_matches("/dev/").to_string();
        let mut seen = false;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; MAX_MESSAGE];
        while !seen && Instant::now() < deadline {
            let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(500u16));
            while let Ok(Received::Message(n)) = sock.recv(&mut buf) {
                if let Ok(Some(ev)) = parse(&buf[..n])
                    && ev.devname == name
                    && ev.action == Action::Change
                {
                    seen = true;
                }
            }
        }
        let _ = Command::new("losetup").arg("-d").arg(&dev).status();
        assert!(seen, "no change event for {name}");
    }
}
