//! Test support (feature `test-support`) for the crates that write and read
//! sets: a generated store (storegen) beside a folder of sets and a state
//! folder, written with the real writer, and the stock tools that check a
//! set from outside (`md5sum -c`, GNU tar).

mod extract;
pub use extract::{ExtractStats, extract};

use crate::name::SetKind;
use crate::{Outcome, Progress, WriteOptions, write_set};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The tests' "now": stores are generated and sets started around it.
pub const NOW: i64 = 1_795_317_495;

/// The unit identity [`Fixture::options`] writes sets as.
pub const UNIT: &str = "0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f";

/// A generated store and where its sets and the writer's state go.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    /// The appliance's data partition that is backed up.
    pub data: PathBuf,
    /// Where sets are published.
    pub dest: PathBuf,
    pub state: PathBuf,
    /// The body window [`Fixture::options`] sets: the product's 24 h
    /// unless a test wants every body kept.
    pub body_window_hours: u32,
    /// Encrypt the sets [`Fixture::options`] writes to this age recipient.
    pub encrypt_to: Option<age::x25519::Recipient>,
    /// Compress the sets [`Fixture::options`] writes at this zstd level.
    pub compress: Option<i32>,
}

/// What the appliance leaves out of a data partition laid out as
/// `storegen` lays it out: the folders of sets and of service state.
pub fn left_out(data: &Path) -> Vec<crate::Exclude> {
    ["backup", "restore", "state"]
        .iter()
        .map(|d| data.join(d).into())
        .collect()
}

impl Fixture {
    /// A store of about `size` bytes generated with storegen's defaults.
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
            body_window_hours: 24,
            encrypt_to: None,
            compress: None,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    pub fn options(&self, kind: SetKind, started: i64) -> WriteOptions {
        WriteOptions {
            data_root: self.data.clone(),
            exclude: left_out(&self.data),
            dest_dir: self.dest.clone(),
            state_dir: self.state.clone(),
            hostname: "mail".into(),
            unit: UNIT.into(),
            kind,
            started,
            body_window_hours: self.body_window_hours,
            volume_size: None,
            version: "test".into(),
            verify: true,
            cancel: Arc::new(AtomicBool::new(false)),
            encrypt_to: self.encrypt_to.clone(),
            compress: self.compress,
        }
    }

    pub fn write(&self, opts: &WriteOptions) -> Outcome {
        write_set(opts, &Progress::default()).expect("backup")
    }

    pub fn full(&self, started: i64) -> Outcome {
        self.write(&self.options(SetKind::Full, started))
    }

    /// The first volume of a written set.
    pub fn set_path(&self, o: &Outcome) -> PathBuf {
        self.dest.join(o.name.tar_name())
    }
}

/// Runs the real `md5sum -c` in the set's folder; returns its output.
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

/// `cat VOLUMES... | tar ARGS`: GNU tar reading the volumes joined
/// (through `zstd -dc` for a compressed set).
fn gnu_tar(dir: &Path, volumes: &[String], args: &str) -> String {
    let list: Vec<String> = volumes
        .iter()
        .map(|v| format!("'{}'", dir.join(v).display()))
        .collect();
    let unzstd = match volumes.first() {
        Some(v) if v.ends_with(".tar.zst") => "zstd -dc | ",
        _ => "",
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("cat {} | {unzstd}tar {args}", list.join(" ")))
        .output()
        .expect("tar runs");
    assert!(
        out.status.success(),
        "tar {args} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Extracts the volumes with GNU tar into `into`.
pub fn gnu_extract(dir: &Path, volumes: &[String], into: &Path) {
    std::fs::create_dir_all(into).expect("mkdir");
    gnu_tar(dir, volumes, &format!("-xf - -C '{}'", into.display()));
}

/// The entry names GNU tar lists in the volumes.
pub fn tar_list(dir: &Path, volumes: &[String]) -> Vec<String> {
    gnu_tar(dir, volumes, "-tf -")
        .lines()
        .map(str::to_string)
        .collect()
}
