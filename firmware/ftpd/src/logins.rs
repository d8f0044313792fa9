//! Password guessing, paced per address across every session. Sessions
//! ask the supervisor to check each login ([`crate::channel`]); the
//! supervisor queues the questions per address and checks them one at a
//! time: the first at once, and after `k` failures the next no sooner than
//! `2^(k-1)` s after the last (1, 2, 4, 8, 16, then 30 s at most). After
//! [`BLOCK_AFTER`] failures the address is refused for [`BLOCK_FOR`], and
//! every further failure blocks it again, until it has gone
//! [`FORGET_AFTER`] without one. A success forgets the failures. Parallel
//! sessions only wait in the same queue: an address gets 6 tries in its
//! first minute, 10 in its first 2.5 minutes, then one every 15 minutes.

use crate::channel::Verdict;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures after which an address is refused for [`BLOCK_FOR`].
pub const BLOCK_AFTER: u32 = 10;
/// How long a blocked address is refused.
pub const BLOCK_FOR: Duration = Duration::from_secs(15 * 60);
/// The longest pause between two checks for one address.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// Failures are forgotten this long after the last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Addresses remembered (only listed addresses get this far).
const MAX_ADDRESSES: usize = 4096;
/// Questions waiting per address (8 sessions each ask one at a time).
const MAX_WAITING: usize = 16;

/// The pause before the next check after `failures` failures.
pub fn delay_after(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        k => Duration::from_secs(1u64 << (k - 1).min(16)).min(MAX_DELAY),
    }
}

/// A login waiting to be checked; `who` names the session that asked.
#[derive(Clone, PartialEq, Eq)]
pub struct Waiting<K> {
    pub who: K,
    pub user: String,
    pub password: String,
}

impl<K: std::fmt::Debug> std::fmt::Debug for Waiting<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("who", &self.who)
            .field("user", &self.user)
            .finish()
    }
}

#[derive(Debug)]
struct Record<K> {
    failures: u32,
    next_check: Instant,
    last_failure: Option<Instant>,
    blocked_until: Option<Instant>,
    waiting: VecDeque<Waiting<K>>,
    /// A question is being checked (its outcome not recorded yet).
    checking: bool,
}

impl<K> Record<K> {
    fn new(now: Instant) -> Record<K> {
        Record {
            failures: 0,
            next_check: now,
            last_failure: None,
            blocked_until: None,
            waiting: VecDeque::new(),
            checking: false,
        }
    }

    fn blocked(&self, now: Instant) -> Option<u64> {
        self.blocked_until
            .filter(|until| *until > now)
            .map(|until| (until - now).as_secs().max(1))
    }

    fn forgettable(&self, now: Instant) -> bool {
        !self.checking
            && self.waiting.is_empty()
            && self.blocked(now).is_none()
            && self
                .last_failure
                .is_none_or(|t| now.duration_since(t) >= FORGET_AFTER)
    }
}

/// What a check did to its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded<K> {
    pub verdict: Verdict,
    /// Failures of the address so far.
    pub failures: u32,
    /// When the address may be checked again.
    pub next_in: Duration,
    /// The address was blocked by this failure.
    pub blocked: bool,
    /// Sessions whose questions were waiting and are now refused.
    pub also_blocked: Vec<K>,
}

/// The pacing state of every address.
#[derive(Debug)]
pub struct Logins<K> {
    records: HashMap<IpAddr, Record<K>>,
}

