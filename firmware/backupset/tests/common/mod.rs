#![allow(dead_code)]

use appconfig::BackupType;
use backupset::{Outcome, Progress, WriteOptions, write_set};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub const NOW: i64 = 1_795_317_495;

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub dest: PathBuf,
    pub state: PathBuf,
}

impl Fixture {
    pub fn new(size: u64) -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        storegen::generate(
            &data,
            &storegen::Options {
                size,
                ..Default::default()
            },
        )
        .expect("generate");
        let dest = tmp.path().join("dest");
        std::fs::create_dir_all(&dest).expect("dest");
        let state = tmp.path().join("state");
        Fixture {
            tmp,
            data,
            dest,
            state,
        }
    }

    pub fn options(&self, kind: BackupType, started: i64) -> WriteOptions {
        WriteOptions {
            data_root: self.data.clone(),
            exclude: Vec::new(),
            dest_dir: self.dest.clone(),
            state_dir: self.state.clone(),
            hostname: "mail".into(),
            kind,
            started,
            body_window_hours: 24,
            volume_size: None,
            version: "test".into(),
            verify: true,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn write(&self, opts: &WriteOptions) -> Outcome {
        write_set(opts, &Progress::default()).expect("backup")
    }
}

// Not every test file uses all of them.
#[allow(unused_imports)]
pub use storegen::tree::{Tree, assert_same, snapshot};

/// Runs the real `md5sum -c` in the set's folder.
pub fn md5sum_check(dir: &Path, md5_name: &str) -> String {
    let out = Command::new("md5sum")
        .arg("-c")
        .arg(md5_name)
        .current_dir(dir)
        .output()
        .expect("md5sum runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "md5sum -c {md5_name} failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `cat` the volumes into GNU tar and extract into `into`.
pub fn gnu_extract(dir: &Path, volumes: &[String], into: &Path) {
    std::fs::create_dir_all(into).expect("mkdir");
    let list: Vec<String> = volumes
        .iter()
        .map(|v| format!("'{}'", dir.join(v).display()))
        .collect();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat {} | tar -xf - -C '{}'",
            list.join(" "),
            into.display()
        ))
        .output()
        .expect("tar runs");
    assert!(
        out.status.success(),
        "GNU tar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn tar_list(dir: &Path, volumes: &[String]) -> Vec<String> {
    let list: Vec<String> = volumes
        .iter()
        .map(|v| format!("'{}'", dir.join(v).display()))
        .collect();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("cat {} | tar -tf -", list.join(" ")))
        .output()
        .expect("tar runs");
    assert!(
        out.status.success(),
        "tar -t failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
