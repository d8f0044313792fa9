use appconfig::Config;
use std::io;
use std::path::Path;

/// Writes the running system's shadow file (root-only) from the image's
/// base entries and the configured console password, and keeps a copy as
/// the last good one.
pub fn write_shadow(
    config: &Config,
    base: &Path,
    shadow: &Path,
    last_good: &Path,
) -> io::Result<()> {
    let base = std::fs::read_to_string(base)?;
    let text = config.accounts.render_shadow(&base);
    atomicfile::write_atomically(shadow, text.as_bytes(), 0o600)?;
    // Without it a configuration broken later would lock everyone out.
    if let Err(e) = atomicfile::write_atomically(last_good, text.as_bytes(), 0o600) {
        log::warn!(
            "cannot keep the shadow file as {}: {e}",
            last_good.display()
        );
    }
    Ok(())
}

/// What the shadow file becomes when the configuration cannot be read: the
/// last good one (the passwords that worked at the last boot), else the
/// image's base entries with the console account locked. Never an empty
/// password and never no file at all (which locks out even the test
/// image's root).
pub fn write_fallback_shadow(
    base: &Path,
    shadow: &Path,
    last_good: &Path,
) -> io::Result<&'static str> {
    if let Ok(text) = std::fs::read_to_string(last_good) {
        atomicfile::write_atomically(shadow, text.as_bytes(), 0o600)?;
        return Ok("the passwords of the last good configuration");
    }
    let base = std::fs::read_to_string(base)?;
    let locked = appconfig::Accounts {
        sysconfig: "!".into(),
        sysarchive: String::new(),
    };
    atomicfile::write_atomically(shadow, locked.render_shadow(&base).as_bytes(), 0o600)?;
    Ok("the console account locked (no good configuration was ever read)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_written_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("shadow.base");
        std::fs::write(&base, "root:*:20000:0:99999:7:::\n").expect("base");
        let shadow = dir.path().join("shadow");
        let last = dir.path().join("state/shadow");
        let mut c = Config::default();
        c.accounts.sysconfig = "$6$x$y".into();
        write_shadow(&c, &base, &shadow, &last).expect("write");
        assert_eq!(
            std::fs::read(&last).expect("kept"),
            std::fs::read(&shadow).expect("s")
        );
        let text = std::fs::read_to_string(&shadow).expect("read");
        assert!(text.contains("sysconfig:$6$x$y:"));
        let mode = std::fs::metadata(&shadow)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_broken_configuration_keeps_the_last_good_passwords_or_locks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("shadow.base");
        std::fs::write(&base, "root:*:20000:0:99999:7:::\n").expect("base");
        let shadow = dir.path().join("shadow");
        let last = dir.path().join("state/shadow");
        let why = write_fallback_shadow(&base, &shadow, &last).expect("fallback");
        assert!(why.contains("locked"), "{why}");
        let text = std::fs::read_to_string(&shadow).expect("read");
        assert!(text.contains("sysconfig:!:"), "{text}");
        assert!(text.contains("root:*:"), "{text}");
        let mut c = Config::default();
        c.accounts.sysconfig = "$6$x$y".into();
        write_shadow(&c, &base, &shadow, &last).expect("write");
        std::fs::remove_file(&shadow).expect("rm");
        let why = write_fallback_shadow(&base, &shadow, &last).expect("fallback");
        assert!(why.contains("last good"), "{why}");
        assert!(
            std::fs::read_to_string(&shadow)
                .expect("read")
                .contains("sysconfig:$6$x$y:")
        );
    }
}
