//! Keeping the clock right: ask the configured NTP servers (SNTP, RFC
//! 4330, with `rsntp`), step the clock when it is far off, slew it when it
//! is close, and say so in the log when it jumps: a clock put back past
//! the newest backup set is what makes sets look "dated in the future".
//!
//! Debian's `busybox-static` (the local build's BusyBox) is built without
//! `ntpd`, so both builds use this instead of BusyBox's.

mod clock;
pub mod rtc;
mod server;
pub mod testserver;

pub use clock::{Adjustment, adjust, decide};
pub use server::addresses;

use std::net::SocketAddr;

/// What timesyncd runs as (docs/security.md): its own user and group
/// `timesync` (30, in the image's `/etc/passwd`), with CAP_SYS_TIME only,
/// to set the clock and the RTC.
pub const PRIVILEGES: privs::Plan = privs::Plan {
    service: "timesyncd",
    user: Some((TIMESYNC_UID, TIMESYNC_GID)),
    keep: &[privs::Cap::SYS_TIME],
};
pub const TIMESYNC_UID: u32 = 30;
pub const TIMESYNC_GID: u32 = 30;
use std::time::Duration;

/// One answer of a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub server: SocketAddr,
    /// Seconds to add to the local clock to match the server's.
    pub offset: f64,
    pub delay: f64,
    pub stratum: u8,
}

/// Why a server gave no usable time.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{server}: no answer within {secs} s")]
    Timeout { server: SocketAddr, secs: u64 },
    #[error("{server}: {detail}")]
    Bad { server: SocketAddr, detail: String },
}

/// Asks one server once.
pub fn query(server: SocketAddr, timeout: Duration) -> Result<Sample, SyncError> {
    let mut client = rsntp::SntpClient::new();
    client.set_timeout(timeout);
    let r = client.synchronize(server).map_err(|e| match e {
        rsntp::SynchronizationError::IOError(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            SyncError::Timeout {
                server,
                secs: timeout.as_secs().max(1),
            }
        }
        other => SyncError::Bad {
            server,
            detail: other.to_string(),
        },
    })?;
    Ok(Sample {
        server,
        offset: r.clock_offset().as_secs_f64(),
        delay: r.round_trip_delay().as_secs_f64(),
        stratum: r.stratum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_server_a_day_ahead_and_one_behind() {
        for offset in [86_400i64, -3_600] {
            let srv = testserver::TestServer::start("127.0.0.1:0".parse().expect("addr"), offset)
                .expect("server");
            let s = query(srv.addr, Duration::from_secs(2)).expect("answer");
            assert!((s.offset - offset as f64).abs() < 1.0, "{s:?}");
            assert_eq!(s.stratum, 2);
            assert_eq!(decide(s.offset), Adjustment::Step(s.offset));
        }
    }

    #[test]
    fn a_silent_server_times_out_in_plain_words() {
        // A bound socket that never answers.
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = sock.local_addr().expect("addr");
        let err = query(addr, Duration::from_millis(300)).expect_err("no answer");
        assert!(err.to_string().contains("no answer"), "{err}");
    }
}
