//! Disk images made by the real formatting tools, for tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a command and insists it succeeded.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sparse zero-filled file of `mib` MiB.
pub fn blank(dir: &Path, name: &str, mib: u64) -> PathBuf {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).expect("create image");
    f.set_len(mib << 20).expect("size image");
    p
}

/// A file system made by `mkfs` with `args`, the image path appended.
pub fn mkfs(dir: &Path, name: &str, mib: u64, mkfs: &str, args: &[&str]) -> PathBuf {
    let p = blank(dir, name, mib);
    run(Command::new(mkfs).args(args).arg(&p));
    p
}

pub fn fat32(dir: &Path, name: &str, label: &str) -> PathBuf {
    mkfs(dir, name, 64, "mkfs.vfat", &["-F", "32", "-n", label])
}

/// Partitions an image with sfdisk (`script` is sfdisk's input).
pub fn partition(img: &Path, script: &str) {
    use std::io::Write;
    let mut child = Command::new("sfdisk")
        .arg("-q")
        .arg(img)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sfdisk runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    assert!(child.wait().expect("sfdisk").success());
}
