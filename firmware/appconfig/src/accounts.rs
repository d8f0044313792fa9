use serde::{Deserialize, Serialize};
use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};

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

/// Hashes a password with SHA-512-crypt (`$6$`), the scheme BusyBox `login`
/// and `/etc/shadow` understand.
///
/// The salt is 12 random bytes, 16 characters once encoded: the scheme
/// uses at most 16, and `crypt(3)` implementations (BusyBox's, glibc's)
/// print only those, so a longer salt would never compare equal at login.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 12];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness for a salt: {e}"))?;
    ShaCrypt::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
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
    fn hash_and_verify() {
        let h = hash_password("s3cret, with comma").expect("hash");
        assert!(h.starts_with("$6$"));
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
        // Fields: name:hash:lastchange:min:max:warn:inactive:expire:
        out.push_str(&format!(
            "{CONSOLE_USER}:{}:20000:0:99999:7:::\n",
            self.sysconfig
        ));
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
