#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BACKUPD: &str = env!("CARGO_BIN_EXE_backupd");
pub const BACKUPCTL: &str = env!("CARGO_BIN_EXE_backupctl");

pub struct Appliance {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub config: PathBuf,
    pub socket: PathBuf,
}

impl Appliance {
    /// A generated store of `size` bytes and a configuration with `backup` settings.
    pub fn new(size: u64, backup: &str) -> Appliance {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        storegen::generate(
            &data,
            &storegen::Options {
                size,
                now,
                ..Default::default()
            },
        )
        .expect("generate");
        let config = data.join("config/appliance.toml");
        // A new unit's compression unless the test sets it (a [backup]
        // section without the key reads as an older configuration).
        let compression = if backup.contains("compression") {
            ""
        } else {
            "compression = \"zstd\"\n"
        };
        std::fs::write(
            &config,
            format!(
                "[system]\nhostname = \"mx1\"\ntimezone = \"Europe/Prague\"\n\n[backup]\n{compression}{backup}\n"
            ),
        )
        .expect("config");
        let socket = tmp.path().join("backupd.sock");
        Appliance {
            tmp,
            data,
            config,
            socket,
        }
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.data.join("backup")
    }

    pub fn daemon_args(&self) -> Vec<String> {
        vec![
            "--foreground".into(),
            "--data".into(),
            self.data.display().to_string(),
            "--config".into(),
            self.config.display().to_string(),
            "--socket".into(),
            self.socket.display().to_string(),
        ]
    }

    pub fn start_daemon(&self) -> Child {
        let child = Command::new(BACKUPD)
            .args(self.daemon_args())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("backupd starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.socket.exists() {
            assert!(
                Instant::now() < deadline,
                "backupd did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(BACKUPCTL)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("backupctl runs")
    }

    pub fn once(&self, kind: &str) -> Command {
        let mut c = Command::new(BACKUPD);
        c.args([
            "--data",
            &self.data.display().to_string(),
            "--config",
            &self.config.display().to_string(),
            "--once",
            kind,
        ]);
        c
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `md5sum -c` of every set that has its .md5 file.
pub fn every_complete_set_verifies(dir: &Path) -> usize {
    let mut n = 0;
    for f in files_in(dir)
        .iter()
        .filter(|f| f.ends_with(".md5") && !f.starts_with('.'))
    {
        let o = Command::new("md5sum")
            .arg("-c")
            .arg(f)
            .current_dir(dir)
            .output()
            .expect("md5sum");
        assert!(
            o.status.success(),
            "{f} looks complete but does not verify: {}",
            text(&o)
        );
        n += 1;
    }
    n
}

pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).expect("signal");
}

pub fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("backupd did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
