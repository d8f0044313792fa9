//! Repeated log lines held back per key (a client's address): the first
//! is written, the rest of a period only counted and reported with the
//! next, so a flood of refused connections cannot fill the log. The table
//! stays bounded: a flood of keys forgets, it never grows memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Throttle<K> {
    every: Duration,
    max_keys: usize,
    /// When each key was last logged, and how many were held back since.
    logged: HashMap<K, (Instant, u32)>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// Logs each key at most once per `every`, remembering at most
    /// `max_keys` keys.
    pub fn new(every: Duration, max_keys: usize) -> Throttle<K> {
        Throttle {
            every,
            max_keys,
            logged: HashMap::new(),
        }
    }

    /// `Some(n)`: log now, and say that `n` more were held back since the
    /// last line of this key; `None`: counted, not logged.
    pub fn pass(&mut self, key: &K, now: Instant) -> Option<u32> {
        let every = self.every;
        if self.logged.len() >= self.max_keys && !self.logged.contains_key(key) {
            self.logged
                .retain(|_, (at, _)| now.duration_since(*at) < every);
            if self.logged.len() >= self.max_keys {
                self.logged.clear();
            }
        }
        match self.logged.get_mut(key) {
            Some((at, quiet)) if now.duration_since(*at) < every => {
                *quiet += 1;
                None
            }
            entry => {
                let quiet = entry.map(|(_, q)| *q).unwrap_or(0);
                self.logged.insert(key.clone(), (now, 0));
                Some(quiet)
            }
        }
    }

    /// `line` when this key may log now, with the count held back since
    /// its last line (" (N more WHAT since the last report)"); `None`
    /// when it is only counted.
    pub fn line(
        &mut self,
        key: &K,
        now: Instant,
        what: &str,
        line: impl FnOnce() -> String,
    ) -> Option<String> {
        let quiet = self.pass(key, now)?;
        Some(format!("{}{}", line(), held_back(quiet, what)))
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.logged.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logged.is_empty()
    }
}

/// " (N more refused since the last report)" when some were held back.
pub fn held_back(quiet: u32, what: &str) -> String {
    if quiet > 0 {
        format!(" ({quiet} more {what} since the last report)")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_period_with_the_count_and_bounded() {
        let mut t = Throttle::new(Duration::from_secs(60), 4);
        let now = Instant::now();
        assert_eq!(t.pass(&1, now), Some(0));
        assert_eq!(t.pass(&1, now + Duration::from_secs(1)), None);
        assert_eq!(t.pass(&1, now + Duration::from_secs(2)), None);
        assert_eq!(t.pass(&1, now + Duration::from_secs(60)), Some(2));
        for k in 0..100 {
            t.pass(&k, now + Duration::from_secs(61));
            assert!(t.len() <= 4);
        }
        assert_eq!(
            held_back(2, "refused"),
            " (2 more refused since the last report)"
        );
        assert_eq!(held_back(0, "refused"), "");
    }
}
