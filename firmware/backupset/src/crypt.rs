//! Whole sets encrypted at rest with [age](https://age-encryption.org).
//!
//! With `backup.encrypt_recipient` set (an X25519 recipient, `age1…`), the
//! writer encrypts the tar stream to it (age's STREAM format: 64 KiB chunks,
//! each authenticated) and the volumes split the encrypted bytes, so the set
//! is `<name>.tar.age` (`.tar.age.001`, …) and its `.tar.age.md5` covers the
//! bytes as written. `cat` of the volumes is one age file: `age -d -i
//! key.txt` opens it and `tar -x` reads what comes out.
//!
//! The header also carries two stanzas that wrap nothing:
//! `appliance-recipient <age1…>` and `appliance-set unit=<id> [base=<set>]`.
//! Identities (age's own tools included) pass over stanzas they do not
//! know; without the identity, a reader can still say which key the set
//! needs, and retention can tell whose set it is and which full a
//! differential needs (what `.version.txt` tells of a plain set). These are
//! a public key, the unit's identity and a set name: nothing a plain set's
//! name and `.version.txt` would not show. They are not authenticated
//! without the key, no more than a plain set's `.version.txt` is.
//!
//! The plaintext is read back with seeking ([`age::stream::StreamReader`]
//! over the joined volumes), so a selective restore decrypts only the
//! chunks its byte ranges touch.

use crate::error::SetError;
use age::x25519;
use age_core::format::{FileKey, Stanza};
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The tag of the stanza that names the recipient.
pub const RECIPIENT_STANZA: &str = "appliance-recipient";
/// The tag of the stanza with the set's unit and base.
pub const SET_STANZA: &str = "appliance-set";

/// What an encrypted set's header tells without the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    pub recipient: Option<String>,
    /// The writing unit's identity (`.version.txt`'s `unit=`).
    pub unit: Option<String>,
    /// A differential's full (`.version.txt`'s `base=`).
    pub base: Option<String>,
}

/// A value fit for a stanza argument (printable ASCII, no spaces).
fn arg_ok(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic())
}

/// Largest identity file read.
const MAX_IDENTITY_FILE: u64 = 64 << 10;

/// Reads an X25519 recipient (`age1…`).
pub fn parse_recipient(text: &str) -> Result<x25519::Recipient, String> {
    text.trim()
        .parse::<x25519::Recipient>()
        .map_err(|e| format!("not an age X25519 public key (age1...): {e}"))
}

/// The identities that open encrypted sets (an age identity file's keys).
#[derive(Clone)]
pub struct Keys {
    ids: Arc<Vec<x25519::Identity>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} identities)", self.ids.len())
    }
}

impl Keys {
    pub fn new(ids: Vec<x25519::Identity>) -> Keys {
        Keys { ids: Arc::new(ids) }
    }

    /// Reads an age identity file (as `age-keygen` writes it): `#` comments,
    /// blank lines and `AGE-SECRET-KEY-1…` lines.
    pub fn from_file(path: &Path) -> Result<Keys, String> {
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_IDENTITY_FILE).read_to_string(&mut text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut ids = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = line.parse::<x25519::Identity>().map_err(|_| {
                format!(
                    "{} line {}: not an age X25519 identity (AGE-SECRET-KEY-1...)",
                    path.display(),
                    i + 1
                )
            })?;
            ids.push(id);
        }
        if ids.is_empty() {
            return Err(format!("{}: no age identity in it", path.display()));
        }
        Ok(Keys::new(ids))
    }

    /// The public keys of these identities.
    pub fn recipients(&self) -> Vec<String> {
        self.ids.iter().map(|i| i.to_public().to_string()).collect()
    }
}

/// Writes [`Notes`] into the header; wraps no key.
struct Note(Notes);

impl age::Recipient for Note {
    fn wrap_file_key(
        &self,
        _file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let mut out = Vec::new();
        if let Some(r) = self.0.recipient.as_ref().filter(|r| arg_ok(r)) {
            out.push(Stanza {
                tag: RECIPIENT_STANZA.into(),
                args: vec![r.clone()],
                body: Vec::new(),
            });
        }
        let mut args = Vec::new();
        for (k, v) in [("unit", &self.0.unit), ("base", &self.0.base)] {
            if let Some(v) = v.as_ref().filter(|v| arg_ok(v)) {
                args.push(format!("{k}={v}"));
            }
        }
        if !args.is_empty() {
            out.push(Stanza {
                tag: SET_STANZA.into(),
                args,
                body: Vec::new(),
            });
        }
        Ok((out, HashSet::new()))
    }
}

/// Notes the stanzas of a header it is shown; opens nothing.
#[derive(Default)]
struct Recorder(Mutex<Notes>);

impl age::Identity for Recorder {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        let Ok(mut notes) = self.0.lock() else {
            return None;
        };
        if stanza.tag == RECIPIENT_STANZA {
            notes.recipient = stanza.args.first().cloned();
        } else if stanza.tag == SET_STANZA {
            for a in &stanza.args {
                match a.split_once('=') {
                    Some(("unit", v)) => notes.unit = Some(v.to_string()),
                    Some(("base", v)) => notes.base = Some(v.to_string()),
                    _ => {}
                }
            }
        }
        None
    }
}

impl Recorder {
    fn notes(&self) -> Notes {
        self.0.lock().map(|n| n.clone()).unwrap_or_default()
    }
    fn get(&self) -> String {
        self.notes()
            .recipient
            .unwrap_or_else(|| "an age key".into())
    }
}

