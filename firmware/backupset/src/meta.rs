//! `.version.txt` (first entry) and `.summary.txt` (last entry): Kerio's
//! fields plus what a reader needs, as `key=value` lines.

use crate::name::SetKind;
use crate::timefmt::{duration_text, utc_text};
use std::collections::BTreeMap;

/// Version of the set layout this crate writes (and reads up to).
pub const FORMAT: u32 = 1;

pub const VERSION_ENTRY: &str = ".version.txt";
pub const SUMMARY_ENTRY: &str = ".summary.txt";
pub const INDEX_ENTRY: &str = ".index.txt";
pub const DELETED_ENTRY: &str = ".deleted.txt";
/// Every file of the data partition is stored under this folder.
pub const DATA_DIR: &str = "@backup";

/// `.version.txt`: written when the backup starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Seconds since the epoch (UTC); written as `YYYY-MM-DD hh:mm:ss`.
    pub started: i64,
    pub version: String,
    pub hostname: String,
    pub kind: SetKind,
    pub format: u32,
    /// 0: every body is kept.
    pub body_window_hours: u32,
    /// For a differential: the first volume's name of the full it extends.
    pub base: Option<String>,
    /// The identity of the unit that wrote the set (`unit=`); absent in
    /// sets written before units had one.
    pub unit: Option<String>,
}

impl VersionInfo {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "started={}\nversion={}\nhostname={}\ntype={}\nformat={}\nbody_window_hours={}\n",
            utc_text(self.started),
            self.version,
            self.hostname,
            self.kind,
            self.format,
            self.body_window_hours
        );
        if let Some(b) = &self.base {
            s.push_str(&format!("base={b}\n"));
        }
        if let Some(u) = &self.unit {
            s.push_str(&format!("unit={u}\n"));
        }
        s
    }

    pub fn parse(text: &str) -> Result<VersionInfo, String> {
        let kv = key_values(text)?;
        let get = |k: &str| kv.get(k).cloned().ok_or_else(|| format!("no {k}= line"));
        Ok(VersionInfo {
            started: parse_utc(&get("started")?)?,
            version: get("version")?,
            hostname: get("hostname")?,
            kind: get("type")?.parse()?,
            format: num(&get("format")?)? as u32,
            body_window_hours: num(&get("body_window_hours")?)? as u32,
            base: kv.get("base").cloned(),
            unit: kv.get("unit").cloned(),
        })
    }
}

/// `.summary.txt`: written when the backup ends, the set's last entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub started: i64,
    pub finished: i64,
    pub duration_ms: u64,
    /// Files stored (regular files and links).
    pub count_files: u64,
    /// Bytes of file data stored.
    pub total_size: u64,
    /// Messages stored with their headers only (older than the body window).
    pub headers_only_files: u64,
    /// Files left out: unreadable, sockets, FIFOs, devices, names that are not UTF-8.
    pub skipped_files: u64,
    /// Files that changed while they were read (stored as read; the next
    /// differential stores them again).
    pub changed_files: u64,
    /// Paths recorded as deleted (differentials).
    pub deleted_entries: u64,
    /// Byte offset of `.index.txt`'s data in the joined volumes, and its length.
    pub index_offset: u64,
    pub index_size: u64,
    pub deleted_offset: u64,
    pub deleted_size: u64,
}

impl Summary {
    pub fn to_text(&self) -> String {
        format!(
            "started={}\nfinished={}\ncount_files={}\ntotal_size={}\nduration={}\n\
             headers_only_files={}\nskipped_files={}\nchanged_files={}\ndeleted_entries={}\n\
             index_offset={}\nindex_size={}\ndeleted_offset={}\ndeleted_size={}\n",
            utc_text(self.started),
            utc_text(self.finished),
            self.count_files,
            self.total_size,
            duration_text(self.duration_ms),
            self.headers_only_files,
            self.skipped_files,
            self.changed_files,
            self.deleted_entries,
            self.index_offset,
            self.index_size,
            self.deleted_offset,
            self.deleted_size,
        )
    }

    pub fn parse(text: &str) -> Result<Summary, String> {
        let kv = key_values(text)?;
        let n = |k: &str| -> Result<u64, String> {
            num(kv.get(k).ok_or_else(|| format!("no {k}= line"))?)
        };
        let t = |k: &str| -> Result<i64, String> {
            parse_utc(kv.get(k).ok_or_else(|| format!("no {k}= line"))?)
        };
        Ok(Summary {
            started: t("started")?,
            finished: t("finished")?,
            duration_ms: kv
                .get("duration")
                .and_then(|d| parse_duration(d))
                .unwrap_or(0),
            count_files: n("count_files")?,
            total_size: n("total_size")?,
            headers_only_files: n("headers_only_files")?,
            skipped_files: n("skipped_files")?,
            changed_files: n("changed_files")?,
            deleted_entries: n("deleted_entries")?,
            index_offset: n("index_offset")?,
            index_size: n("index_size")?,
            deleted_offset: n("deleted_offset")?,
            deleted_size: n("deleted_size")?,
        })
    }
}

fn key_values(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {line:?} is not key=value"))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

fn num(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

fn parse_utc(s: &str) -> Result<i64, String> {
    let dt: jiff::civil::DateTime = s
        .parse()
        .map_err(|_| format!("{s:?} is not a time YYYY-MM-DD hh:mm:ss"))?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .map_err(|e| e.to_string())
}

fn parse_duration(s: &str) -> Option<u64> {
    let p: Vec<u64> = s
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    match p[..] {
        [h, m, sec, ms] => Some(((h * 60 + m) * 60 + sec) * 1000 + ms),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let v = VersionInfo {
            started: 1_795_317_495,
            version: "0.1.0".into(),
            hostname: "mail".into(),
            kind: SetKind::Differential,
            format: FORMAT,
            body_window_hours: 24,
            base: Some("mail-F20261120T220000Z.tar".into()),
            unit: Some("0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f".into()),
        };
        assert_eq!(VersionInfo::parse(&v.to_text()), Ok(v.clone()));
        let older = VersionInfo { unit: None, ..v };
        assert_eq!(VersionInfo::parse(&older.to_text()), Ok(older));
        let s = Summary {
            started: 1,
            finished: 3,
            duration_ms: 2345,
            count_files: 7,
            index_offset: 1024,
            ..Default::default()
        };
        assert_eq!(Summary::parse(&s.to_text()), Ok(s));
        assert!(Summary::parse("started=x").is_err());
        assert!(VersionInfo::parse("garbage").is_err());
    }
}
