use serde::{Deserialize, Serialize};
use sha_crypt::{CustomizedPasswordHasher, Params, PasswordVerifier, ShaCrypt};

/// Hashed passwords of the appliance's two administrative accounts. An
/// empty hash means "not set yet": the console asks for one on first login
/// and FTP refuses every login until it is set.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Accounts {
    /// SHA-512-crypt hash for the `sysconfig` console login.
    pub sysconfig: String,
    /// SHA-512-crypt hash for the `sysarchive` FTP login.
    pub sysarchive: String,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = |h: &str| if h.is_empty() { "unset" } else { "set" };
        f.debug_struct("Accounts")
            .field("sysconfig", &state(&self.sysconfig))
            .field("sysarchive", &state(&self.sysarchive))
            .finish()
    }
}

/// SHA-512-crypt rounds of a new hash: 40 times the scheme's default
/// (5000), so each guess against a leaked hash costs 40 times more, while a
/// login still takes a fraction of a second on the appliance (measured in
/// README).
pub const HASH_ROUNDS: u32 = 200_000;

/// Hashes a password with SHA-512-crypt (`$6$rounds=N$`), the scheme
/// BusyBox `login` and `/etc/shadow` understand.
///
/// The salt is 12 random bytes, 16 characters once encoded: the scheme
/// uses at most 16, and `crypt(3)` implementations (BusyBox's, glibc's)
/// print only those, so a longer salt would never compare equal at login.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 12];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness for a salt: {e}"))?;
    let params = Params::new(HASH_ROUNDS).map_err(|e| format!("hash parameters: {e}"))?;
    ShaCrypt::default()
        .hash_password_customized(password.as_bytes(), &salt, None, None, params)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Why a stored hash cannot be used: it must be empty (not set) or a
/// SHA-512-crypt string, nothing else, since it is written into the shadow
/// file as it is (a `:` or a line break there would add fields or lines).
pub fn hash_problem(hash: &str) -> Option<String> {
    if hash.is_empty() {
        return None;
    }
    let charset_ok = hash
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"$./=".contains(&b));
    if !charset_ok || !hash.starts_with("$6$") || sha_crypt::PasswordHashRef::new(hash).is_err() {
        return Some("is not a SHA-512-crypt password hash ($6$...)".into());
    }
    None
}

/// Shortest password the console accepts.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why a new password is too weak, or `None` when it is acceptable: at least
/// [`MIN_PASSWORD_LEN`] characters, letters and something other than letters,
/// and not a well-known default such as the account's own name.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Some(format!(
            "too short: use at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    let lower = password.to_lowercase();
    const KNOWN: [&str; 6] = [
        CONSOLE_USER,
        FTP_USER,
        "admin",
        "password",
        "sendio",
        "appliance",
    ];
    if KNOWN
        .iter()
        .any(|k| lower.starts_with(k) && lower.len() <= k.len() + 3)
    {
        return Some("too easy to guess: do not use a default or account name".into());
    }
    let letters = password.chars().any(char::is_alphabetic);
    let others = password.chars().any(|c| !c.is_alphabetic());
    if !(letters && others) {
        return Some("mix letters with digits or symbols".into());
    }
    if password.chars().any(char::is_control) {
        return Some("control characters are not allowed".into());
    }
    None
}

/// Whether `password` matches `hash`; an empty or malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if hash.is_empty() {
        return false;
    }
    match sha_crypt::PasswordHashRef::new(hash) {
        Ok(h) => ShaCrypt::default()
            .verify_password(password.as_bytes(), h)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What BusyBox login does: crypt(password, stored) must print `stored`.
    #[test]
    fn hash_matches_crypt_3() {
        let h = hash_password("Mail-2026-box").expect("hash");
        let salt = h.split('$').nth(3).expect("salt field");
        assert_eq!(h.split('$').nth(2), Some("rounds=200000"), "{h}");
        assert_eq!(salt.len(), 16, "{h}");
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))",
            ])
            .args(["Mail-2026-box", &h])
            .output()
            .expect("python3 with the crypt module");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), h);
    }

    #[test]
    fn hashes_that_would_add_shadow_lines_are_refused() {
        let good = hash_password("Mail-2026-box").expect("hash");
        assert_eq!(hash_problem(&good), None);
        assert_eq!(hash_problem(""), None);
        for bad in [
            "$6$salt$hash:0:0:::\nroot::0:0:99999:7:::",
            "x",
            "$1$md5$old",
            "$6$salt$hash\n",
            "*",
        ] {
            assert!(hash_problem(bad).is_some(), "{bad:?}");
            let a = Accounts {
                sysconfig: bad.into(),
                sysarchive: String::new(),
            };
            assert!(a.check().is_err(), "{bad:?}");
            let shadow = a.render_shadow("root:*:20000:0:99999:7:::\n");
            assert_eq!(
                shadow, "root:*:20000:0:99999:7:::\nsysconfig:!:20000:0:99999:7:::\n",
                "{bad:?} locks the account"
            );
        }
    }

    #[test]
    fn hash_and_verify() {
        let h = hash_password("s3cret, with comma").expect("hash");
        assert!(h.starts_with("$6$rounds=200000$"), "{h}");
        assert!(verify_password("s3cret, with comma", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("", ""));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn password_strength() {
        assert!(password_problem("short1").unwrap().contains("at least 8"));
        assert!(password_problem("abcdefghij").unwrap().contains("digits"));
        assert!(password_problem("1234567890").unwrap().contains("digits"));
        assert!(password_problem("sysconfig1").unwrap().contains("guess"));
        assert!(password_problem("Admin123").unwrap().contains("guess"));
        assert!(password_problem("blue-harbour-42").is_none());
        assert!(password_problem("tab\there9").unwrap().contains("control"));
    }
}

/// The console's login account, whose shell is the console program.
pub const CONSOLE_USER: &str = "sysconfig";
/// The FTP account.
pub const FTP_USER: &str = "sysarchive";

impl Accounts {
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, hash) in [
            ("sysconfig", &self.sysconfig),
            ("sysarchive", &self.sysarchive),
        ] {
            if let Some(why) = hash_problem(hash) {
                return Err(format!("accounts.{name} {why}"));
            }
        }
        Ok(())
    }

    /// `/etc/shadow` for the running system: the image's own entries from
    /// `base` (root and system accounts) with the `sysconfig` entry replaced
    /// by the configured hash. An unset console password is an empty field,
    /// so the first login on the console asks for a new one at once.
    pub fn render_shadow(&self, base: &str) -> String {
        let mut out = String::new();
        for line in base.lines() {
            let name = line.split(':').next().unwrap_or("");
            if name == CONSOLE_USER || line.trim().is_empty() {
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        // Fields: name:hash:lastchange:min:max:warn:inactive:expire:. A hash
        // that is not one locks the account rather than adding fields.
        let hash = if hash_problem(&self.sysconfig).is_none() {
            self.sysconfig.as_str()
        } else {
            "!"
        };
        out.push_str(&format!("{CONSOLE_USER}:{hash}:20000:0:99999:7:::\n"));
        out
    }
}

#[cfg(test)]
mod shadow_tests {
    use super::*;

    #[test]
    fn shadow_replaces_console_entry() {
        let base = "root:*:20000:0:99999:7:::\nsysconfig:old:1:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n";
        let a = Accounts {
            sysconfig: "$6$salt$hash".into(),
            sysarchive: String::new(),
        };
        let s = a.render_shadow(base);
        assert_eq!(
            s,
            "root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nsysconfig:$6$salt$hash:20000:0:99999:7:::\n"
        );
    }
}
