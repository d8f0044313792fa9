//! The virtual tree FTP clients see: a root holding two folders, `backup`
//! and `restore`, each a flat list of files. Every path a client sends is
//! resolved here, lexically, before anything touches the disk: `..` stops at
//! the virtual root, and whatever does not name the root, a folder or a plain
//! file name inside one simply does not exist. Names starting with `.` are
//! never visible (temporary uploads and bookkeeping files live there).

use std::path::{Component, Path};

/// The two folders of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Folder {
    /// Read-only view of the local backup sets.
    Backup,
    /// Writable drop folder for sets to restore from.
    Restore,
}

impl Folder {
    pub const ALL: [Folder; 2] = [Folder::Backup, Folder::Restore];

    pub fn name(self) -> &'static str {
        match self {
            Folder::Backup => "backup",
            Folder::Restore => "restore",
        }
    }

    fn from_name(name: &str) -> Option<Folder> {
        Folder::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn writable(self) -> bool {
        self == Folder::Restore
    }
}

/// What a client's path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Root,
    Folder(Folder),
    /// A file name in a folder (it may or may not exist).
    File(Folder, String),
    /// A wildcard in a folder (`*.*`, `*.md5`), for listings only.
    Pattern(Folder, String),
}

impl Target {
    /// The path as the client sees it, for log lines.
    pub fn display(&self) -> String {
        match self {
            Target::Root => "/".into(),
            Target::Folder(f) => format!("/{}", f.name()),
            Target::File(f, n) | Target::Pattern(f, n) => format!("/{}/{n}", f.name()),
        }
    }
}

/// Why a path names nothing in the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{0:?} is not in the FTP tree (only /backup and /restore are)")]
    Outside(String),
    #[error("{0:?} is not valid UTF-8")]
    NotUtf8(String),
    #[error("{0:?} is hidden")]
    Hidden(String),
}

/// Longest file name accepted in `restore` (the temporary name adds a prefix
/// and must stay under the file system's 255 bytes).
pub const MAX_NAME: usize = 200;

/// Resolves a client's path (already joined with its working folder by
/// libunftp, so it may hold `..` anywhere).
pub fn resolve(path: &Path) -> Result<Target, PathError> {
    let shown = || path.to_string_lossy().into_owned();
    let mut parts: Vec<&str> = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            // Like a chroot: `..` at the top stays at the top.
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(n) => {
                parts.push(n.to_str().ok_or_else(|| PathError::NotUtf8(shown()))?)
            }
        }
    }
    match parts.as_slice() {
        [] => Ok(Target::Root),
        [folder] => Folder::from_name(folder)
            .map(Target::Folder)
            .ok_or_else(|| PathError::Outside(shown())),
        [folder, name] => {
            let folder = Folder::from_name(folder).ok_or_else(|| PathError::Outside(shown()))?;
            if name.starts_with('.') {
                Err(PathError::Hidden(shown()))
            } else if is_pattern(name) {
                Ok(Target::Pattern(folder, (*name).to_string()))
            } else {
                Ok(Target::File(folder, (*name).to_string()))
            }
        }
        _ => Err(PathError::Outside(shown())),
    }
}

fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Why a name cannot be created in `restore`, or `None` when it can.
pub fn upload_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name.starts_with('.') {
        Some("names starting with a dot are reserved")
    } else if name.len() > MAX_NAME {
        Some("the name is too long")
    } else if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '/' | '\\' | '*' | '?'))
    {
        Some("the name holds a character that is not allowed")
    } else {
        None
    }
}

/// Whether a listed file name is shown to clients.
pub fn visible(name: &str) -> bool {
    !name.starts_with('.') && !name.is_empty()
}

/// Shell-style matching of `*` (any run) and `?` (any one character), as
/// `mget *.*` needs from the server's `NLST`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with one backtrack point: linear in practice, never
    // exponential on hostile patterns.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    fn r(p: &str) -> Result<Target, PathError> {
        resolve(Path::new(p))
    }

    #[test]
    fn the_tree() {
        assert_eq!(r("/"), Ok(Target::Root));
        assert_eq!(r(""), Ok(Target::Root));
        assert_eq!(r("/backup"), Ok(Target::Folder(Folder::Backup)));
        assert_eq!(r("restore/"), Ok(Target::Folder(Folder::Restore)));
        assert_eq!(
            r("/backup/./a.tar"),
            Ok(Target::File(Folder::Backup, "a.tar".into()))
        );
        assert_eq!(
            r("/restore/*.*"),
            Ok(Target::Pattern(Folder::Restore, "*.*".into()))
        );
    }

    #[test]
    fn escapes_stay_inside() {
        assert_eq!(r("/.."), Ok(Target::Root));
        assert_eq!(r("/backup/../../.."), Ok(Target::Root));
        assert_eq!(
            r("/backup/../restore/x"),
            Ok(Target::File(Folder::Restore, "x".into()))
        );
        assert!(matches!(
            r("/backup/../../etc/passwd"),
            Err(PathError::Outside(_))
        ));
        assert!(matches!(r("/etc/passwd"), Err(PathError::Outside(_))));
        assert!(matches!(r("/backup/sub/x"), Err(PathError::Outside(_))));
        assert!(matches!(r("/data"), Err(PathError::Outside(_))));
        assert!(matches!(r("/backup/.verified"), Err(PathError::Hidden(_))));
        assert!(matches!(
            resolve(Path::new(OsStr::from_bytes(b"/backup/\xff"))),
            Err(PathError::NotUtf8(_))
        ));
    }

    #[test]
    fn upload_names() {
        assert_eq!(upload_name_problem("mx-F20261122T220000Z.tar"), None);
        assert!(upload_name_problem(".hidden").is_some());
        assert!(upload_name_problem("a\\b").is_some());
        assert!(upload_name_problem("a\nb").is_some());
        assert!(upload_name_problem("*.tar").is_some());
        assert!(upload_name_problem(&"x".repeat(MAX_NAME + 1)).is_some());
        assert!(upload_name_problem("").is_some());
    }

    #[test]
    fn wildcards() {
        assert!(matches("*.*", "a.tar"));
        assert!(matches("*.*", "a.tar.md5"));
        assert!(!matches("*.*", "README"));
        assert!(matches("*", "README"));
        assert!(matches("*.md5", "x.tar.md5"));
        assert!(!matches("*.md5", "x.tar"));
        assert!(matches("mx-?2026*", "mx-F20261122T220000Z.tar"));
        assert!(!matches("a?", "a"));
        assert!(matches("**a**", "xxaxx"));
        // A hostile pattern finishes quickly.
        assert!(!matches(&format!("{}b", "*a".repeat(50)), &"a".repeat(60)));
    }
}
