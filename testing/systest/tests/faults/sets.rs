//! What the campaign knows about the sets on one destination, and the
//! rules that say when one of them may go.
//!
//! A set that verified once (`md5sum -c` by a tool that is not the
//! product's) is expected to stay until retention after a newer verified
//! set may remove it. The rules are the product's documented ones
//! (DESIGN.md, docs/set-format.md), written again here on their own: the
//! newest N restore points (fulls and differentials, default 3) and,
//! counted apart, the newest copies (default 3); the set just written is
//! always kept; a kept differential keeps its full; sets dated more than
//! ten minutes after the unit's clock are kept and not counted.

use std::collections::{BTreeMap, BTreeSet};

/// Default retention (restore points) and copies kept.
pub const KEEP_RESTORE_POINTS: usize = 3;
pub const KEEP_COPIES: usize = 3;
/// How far past now a set may lie before it counts as dated in the future.
pub const FUTURE_SLACK_SECS: i64 = 600;

/// A set name's parts: `<host>-<T><YYYYMMDD>T<hhmmss>Z.tar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetName {
    pub host: String,
    /// `F`, `I` (or `D`) or `C`.
    pub letter: char,
    /// Seconds since the epoch (UTC).
    pub time: i64,
}

impl SetName {
    /// Reads the first volume's name (`....tar`, `....tar.zst`).
    pub fn parse(tar: &str) -> Option<SetName> {
        let stem = stem_of(tar)?;
        let (host, rest) = stem.rsplit_once('-')?;
        let mut chars = rest.chars();
        let letter = chars.next()?;
        if !"FIDC".contains(letter) {
            return None;
        }
        let stamp: String = chars.collect();
        let b = stamp.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<i64>().ok();
        let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
        let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
        Some(SetName {
            host: host.to_string(),
            letter,
            time: days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s,
        })
    }

    pub fn is_copy(&self) -> bool {
        self.letter == 'C'
    }

    pub fn is_differential(&self) -> bool {
        self.letter == 'I' || self.letter == 'D'
    }
}

