//! The parts of a set that `-m/--mask` names (Kerio's masks plus the
//! appliance's own), and where each lives inside the set.

use std::fmt;
use std::str::FromStr;

/// One part of the data partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// `config/mailserver.cfg` and `config/users.cfg`.
    Cfg,
    License,
    SslCa,
    SslCert,
    Mail,
    Lists,
    SpamAssassin,
    Public,
    Contacts,
    Queue,
    /// `config/appliance.toml`: network, host name, FTP, backup, accounts.
    System,
}

impl Part {
    pub const ALL: [Part; 11] = [
        Part::Cfg,
        Part::License,
        Part::SslCa,
        Part::SslCert,
        Part::Mail,
        Part::Lists,
        Part::SpamAssassin,
        Part::Public,
        Part::Contacts,
        Part::Queue,
        Part::System,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Part::Cfg => "cfg",
            Part::License => "license",
            Part::SslCa => "sslca",
            Part::SslCert => "sslcert",
            Part::Mail => "mail",
            Part::Lists => "lists",
            Part::SpamAssassin => "spamassassin",
            Part::Public => "public",
            Part::Contacts => "contacts",
            Part::Queue => "queue",
            Part::System => "system",
        }
    }

    /// Where the part lives in the set (relative to `@backup/`): folders or files.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            Part::Cfg => &["config/mailserver.cfg", "config/users.cfg"],
            Part::License => &["license"],
            Part::SslCa => &["sslca"],
            Part::SslCert => &["sslcert"],
            Part::Mail => &["store/mail"],
            Part::Lists => &["store/lists"],
            Part::SpamAssassin => &["store/spamassassin"],
            Part::Public => &["store/public"],
            Part::Contacts => &["store/contacts"],
            Part::Queue => &["store/queue"],
            Part::System => &["config/appliance.toml"],
        }
    }

    /// Parts whose folders hold one sub-folder per domain.
    pub fn per_domain(self) -> bool {
        matches!(
            self,
            Part::Mail | Part::Lists | Part::Public | Part::Contacts
        )
    }

    /// Parts that hold something per user of a domain.
    pub fn per_user(self) -> bool {
        matches!(self, Part::Mail | Part::Contacts)
    }

    /// What the part is, for listings and messages.
    pub fn title(self) -> &'static str {
        match self {
            Part::Cfg => "Mail server configuration",
            Part::License => "License",
            Part::SslCa => "Certificate authorities",
            Part::SslCert => "Server certificates",
            Part::Mail => "Mailboxes",
            Part::Lists => "Mailing lists",
            Part::SpamAssassin => "SpamAssassin databases",
            Part::Public => "Public folders",
            Part::Contacts => "Contacts",
            Part::Queue => "Message queues",
            Part::System => "Appliance configuration",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Part {
    type Err = String;
    fn from_str(s: &str) -> Result<Part, String> {
        let s = s.trim().to_ascii_lowercase();
        Part::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a part of a backup (use {})",
                    Part::ALL.map(Part::name).join(",")
                )
            })
    }
}

/// Reads `-m cfg,license,...` (duplicates collapse; order does not matter).
pub fn parse_mask(text: &str) -> Result<Vec<Part>, String> {
    let mut out: Vec<Part> = Vec::new();
    for word in text.split(',').filter(|w| !w.trim().is_empty()) {
        let p: Part = word.parse()?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err("the mask names no part".into());
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            parse_mask("cfg,license,sslca,sslcert").expect("Kerio's example"),
            [Part::Cfg, Part::License, Part::SslCa, Part::SslCert]
        );
        assert_eq!(parse_mask("Public,public,").expect("dupes"), [Part::Public]);
        assert!(parse_mask("mail,nope").is_err());
        assert!(parse_mask(",").is_err());
        for p in Part::ALL {
            assert_eq!(p.name().parse::<Part>(), Ok(p));
        }
    }
}