impl<K> Default for Logins<K> {
    fn default() -> Self {
        Logins {
            records: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq> Logins<K> {
    /// Seconds `ip` is still refused, if it is.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        self.records.get(&ip).and_then(|r| r.blocked(now))
    }

    /// A login to check for `ip`: the verdict at once when the address is
    /// refused, else `None` and the question waits its turn.
    pub fn ask(&mut self, ip: IpAddr, waiting: Waiting<K>, now: Instant) -> Option<Verdict> {
        if let Some(secs) = self.blocked(ip, now) {
            return Some(Verdict::Blocked { secs });
        }
        if !self.records.contains_key(&ip) && self.records.len() >= MAX_ADDRESSES {
            self.expire(now);
            if self.records.len() >= MAX_ADDRESSES {
                // Make room: the address that failed longest ago.
                let oldest = self
                    .records
                    .iter()
                    .filter(|(_, r)| r.waiting.is_empty() && r.blocked(now).is_none())
                    .min_by_key(|(_, r)| r.last_failure)
                    .map(|(ip, _)| *ip);
                match oldest {
                    Some(old) => {
                        self.records.remove(&old);
                    }
                    None => return Some(Verdict::Blocked { secs: 60 }),
                }
            }
        }
        let r = self.records.entry(ip).or_insert_with(|| Record::new(now));
        if r.waiting.len() >= MAX_WAITING {
            return Some(Verdict::Refused);
        }
        r.waiting.push_back(waiting);
        None
    }

    /// The next question whose turn has come, if any.
    pub fn take_due(&mut self, now: Instant) -> Option<(IpAddr, Waiting<K>)> {
        let (ip, r) = self
            .records
            .iter_mut()
            .filter(|(_, r)| !r.checking && !r.waiting.is_empty() && r.next_check <= now)
            .min_by_key(|(_, r)| r.next_check)?;
        let w = r.waiting.pop_front()?;
        // Until its outcome is recorded, nothing else for this address,
        // and the address is not forgotten.
        r.checking = true;
        Some((*ip, w))
    }

    /// Records the outcome of the check of a question from `ip`.
    pub fn record(&mut self, ip: IpAddr, accepted: bool, now: Instant) -> Recorded<K> {
        let r = self.records.entry(ip).or_insert_with(|| Record::new(now));
        r.checking = false;
        if accepted {
            r.failures = 0;
            r.last_failure = None;
            r.next_check = now;
            return Recorded {
                verdict: Verdict::Accepted,
                failures: 0,
                next_in: Duration::ZERO,
                blocked: false,
                also_blocked: Vec::new(),
            };
        }
        r.failures += 1;
        r.last_failure = Some(now);
        let next_in = delay_after(r.failures);
        r.next_check = now + next_in;
        let mut also_blocked = Vec::new();
        let blocked = r.failures >= BLOCK_AFTER;
        if blocked {
            r.blocked_until = Some(now + BLOCK_FOR);
            r.next_check = now + BLOCK_FOR;
            also_blocked = r.waiting.drain(..).map(|w| w.who).collect();
        }
        Recorded {
            verdict: Verdict::Refused,
            failures: r.failures,
            next_in: if blocked { BLOCK_FOR } else { next_in },
            blocked,
            also_blocked,
        }
    }

    /// When the next waiting question is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.records
            .values()
            .filter(|r| !r.checking && !r.waiting.is_empty())
            .map(|r| r.next_check)
            .min()
    }

    /// Drops the questions of a session that has ended.
    pub fn forget_session(&mut self, who: K) {
        for r in self.records.values_mut() {
            r.waiting.retain(|w| w.who != who);
        }
    }

    /// Forgets addresses with nothing to remember.
    pub fn expire(&mut self, now: Instant) {
        self.records.retain(|_, r| !r.forgettable(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn ask(l: &mut Logins<u32>, who: u32, now: Instant) -> Option<Verdict> {
        l.ask(
            ip("10.0.2.2"),
            Waiting {
                who,
                user: "sysarchive".into(),
                password: format!("guess{who}"),
            },
            now,
        )
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let d: Vec<u64> = (0..9).map(|k| delay_after(k).as_secs()).collect();
        assert_eq!(d, vec![0, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    /// Eight sessions guessing as fast as they are answered: how many
    /// checks an address gets, whatever the number of sessions.
    #[test]
    fn parallel_guessers_share_one_pace() {
        let mut l = Logins::default();
        let start = Instant::now();
        let mut now = start;
        for who in 0..8 {
            assert_eq!(ask(&mut l, who, now), None);
        }
        let mut checks = Vec::new();
        let mut blocked_at = None;
        while now < start + Duration::from_secs(600) {
            while let Some((_, w)) = l.take_due(now) {
                let rec = l.record(ip("10.0.2.2"), false, now);
                checks.push(now - start);
                if rec.blocked {
                    blocked_at = Some(now - start);
                    assert_eq!(rec.also_blocked.len(), 7);
                    break;
                }
                // The session asks again at once.
                assert_eq!(ask(&mut l, w.who, now), None);
            }
            if blocked_at.is_some() {
                break;
            }
            now += Duration::from_millis(100);
        }
        let secs: Vec<u64> = checks.iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, vec![0, 1, 3, 7, 15, 31, 61, 91, 121, 151]);
        assert_eq!(blocked_at.map(|d| d.as_secs()), Some(151));
        let first_minute = checks
            .iter()
            .filter(|d| **d < Duration::from_secs(60))
            .count();
        assert_eq!(first_minute, 6);
        // Refused outright while blocked, then one more failure blocks again.
        assert!(matches!(
            ask(&mut l, 1, now + Duration::from_secs(60)),
            Some(Verdict::Blocked { .. })
        ));
        let later = now + BLOCK_FOR;
        assert_eq!(ask(&mut l, 1, later), None);
        assert!(l.take_due(later).is_some());
        assert!(l.record(ip("10.0.2.2"), false, later).blocked);
    }

    #[test]
    fn a_success_forgets_and_others_are_not_slowed() {
        let mut l = Logins::default();
        let now = Instant::now();
        ask(&mut l, 1, now);
        l.take_due(now).expect("due");
        l.record(ip("10.0.2.2"), false, now);
        ask(&mut l, 1, now);
        assert!(l.take_due(now).is_none(), "paced");
        assert_eq!(l.next_due(), Some(now + Duration::from_secs(1)));
        // Another address is checked at once.
        l.ask(
            ip("10.0.2.3"),
            Waiting {
                who: 2,
                user: "sysarchive".into(),
                password: "x".into(),
            },
            now,
        );
        assert_eq!(l.take_due(now).map(|(ip, _)| ip), Some(ip("10.0.2.3")));
        let t = now + Duration::from_secs(1);
        assert!(l.take_due(t).is_some());
        assert_eq!(l.record(ip("10.0.2.2"), true, t).verdict, Verdict::Accepted);
        ask(&mut l, 1, t);
        assert!(l.take_due(t).is_some(), "no pause after a success");
        l.record(ip("10.0.2.2"), true, t);
        l.expire(t);
        assert!(!l.records.contains_key(&ip("10.0.2.2")));
    }

    /// Questions that come one after the other while the first is being
    /// checked (its address had no failure yet): they wait their turn.
    #[test]
    fn an_address_is_not_forgotten_while_it_is_checked() {
        let mut l = Logins::default();
        let now = Instant::now();
        assert_eq!(ask(&mut l, 1, now), None);
        assert!(l.take_due(now).is_some());
        l.expire(now);
        assert_eq!(ask(&mut l, 2, now), None);
        assert!(l.take_due(now).is_none(), "one check at a time");
        l.expire(now);
        assert_eq!(l.record(ip("10.0.2.2"), false, now).failures, 1);
        assert!(l.take_due(now).is_none(), "paced");
        let t = now + Duration::from_secs(1);
        assert_eq!(l.take_due(t).map(|(_, w)| w.who), Some(2));
        assert_eq!(l.record(ip("10.0.2.2"), false, t).failures, 2);
    }

    #[test]
    fn ended_sessions_leave_the_queue() {
        let mut l = Logins::default();
        let now = Instant::now();
        ask(&mut l, 1, now);
        ask(&mut l, 2, now);
        l.forget_session(1);
        assert_eq!(l.take_due(now).map(|(_, w)| w.who), Some(2));
    }
}
