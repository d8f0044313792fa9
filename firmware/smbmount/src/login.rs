//! User name forms: `DOMAIN\user`, `user@fully.qualified.domain` and a
//! plain `user`, turned into the user and domain the cifs module takes.

use crate::SmbError;

/// How `user@fqdn` is handed to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpnForm {
    /// `username=user,domain=fqdn`: what NTLMSSP carries for a domain
    /// account, accepted by Windows (DNS domain names) and by Samba.
    #[default]
    Split,
    /// `username=user@fqdn` with no domain.
    Whole,
}

/// User, domain and password, ready for the mount options. `Debug` hides
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub domain: Option<String>,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl Login {
    pub fn parse(username: &str, password: &str, upn: UpnForm) -> Result<Login, SmbError> {
        let username = username.trim();
        let bad = |why: &str| SmbError::Setting(format!("user name {username:?}: {why}"));
        // The kernel's option parser has no escape for commas outside the
        // password, and NUL ends the whole option string.
        if username.contains([',', '\0']) {
            return Err(bad("may not contain a comma"));
        }
        if password.contains('\0') {
            return Err(SmbError::Setting(
                "the password may not contain a NUL".into(),
            ));
        }
        let (user, domain) = if let Some((d, u)) = username.split_once('\\') {
            (u, Some(d))
        } else if let Some((u, d)) = username.rsplit_once('@') {
            match upn {
                UpnForm::Split => (u, Some(d)),
                UpnForm::Whole => (username, None),
            }
        } else {
            (username, None)
        };
        if user.is_empty() {
            return Err(bad("the user part is empty"));
        }
        if domain.is_some_and(|d| d.is_empty()) {
            return Err(bad("the domain part is empty"));
        }
        let both_forms = username.contains('\\') && user.contains('@');
        if both_forms || user.contains('\\') || domain.is_some_and(|d| d.contains(['\\', '@'])) {
            return Err(bad("use DOMAIN\\user or user@domain, not both"));
        }
        Ok(Login {
            user: user.to_string(),
            domain: domain.map(str::to_string),
            password: password.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(u: &str, upn: UpnForm) -> (String, Option<String>) {
        let x = Login::parse(u, "pw", upn).expect("parses");
        (x.user, x.domain)
    }

    #[test]
    fn forms() {
        assert_eq!(
            l("CORP\\backup", UpnForm::Split),
            ("backup".into(), Some("CORP".into()))
        );
        assert_eq!(
            l("backup@corp.example.com", UpnForm::Split),
            ("backup".into(), Some("corp.example.com".into()))
        );
        assert_eq!(
            l("backup@corp.example.com", UpnForm::Whole),
            ("backup@corp.example.com".into(), None)
        );
        assert_eq!(l(" backup ", UpnForm::Split), ("backup".into(), None));
        for bad in ["", "CORP\\", "\\x", "a,b", "@corp", "x@", "A\\b@c"] {
            assert!(Login::parse(bad, "", UpnForm::Split).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_hidden() {
        let x = Login::parse("u", "hunter2", UpnForm::Split).expect("parses");
        assert!(!format!("{x:?}").contains("hunter2"));
    }
}
