use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where backup sets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    /// `/data/backup` on the appliance itself, pulled over FTP.
    #[default]
    Local,
    /// A Windows/Samba share.
    Smb,
    /// A FAT32 USB drive.
    Usb,
}

impl fmt::Display for DestinationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DestinationKind::Local => "local",
            DestinationKind::Smb => "smb",
            DestinationKind::Usb => "usb",
        })
    }
}

/// The kind of a backup set, as the letter in its name (Kerio's scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackupType {
    /// `F`: everything.
    Full,
    /// `I`: everything changed since the last full, deletions included.
    Differential,
    /// `C`: a manual full backup outside the chain.
    Copy,
}

impl BackupType {
    pub fn letter(self) -> char {
        match self {
            BackupType::Full => 'F',
            BackupType::Differential => 'I',
            BackupType::Copy => 'C',
        }
    }
}

impl fmt::Display for BackupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackupType::Full => "full",
            BackupType::Differential => "differential",
            BackupType::Copy => "copy",
        })
    }
}

impl FromStr for BackupType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" | "f" => Ok(BackupType::Full),
            "differential" | "diff" | "i" | "d" => Ok(BackupType::Differential),
            "copy" | "c" => Ok(BackupType::Copy),
            _ => Err(format!(
                "{s:?} is not a backup type (full, differential, copy)"
            )),
        }
    }
}

/// A local time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl FromStr for TimeOfDay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (h, m) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not a time of day such as 22:00"))?;
        let hour: u8 = h
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: the hour is not a number"))?;
        let minute: u8 = m
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: the minutes are not a number"))?;
        if hour > 23 {
            return Err(format!("{s:?}: the hour must be 0 to 23"));
        }
        if minute > 59 {
            return Err(format!("{s:?}: the minutes must be 0 to 59"));
        }
        Ok(TimeOfDay { hour, minute })
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> String {
        t.to_string()
    }
}

/// A day of the week, written by its three-letter English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// From days since the Unix epoch (1970-01-01 was a Thursday).
    pub fn from_days_since_epoch(days: i64) -> Weekday {
        Weekday::ALL[((days + 3).rem_euclid(7)) as usize]
    }
}

/// SMB/Windows share settings (Sendio's fields).
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmbSettings {
    /// IP address (recommended) or fully qualified name of the server.
    pub host: String,
    pub share: String,
    /// Sub-folder inside the share, may be empty.
    pub path: String,
    /// `domain\user`, `user@fqdn` or a plain user name.
    pub username: String,
    /// Kept in the secrets file; read here too from older files.
    #[serde(skip_serializing_if = "crate::omitted_from_file")]
    pub password: String,
    /// SMB 3 encryption of the share's traffic (the mount is always
    /// signed): see [`SmbEncrypt`].
    pub encrypt: SmbEncrypt,
}

/// Whether the SMB mount is sealed (SMB 3 encryption). Signing is always
/// required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmbEncrypt {
    /// Sealed when the server speaks SMB 3 and accepts it, else signed only.
    #[default]
    Auto,
    /// Sealed, or the share is not used (the reason is said).
    Required,
    /// Signed only.
    Off,
}

impl SmbEncrypt {
    pub const ALL: [SmbEncrypt; 3] = [SmbEncrypt::Auto, SmbEncrypt::Required, SmbEncrypt::Off];
}

impl fmt::Display for SmbEncrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmbEncrypt::Auto => "auto",
            SmbEncrypt::Required => "required",
            SmbEncrypt::Off => "off",
        })
    }
}

impl FromStr for SmbEncrypt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(SmbEncrypt::Auto),
            "required" => Ok(SmbEncrypt::Required),
            "off" => Ok(SmbEncrypt::Off),
            _ => Err(format!("{s:?} is not one of auto, required, off")),
        }
    }
}

