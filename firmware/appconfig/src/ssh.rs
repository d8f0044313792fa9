//! SSH access to the console: whether it is on, who may connect, and the
//! public keys that may log in as `sysconfig` besides its password.

use crate::ftp::AccessList;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Key types an authorized key may have (what Dropbear checks).
pub const KEY_TYPES: [&str; 5] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// Authorized keys kept at most (each is a line in Dropbear's file).
pub const MAX_KEYS: usize = 32;
/// Longest key line accepted (an RSA 16384-bit key is about 2.8 KB).
pub const MAX_KEY_LINE: usize = 4096;
/// Longest comment kept after the key.
pub const MAX_COMMENT: usize = 200;

/// The SSH service's settings. SSH runs only when `enabled` and the console
/// password is set (an appliance without one has no login to offer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SshSettings {
    pub enabled: bool,
    /// Who may connect; empty means nobody.
    pub access_list: AccessList,
    /// Public keys that log in as `sysconfig` without its password.
    pub authorized_keys: Vec<AuthorizedKey>,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            enabled: true,
            // The private blocks: on for the LAN, never for the Internet.
            access_list: AccessList::parse_list("10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16")
                .unwrap_or_default(),
            authorized_keys: Vec::new(),
        }
    }
}

impl SshSettings {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.authorized_keys.len() > MAX_KEYS {
            return Err(format!(
                "ssh.authorized_keys: {} keys; at most {MAX_KEYS}",
                self.authorized_keys.len()
            ));
        }
        for (i, k) in self.authorized_keys.iter().enumerate() {
            if self.authorized_keys[..i].iter().any(|o| o.blob == k.blob) {
                return Err(format!(
                    "ssh.authorized_keys: key already listed ({})",
                    k.fingerprint()
                ));
            }
        }
        Ok(())
    }

    /// Whether SSH should run with a console password in `sysconfig_hash`.
    pub fn runs(&self, sysconfig_hash: &str) -> bool {
        self.enabled && !sysconfig_hash.is_empty()
    }
}

/// One public key as OpenSSH writes it: `type base64 [comment]`. Options
/// (`command=`, `from=`, ...) are refused: the appliance writes its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuthorizedKey {
    pub kind: String,
    /// The key's wire form (what the base64 text encodes).
    pub blob: Vec<u8>,
    pub comment: String,
}

impl AuthorizedKey {
    /// `SHA256:...` as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint_of_blob(&self.blob)
    }

    /// The key without its comment, as a line of `authorized_keys`.
    pub fn key_text(&self) -> String {
        format!("{} {}", self.kind, STANDARD.encode(&self.blob))
    }
}

/// `SHA256:<base64 without padding>` of a key's wire form.
pub fn fingerprint_of_blob(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// The fingerprint of a public key line (`type base64 [comment]`), such as
/// a host key's `.pub` file.
pub fn fingerprint(line: &str) -> Result<String, String> {
    line.parse::<AuthorizedKey>().map(|k| k.fingerprint())
}

impl fmt::Display for AuthorizedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key_text())?;
        if !self.comment.is_empty() {
            write!(f, " {}", self.comment)?;
        }
        Ok(())
    }
}

