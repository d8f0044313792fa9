//! Where the sets come from: a folder or a file given by path (a shell, a
//! workstation), or a location and a set name (the console): the
//! configured backup destination (the local folder, the SMB share, the USB
//! drive) or the FTP `restore` folder, opened through `destinations` like
//! backupd opens it, and kept open (a share stays mounted in a folder of
//! this run's own) until the restore is done.

use crate::error::RecoverError;
use crate::report::Reporter;
use backupset::SetName;
use destinations::{Location, Session};
use std::path::PathBuf;

/// What the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `<directory>|<file>`.
    Path(PathBuf),
    /// `--location L [SET]`: that location's newest restore point, or the
    /// set named (its first volume, any volume or its `.md5`).
    Location {
        location: Location,
        set: Option<String>,
    },
}

impl Default for Source {
    fn default() -> Self {
        Source::Path(PathBuf::new())
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Path(p) => write!(f, "{}", p.display()),
            Source::Location { location, set } => write!(
                f,
                "{} {}",
                location_name(location),
                set.as_deref().unwrap_or("(newest)")
            ),
        }
    }
}

pub fn location_name(l: &Location) -> &'static str {
    match l {
        Location::Configured => "the backup location",
        Location::RestoreFolder => "the restore folder",
        Location::Local => "the local folder of sets",
    }
}

/// The path the sets are read from, and the session that keeps it
/// reachable (`None` for a path given as it is).
pub fn open(
    source: &Source,
    report: &Reporter,
) -> Result<(Option<Box<dyn Session>>, PathBuf), RecoverError> {
    let paths = destinations::Paths::from_env();
    let (location, set) = match source {
        Source::Path(path) => {
            if std::fs::symlink_metadata(path).is_err() && path.starts_with(&paths.usb_mount_point)
            {
                return Err(RecoverError::Source {
                    path: path.clone(),
                    reason: format!(
                        "not there: is the USB drive plugged in? (it is mounted at {})",
                        paths.usb_mount_point.display()
                    ),
                });
            }
            return Ok((None, path.clone()));
        }
        Source::Location { location, set } => (location, set),
    };
    if let Some(name) = set
        && (name.contains('/') || SetName::parse_file(name).is_none())
    {
        return Err(RecoverError::Source {
            path: PathBuf::from(name),
            reason: "not the name of a backup set (give the name only, without a folder)".into(),
        });
    }
    let config_path = appconfig::config_path();
    let config = appconfig::Config::load(&config_path)
        .map_err(|e| RecoverError::BadConfig(e.to_string()))?;
    if *location == Location::Configured {
        report.info(format!(
            "Opening the backup location ({})",
            destinations::describe(&config.backup)
        ));
    }
    let session =
        destinations::open_location(location, &config.backup, &config.network.dns, &paths)
            .map_err(|e| RecoverError::Source {
                path: PathBuf::from(location_name(location)),
                reason: format!("cannot be opened: {e}"),
            })?;
    let dir = session.dir().to_path_buf();
    let path = match set {
        Some(name) => dir.join(name),
        None => dir,
    };
    Ok((Some(session), path))
}
