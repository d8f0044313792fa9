#![allow(dead_code)]

use appconfig::BackupType;
use backupset::{Outcome, Progress, WriteOptions, write_set};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
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

/// What a tree holds: path → (kind, mode, mtime for files, contents or link target).
pub type Tree = BTreeMap<String, (char, u32, i64, Vec<u8>)>;

pub fn snapshot(root: &Path, skip_top: &[&str]) -> Tree {
    let mut out = Tree::new();
    walk(root, root, skip_top, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, skip_top: &[&str], out: &mut Tree) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        let rel = p
            .strip_prefix(root)
            .expect("prefix")
            .to_string_lossy()
            .into_owned();
        if skip_top.contains(&rel.as_str()) {
            continue;
        }
        let m = std::fs::symlink_metadata(&p).expect("meta");
        let mode = m.mode() & 0o7777;
        if m.file_type().is_symlink() {
            let t = std::fs::read_link(&p).expect("link");
            out.insert(rel, ('l', 0, 0, t.as_os_str().as_encoded_bytes().to_vec()));
        } else if m.is_dir() {
            out.insert(rel, ('d', mode, 0, Vec::new()));
            walk(root, &p, skip_top, out);
        } else {
            out.insert(
                rel,
                ('f', mode, m.mtime(), std::fs::read(&p).expect("read")),
            );
        }
    }
}

pub fn assert_same(a: &Tree, b: &Tree) {
    for (k, v) in a {
        match b.get(k) {
            None => panic!("{k} missing in the restored tree"),
            Some(w) => assert!(
                v == w,
                "{k} differs: {:?} vs {:?}",
                (v.0, v.1, v.2, v.3.len()),
                (w.0, w.1, w.2, w.3.len())
            ),
        }
    }
    for k in b.keys() {
        assert!(a.contains_key(k), "{k} is extra in the restored tree");
    }
}

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
