//! The `.tar.md5` sidecar: `md5sum` lines, one per volume, in volume order.

use crate::name::{FileRole, SetName};

/// Longest `.md5` file read (999 volumes fit many times over).
pub const MAX_MD5_FILE: u64 = 256 << 10;

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
