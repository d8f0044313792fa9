//! age identities typed or pasted at the console, or read from a key file
//! on the USB drive, for a restore of encrypted sets and sealed secrets.
//! They live only in a private file under `/run` while `recover` runs:
//! never in the configuration, never in the log.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The prefix of an age X25519 identity (`age-keygen`'s secret line).
pub const PREFIX: &str = "AGE-SECRET-KEY-1";
/// Characters after the prefix: 32 bytes and a 6-character checksum.
const DATA_LEN: usize = 58;
const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
/// Longest key file read from the drive.
pub const MAX_KEY_FILE: u64 = 64 << 10;

/// What the operator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An identity line, as typed (checked, upper case).
    Key(String),
    /// Something else: the name of a key file on the USB drive.
    File(String),
}

/// Reads the operator's answer: a key, or a file name. An empty answer or
/// a public key is refused with the reason.
pub fn parse_answer(text: &str) -> Result<Answer, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(
            "empty: paste the AGE-SECRET-KEY-1... line, or name a key file on the USB drive".into(),
        );
    }
    if t.to_ascii_lowercase().starts_with("age1") {
        return Err(
            "that is the public key (age1...): give the identity that belongs to it, \
             the AGE-SECRET-KEY-1... line of its key file"
                .into(),
        );
    }
    if t.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
        return check_key(t).map(Answer::Key);
    }
    if t.contains('/') || t.starts_with('.') {
        return Err(format!(
            "{t:?}: name a file directly on the USB drive (no folders)"
        ));
    }
    Ok(Answer::File(t.to_string()))
}

/// The identity in upper case, or why it is not one (cut short, mistyped).
pub fn check_key(text: &str) -> Result<String, String> {
    let upper = text.trim().to_ascii_uppercase();
    let problem = || {
        format!(
            "not a whole age identity: {PREFIX} and {DATA_LEN} more letters and digits \
             (a character is missing or mistyped)"
        )
    };
    let Some(data) = upper.strip_prefix(PREFIX) else {
        return Err(problem());
    };
    let values: Option<Vec<u8>> = data
        .bytes()
        .map(|c| {
            CHARSET
                .iter()
                .position(|&x| x == c.to_ascii_lowercase())
                .map(|p| p as u8)
        })
        .collect();
    let Some(values) = values.filter(|v| v.len() == DATA_LEN) else {
        return Err(problem());
    };
    // Bech32's checksum over the human-readable part and the data.
    if polymod("age-secret-key-", &values) != 1 {
        return Err(problem());
    }
    Ok(upper)
}

fn polymod(hrp: &str, data: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    let mut step = |v: u8| {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    };
    for b in hrp.bytes() {
        step(b >> 5);
    }
    step(0);
    for b in hrp.bytes() {
        step(b & 31);
    }
    for &v in data {
        step(v);
    }
    chk
}

/// The identities in a key file's text (age-keygen's `key.txt`: comment
/// lines, then the secret line). Lines that look like one but are not
/// whole are an error: a key file cut short must not pass for "no key".
pub fn keys_in(text: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
            keys.push(check_key(line)?);
        }
    }
    if keys.is_empty() {
        return Err("holds no AGE-SECRET-KEY-1... line".into());
    }
    Ok(keys)
}

/// A private file holding identities while `recover` reads them; removed
/// when dropped.
#[derive(Debug)]
pub struct IdentityFile {
    path: PathBuf,
}

static SERIAL: AtomicU32 = AtomicU32::new(0);

impl IdentityFile {
    /// Writes `keys` into a new file in `dir`, mode 0600, never over an
    /// existing file.
    pub fn write(dir: &Path, keys: &[String]) -> Result<IdentityFile, String> {
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("console-identity-{}-{n}.txt", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot write a private key file in {}: {e}", dir.display()))?;
        let guard = IdentityFile { path };
        let mut text = String::new();
        for k in keys {
            text.push_str(k);
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", guard.path.display()))?;
        Ok(guard)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for IdentityFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const KEY: &str = "AGE-SECRET-KEY-1SPW4LV9HPE9WRDZXT3EYKZTSG9SR8RN563S5HM2LV7VWX3JAG2ZSL5250P";

    #[test]
    fn answers_are_keys_files_or_refused() {
        assert_eq!(
            parse_answer(&format!("  {KEY} ")),
            Ok(Answer::Key(KEY.into()))
        );
        assert_eq!(
            parse_answer(&KEY.to_ascii_lowercase()),
            Ok(Answer::Key(KEY.into()))
        );
        assert_eq!(parse_answer("key.txt"), Ok(Answer::File("key.txt".into())));
        assert!(parse_answer("").unwrap_err().starts_with("empty"));
        assert!(
            parse_answer("age1cg9jl7qvlx2kxahr77gskua2ezskhs949ghzyjyevzmtydg7kswsgv5xsh")
                .unwrap_err()
                .contains("public key")
        );
        assert!(parse_answer("../etc/shadow").is_err());
        // One character changed, one missing: the checksum catches both.
        let typo = KEY.replace("SPW4", "SPW5");
        assert!(parse_answer(&typo).unwrap_err().contains("mistyped"));
        assert!(parse_answer(&KEY[..KEY.len() - 1]).is_err());
    }

    #[test]
    fn key_files_as_age_keygen_writes_them() {
        let text = format!(
            "# created: 2026-12-03T21:51:05Z\n# public key: age1cg9jl7qvlx2kxahr77gskua2ezskhs949ghzyjyevzmtydg7kswsgv5xsh\n{KEY}\n"
        );
        assert_eq!(keys_in(&text), Ok(vec![KEY.to_string()]));
        assert!(keys_in("# nothing\n").is_err());
        assert!(keys_in(&format!("{}\n", &KEY[..40])).is_err());
    }

    #[test]
    fn the_file_is_private_and_goes_away() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = IdentityFile::write(dir.path(), &[KEY.to_string()]).expect("write");
        let path = f.path().to_path_buf();
        let meta = std::fs::metadata(&path).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("{KEY}\n")
        );
        drop(f);
        assert!(!path.exists());
    }
}
