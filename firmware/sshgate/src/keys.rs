//! The host keys and `sysconfig`'s authorized keys.
//!
//! Host keys live in `/data/state/sshd` (the data partition, so upgrades
//! keep them; `state/` is never in a backup set), made once with
//! `dropbearkey`. Beside each, its public half as OpenSSH writes it
//! (`<key>.pub`), which the console shows as a fingerprint.
//!
//! The authorized keys are the configuration's `ssh.authorized_keys`,
//! written into `~sysconfig/.ssh/authorized_keys` at every start and
//! reload, each with the options that close agent, X11 and port forwarding
//! (Dropbear's `restrict` would forbid the terminal the console needs).
//! Dropbear checks that the home, `.ssh` and the file are the user's and
//! writable by nobody else: 0700, 0700, 0600.

use appconfig::{AuthorizedKey, KEY_TYPES};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const DEFAULT_STATE_DIR: &str = appconfig::layout::SSH_HOST_KEYS_DIR;
/// `sysconfig`'s home in `/etc/passwd`.
pub const DEFAULT_HOME: &str = "/run/sysconfig";

/// The host keys made: `dropbearkey -t` type and file name.
pub const HOST_KEYS: [(&str, &str); 2] = [
    ("ed25519", "dropbear_ed25519_host_key"),
    ("ecdsa", "dropbear_ecdsa_host_key"),
];

/// What every authorized key line starts with.
pub const KEY_OPTIONS: &str = "no-port-forwarding,no-agent-forwarding,no-X11-forwarding";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("dropbearkey {what} failed: {detail}")]
    Tool { what: String, detail: String },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A private folder (0700), made if missing, its mode put right if not.
fn private_dir(dir: &Path) -> Result<(), KeyError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_at(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_at(dir))
}

/// Writes `path` whole or not at all (a temporary file renamed over it).
fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), KeyError> {
    let tmp = path.with_extension("new");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_at(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io_at(&tmp))?;
    f.sync_all().map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))
}

fn run(cmd: &mut Command, what: String) -> Result<String, KeyError> {
    let out = cmd.output().map_err(|e| KeyError::Tool {
        what: what.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(KeyError::Tool {
            what,
            detail: format!("{} ({})", err.trim(), out.status),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The public key line in `dropbearkey -y`'s output.
pub fn public_line(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let kind = w.next()?;
        let body = w.next()?;
        KEY_TYPES.contains(&kind).then(|| format!("{kind} {body}"))
    })
}

/// Makes the host keys that are missing and their `.pub` files; returns
/// the private key files for Dropbear's `-r`.
pub fn ensure_host_keys(state_dir: &Path, dropbearkey: &Path) -> Result<Vec<PathBuf>, KeyError> {
    private_dir(state_dir)?;
    let mut made = Vec::new();
    for (kind, name) in HOST_KEYS {
        let key = state_dir.join(name);
        if !key.exists() {
            let tmp = state_dir.join(format!("{name}.tmp"));
            let _ = fs::remove_file(&tmp);
            let mut cmd = Command::new(dropbearkey);
            cmd.args(["-t", kind, "-f"]).arg(&tmp);
            if kind == "ecdsa" {
                cmd.args(["-s", "256"]);
            }
            run(&mut cmd, format!("-t {kind}"))?;
            fs::rename(&tmp, &key).map_err(io_at(&key))?;
            log::info!("made the SSH host key {}", key.display());
        }
        let public = key.with_file_name(format!("{name}.pub"));
        if !public.exists() {
            let out = run(
                Command::new(dropbearkey).arg("-y").arg("-f").arg(&key),
                format!("-y -f {}", key.display()),
            )?;
            let line = public_line(&out).ok_or_else(|| KeyError::Tool {
                what: format!("-y -f {}", key.display()),
                detail: "no public key in its output".into(),
            })?;
            write_file(&public, &format!("{line}\n"), 0o644)?;
        }
        made.push(key);
    }
    Ok(made)
}

/// The lines of `authorized_keys` for these keys.
pub fn authorized_keys_text(keys: &[AuthorizedKey]) -> String {
    keys.iter()
        .map(|k| format!("{KEY_OPTIONS} {k}\n"))
        .collect()
}

/// Writes `home/.ssh/authorized_keys` from the configuration (none: the
/// file is removed, so only the password logs in).
pub fn write_authorized_keys(home: &Path, keys: &[AuthorizedKey]) -> Result<(), KeyError> {
    private_dir(home)?;
    let ssh = home.join(".ssh");
    private_dir(&ssh)?;
    let file = ssh.join("authorized_keys");
    if keys.is_empty() {
        return match fs::remove_file(&file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(&file)(e)),
            _ => Ok(()),
        };
    }
    write_file(&file, &authorized_keys_text(keys), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFL0yG5nvNG66o5q24H+XR7AWPF0M5BNLjeCZgqwbRb admin@pc";

    #[test]
    fn authorized_keys_are_private_and_restricted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let key: AuthorizedKey = KEY.parse().expect("key");
        write_authorized_keys(&home, std::slice::from_ref(&key)).expect("write");
        let file = home.join(".ssh/authorized_keys");
        let text = fs::read_to_string(&file).expect("read");
        assert_eq!(text, format!("{KEY_OPTIONS} {KEY}\n"));
        for (p, mode) in [(&home, 0o700), (&home.join(".ssh"), 0o700), (&file, 0o600)] {
            assert_eq!(fs::metadata(p).expect("stat").mode() & 0o777, mode, "{p:?}");
        }
        write_authorized_keys(&home, &[]).expect("none");
        assert!(!file.exists());
        write_authorized_keys(&home, &[]).expect("none again");
    }

    #[test]
    fn public_line_of_dropbearkey_output() {
        let out =
            "Public key portion is:\nssh-ed25519 AAAAC3Nz root@appliance\nFingerprint: SHA256:x\n";
        assert_eq!(public_line(out).as_deref(), Some("ssh-ed25519 AAAAC3Nz"));
        assert_eq!(public_line("junk\n"), None);
    }
}