impl FromStr for AuthorizedKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the key is empty: paste a line such as ssh-ed25519 AAAA... name".into());
        }
        if s.len() > MAX_KEY_LINE {
            return Err(format!("the key line is longer than {MAX_KEY_LINE} bytes"));
        }
        if s.chars().any(|c| c.is_control() && c != '\t') {
            return Err("the key holds control characters or more than one line".into());
        }
        let mut parts = s.splitn(3, [' ', '\t']);
        let kind = parts.next().unwrap_or_default();
        if !KEY_TYPES.contains(&kind) {
            let what = if kind.contains('=') || kind.contains(',') || kind == "restrict" {
                "options before the key (command=, from=, ...) are not accepted".to_string()
            } else {
                format!("{kind:?} is not a key type")
            };
            return Err(format!(
                "{what}; paste a key of type {}",
                KEY_TYPES.join(", ")
            ));
        }
        let body = parts.next().unwrap_or_default().trim();
        let blob = STANDARD
            .decode(body)
            .map_err(|_| format!("the {kind} key's body is not base64"))?;
        // The wire form starts with its own type: a body pasted under the
        // wrong type (or cut short) is caught here rather than at login.
        let named = blob
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .and_then(|n| blob.get(4..4 + n));
        if named != Some(kind.as_bytes()) {
            return Err(format!("the key's body is not an {kind} key"));
        }
        if blob.len() < 4 + kind.len() + 20 {
            return Err(format!("the {kind} key is cut short"));
        }
        let comment: String = parts
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if comment.len() > MAX_COMMENT {
            return Err(format!(
                "the comment after the key is longer than {MAX_COMMENT} bytes"
            ));
        }
        Ok(AuthorizedKey {
            kind: kind.to_string(),
            blob,
            comment,
        })
    }
}

impl TryFrom<String> for AuthorizedKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<AuthorizedKey> for String {
    fn from(k: AuthorizedKey) -> String {
        k.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A throwaway key from ssh-keygen -t ed25519, and what ssh-keygen -l says.
    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFL0yG5nvNG66o5q24H+XR7AWPF0M5BNLjeCZgqwbRb admin@pc";
    const ED_FP: &str = "SHA256:34itRG260RTryeaJ2mt5D7A9FnKryLrJjh4GWLfJc2s";

    #[test]
    fn defaults_are_on_for_the_private_blocks() {
        let s: SshSettings = toml::from_str("").expect("empty");
        assert!(s.enabled);
        assert!(s.access_list.allows("192.168.1.20".parse().expect("ip")));
        assert!(s.access_list.allows("10.0.2.2".parse().expect("ip")));
        assert!(s.access_list.allows("172.31.0.1".parse().expect("ip")));
        assert!(!s.access_list.allows("8.8.8.8".parse().expect("ip")));
        assert!(!s.runs(""), "no console password: no SSH");
        assert!(s.runs("$6$x"));
        assert!(
            !SshSettings {
                enabled: false,
                ..s
            }
            .runs("$6$x")
        );
    }

    #[test]
    fn keys_parse_and_print_their_fingerprint() {
        let k: AuthorizedKey = ED.parse().expect("key");
        assert_eq!(k.kind, "ssh-ed25519");
        assert_eq!(k.comment, "admin@pc");
        assert_eq!(k.fingerprint(), ED_FP);
        assert_eq!(k.to_string(), ED);
        let s: SshSettings =
            toml::from_str(&format!("authorized_keys = [{ED:?}]\n")).expect("settings");
        assert_eq!(s.authorized_keys, vec![k.clone()]);
        let twice = SshSettings {
            authorized_keys: vec![k.clone(), k],
            ..SshSettings::default()
        };
        assert!(twice.check().expect_err("twice").contains("already listed"));
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        let body = ED.split(' ').nth(1).expect("body");
        let cases = [
            ("", "empty"),
            (&format!("command=\"sh\" ssh-ed25519 {body}"), "options"),
            (&format!("from=\"1.2.3.4\" ssh-ed25519 {body}"), "options"),
            (&format!("restrict ssh-ed25519 {body}"), "options"),
            (&format!("ssh-dss {body}"), "not a key type"),
            ("ssh-ed25519 not*base64", "not base64"),
            (&format!("ssh-rsa {body}"), "not an ssh-rsa key"),
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "cut short"),
            (&format!("ssh-ed25519 {body} a\nssh-rsa x"), "control"),
        ];
        for (line, why) in cases {
            let e = line.parse::<AuthorizedKey>().expect_err(line);
            assert!(e.contains(why), "{line:?}: {e}");
        }
        assert!(toml::from_str::<SshSettings>("authorized_keys = [\"ssh-rsa AAAA\"]\n").is_err());
    }
}
