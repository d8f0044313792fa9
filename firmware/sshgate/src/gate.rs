//! Who gets a Dropbear: the SSH Access List first (empty: nobody), then a
//! block on addresses that kept failing logins, then limits on sessions at
//! once ([`admission`], shared with ftpd) and on new sessions per minute. A
//! refused connection is closed at once, before any SSH byte, and logged at
//! most once a minute per address with a count of the rest, so a flood
//! cannot flood the log too.

use admission::{Limits, Load};
pub use admission::{MAX_REMEMBERED, Refusal};
use appconfig::AccessList;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Sessions at once, in all (each is a Dropbear and maybe a console).
pub const MAX_SESSIONS: usize = 8;
/// Sessions at once from one address.
pub const MAX_PER_ADDRESS: usize = 4;
/// New sessions one address may start in a minute.
pub const MAX_NEW_PER_MINUTE: usize = 30;
/// Failed logins (Dropbear's count) after which an address is refused.
pub const MAX_FAILURES: usize = 10;
/// How long failures are remembered, and how long the block lasts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
const MINUTE: Duration = Duration::from_secs(60);

/// Admission state: the shared gate (with the refusal log's memory), and
/// recent starts and failures per address.
#[derive(Debug)]
pub struct Gate {
    gate: admission::Gate,
    starts: HashMap<IpAddr, VecDeque<Instant>>,
    failures: HashMap<IpAddr, VecDeque<Instant>>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            gate: admission::Gate::new(
                "SSH",
                Limits {
                    sessions: MAX_SESSIONS,
                    per_address: MAX_PER_ADDRESS,
                },
            ),
            starts: HashMap::new(),
            failures: HashMap::new(),
        }
    }
}

/// Keeps a per-address table below [`MAX_REMEMBERED`]: old entries go
/// first, and if every entry is recent the table starts again (a flood of
/// addresses forgets, it never grows memory).
fn bound<V>(table: &mut HashMap<IpAddr, V>, peer: IpAddr, fresh: impl Fn(&V) -> bool) {
    if table.len() >= MAX_REMEMBERED && !table.contains_key(&peer) {
        table.retain(|_, v| fresh(v));
        if table.len() >= MAX_REMEMBERED {
            table.clear();
        }
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, keep: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= keep) {
        q.pop_front();
    }
}

impl Gate {
    /// Whether `peer` may have a session now, with `sessions` running in
    /// all and `from_peer` of them from this address. An admitted
    /// connection counts towards the per-minute limit.
    pub fn admit(
        &mut self,
        list: &AccessList,
        peer: IpAddr,
        sessions: usize,
        from_peer: usize,
        now: Instant,
    ) -> Result<(), Refusal> {
        let load = Load {
            sessions,
            from_peer,
            blocked: self.blocked(peer, now),
        };
        self.gate.admit(list, peer, load)?;
        bound(&mut self.starts, peer, |q| {
            q.back().is_some_and(|t| now.duration_since(*t) < MINUTE)
        });
        let q = self.starts.entry(peer).or_default();
        prune(q, now, MINUTE);
        if q.len() >= MAX_NEW_PER_MINUTE {
            return Err(Refusal::TooFast {
                per_minute: MAX_NEW_PER_MINUTE,
            });
        }
        q.push_back(now);
        Ok(())
    }

    /// Seconds `peer` is still refused for failed logins, if it is.
    fn blocked(&mut self, peer: IpAddr, now: Instant) -> Option<u64> {
        let q = self.failures.get_mut(&peer)?;
        prune(q, now, FAILURE_WINDOW);
        if q.len() < MAX_FAILURES {
            return None;
        }
        let left = FAILURE_WINDOW.saturating_sub(now.duration_since(*q.back()?));
        Some(left.as_secs().max(1))
    }

    /// A failed login of `peer` (from Dropbear's log).
    pub fn failed(&mut self, peer: IpAddr, now: Instant) {
        bound(&mut self.failures, peer, |q| {
            q.back()
                .is_some_and(|t| now.duration_since(*t) < FAILURE_WINDOW)
        });
        let q = self.failures.entry(peer).or_default();
        prune(q, now, FAILURE_WINDOW);
        if q.len() < MAX_FAILURES {
            q.push_back(now);
        } else if let Some(last) = q.back_mut() {
            // Failing on while blocked only extends the block.
            *last = now;
        }
    }

    /// The refusal's log line, as [`admission::Gate::refusal_line`].
    pub fn refusal_line(&mut self, peer: IpAddr, r: &Refusal, now: Instant) -> Option<String> {
        self.gate.refusal_line(peer, r, now)
    }
}