/// A first volume's name without its suffix (`.tar`, or `.tar.zst` of a
/// new unit's compressed sets).
pub fn stem_of(tar: &str) -> Option<&str> {
    tar.strip_suffix(".tar.zst")
        .or_else(|| tar.strip_suffix(".tar"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `.tar.md5` files among a folder's names, as the first volumes'
/// names: the sets that look complete.
pub fn complete_sets(names: &[String]) -> Vec<String> {
    let mut v: Vec<String> = names
        .iter()
        .filter(|n| !n.starts_with('.'))
        .filter_map(|n| n.strip_suffix(".md5"))
        .filter(|n| stem_of(n).is_some())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The text of `.version.txt` from the start of a set's first volume (the
/// set format puts it first): ustar headers, pax and GNU long-name
/// records skipped.
pub fn version_txt(prefix: &[u8]) -> Option<String> {
    let mut off = 0usize;
    while off + 512 <= prefix.len() {
        let h = &prefix[off..off + 512];
        if h.iter().all(|&b| b == 0) {
            return None;
        }
        let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&h[..name_end]).into_owned();
        let size_text: String = h[124..136]
            .iter()
            .take_while(|&&b| b != 0 && b != b' ')
            .map(|&b| b as char)
            .collect();
        let size = usize::from_str_radix(size_text.trim(), 8).ok()?;
        let data = off + 512;
        if h[156] != b'x'
            && h[156] != b'g'
            && h[156] != b'L'
            && name.trim_start_matches("./") == ".version.txt"
        {
            let end = (data + size).min(prefix.len());
            return Some(String::from_utf8_lossy(&prefix[data..end]).into_owned());
        }
        off = data + size.div_ceil(512) * 512;
    }
    None
}

/// A `key=value` line of a `.version.txt`.
pub fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_string())
}

/// One set the campaign saw verify.
#[derive(Debug, Clone)]
pub struct Known {
    pub name: SetName,
    pub tar: String,
    /// For a differential: the first volume's name of its full.
    pub base: Option<String>,
    /// When the campaign first saw it verify (an order of publication).
    pub seen: u64,
}

/// A set as a check found it on the destination.
#[derive(Debug, Clone)]
pub struct Found {
    pub tar: String,
    /// `md5sum -c` passed.
    pub ok: bool,
    /// Why not, when it did not.
    pub why: String,
    pub base: Option<String>,
}

/// What one check of a destination found.
#[derive(Debug, Clone, Default)]
pub struct CheckResult {
    /// Sets that verified before and are gone without retention having a
    /// reason, or that no longer verify.
    pub lost: Vec<String>,
    /// Sets with their .md5 that never verified.
    pub falsely_complete: Vec<String>,
    /// New sets that verified.
    pub new: Vec<String>,
    /// Sets retention removed, as the rules allow.
    pub pruned: Vec<String>,
    /// Sets now there that look complete and verify.
    pub good: usize,
}

impl CheckResult {
    pub fn summary(&self, label: &str) -> String {
        let mut s = format!("{label}: {} sets verify", self.good);
        if !self.new.is_empty() {
            s.push_str(&format!(", new {}", short_list(&self.new)));
        }
        if !self.pruned.is_empty() {
            s.push_str(&format!(", pruned {}", short_list(&self.pruned)));
        }
        if !self.lost.is_empty() {
            s.push_str(&format!(", LOST {}", self.lost.join(" ")));
        }
        if !self.falsely_complete.is_empty() {
            s.push_str(&format!(
                ", FALSELY COMPLETE {}",
                self.falsely_complete.join(" ")
            ));
        }
        s
    }
}

fn short_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| {
            // host-F20260101T000000Z.tar -> F20260101T000000Z
            stem_of(n)
                .unwrap_or(n)
                .rsplit_once('-')
                .map(|(_, t)| t.to_string())
                .unwrap_or_else(|| n.clone())
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The sets of one destination that verified, and the bad ones already
/// counted (each is counted once).
#[derive(Debug, Default)]
pub struct Tracker {
    pub known: BTreeMap<String, Known>,
    reported: BTreeSet<String>,
    seq: u64,
}

impl Tracker {
    /// Compares what is there now with what verified before. `now`: the
    /// unit's clock, which decides which sets are dated in the future.
    pub fn update(&mut self, found: &[Found], now: i64) -> CheckResult {
        let mut r = CheckResult::default();
        let mut fresh: Vec<&Found> = Vec::new();
        for f in found {
            if f.ok {
                r.good += 1;
                if !self.known.contains_key(&f.tar) {
                    fresh.push(f);
                }
            } else if self.known.remove(&f.tar).is_some() {
                r.lost
                    .push(format!("{} (verified before, now: {})", f.tar, f.why));
                self.reported.insert(f.tar.clone());
            } else if self.reported.insert(f.tar.clone()) {
                r.falsely_complete.push(format!("{} ({})", f.tar, f.why));
            }
        }
        // Newly seen sets in the order they were made.
        fresh.sort_by_key(|f| SetName::parse(&f.tar).map(|n| n.time).unwrap_or(0));
        for f in fresh {
            let Some(name) = SetName::parse(&f.tar) else {
                continue;
            };
            self.seq += 1;
            r.new.push(f.tar.clone());
            self.known.insert(
                f.tar.clone(),
                Known {
                    name,
                    tar: f.tar.clone(),
                    base: f.base.clone(),
                    seen: self.seq,
                },
            );
        }
        let present: BTreeSet<&str> = found
            .iter()
            .filter(|f| f.ok)
            .map(|f| f.tar.as_str())
            .collect();
        let missing: Vec<Known> = self
            .known
            .values()
            .filter(|k| !present.contains(k.tar.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            return r;
        }
        // Which of the sets retention may have removed: the plan over
        // everything known, with the newest set seen as the one just written.
        let all: Vec<Known> = self.known.values().cloned().collect();
        let newest = all.iter().max_by_key(|k| k.seen).map(|k| k.tar.clone());
        let removable = plan_remove(&all, newest.as_deref(), now);
        for m in missing {
            self.known.remove(&m.tar);
            let newer = all
                .iter()
                .any(|k| k.seen > m.seen && present.contains(k.tar.as_str()));
            if newer && removable.contains(&m.tar) {
                r.pruned.push(m.tar);
            } else {
                self.reported.insert(m.tar.clone());
                r.lost.push(format!(
                    "{} (gone; {})",
                    m.tar,
                    if newer {
                        "retention keeps it"
                    } else {
                        "no newer set verified since"
                    }
                ));
            }
        }
        r
    }

    /// Known sets, newest name time first.
    pub fn newest_first(&self) -> Vec<&Known> {
        let mut v: Vec<&Known> = self.known.values().collect();
        v.sort_by_key(|k| std::cmp::Reverse(k.name.time));
        v
    }

    pub fn has_full(&self) -> bool {
        self.known.values().any(|k| k.name.letter == 'F')
    }
}

/// The sets retention removes among `sets` (the product's rules, see the
/// module's comment), `just` being the set just written.
pub fn plan_remove(sets: &[Known], just: Option<&str>, now: i64) -> BTreeSet<String> {
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut present: Vec<&Known> = Vec::new();
    for s in sets {
        if s.name.time > now + FUTURE_SLACK_SECS {
            keep.insert(s.tar.clone());
        } else {
            present.push(s);
        }
    }
    present.sort_by_key(|s| std::cmp::Reverse(s.name.time));
    let mut chosen: Vec<&Known> = Vec::new();
    if let Some(j) = just
        && let Some(s) = sets.iter().find(|s| s.tar == j)
    {
        chosen.push(s);
    }
    for (copies, n) in [(false, KEEP_RESTORE_POINTS), (true, KEEP_COPIES)] {
        let already = chosen.iter().filter(|s| s.name.is_copy() == copies).count();
        let more: Vec<&Known> = present
            .iter()
            .filter(|s| s.name.is_copy() == copies && !chosen.iter().any(|c| c.tar == s.tar))
            .take(n.max(1).saturating_sub(already))
            .copied()
            .collect();
        chosen.extend(more);
    }
    for s in &chosen {
        keep.insert(s.tar.clone());
        if s.name.is_differential() {
            let base = s.base.clone().or_else(|| {
                present
                    .iter()
                    .filter(|f| f.name.letter == 'F' && f.name.time < s.name.time)
                    .map(|f| f.tar.clone())
                    .next()
            });
            if let Some(b) = base {
                keep.insert(b);
            }
        }
    }
    sets.iter()
        .map(|s| s.tar.clone())
        .filter(|t| !keep.contains(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(tar: &str) -> Found {
        Found {
            tar: tar.into(),
            ok: true,
            why: String::new(),
            base: None,
        }
    }

    #[test]
    fn names() {
        let n = SetName::parse("appliance-5e4f-F20260102T030405Z.tar").expect("name");
        assert_eq!(n.host, "appliance-5e4f");
        assert_eq!(n.letter, 'F');
        assert_eq!(n.time, 1_767_323_045);
        assert!(SetName::parse("x-Q20260102T030405Z.tar").is_none());
        let z = SetName::parse("appliance-5e4f-I20260102T030405Z.tar.zst").expect("compressed");
        assert_eq!((z.host.as_str(), z.letter), ("appliance-5e4f", 'I'));
        assert!(SetName::parse("x-F20260102T030405Z.tar.age").is_none());
        assert_eq!(
            complete_sets(&["a-F20260102T030405Z.tar.zst.md5".to_string()]),
            ["a-F20260102T030405Z.tar.zst"]
        );
    }

    #[test]
    fn retention_and_losses() {
        let mut t = Tracker::default();
        let day = 1_767_323_045;
        // Minutes apart on one day.
        let name = |k: char, i: i64| format!("h-{k}20260102T03{:02}05Z.tar", 4 + i);
        let r = t.update(&[found(&name('F', 0)), found(&name('F', 1))], day + 3600);
        assert_eq!(r.new.len(), 2);
        let r = t.update(
            &[
                found(&name('F', 1)),
                found(&name('F', 2)),
                found(&name('F', 3)),
            ],
            day + 3600,
        );
        assert_eq!(r.pruned, vec![name('F', 0)], "{r:?}");
        assert!(r.lost.is_empty());
        // Gone with no newer set: lost.
        let r = t.update(&[found(&name('F', 2)), found(&name('F', 3))], day + 3600);
        assert_eq!(r.lost.len(), 1, "{r:?}");
        // A bad set never seen good: falsely complete, once.
        let bad = Found {
            ok: false,
            why: "FAILED".into(),
            ..found(&name('I', 5))
        };
        let r = t.update(
            &[found(&name('F', 2)), found(&name('F', 3)), bad.clone()],
            day + 3600,
        );
        assert_eq!(r.falsely_complete.len(), 1);
        let r = t.update(
            &[found(&name('F', 2)), found(&name('F', 3)), bad],
            day + 3600,
        );
        assert!(r.falsely_complete.is_empty());
    }

    #[test]
    fn future_sets_are_kept() {
        let mut t = Tracker::default();
        let now = 1_767_323_045; // 2026-01-02 03:04:05
        t.update(&[found("h-F20260103T030405Z.tar")], now + 86400);
        // The clock went back a day: the first set is in the future.
        let later: Vec<Found> = [
            "h-F20260102T030405Z.tar",
            "h-F20260102T040405Z.tar",
            "h-I20260102T050405Z.tar",
            "h-F20260102T060405Z.tar",
        ]
        .iter()
        .map(|n| found(n))
        .collect();
        t.update(&later, now + 3 * 3600);
        let r = t.update(&later[1..], now + 3 * 3600);
        assert!(r.lost.is_empty(), "{r:?}");
        let r = t.update(&later[2..], now + 3 * 3600);
        assert_eq!(r.lost.len(), 1, "the future-dated set must stay: {r:?}");
    }

    #[test]
    fn version_txt_from_a_tar() {
        let mut h = vec![0u8; 512];
        h[..12].copy_from_slice(b".version.txt");
        let body = b"started=x\nbase=h-F20260102T030405Z.tar\n";
        let size = format!("{:011o}\0", body.len());
        h[124..136].copy_from_slice(size.as_bytes());
        h[156] = b'0';
        h.extend_from_slice(body);
        h.resize(1024, 0);
        let t = version_txt(&h).expect("found");
        assert_eq!(
            field(&t, "base").as_deref(),
            Some("h-F20260102T030405Z.tar")
        );
    }
}
