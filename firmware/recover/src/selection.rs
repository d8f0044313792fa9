//! What to restore: `-d`, `-u`, `-f` and `-m` turned into paths of the
//! set, checked against what the set holds.

use crate::error::RecoverError;
use crate::index::SetIndex;
use crate::parts::Part;
use std::collections::BTreeSet;

/// The selection options (all `None`: everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub domain: Option<String>,
    pub user: Option<String>,
    pub folder: Option<String>,
    pub mask: Option<Vec<Part>>,
}

/// One path of the set to restore (relative to `@backup/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: String,
    /// A single file (its folder's range is read and filtered).
    pub is_file: bool,
    pub part: Part,
}

impl Target {
    /// Whether the entry at `path` belongs to this target.
    pub fn holds(&self, path: &str) -> bool {
        path == self.path
            || (path.len() > self.path.len()
                && path.starts_with(&self.path)
                && path.as_bytes()[self.path.len()] == b'/')
    }

    /// Whether this target lies inside the folder `dir`.
    pub fn is_below(&self, dir: &str) -> bool {
        self.path.len() > dir.len()
            && self.path.starts_with(dir)
            && self.path.as_bytes()[dir.len()] == b'/'
    }
}

fn check_name(what: &str, name: &str) -> Result<(), RecoverError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\0')
        || name.contains('\n')
    {
        return Err(RecoverError::Usage(format!(
            "{name:?} is not a {what} name"
        )));
    }
    Ok(())
}

impl Selection {
    /// Nothing chosen: the whole set.
    pub fn is_whole(&self) -> bool {
        self.domain.is_none() && self.user.is_none() && self.folder.is_none() && self.mask.is_none()
    }

    /// The option rules: `-f` needs `-d` and `-u`; names are single names.
    pub fn check(&self) -> Result<(), RecoverError> {
        if self.folder.is_some() && (self.domain.is_none() || self.user.is_none()) {
            return Err(RecoverError::Usage(
                "-f/--folder needs -d/--domain and -u/--user".into(),
            ));
        }
        if let Some(d) = &self.domain {
            check_name("domain", d)?;
        }
        if let Some(u) = &self.user {
            check_name("user", u)?;
        }
        if let Some(f) = &self.folder {
            let f = f.trim_matches('/');
            backupset::reader::check_relative(f)
                .map_err(|why| RecoverError::Usage(format!("folder {f:?}: {why}")))?;
        }
        if let Some(mask) = &self.mask {
            if self.folder.is_some() && mask.iter().any(|p| *p != Part::Mail) {
                return Err(RecoverError::Usage(
                    "-f/--folder restores a mail folder: the mask can only be mail".into(),
                ));
            }
            if self.user.is_some()
                && let Some(p) = mask.iter().find(|p| p.per_domain() && !p.per_user())
            {
                return Err(RecoverError::Usage(format!(
                    "{p} belongs to a domain, not to a user: leave out -u or the {p} mask"
                )));
            }
        }
        Ok(())
    }

    /// The parts restored: the mask, or what `-d`/`-u`/`-f` imply.
    pub fn parts(&self) -> Vec<Part> {
        if let Some(m) = &self.mask {
            return m.clone();
        }
        if self.folder.is_some() {
            vec![Part::Mail]
        } else if self.user.is_some() {
            vec![Part::Mail, Part::Contacts]
        } else if self.domain.is_some() {
            vec![Part::Mail, Part::Lists, Part::Public, Part::Contacts]
        } else {
            Part::ALL.to_vec()
        }
    }

    /// The domains `-u` without `-d` means: those with that user's mailbox.
    fn domains(&self, indexes: &[&SetIndex]) -> Vec<String> {
        if let Some(d) = &self.domain {
            return vec![d.clone()];
        }
        let Some(user) = &self.user else {
            return Vec::new();
        };
        let mut out = BTreeSet::new();
        for i in indexes {
            for (name, _) in i.child_names("store/mail") {
                if i.get(&format!("store/mail/{name}/{user}")).is_some() {
                    out.insert(name);
                }
            }
        }
        out.into_iter().collect()
    }

