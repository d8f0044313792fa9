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
    /// The rules are the configuration's own ([`appconfig::smb`]).
    pub fn parse(username: &str, password: &str, upn: UpnForm) -> Result<Login, SmbError> {
        if let Some(why) = appconfig::smb::password_problem(password) {
            return Err(SmbError::Setting(why));
        }
        let (user, domain) = appconfig::smb::user_parts(username, upn == UpnForm::Whole)
            .map_err(SmbError::Setting)?;
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

    /// The forms themselves are tested in appconfig; here, that a Login
    /// carries them and refuses what the configuration refuses.
    #[test]
    fn forms() {
        let x = Login::parse("CORP\\backup", "pw", UpnForm::Split).expect("parses");
        assert_eq!(
            (x.user.as_str(), x.domain.as_deref()),
            ("backup", Some("CORP"))
        );
        let x = Login::parse("backup@corp", "pw", UpnForm::Whole).expect("parses");
        assert_eq!((x.user.as_str(), x.domain), ("backup@corp", None));
        for (user, pw) in [("a,b", "pw"), ("u", "a\0b")] {
            assert!(Login::parse(user, pw, UpnForm::Split).is_err(), "{user:?}");
        }
    }

    #[test]
    fn password_hidden() {
        let x = Login::parse("u", "hunter2", UpnForm::Split).expect("parses");
        assert!(!format!("{x:?}").contains("hunter2"));
    }
}
