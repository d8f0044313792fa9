//! Who gets a session: the FTP Access List first (an empty list lets nobody
//! in), then a block on addresses that kept guessing passwords
//! ([`crate::logins`]), then limits on sessions. A refused connection is closed before the greeting, and
//! logged, at most once a minute per address with a count of the rest, so a
//! flood cannot flood the log too.

use appconfig::AccessList;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Sessions at once, in all.
pub const MAX_SESSIONS: usize = 32;
/// Sessions at once from one address (a mirror job opens a few).
pub const MAX_PER_ADDRESS: usize = 8;
/// Refusals of one address are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered for the log's rate limit.
const MAX_REMEMBERED: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The FTP Access List is empty: FTP access is off.
    ListEmpty,
    NotListed,
    Blocked {
        secs_left: u64,
    },
    TooManySessions,
    TooManyFromAddress,
}

impl Refusal {
    /// The reason, for the log.
    pub fn reason(&self) -> String {
        match self {
            Refusal::ListEmpty => "the FTP Access List is empty (FTP access is off)".into(),
            Refusal::NotListed => "not on the FTP Access List".into(),
            Refusal::Blocked { secs_left } => format!(
                "too many failed logins (refused for {} more)",
                crate::supervisor::minutes(*secs_left)
            ),
            Refusal::TooManySessions => format!("already {MAX_SESSIONS} sessions"),
            Refusal::TooManyFromAddress => {
                format!("already {MAX_PER_ADDRESS} sessions from this address")
            }
        }
    }

    /// What the client is told before the connection closes. Addresses off
    /// the list learn nothing about the appliance.
    pub fn reply(&self) -> &'static [u8] {
        match self {
            Refusal::ListEmpty | Refusal::NotListed => b"421 Service not available.\r\n",
            Refusal::Blocked { .. } => b"421 Too many failed logins; try again later.\r\n",
            Refusal::TooManySessions | Refusal::TooManyFromAddress => {
                b"421 Too many connections; try again later.\r\n"
            }
        }
    }
}

/// Admission state: the refusal log's memory.
#[derive(Debug)]
pub struct Gate {
    logged: applog::Throttle<IpAddr>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            logged: applog::Throttle::new(LOG_EVERY, MAX_REMEMBERED),
        }
    }
}

/// The sessions there are when a connection comes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    pub sessions: usize,
    pub from_peer: usize,
    /// Seconds the address is still refused for guessing, if it is.
    pub blocked: Option<u64>,
}

impl Gate {
    /// Whether `peer` may have a session now.
    pub fn admit(&mut self, list: &AccessList, peer: IpAddr, load: Load) -> Result<(), Refusal> {
        let Load {
            sessions,
            from_peer,
            blocked,
        } = load;
        if list.is_empty() {
            return Err(Refusal::ListEmpty);
        }
        if !list.allows(peer) {
            return Err(Refusal::NotListed);
        }
        if let Some(secs_left) = blocked {
            return Err(Refusal::Blocked { secs_left });
        }
        if sessions >= MAX_SESSIONS {
            return Err(Refusal::TooManySessions);
        }
        if from_peer >= MAX_PER_ADDRESS {
            return Err(Refusal::TooManyFromAddress);
        }
        Ok(())
    }

    /// The log line for a refusal, or `None` when this address was logged
    /// recently (the refusal is counted for the next line).
    pub fn refusal_line(
        &mut self,
        peer: IpAddr,
        refusal: &Refusal,
        now: Instant,
    ) -> Option<String> {
        self.logged.line(&peer, now, "refused", || {
            format!("FTP connection from {peer} refused: {}", refusal.reason())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn load(sessions: usize, from_peer: usize) -> Load {
        Load {
            sessions,
            from_peer,
            blocked: None,
        }
    }

    #[test]
    fn the_list_decides_first() {
        let mut g = Gate::default();
        let empty = AccessList::default();
        assert_eq!(
            g.admit(&empty, ip("10.0.2.2"), load(0, 0)),
            Err(Refusal::ListEmpty)
        );
        let list = AccessList::parse_list("10.0.2.2, 192.168.1.0/24").expect("list");
        assert_eq!(g.admit(&list, ip("10.0.2.2"), load(0, 0)), Ok(()));
        assert_eq!(g.admit(&list, ip("192.168.1.77"), load(0, 0)), Ok(()));
        assert_eq!(g.admit(&list, ip("::ffff:10.0.2.2"), load(0, 0)), Ok(()));
        assert_eq!(
            g.admit(&list, ip("10.0.2.3"), load(0, 0)),
            Err(Refusal::NotListed)
        );
        assert_eq!(
            g.admit(&list, ip("::1"), load(0, 0)),
            Err(Refusal::NotListed)
        );
        assert_eq!(
            g.admit(&list, ip("10.0.2.2"), load(MAX_SESSIONS, 0)),
            Err(Refusal::TooManySessions)
        );
        assert_eq!(
            g.admit(&list, ip("10.0.2.2"), load(1, MAX_PER_ADDRESS)),
            Err(Refusal::TooManyFromAddress)
        );
        let blocked = Load {
            blocked: Some(50),
            ..load(0, 0)
        };
        assert_eq!(
            g.admit(&list, ip("10.0.2.2"), blocked),
            Err(Refusal::Blocked { secs_left: 50 })
        );
        assert_eq!(
            Refusal::Blocked { secs_left: 890 }.reason(),
            "too many failed logins (refused for 15 min more)"
        );
    }

    #[test]
    fn refusals_are_logged_sparingly() {
        let mut g = Gate::default();
        let now = Instant::now();
        let r = Refusal::NotListed;
        let first = g
            .refusal_line(ip("10.9.9.9"), &r, now)
            .expect("first is logged");
        assert_eq!(
            first,
            "FTP connection from 10.9.9.9 refused: not on the FTP Access List"
        );
        for i in 1..=5 {
            assert_eq!(
                g.refusal_line(ip("10.9.9.9"), &r, now + Duration::from_secs(i)),
                None
            );
        }
        assert!(
            g.refusal_line(ip("10.9.9.8"), &r, now).is_some(),
            "other addresses are logged"
        );
        let later = g
            .refusal_line(ip("10.9.9.9"), &r, now + LOG_EVERY)
            .expect("logged again after a minute");
        assert!(
            later.ends_with("(5 more refused since the last report)"),
            "{later}"
        );
        for i in 0..(MAX_REMEMBERED as u32 + 10) {
            let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            g.refusal_line(a, &r, now);
        }
        assert!(g.logged.len() <= MAX_REMEMBERED);
    }
}