/// Whether a line of Dropbear's log reports a failed login: a wrong
/// password, a user that does not exist or may not log in, too many tries.
pub fn is_failed_login(line: &str) -> bool {
    const MARKS: [&str; 6] = [
        "Bad password attempt",
        "Login attempt for nonexistent user",
        "has invalid shell",
        "root login rejected",
        "Max auth tries reached",
        "with blank password",
    ];
    MARKS.iter().any(|m| line.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_list_decides_first() {
        let mut g = Gate::default();
        let now = Instant::now();
        let empty = AccessList::default();
        assert_eq!(
            g.admit(&empty, ip("10.0.2.2"), 0, 0, now),
            Err(Refusal::ListEmpty)
        );
        let list = AccessList::parse_list("10.0.2.2, 192.168.1.0/24").expect("list");
        assert_eq!(g.admit(&list, ip("10.0.2.2"), 0, 0, now), Ok(()));
        assert_eq!(g.admit(&list, ip("192.168.1.77"), 0, 0, now), Ok(()));
        assert_eq!(g.admit(&list, ip("::ffff:10.0.2.2"), 0, 0, now), Ok(()));
        for off in ["10.0.2.3", "::1", "8.8.8.8", "192.168.2.1"] {
            assert_eq!(
                g.admit(&list, ip(off), 0, 0, now),
                Err(Refusal::NotListed),
                "{off}"
            );
        }
        assert_eq!(
            g.admit(&list, ip("10.0.2.2"), MAX_SESSIONS, 0, now),
            Err(Refusal::TooManySessions)
        );
        assert_eq!(
            g.admit(&list, ip("10.0.2.2"), 1, MAX_PER_ADDRESS, now),
            Err(Refusal::TooManyFromAddress)
        );
    }

    #[test]
    fn new_sessions_per_minute_are_bounded() {
        let mut g = Gate::default();
        let list = AccessList::parse_list("10.0.0.0/8").expect("list");
        let t0 = Instant::now();
        for _ in 0..MAX_NEW_PER_MINUTE {
            assert_eq!(g.admit(&list, ip("10.1.1.1"), 0, 0, t0), Ok(()));
        }
        assert_eq!(
            g.admit(&list, ip("10.1.1.1"), 0, 0, t0),
            Err(Refusal::TooFast {
                per_minute: MAX_NEW_PER_MINUTE
            })
        );
        assert_eq!(g.admit(&list, ip("10.1.1.2"), 0, 0, t0), Ok(()), "others");
        let later = t0 + MINUTE;
        assert_eq!(g.admit(&list, ip("10.1.1.1"), 0, 0, later), Ok(()));
    }

    #[test]
    fn failed_logins_block_the_address_for_a_while() {
        let mut g = Gate::default();
        let list = AccessList::parse_list("10.0.0.0/8").expect("list");
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            g.failed(ip("10.0.2.2"), t0);
        }
        assert_eq!(g.admit(&list, ip("10.0.2.2"), 0, 0, t0), Ok(()));
        g.failed(ip("10.0.2.2"), t0);
        assert!(matches!(
            g.admit(&list, ip("10.0.2.2"), 0, 0, t0),
            Err(Refusal::Blocked { secs_left: 900 })
        ));
        assert_eq!(g.admit(&list, ip("10.0.2.3"), 0, 0, t0), Ok(()), "others");
        let later = t0 + FAILURE_WINDOW;
        assert_eq!(g.admit(&list, ip("10.0.2.2"), 0, 0, later), Ok(()));
        assert_eq!(
            g.gate.reason(&Refusal::Blocked { secs_left: 890 }),
            "too many failed logins (refused for 15 min more)"
        );
    }

    #[test]
    fn tables_stay_bounded_under_a_flood_of_addresses() {
        let mut g = Gate::default();
        let list = AccessList::parse_list("10.0.0.0/8").expect("list");
        let now = Instant::now();
        for i in 0..5000u32 {
            let peer = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = g.admit(&list, peer, 0, 0, now);
            g.failed(peer, now);
            let _ = g.refusal_line(peer, &Refusal::NotListed, now);
        }
        assert!(g.starts.len() <= MAX_REMEMBERED);
        assert!(g.failures.len() <= MAX_REMEMBERED);
        assert!(g.gate.remembered() <= MAX_REMEMBERED);
    }

    #[test]
    fn refusals_are_logged_sparingly() {
        let mut g = Gate::default();
        let t0 = Instant::now();
        let line = g
            .refusal_line(ip("1.2.3.4"), &Refusal::NotListed, t0)
            .expect("first");
        assert_eq!(
            line,
            "SSH connection from 1.2.3.4 refused: not on the SSH Access List"
        );
        for _ in 0..5 {
            assert_eq!(g.refusal_line(ip("1.2.3.4"), &Refusal::NotListed, t0), None);
        }
        let line = g
            .refusal_line(
                ip("1.2.3.4"),
                &Refusal::NotListed,
                t0 + admission::LOG_EVERY,
            )
            .expect("a minute later");
        assert!(
            line.ends_with("(5 more refused since the last report)"),
            "{line}"
        );
    }

    #[test]
    fn dropbears_failure_lines_are_recognised() {
        assert!(is_failed_login(
            "[123] Dec 04 04:30:00 Bad password attempt for 'sysconfig' from 10.0.2.2:40000"
        ));
        assert!(is_failed_login(
            "[9] Dec 04 04:30:00 User 'root' has invalid shell, rejected"
        ));
        assert!(is_failed_login(
            "[9] Login attempt for nonexistent user from 10.0.2.2:1"
        ));
        assert!(!is_failed_login(
            "[9] Password auth succeeded for 'sysconfig' from 10.0.2.2:1"
        ));
    }
}