    /// The set's paths to restore, checked against the sets' indexes
    /// (newest last). A domain, user or folder the set does not hold is
    /// an error; a whole part it does not hold is left out (`missing`).
    pub fn targets(
        &self,
        indexes: &[&SetIndex],
        missing: &mut Vec<String>,
    ) -> Result<Vec<Target>, RecoverError> {
        self.check()?;
        let stored = |path: &str, is_file: bool| {
            indexes.iter().any(|i| i.range_for(path, is_file).is_some())
        };
        let mut out = Vec::new();
        let narrowed = self.domain.is_some() || self.user.is_some();
        let domains = self.domains(indexes);
        if self.user.is_some() && domains.is_empty() {
            return Err(RecoverError::NothingSelected(format!(
                "the set holds no mailbox of user {}",
                self.user.as_deref().unwrap_or_default()
            )));
        }
        for part in self.parts() {
            if !(narrowed && part.per_domain()) {
                for p in part.paths() {
                    let is_file = matches!(part, Part::Cfg | Part::System);
                    if stored(p, is_file) {
                        out.push(Target {
                            path: (*p).to_string(),
                            is_file,
                            part,
                        });
                    } else {
                        missing.push(format!("{} ({p})", part.title()));
                    }
                }
                continue;
            }
            let base = part.paths()[0];
            for d in &domains {
                let (path, is_file) = match (&self.user, part) {
                    (None, _) => (format!("{base}/{d}"), false),
                    (Some(u), Part::Contacts) if self.folder.is_none() => {
                        (format!("{base}/{d}/{u}.vcf"), true)
                    }
                    (Some(u), Part::Mail) => match &self.folder {
                        Some(f) => (format!("{base}/{d}/{u}/{}", f.trim_matches('/')), false),
                        None => (format!("{base}/{d}/{u}"), false),
                    },
                    // -u with a part that is not per user: nothing of it.
                    _ => continue,
                };
                if stored(&path, is_file) {
                    out.push(Target {
                        path,
                        is_file,
                        part,
                    });
                } else if part == Part::Mail || self.mask.is_some() {
                    missing.push(format!("{} ({path})", part.title()));
                }
            }
        }
        if out.is_empty() {
            let what = match (&self.domain, &self.user, &self.folder) {
                (Some(d), Some(u), Some(f)) => format!("folder {f:?} of {u} in {d}"),
                (Some(d), Some(u), None) => format!("user {u} in {d}"),
                (None, Some(u), _) => format!("user {u}"),
                (Some(d), None, _) => format!("domain {d}"),
                _ => "the parts asked for".to_string(),
            };
            return Err(RecoverError::NothingSelected(format!(
                "the set holds nothing for {what}{}",
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (looked for {})", missing.join(", "))
                }
            )));
        }
        // A mailbox asked for by name must be there even if contacts are.
        if let (Some(d), Some(u)) = (&self.domain, &self.user)
            && self.parts().contains(&Part::Mail)
            && !out.iter().any(|t| t.part == Part::Mail)
        {
            let what = match &self.folder {
                Some(f) => format!("folder {f:?} of {u} in {d}"),
                None => format!("a mailbox of user {u} in {d}"),
            };
            return Err(RecoverError::NothingSelected(format!(
                "the set holds no {what}"
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backupset::IndexEntry;

    fn idx(paths: &[&str]) -> SetIndex {
        SetIndex::from_entries(paths.iter().map(|p| IndexEntry {
            path: (*p).into(),
            start: 0,
            end: 512,
            files: 1,
            bytes: 1,
            headers_only: 0,
        }))
    }

    fn sel(d: Option<&str>, u: Option<&str>, f: Option<&str>, m: Option<&str>) -> Selection {
        Selection {
            domain: d.map(Into::into),
            user: u.map(Into::into),
            folder: f.map(Into::into),
            mask: m.map(|m| crate::parts::parse_mask(m).expect("mask")),
        }
    }

    #[test]
    fn kerio_selections() {
        let i = idx(&[
            ".",
            "config",
            "license",
            "store",
            "store/mail",
            "store/mail/company.com",
            "store/mail/company.com/smith",
            "store/mail/company.com/smith/Sent Items",
            "store/mail/other.org",
            "store/mail/other.org/smith",
            "store/public/company.com",
            "store/contacts/company.com",
        ]);
        let mut missing = Vec::new();
        let t = sel(Some("company.com"), Some("smith"), None, None)
            .targets(&[&i], &mut missing)
            .expect("user");
        assert_eq!(
            t.iter().map(|t| t.path.as_str()).collect::<Vec<_>>(),
            [
                "store/mail/company.com/smith",
                "store/contacts/company.com/smith.vcf"
            ]
        );
        let t = sel(Some("company.com"), Some("smith"), Some("Sent Items"), None)
            .targets(&[&i], &mut missing)
            .expect("folder");
        assert_eq!(t[0].path, "store/mail/company.com/smith/Sent Items");
        let t = sel(Some("company.com"), None, None, Some("public"))
            .targets(&[&i], &mut missing)
            .expect("public");
        assert_eq!(t[0].path, "store/public/company.com");
        let t = sel(None, Some("smith"), None, Some("mail"))
            .targets(&[&i], &mut missing)
            .expect("user in every domain");
        assert_eq!(t.len(), 2);
        let t = sel(None, None, None, Some("cfg,license,sslca"))
            .targets(&[&i], &mut missing)
            .expect("mask");
        assert_eq!(
            t.iter().map(|t| t.path.as_str()).collect::<Vec<_>>(),
            ["config/mailserver.cfg", "config/users.cfg", "license"]
        );
        assert!(missing.iter().any(|m| m.contains("sslca")), "{missing:?}");

        for bad in [
            sel(None, None, Some("INBOX"), None),
            sel(Some("company.com"), None, Some("INBOX"), None),
            sel(
                Some("company.com"),
                Some("smith"),
                Some("INBOX"),
                Some("mail,public"),
            ),
            sel(Some("company.com"), Some("smith"), None, Some("public")),
            sel(Some("../etc"), None, None, None),
            sel(Some("company.com"), Some("smith"), Some("../../x"), None),
        ] {
            assert!(bad.targets(&[&i], &mut missing).is_err(), "{bad:?}");
        }
        for absent in [
            sel(Some("company.com"), Some("jones"), None, None),
            sel(Some("company.com"), Some("smith"), Some("Drafts"), None),
            sel(Some("nowhere.net"), None, None, None),
        ] {
            assert!(
                matches!(
                    absent.targets(&[&i], &mut missing),
                    Err(RecoverError::NothingSelected(_))
                ),
                "{absent:?}"
            );
        }
    }

    #[test]
    fn holds() {
        let t = Target {
            path: "store/mail/a/b".into(),
            is_file: false,
            part: Part::Mail,
        };
        assert!(t.holds("store/mail/a/b"));
        assert!(t.holds("store/mail/a/b/INBOX/cur/1"));
        assert!(!t.holds("store/mail/a/bob"));
        assert!(!t.holds("store/mail/a"));
    }
}
