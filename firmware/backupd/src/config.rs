//! Loading the configuration for backupd, with the zone its schedule
//! runs in. Every check is `appconfig`'s; this only adds the offending
//! line to the message.

use appconfig::Config;
use jiff::tz::TimeZone;
use std::path::Path;

/// A configuration backupd can run with.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub zone: TimeZone,
}

/// Reads and checks the file; the error is one line with the file, the
/// line and the reason.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let config = Config::load(path).map_err(|e| match &e {
        // The parser's reason may not name the setting ("expected u32"):
        // quote the line so the administrator sees which one.
        appconfig::ConfigError::Parse { line, .. } => match line_text(path, *line) {
            Some(text) => format!("{e} (in `{text}`)"),
            None => e.to_string(),
        },
        // A check names its setting (`system.timezone: ...`): say where it is.
        appconfig::ConfigError::Invalid { reason, .. } => match setting_line(path, reason) {
            Some(n) => format!("{}: line {n}: {reason}", path.display()),
            None => e.to_string(),
        },
        _ => e.to_string(),
    })?;
    // Config::load checked the zone already.
    let zone = config
        .system
        .zone()
        .map_err(|why| format!("{}: {why}", path.display()))?;
    Ok(Loaded { config, zone })
}

/// The line of the setting a check's reason starts with (`section.key: ...`).
fn setting_line(path: &Path, reason: &str) -> Option<usize> {
    let (setting, _) = reason.split_once(':')?;
    let (_, key) = setting.rsplit_once('.')?;
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

fn line_text(path: &Path, line: usize) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let l = text.lines().nth(line.checked_sub(1)?)?.trim();
    (!l.is_empty()).then(|| l.chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_line_and_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("appliance.toml");
        for (text, line, words) in [
            ("[backup]\nschedule = \"24:61\"\n", "line 2", "hour"),
            ("[backup]\n\nretention = -3\n", "line 3", "retention"),
            ("[backup]\ndestination = \"tape\"\n", "line 2", "tape"),
            (
                "[system]\nhostname = \"mx\"\ntimezone = \"Mars/Base\"\n",
                "line 3",
                "timezone",
            ),
        ] {
            std::fs::write(&p, text).expect("write");
            let e = load(&p).expect_err("refused");
            assert!(
                e.contains(&p.display().to_string()) && e.contains(line) && e.contains(words),
                "{e}"
            );
            assert!(!e.contains('\n'), "one line: {e}");
        }
        std::fs::write(&p, "[system]\ntimezone = \"Europe/Prague\"\n").expect("write");
        assert!(load(&p).is_ok());
    }
}