impl fmt::Debug for SmbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password never reaches a log line.
        f.debug_struct("SmbSettings")
            .field("host", &self.host)
            .field("share", &self.share)
            .field("path", &self.path)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("encrypt", &self.encrypt)
            .finish()
    }
}

impl SmbSettings {
    /// Field-by-field problems, for the console to show next to each field.
    /// The same rules the mount keeps (see [`crate::smb`]).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        use crate::smb;
        let mut out = Vec::new();
        if let Err(why) = smb::Server::parse(&self.host) {
            out.push(("host", why));
        }
        if let Some(why) = smb::share_problem(&self.share) {
            out.push(("share", why));
        }
        if let Some(why) = smb::path_problem(&self.path) {
            out.push(("path", why));
        }
        if self.username.trim().is_empty() {
            out.push(("username", "the user name is empty".into()));
        } else if let Err(why) = smb::user_parts(&self.username, false) {
            out.push(("username", why));
        }
        if let Some(why) = smb::password_problem(&self.password) {
            out.push(("password", why));
        }
        out
    }
}

/// The backup schedule and where sets go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    pub destination: DestinationKind,
    /// Local time of the nightly backup.
    pub schedule: TimeOfDay,
    /// Days on which the nightly backup is a differential instead of a full.
    pub differential_days: Vec<Weekday>,
    /// Restore points kept: nightly fulls and differentials (a
    /// differential keeps the full it depends on).
    pub retention: u32,
    /// Copies ("Backup now" outside the chain) kept, counted apart from the
    /// restore points so that copies never push out a nightly backup.
    pub copies_kept: u32,
    /// Message bodies older than this many hours are stored as headers only.
    pub body_window_hours: u32,
    /// Split sets into volumes of this many MiB (0: only where the
    /// destination's file system needs it, below 4 GiB on FAT32).
    pub volume_size_mib: u64,
    /// An age public key (`age1...`, X25519). Set: the secrets (the
    /// secrets file, TLS private keys) go into sets encrypted to it, and
    /// the operator keeps the matching identity. Empty: sets leave them out.
    pub secrets_recipient: String,
    /// An age public key (`age1...`, X25519). Set: every set written to a
    /// USB drive or an SMB share is encrypted whole to it (`.tar.age`), and
    /// the operator keeps the matching identity. Empty (the default): plain
    /// `.tar` sets. Sets in the local folder are never encrypted.
    pub encrypt_recipient: String,
    /// How sets are compressed: `zstd` (`.tar.zst`, what a new
    /// installation writes) or `none` (plain `.tar`, what a configuration
    /// from before compression existed keeps until it is changed).
    #[serde(default = "Compression::off")]
    pub compression: Compression,
    /// zstd's level, 1 (fastest) to 19 (smallest); 3 by measurement.
    pub compression_level: i32,
    pub smb: SmbSettings,
}

/// How sets are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Zstd,
}

impl Compression {
    fn off() -> Compression {
        Compression::None
    }
}

/// The zstd levels `backup.compression_level` may take.
pub const COMPRESSION_LEVELS: std::ops::RangeInclusive<i32> = 1..=19;

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            destination: DestinationKind::Local,
            schedule: TimeOfDay {
                hour: 22,
                minute: 0,
            },
            differential_days: Vec::new(),
            retention: 3,
            copies_kept: 3,
            body_window_hours: 24,
            volume_size_mib: 0,
            secrets_recipient: String::new(),
            encrypt_recipient: String::new(),
            compression: Compression::Zstd,
            compression_level: 3,
            smb: SmbSettings::default(),
        }
    }
}

