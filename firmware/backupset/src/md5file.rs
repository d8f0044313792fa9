//! MD5 in sets: the `.tar.md5` sidecar (`md5sum` lines, one per volume,
//! in volume order), read and written, and the digest helpers the writer,
//! the reader and the verdicts share.

use crate::error::SetError;
use crate::name::{FileRole, SetName};
use md5::{Digest, Md5};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Longest `.md5` file read (999 volumes fit many times over).
pub const MAX_MD5_FILE: u64 = 256 << 10;

/// Lower-case hex of a digest, as `md5sum` writes it.
pub fn hex(d: &[u8; 16]) -> String {
    humanfmt::hex(d)
}

/// The MD5 of everything `f` holds; `path` names it in errors.
pub(crate) fn md5_of_reader(
    f: &mut impl Read,
    path: &Path,
    cancel: &AtomicBool,
) -> Result<[u8; 16], SetError> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(SetError::Cancelled);
        }
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SetError::io(path, e)),
        };
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// The `.md5` file's text: one `md5sum` line per volume.
/// `volumes` are (file name, hex digest) in volume order.
pub fn md5_text<'a>(volumes: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    volumes
        .into_iter()
        .map(|(name, md5)| format!("{md5}  {name}\n"))
        .collect()
}

/// The volumes a set's `.md5` file in `dir` lists, with their digests;
/// the error names the file and what is wrong.
pub(crate) fn read_md5(dir: &Path, name: &SetName) -> Result<Vec<(String, [u8; 16])>, String> {
    let path = dir.join(name.md5_name());
    let mut text = String::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_MD5_FILE).read_to_string(&mut text))
        .map_err(|e| format!("{}: {e}", name.md5_name()))?;
    parse(&text, name).map_err(|e| format!("{}: {e}", name.md5_name()))
}

/// Reads the lines of a set's `.md5` file: volume names (which must be the
/// set's own volumes 0, 1, 2... in order) with their digests.
pub fn parse(text: &str, set: &SetName) -> Result<Vec<(String, [u8; 16])>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (hex, rest) = line
            .split_once(' ')
            .ok_or_else(|| format!("line {}: not an md5sum line", i + 1))?;
        // md5sum writes "  name" (text) or " *name" (binary).
        let file = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .unwrap_or(rest);
        let digest =
            parse_hex(hex).ok_or_else(|| format!("line {}: {hex:?} is not an MD5", i + 1))?;
        match SetName::parse_file(file) {
            Some((n, FileRole::Volume(v))) if n == *set && v as usize == out.len() => {}
            _ => {
                return Err(format!(
                    "line {}: {file:?} is not volume {} of {}",
                    i + 1,
                    out.len(),
                    set.tar_name()
                ));
            }
        }
        out.push((file.to_string(), digest));
    }
    if out.is_empty() {
        return Err("it lists no volume".into());
    }
    Ok(out)
}

fn parse_hex(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::SetKind;

    #[test]
    fn lines() {
        let n = SetName::new("mail", SetKind::Full, 0);
        let text = format!(
            "{}  {}\n{} *{}\n",
            "0".repeat(32),
            n.volume_name(0),
            "f".repeat(32),
            n.volume_name(1)
        );
        let v = parse(&text, &n).expect("parses");
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].1, [0xff; 16]);
        assert!(parse("", &n).is_err());
        assert!(
            parse(&format!("{}  {}\n", "0".repeat(32), n.volume_name(1)), &n).is_err(),
            "gap"
        );
        assert!(parse(&format!("xyz  {}\n", n.volume_name(0)), &n).is_err());
        assert!(parse(&format!("{}  ../etc/passwd\n", "0".repeat(32)), &n).is_err());
    }
}
