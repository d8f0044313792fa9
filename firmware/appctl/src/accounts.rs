use appconfig::Config;
use std::io;
use std::path::Path;

/// Writes the running system's shadow file (root-only) from the image's
/// base entries and the configured console password.
pub fn write_shadow(config: &Config, base: &Path, shadow: &Path) -> io::Result<()> {
    let base = std::fs::read_to_string(base)?;
    let text = config.accounts.render_shadow(&base);
    appconfig::write_atomically(shadow, text.as_bytes(), 0o600)
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
        let mut c = Config::default();
        c.accounts.sysconfig = "$6$x$y".into();
        write_shadow(&c, &base, &shadow).expect("write");
        let text = std::fs::read_to_string(&shadow).expect("read");
        assert!(text.contains("sysconfig:$6$x$y:"));
        let mode = std::fs::metadata(&shadow)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
