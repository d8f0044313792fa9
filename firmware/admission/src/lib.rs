//! Who gets a session of a network service (ftpd, sshgate): the service's
//! Access List first (an empty list lets nobody in), then a block on an
//! address that kept failing logins, then limits on sessions at once. A
//! refusal is logged at most once a minute per address, with a count of
//! the rest, so a flood cannot flood the log too. What a service adds (how
//! it counts failures, a limit on new sessions) stays in the service.

use appconfig::AccessList;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Refusals of one address are logged at most this often.
pub const LOG_EVERY: Duration = Duration::from_secs(60);
/// Addresses remembered for the log's rate limit.
pub const MAX_REMEMBERED: usize = 1024;

/// A service's limits on sessions at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// In all.
    pub sessions: usize,
    /// From one address.
    pub per_address: usize,
}

/// The sessions there are when a connection comes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    pub sessions: usize,
    pub from_peer: usize,
    /// Seconds the address is still refused for failed logins, if it is.
    pub blocked: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The Access List is empty: the service is off.
    ListEmpty,
    NotListed,
    Blocked {
        secs_left: u64,
    },
    TooManySessions,
    TooManyFromAddress,
    /// More new sessions from the address in a minute than the service
    /// takes (sshgate counts them).
    TooFast {
        per_minute: usize,
    },
}

/// One service's admission: its name and limits, and the refusal log's
/// memory.
#[derive(Debug)]
pub struct Gate {
    /// As people call the service: "FTP", "SSH".
    service: &'static str,
    limits: Limits,
    logged: applog::Throttle<IpAddr>,
}

impl Gate {
    pub fn new(service: &'static str, limits: Limits) -> Gate {
        Gate {
            service,
            limits,
            logged: applog::Throttle::new(LOG_EVERY, MAX_REMEMBERED),
        }
    }

    /// Whether `peer` may have a session now.
    pub fn admit(&self, list: &AccessList, peer: IpAddr, load: Load) -> Result<(), Refusal> {
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
        if sessions >= self.limits.sessions {
            return Err(Refusal::TooManySessions);
        }
        if from_peer >= self.limits.per_address {
            return Err(Refusal::TooManyFromAddress);
        }
        Ok(())
    }

    /// The reason, for the log.
    pub fn reason(&self, refusal: &Refusal) -> String {
        reason(self.service, &self.limits, refusal)
    }

    /// The log line for a refusal, or `None` when this address was logged
    /// recently (the refusal is counted for the next line).
    pub fn refusal_line(
        &mut self,
        peer: IpAddr,
        refusal: &Refusal,
        now: Instant,
    ) -> Option<String> {
        let (service, limits) = (self.service, self.limits);
        self.logged.line(&peer, now, "refused", || {
            let why = reason(service, &limits, refusal);
            format!("{service} connection from {peer} refused: {why}")
        })
    }

    /// Addresses the refusal log remembers (never more than
    /// [`MAX_REMEMBERED`]).
    pub fn remembered(&self) -> usize {
        self.logged.len()
    }
}

fn reason(service: &str, limits: &Limits, refusal: &Refusal) -> String {
    match refusal {
        Refusal::ListEmpty => {
            format!("the {service} Access List is empty ({service} access is off)")
        }
        Refusal::NotListed => format!("not on the {service} Access List"),
        Refusal::Blocked { secs_left } => format!(
            "too many failed logins (refused for {} more)",
            humanfmt::minutes(*secs_left)
        ),
        Refusal::TooManySessions => format!("already {} sessions", limits.sessions),
        Refusal::TooManyFromAddress => {
            format!("already {} sessions from this address", limits.per_address)
        }
        Refusal::TooFast { per_minute } => {
            format!("more than {per_minute} connections in a minute")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        sessions: 32,
        per_address: 8,
    };

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
        let g = Gate::new("FTP", LIMITS);
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
            g.admit(&list, ip("10.0.2.2"), load(LIMITS.sessions, 0)),
            Err(Refusal::TooManySessions)
        );
        assert_eq!(
            g.admit(&list, ip("10.0.2.2"), load(1, LIMITS.per_address)),
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
            g.reason(&Refusal::Blocked { secs_left: 890 }),
            "too many failed logins (refused for 15 min more)"
        );
    }

    #[test]
    fn reasons_name_the_service_and_its_limits() {
        let g = Gate::new("SSH", LIMITS);
        assert_eq!(
            g.reason(&Refusal::ListEmpty),
            "the SSH Access List is empty (SSH access is off)"
        );
        assert_eq!(g.reason(&Refusal::TooManySessions), "already 32 sessions");
        assert_eq!(
            g.reason(&Refusal::TooManyFromAddress),
            "already 8 sessions from this address"
        );
        assert_eq!(
            g.reason(&Refusal::TooFast { per_minute: 30 }),
            "more than 30 connections in a minute"
        );
    }

    #[test]
    fn refusals_are_logged_sparingly() {
        let mut g = Gate::new("FTP", LIMITS);
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
        assert!(g.remembered() <= MAX_REMEMBERED);
    }
}
