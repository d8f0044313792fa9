//! Set names: `<host>-<T><YYYYMMDD>T<hhmmss>Z.tar` (T = F, I or C; D is
//! read as I), volumes `.tar`, `.tar.001`, ..., the `.tar.md5` sidecar, and
//! the temporary names used while a set is written. An encrypted set (see
//! [`crate::crypt`]) is `.tar.age`, `.tar.age.001`, ... and `.tar.age.md5`;
//! a compressed one (see [`crate::zst`]) `.tar.zst`, and both `.tar.zst.age`.

use crate::timefmt::{parse_compact, utc_compact};
use std::fmt;
use std::str::FromStr;

/// The kind of a set, as the letter in its name (Kerio's scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetKind {
    /// `F`: everything.
    Full,
    /// `I`: everything changed since the last full, deletions included.
    Differential,
    /// `C`: a full outside the chain of fulls and differentials.
    Copy,
}

impl SetKind {
    pub fn letter(self) -> char {
        match self {
            SetKind::Full => 'F',
            SetKind::Differential => 'I',
            SetKind::Copy => 'C',
        }
    }

    /// Reads a kind letter; `D` is accepted as a differential too.
    pub fn from_letter(c: char) -> Option<SetKind> {
        match c {
            'F' => Some(SetKind::Full),
            'I' | 'D' => Some(SetKind::Differential),
            'C' => Some(SetKind::Copy),
            _ => None,
        }
    }
}

impl fmt::Display for SetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetKind::Full => "full",
            SetKind::Differential => "differential",
            SetKind::Copy => "copy",
        })
    }
}

/// Reads the `type=` of `.version.txt`: a name or a letter, any case.
impl FromStr for SetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" | "f" => Ok(SetKind::Full),
            "differential" | "diff" | "i" | "d" => Ok(SetKind::Differential),
            "copy" | "c" => Ok(SetKind::Copy),
            _ => Err(format!(
                "{s:?} is not a backup type (full, differential, copy)"
            )),
        }
    }
}

/// Which set, as its name says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetName {
    pub host: String,
    pub kind: SetKind,
    /// Start of the backup, seconds since the epoch (UTC).
    pub time: i64,
    /// The letter as written (`D` stays `D` for a set named so).
    pub letter: char,
    /// Encrypted with age (`.tar.age`): the volumes split the encrypted stream.
    pub encrypted: bool,
    /// Compressed with zstd (`.tar.zst`), before any encryption.
    pub compressed: bool,
}

/// The suffixes of a set's first volume, longest first, with what they say
/// (compressed, encrypted).
const SUFFIXES: [(&str, bool, bool); 4] = [
    (".tar.zst.age", true, true),
    (".tar.age", false, true),
    (".tar.zst", true, false),
    (".tar", false, false),
];

/// What one file of a set is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// Volume 0 is `.tar`, volume n is `.tar.NNN`.
    Volume(u32),
    Md5,
}

/// Most volumes a set may have (`.tar.999`).
pub const MAX_VOLUMES: u32 = 1000;

/// Hex digits of a unit identity used in temporary names.
pub const UNIT_TAG_LEN: usize = 12;

/// The short form of a unit identity used in temporary names: its first
/// [`UNIT_TAG_LEN`] hex digits (48 random bits).
pub fn unit_tag(unit: &str) -> Option<String> {
    let hex: String = unit
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(UNIT_TAG_LEN)
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == UNIT_TAG_LEN).then_some(hex)
}

impl SetName {
    pub fn new(host: &str, kind: SetKind, time: i64) -> SetName {
        SetName {
            host: host.to_string(),
            kind,
            time,
            letter: kind.letter(),
            encrypted: false,
            compressed: false,
        }
    }

    /// The same set, encrypted or not (`.tar.age` or `.tar`).
    pub fn with_encryption(mut self, encrypted: bool) -> SetName {
        self.encrypted = encrypted;
        self
    }

    /// The same set, compressed or not (`.tar.zst` or `.tar`).
    pub fn with_compression(mut self, compressed: bool) -> SetName {
        self.compressed = compressed;
        self
    }

