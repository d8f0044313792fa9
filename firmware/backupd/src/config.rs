//! Loading the configuration with the checks backupd adds (the time zone).

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
        _ => e.to_string(),
    })?;
    let zone = crate::schedule::zone(&config.system.timezone).map_err(|why| {
        let line = std::fs::read_to_string(path).ok().and_then(|t| {
            t.lines()
                .position(|l| l.trim_start().starts_with("timezone"))
                .map(|i| i + 1)
        });
        match line {
            Some(n) => format!("{}: line {n}: {why}", path.display()),
            None => format!("{}: {why}", path.display()),
        }
    })?;
    Ok(Loaded { config, zone })
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