impl BackupSettings {
    /// `volume_size_mib` in bytes, `None` for 0 (split only where the
    /// file system needs it).
    pub fn volume_size(&self) -> Option<u64> {
        (self.volume_size_mib > 0).then(|| self.volume_size_mib.saturating_mul(1 << 20))
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.retention == 0 {
            return Err("backup.retention must keep at least 1 restore point".into());
        }
        if self.retention > 1000 {
            return Err("backup.retention must be at most 1000".into());
        }
        if self.copies_kept == 0 || self.copies_kept > 1000 {
            return Err("backup.copies_kept must be 1 to 1000".into());
        }
        if self.destination == DestinationKind::Smb
            && let Some((field, why)) = self.smb.problems().into_iter().next()
        {
            return Err(format!("backup.smb.{field}: {why}"));
        }
        if let Some(why) = recipient_problem(&self.secrets_recipient) {
            return Err(format!("backup.secrets_recipient: {why}"));
        }
        if let Some(why) = recipient_problem(&self.encrypt_recipient) {
            return Err(format!("backup.encrypt_recipient: {why}"));
        }
        if !COMPRESSION_LEVELS.contains(&self.compression_level) {
            return Err(format!(
                "backup.compression_level must be {} to {}",
                COMPRESSION_LEVELS.start(),
                COMPRESSION_LEVELS.end()
            ));
        }
        Ok(())
    }

    /// The type of the scheduled backup on a given day.
    pub fn scheduled_type(&self, day: Weekday) -> BackupType {
        if self.differential_days.contains(&day) {
            BackupType::Differential
        } else {
            BackupType::Full
        }
    }
}

/// Why `text` is not an age X25519 recipient (`age1` and 58 more
/// characters of Bech32 with a valid checksum), or `None` when it is one or
/// empty (no recipient).
pub fn recipient_problem(text: &str) -> Option<String> {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    if text.is_empty() {
        return None;
    }
    let example = "an age public key such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p (age-keygen prints one)";
    if text.starts_with("AGE-SECRET-KEY-") {
        return Some(format!(
            "that is a secret key: give its public key instead, {example}; keep the secret key off the appliance"
        ));
    }
    let Some(data) = text.strip_prefix("age1") else {
        return Some(format!("is not {example}"));
    };
    let values: Option<Vec<u8>> = data
        .bytes()
        .map(|c| CHARSET.iter().position(|&x| x == c).map(|p| p as u8))
        .collect();
    let Some(values) = values.filter(|v| v.len() == 58) else {
        return Some(format!("is not {example}"));
    };
    if bech32_polymod(&values) != 1 {
        return Some(
            "is not a valid age public key (a character is wrong or missing): copy it again from age-keygen's output"
                .into(),
        );
    }
    // 52 data characters carry the key's 32 bytes and 4 bits that must be
    // zero: age refuses the key otherwise, so backupd would at the backup.
    if values[51] & 0x0f != 0 {
        return Some("is not a valid age public key (its last bits are not zero)".into());
    }
    None
}