    /// `.tar`, `.tar.zst`, `.tar.age` or `.tar.zst.age`.
    pub fn suffix(&self) -> &'static str {
        SUFFIXES
            .iter()
            .find(|s| (s.1, s.2) == (self.compressed, self.encrypted))
            .map(|s| s.0)
            .unwrap_or(".tar")
    }

    /// `<host>-F20261122T220000Z`
    pub fn stem(&self) -> String {
        format!("{}-{}{}", self.host, self.letter, utc_compact(self.time))
    }

    /// The first volume's name, which names the set.
    pub fn tar_name(&self) -> String {
        self.volume_name(0)
    }

    pub fn volume_name(&self, index: u32) -> String {
        if index == 0 {
            format!("{}{}", self.stem(), self.suffix())
        } else {
            format!("{}{}.{index:03}", self.stem(), self.suffix())
        }
    }

    pub fn md5_name(&self) -> String {
        format!("{}{}.md5", self.stem(), self.suffix())
    }

    /// Where a file is written before it is published (hidden, so listings
    /// and FTP clients skip it; never mistaken for a set). The writing
    /// unit's tag (see [`unit_tag`]) is part of the name, so two units
    /// that share a host name and a start second never write into the same
    /// file, and each cleans only its own leftovers.
    pub fn temp_name(final_name: &str, unit: &str) -> String {
        match unit_tag(unit) {
            Some(tag) => format!(".{final_name}.{tag}.tmp"),
            None => format!(".{final_name}.tmp"),
        }
    }

    /// Reads a temporary name: the final name and the writer's unit tag
    /// (`None`: written by a firmware before unit tags).
    pub fn parse_temp(file: &str) -> Option<(String, Option<String>)> {
        let inner = file.strip_prefix('.')?.strip_suffix(".tmp")?;
        if let Some((final_name, tag)) = inner.rsplit_once('.')
            && tag.len() == UNIT_TAG_LEN
            && tag.bytes().all(|b| b.is_ascii_hexdigit())
            && SetName::parse_file(final_name).is_some()
        {
            return Some((final_name.to_string(), Some(tag.to_string())));
        }
        SetName::parse_file(inner).map(|_| (inner.to_string(), None))
    }

    /// Reads a file name of a set: which set and which file of it.
    pub fn parse_file(file: &str) -> Option<(SetName, FileRole)> {
        // The longest suffix first: `x.tar.age.md5` also holds `.tar`.
        for (suffix, compressed, encrypted) in SUFFIXES {
            let Some((stem, rest)) = file.rsplit_once(suffix) else {
                continue;
            };
            let role = match rest {
                "" => FileRole::Volume(0),
                ".md5" => FileRole::Md5,
                r if r.len() == 4
                    && r.starts_with('.')
                    && r[1..].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    match r[1..].parse().ok()? {
                        0 => return None,
                        n => FileRole::Volume(n),
                    }
                }
                _ => continue,
            };
            let name = SetName::parse_stem(stem)?
                .with_encryption(encrypted)
                .with_compression(compressed);
            return Some((name, role));
        }
        None
    }

    /// Reads `<host>-<T><YYYYMMDD>T<hhmmss>Z`.
    pub fn parse_stem(stem: &str) -> Option<SetName> {
        if stem.len() < 19 || !stem.is_char_boundary(stem.len() - 17) {
            return None;
        }
        let (host, rest) = stem.split_at(stem.len() - 17);
        let host = host.strip_suffix('-')?;
        let letter = rest.chars().next()?;
        let kind = SetKind::from_letter(letter)?;
        let time = parse_compact(&rest[1..])?;
        if host.is_empty() || host.contains(['/', '\\', '\0']) {
            return None;
        }
        Some(SetName {
            host: host.to_string(),
            kind,
            time,
            letter,
            encrypted: false,
            compressed: false,
        })
    }

    /// Reads the name of a set's first volume (`….tar`, `….tar.zst`, `….tar.age`).
    pub fn parse_tar(name: &str) -> Option<SetName> {
        match SetName::parse_file(name)? {
            (n, FileRole::Volume(0)) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for SetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tar_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = SetName::new("mx-1.example.com", SetKind::Differential, 1_795_317_495);
        assert_eq!(n.tar_name(), "mx-1.example.com-I20261122T031815Z.tar");
        assert_eq!(
            n.volume_name(2),
            "mx-1.example.com-I20261122T031815Z.tar.002"
        );
        assert_eq!(n.md5_name(), "mx-1.example.com-I20261122T031815Z.tar.md5");
        assert_eq!(
            SetName::parse_file(&n.volume_name(2)),
            Some((n.clone(), FileRole::Volume(2)))
        );
        assert_eq!(
            SetName::parse_file(&n.md5_name()),
            Some((n.clone(), FileRole::Md5))
        );
        assert_eq!(SetName::parse_tar(&n.tar_name()), Some(n));
    }

    #[test]
    fn temporary_names_carry_the_unit() {
        let unit = "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f";
        let t = SetName::temp_name("mail-F20260101T000000Z.tar.001", unit);
        assert_eq!(t, ".mail-F20260101T000000Z.tar.001.0f8c2d3e5b7a.tmp");
        assert_eq!(
            SetName::parse_temp(&t),
            Some((
                "mail-F20260101T000000Z.tar.001".into(),
                Some("0f8c2d3e5b7a".into())
            ))
        );
        // Written before units had tags: no owner in the name.
        assert_eq!(
            SetName::parse_temp(".mail-F20260101T000000Z.tar.md5.tmp"),
            Some(("mail-F20260101T000000Z.tar.md5".into(), None))
        );
        assert_eq!(SetName::temp_name("x.tar", ""), ".x.tar.tmp");
        assert_eq!(SetName::parse_temp(".notes.txt.tmp"), None);
        assert_eq!(SetName::parse_temp("mail-F20260101T000000Z.tar"), None);
    }

    #[test]
    fn encrypted_names_round_trip_and_stay_apart_from_plain_ones() {
        let n = SetName::new("mx", SetKind::Full, 1_795_317_495).with_encryption(true);
        assert_eq!(n.tar_name(), "mx-F20261122T031815Z.tar.age");
        assert_eq!(n.volume_name(2), "mx-F20261122T031815Z.tar.age.002");
        assert_eq!(n.md5_name(), "mx-F20261122T031815Z.tar.age.md5");
        for (file, role) in [
            (n.tar_name(), FileRole::Volume(0)),
            (n.volume_name(2), FileRole::Volume(2)),
            (n.md5_name(), FileRole::Md5),
        ] {
            assert_eq!(
                SetName::parse_file(&file),
                Some((n.clone(), role)),
                "{file}"
            );
        }
        let plain = n.clone().with_encryption(false);
        assert_ne!(plain, n);
        assert_eq!(
            SetName::parse_tar("mx-F20261122T031815Z.tar"),
            Some(plain.clone())
        );
        let t = SetName::temp_name(&n.volume_name(1), "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f");
        assert_eq!(
            SetName::parse_temp(&t),
            Some((n.volume_name(1), Some("0f8c2d3e5b7a".into())))
        );
        // A host name that holds `.tar.age` is still only a host name.
        let host = SetName::new("m.tar.age.x", SetKind::Full, 0);
        assert_eq!(
            SetName::parse_file(&host.tar_name()),
            Some((host.clone(), FileRole::Volume(0)))
        );
        let odd = SetName::new("a.tar.age.b", SetKind::Copy, 0).with_encryption(true);
        assert_eq!(
            SetName::parse_file(&odd.volume_name(3)),
            Some((odd.clone(), FileRole::Volume(3)))
        );
        for bad in [
            "mx-F20261122T031815Z.tar.age.000",
            "mx-F20261122T031815Z.tar.age.1",
            "mx-F20261122T031815Z.tar.agex",
            "mx-F20261122T031815Z.tar.age.md5.001",
            "mx-F20261122T031815Z.age",
            "mx-F20261122T031815Z.tar.md5.age",
            "mx-F20261122T031815Z.tar.001.age",
        ] {
            assert_eq!(SetName::parse_file(bad), None, "{bad}");
        }
    }

    #[test]
    fn compressed_names_round_trip_alone_and_with_encryption() {
        let z = SetName::new("mx", SetKind::Full, 1_795_317_495).with_compression(true);
        assert_eq!(z.tar_name(), "mx-F20261122T031815Z.tar.zst");
        assert_eq!(z.volume_name(1), "mx-F20261122T031815Z.tar.zst.001");
        assert_eq!(z.md5_name(), "mx-F20261122T031815Z.tar.zst.md5");
        let za = z.clone().with_encryption(true);
        assert_eq!(za.tar_name(), "mx-F20261122T031815Z.tar.zst.age");
        assert_eq!(za.md5_name(), "mx-F20261122T031815Z.tar.zst.age.md5");
        for n in [&z, &za] {
            for (file, role) in [
                (n.tar_name(), FileRole::Volume(0)),
                (n.volume_name(7), FileRole::Volume(7)),
                (n.md5_name(), FileRole::Md5),
            ] {
                assert_eq!(
                    SetName::parse_file(&file),
                    Some((n.clone(), role)),
                    "{file}"
                );
            }
        }
        assert_ne!(z, z.clone().with_compression(false));
        // A host name holding the suffixes is only a host name.
        let odd = SetName::new("a.tar.zst.b", SetKind::Full, 0).with_compression(true);
        assert_eq!(
            SetName::parse_file(&odd.md5_name()),
            Some((odd.clone(), FileRole::Md5))
        );
        for bad in [
            "mx-F20261122T031815Z.tar.zst.000",
            "mx-F20261122T031815Z.zst",
            "mx-F20261122T031815Z.tar.age.zst",
            "mx-F20261122T031815Z.tar.zstd",
            "mx-F20261122T031815Z.tar.md5.zst",
        ] {
            assert_eq!(SetName::parse_file(bad), None, "{bad}");
        }
    }

    #[test]
    fn d_reads_as_differential_and_junk_is_refused() {
        let n = SetName::parse_tar("mail-D20260101T000000Z.tar").expect("D name");
        assert_eq!(n.kind, SetKind::Differential);
        assert_eq!(n.tar_name(), "mail-D20260101T000000Z.tar");
        for bad in [
            "mail-X20260101T000000Z.tar",
            "-F20260101T000000Z.tar",
            "F20260101T000000Z.tar",
            "mail-F20260101T000000Z.tar.000",
            "mail-F20260101T000000Z.tar.1",
            "mail-F20260101T000000Z.zip",
            "mail-F20261301T000000Z.tar",
            ".mail-F20260101T000000Z.tar.tmp",
            "ü-F2026010",
        ] {
            assert_eq!(SetName::parse_file(bad), None, "{bad}");
        }
    }
}