/// An age encrypting writer over `out`; the header names the recipient
/// and carries `unit` and `base` (see [`Notes`]).
pub fn encrypting<W: Write>(
    recipient: &x25519::Recipient,
    unit: Option<&str>,
    base: Option<&str>,
    out: W,
) -> std::io::Result<age::stream::StreamWriter<W>> {
    let note = Note(Notes {
        recipient: Some(recipient.to_string()),
        unit: unit.map(str::to_string),
        base: base.map(str::to_string),
    });
    let rs: [&dyn age::Recipient; 2] = [recipient, &note];
    age::Encryptor::with_recipients(rs.into_iter())
        .map_err(std::io::Error::other)?
        .wrap_output(out)
}

/// What an encrypted stream's header tells, read without a key; `None`
/// when it is not an age file (or its header is damaged).
pub fn notes_of(input: impl Read) -> Option<Notes> {
    let rec = Recorder::default();
    let d = age::Decryptor::new(input).ok()?;
    let _ = d.decrypt(std::iter::once(&rec as &dyn age::Identity));
    Some(rec.notes())
}

/// The recipient an encrypted stream names in its header, read without a key.
pub fn recipient_of(input: impl Read) -> String {
    notes_of(input)
        .and_then(|n| n.recipient)
        .unwrap_or_else(|| "an age key".into())
}

/// Why an encrypted stream could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// No identity given; the set needs this recipient's.
    NoKey(String),
    /// None of the identities opens it; it needs this recipient's.
    WrongKey(String),
    /// Not an age file, or its header is damaged.
    Damaged(String),
}

impl OpenError {
    /// As a [`SetError`] of set `set`.
    pub fn for_set(self, set: &str) -> SetError {
        match self {
            OpenError::NoKey(recipient) => SetError::Encrypted {
                set: set.into(),
                recipient,
            },
            OpenError::WrongKey(recipient) => SetError::WrongIdentity {
                set: set.into(),
                recipient,
            },
            OpenError::Damaged(why) => {
                SetError::malformed(set, format!("the encrypted set cannot be opened: {why}"))
            }
        }
    }
}

/// The plaintext of an age stream, its read errors told as damage.
pub struct Decrypting<R: Read>(age::stream::StreamReader<R>);

/// Opens an age stream with `keys`.
pub fn decrypting<R: Read>(input: R, keys: Option<&Keys>) -> Result<Decrypting<R>, OpenError> {
    let rec = Recorder::default();
    let d = age::Decryptor::new(input).map_err(|e| OpenError::Damaged(e.to_string()))?;
    let Some(keys) = keys else {
        let _ = d.decrypt(std::iter::once(&rec as &dyn age::Identity));
        return Err(OpenError::NoKey(rec.get()));
    };
    let ids = keys
        .ids
        .iter()
        .map(|i| i as &dyn age::Identity)
        .chain(std::iter::once(&rec as &dyn age::Identity));
    match d.decrypt(ids) {
        Ok(r) => Ok(Decrypting(r)),
        Err(age::DecryptError::NoMatchingKeys) => Err(OpenError::WrongKey(rec.get())),
        Err(e) => Err(OpenError::Damaged(e.to_string())),
    }
}

fn damaged(e: std::io::Error) -> std::io::Error {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the encrypted set is damaged or cut short ({e})"),
        ),
        _ => e,
    }
}

impl<R: Read> Read for Decrypting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(damaged)
    }
}

impl<R: Read + Seek> Seek for Decrypting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos).map_err(damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_names_the_recipient_and_refuses_other_keys() {
        let id = x25519::Identity::generate();
        let to = id.to_public();
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i * 31 / 7) as u8).collect();
        let mut w = encrypting(
            &to,
            Some("u-1"),
            Some("mx-F20261122T031815Z.tar.age"),
            Vec::new(),
        )
        .expect("encryptor");
        w.write_all(&plain).expect("write");
        let ct = w.finish().expect("finish");
        assert_eq!(recipient_of(&ct[..]), to.to_string());
        assert_eq!(
            notes_of(&ct[..]),
            Some(Notes {
                recipient: Some(to.to_string()),
                unit: Some("u-1".into()),
                base: Some("mx-F20261122T031815Z.tar.age".into()),
            })
        );
        assert_eq!(notes_of(&b"not age"[..]), None);
        let keys = Keys::new(vec![id]);
        let mut r = decrypting(std::io::Cursor::new(&ct), Some(&keys)).expect("opens");
        r.seek(SeekFrom::Start(150_000)).expect("seek");
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).expect("read");
        assert_eq!(tail, plain[150_000..]);
        match decrypting(&ct[..], None) {
            Err(OpenError::NoKey(r)) => assert_eq!(r, to.to_string()),
            _ => panic!("opened without a key"),
        }
        let other = Keys::new(vec![x25519::Identity::generate()]);
        match decrypting(&ct[..], Some(&other)) {
            Err(OpenError::WrongKey(r)) => assert_eq!(r, to.to_string()),
            _ => panic!("opened with another key"),
        }
        // One bit changed in the second chunk: the first still reads, then
        // the damage is an error, never different bytes.
        let mut bad = ct.clone();
        let at = bad.len() - 70_000;
        bad[at] ^= 1;
        let mut r = decrypting(&bad[..], Some(&keys)).expect("header intact");
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).expect_err("damage found");
        assert!(err.to_string().contains("damaged or cut short"), "{err}");
        assert!(plain.starts_with(&out));
        // Cut short at a chunk boundary and anywhere else.
        for cut in [ct.len() - 1, ct.len() - (ct.len() - 200) % (64 * 1024 + 16)] {
            let mut r = decrypting(&ct[..cut], Some(&keys)).expect("header intact");
            let mut out = Vec::new();
            assert!(
                r.read_to_end(&mut out).is_err(),
                "cut at {cut} read as whole"
            );
        }
    }
}