/// Bech32's checksum over the human-readable part "age" and `values`
/// (the data and the checksum's 6 characters): 1 when it holds.
fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let hrp = b"age";
    let expanded = hrp
        .iter()
        .map(|c| c >> 5)
        .chain([0])
        .chain(hrp.iter().map(|c| c & 31))
        .chain(values.iter().copied());
    let mut chk: u32 = 1;
    for v in expanded {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_recipients() {
        assert_eq!(recipient_problem(""), None);
        // From age's own documentation.
        let good = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        assert_eq!(recipient_problem(good), None);
        let typo = good.replace("ql3z", "ql3y");
        assert!(
            recipient_problem(&typo)
                .expect("typo")
                .contains("not a valid")
        );
        assert!(
            recipient_problem("age1short")
                .expect("short")
                .contains("age-keygen")
        );
        assert!(
            recipient_problem("AGE-SECRET-KEY-1QQQ")
                .expect("secret")
                .contains("secret key")
        );
        assert!(recipient_problem("ssh-ed25519 AAAA").is_some());
    }

    #[test]
    fn new_installations_compress_and_older_configurations_stay_plain() {
        assert_eq!(BackupSettings::default().compression, Compression::Zstd);
        assert_eq!(BackupSettings::default().compression_level, 3);
        let old: BackupSettings = toml::from_str("retention = 3\n").expect("parses");
        assert_eq!(old.compression, Compression::None);
        let on: BackupSettings =
            toml::from_str("compression = \"zstd\"\ncompression_level = 19\n").expect("parses");
        assert_eq!(on.compression, Compression::Zstd);
        assert!(on.check().is_ok());
        for bad in [0, 20, -1] {
            let b = BackupSettings {
                compression_level: bad,
                ..Default::default()
            };
            let why = b.check().expect_err("refused");
            assert!(why.starts_with("backup.compression_level"), "{why}");
        }
        assert!(toml::from_str::<BackupSettings>("compression = \"gzip\"\n").is_err());
    }

    /// A key whose checksum holds but whose last 4 bits are set: age
    /// refuses it, so the check must too.
    #[test]
    fn recipient_padding_must_be_zero() {
        const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        let good = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        let mut values: Vec<u8> = good[4..]
            .bytes()
            .map(|c| CHARSET.iter().position(|&x| x == c).expect("bech32") as u8)
            .collect();
        values.truncate(52);
        values[51] |= 1;
        let mut padded = values.clone();
        padded.extend([0; 6]);
        let m = bech32_polymod(&padded) ^ 1;
        values.extend((0..6).map(|i| ((m >> (5 * (5 - i))) & 31) as u8));
        let text: String = "age1"
            .chars()
            .chain(values.iter().map(|&v| CHARSET[v as usize] as char))
            .collect();
        assert_eq!(bech32_polymod(&values), 1, "the checksum holds");
        let why = recipient_problem(&text).expect("refused");
        assert!(why.contains("last bits are not zero"), "{why}");
    }

    #[test]
    fn encrypt_recipient_is_checked() {
        let mut b = BackupSettings::default();
        assert_eq!(b.encrypt_recipient, "");
        assert_eq!(b.check(), Ok(()));
        b.encrypt_recipient =
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into();
        assert_eq!(b.check(), Ok(()));
        b.encrypt_recipient = "AGE-SECRET-KEY-1QQQ".into();
        let why = b.check().expect_err("a secret key is refused");
        assert!(why.starts_with("backup.encrypt_recipient: "), "{why}");
        assert!(why.contains("secret key"), "{why}");
        b.encrypt_recipient = "age1nope".into();
        assert!(b.check().is_err());
    }

    #[test]
    fn smb_encrypt_values() {
        assert_eq!("Required".parse::<SmbEncrypt>(), Ok(SmbEncrypt::Required));
        assert_eq!(SmbEncrypt::default(), SmbEncrypt::Auto);
        assert!("sometimes".parse::<SmbEncrypt>().is_err());
        for e in SmbEncrypt::ALL {
            assert_eq!(e.to_string().parse::<SmbEncrypt>(), Ok(e));
        }
    }

    #[test]
    fn times() {
        assert_eq!("7:05".parse::<TimeOfDay>().expect("t").to_string(), "07:05");
        assert!("24:00".parse::<TimeOfDay>().unwrap_err().contains("hour"));
        assert!(
            "12:60"
                .parse::<TimeOfDay>()
                .unwrap_err()
                .contains("minutes")
        );
        assert!("noon".parse::<TimeOfDay>().is_err());
    }

    #[test]
    fn weekdays() {
        assert_eq!(Weekday::from_days_since_epoch(0), Weekday::Thu);
        assert_eq!(Weekday::from_days_since_epoch(-1), Weekday::Wed);
        assert_eq!(Weekday::from_days_since_epoch(4), Weekday::Mon);
    }

    #[test]
    fn smb_password_hidden_from_debug() {
        let s = SmbSettings {
            password: "hunter2".into(),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn smb_problems() {
        let s = SmbSettings::default();
        let fields: Vec<_> = s.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["host", "share", "username"]);
    }
}
