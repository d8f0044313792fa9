//! An SNTP server on a local UDP port that answers with its own clock
//! shifted by a fixed offset: for tests of the client here and of the
//! appliance in QEMU (whose user network reaches the host's loopback).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from 1900 (NTP's era) to 1970.
const NTP_UNIX: u64 = 2_208_988_800;

pub struct TestServer {
    pub addr: SocketAddr,
    /// Requests answered so far.
    pub answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn ntp_time(t: SystemTime) -> [u8; 8] {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = (d.as_secs() + NTP_UNIX) as u32;
    let frac = ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&secs.to_be_bytes());
    out[4..].copy_from_slice(&frac.to_be_bytes());
    out
}

/// The reply to `request` from a clock `offset_secs` ahead of ours.
fn reply(request: &[u8], offset_secs: i64) -> Option<[u8; 48]> {
    if request.len() < 48 {
        return None;
    }
    let shifted = |t: SystemTime| {
        if offset_secs >= 0 {
            t + Duration::from_secs(offset_secs as u64)
        } else {
            t - Duration::from_secs(offset_secs.unsigned_abs())
        }
    };
    let now = shifted(SystemTime::now());
    let mut r = [0u8; 48];
    r[0] = (4 << 3) | 4; // no leap warning, version 4, mode 4 (server)
    r[1] = 2; // stratum
    r[2] = request[2];
    r[3] = 0xec; // precision
    r[12..16].copy_from_slice(b"TEST");
    r[16..24].copy_from_slice(&ntp_time(now));
    // Origin: the client's transmit time, as received.
    r[24..32].copy_from_slice(&request[40..48]);
    r[32..40].copy_from_slice(&ntp_time(now));
    r[40..48].copy_from_slice(&ntp_time(shifted(SystemTime::now())));
    Some(r)
}

impl TestServer {
    /// Listens on `bind` (port 0: any free one); the clock it serves is
    /// `offset_secs` ahead of this machine's (negative: behind).
    pub fn start(bind: SocketAddr, offset_secs: i64) -> std::io::Result<TestServer> {
        let sock = UdpSocket::bind(bind)?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))?;
        let addr = sock.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let (s, a) = (stop.clone(), answered.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(r) = reply(&buf[..n], offset_secs)
                    && sock.send_to(&r, from).is_ok()
                {
                    a.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Ok(TestServer {
            addr,
            answered,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
