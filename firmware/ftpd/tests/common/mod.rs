//! The service on loopback in a temporary data folder, real backup sets,
//! and the stock clients (curl, lftp, tnftp, Python's ftplib) that talk to it.
#![allow(dead_code)]

use appconfig::{AccessList, Config, PortRange};
use backupset::{Progress, WriteOptions, write_set};
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "blue-harbour-42";
/// Every client command gets this long (the `timeout` tool enforces it).
pub const CLIENT_SECS: &str = "60";

/// How the appliance is configured.
#[derive(Debug, Clone)]
pub struct Setup {
    pub access_list: String,
    pub allow_plain: bool,
    pub password: Option<&'static str>,
    pub passive_address: Option<Ipv4Addr>,
    /// Ports in the passive range.
    pub passive_ports: u16,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            access_list: "127.0.0.1".into(),
            allow_plain: false,
            password: Some(PASSWORD),
            passive_address: None,
            passive_ports: 50,
        }
    }
}

/// A running ftpd over a temporary data folder.
pub struct Appliance {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub port: u16,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

static NEXT_RANGE: AtomicU16 = AtomicU16::new(0);

/// A passive port range of its own for each server (collisions only cost a retry).
fn passive_range(ports: u16) -> PortRange {
    let n = NEXT_RANGE.fetch_add(1, Ordering::Relaxed) as u32;
    let first = 30000 + ((std::process::id() * 131 + n * 211) % 25000) as u16;
    PortRange {
        first,
        last: first + ports.max(1) - 1,
    }
}

impl Appliance {
    pub fn start(setup: Setup) -> Appliance {
        Appliance::start_with(setup, &[])
    }

    /// With more command-line options.
    pub fn start_with(setup: Setup, args: &[&str]) -> Appliance {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Sessions run as the user ftp: it must reach the data folder
        // (ftpd sets the group and modes of backup/ and restore/ itself).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let root = tmp.path().join("data");
        for d in ["backup", "restore", "config"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::set_permissions(root.join("config"), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        write_config(&root, &setup);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
            .args(["--foreground", "--listen", "127.0.0.1:0", "--data-root"])
            .arg(&root)
            .args(args)
            .env_remove("APPLIANCE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ftpd");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("log").push(line);
            }
        });
        let mut a = Appliance {
            tmp,
            root,
            port: 0,
            child,
            log,
        };
        let line = a.wait_log("listening on 127.0.0.1:", Duration::from_secs(20));
        a.port = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split(';').next())
            .and_then(|p| p.parse().ok())
            .expect("port in the listening line");
        a
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.root.join("backup")
    }

    pub fn restore_dir(&self) -> PathBuf {
        self.root.join("restore")
    }

    pub fn url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    fn log_count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits for a log line holding `needle`; returns it.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        self.wait_log_n(needle, 1, timeout)
    }

    /// Waits for the `n`th log line holding `needle`.
    pub fn wait_log_n(&self, needle: &str, n: usize, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            if let Some(l) = self
                .log
                .lock()
                .expect("log")
                .iter()
                .filter(|l| l.contains(needle))
                .nth(n - 1)
            {
                return l.clone();
            }
            assert!(
                Instant::now() < end,
                "no log line {n} with {needle:?} within {timeout:?}; the log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Rewrites the configuration and sends SIGHUP; returns once reloaded.
    pub fn reconfigure(&self, setup: &Setup) {
        write_config(&self.root, setup);
        let before = self.log_count("configuration reloaded");
        self.signal(nix::sys::signal::Signal::SIGHUP);
        self.wait_log_n(
            "configuration reloaded",
            before + 1,
            Duration::from_secs(10),
        );
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig)
            .expect("signal ftpd");
    }

    /// The process id of the `n`th session (from 1), once it is started.
    pub fn session_pid(&self, n: usize) -> i32 {
        let line = self.wait_log_n(
            "connection from 127.0.0.1 (session ",
            n,
            Duration::from_secs(10),
        );
        line.rsplit("(session ")
            .next()
            .and_then(|r| r.trim_end_matches(')').parse().ok())
            .expect("session pid")
    }

    pub fn supervisor_pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Session processes running now.
    pub fn sessions(&self) -> usize {
        let me = self.child.id().to_string();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("status")).ok())
            .filter(|status| {
                status
                    .lines()
                    .any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == me))
            })
            .count()
    }

    /// Waits until no session process is left.
    pub fn wait_no_sessions(&self, timeout: Duration) {
        let end = Instant::now() + timeout;
        while self.sessions() > 0 {
            assert!(
                Instant::now() < end,
                "{} session(s) still running:\n{}",
                self.sessions(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, and the exit status once it has stopped.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < end,
                "ftpd did not stop:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Files in a folder, hidden ones included, sorted.
    pub fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("readdir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(root: &Path, setup: &Setup) {
    let mut c = Config::default();
    c.system.hostname = "mx1".parse().expect("hostname");
    c.ftp.access_list = AccessList::parse_list(&setup.access_list).expect("access list");
    c.ftp.allow_plain = setup.allow_plain;
    c.ftp.passive_ports = passive_range(setup.passive_ports);
    c.ftp.passive_address = setup.passive_address;
    c.accounts.sysarchive = setup
        .password
        .map(|p| appconfig::hash_password(p).expect("hash"))
        .unwrap_or_default();
    c.save(&root.join("config/appliance.toml"))
        .expect("save config");
}

/// Writes a real full set of a small generated store into `dest`, split
/// into volumes of `volume` bytes, compressed as a new unit writes them;
/// returns its file names (volumes, .md5).
pub fn make_set(work: &Path, dest: &Path, started: i64, volume: Option<u64>) -> Vec<String> {
    let defaults = appconfig::BackupSettings::default();
    let level = (defaults.compression == appconfig::Compression::Zstd)
        .then_some(defaults.compression_level);
    make_set_with(work, dest, started, volume, level)
}

/// [`make_set`] with the compression given: `None` for a plain `.tar` set
/// (what older firmware, or a unit with compression off, writes).
pub fn make_set_with(
    work: &Path,
    dest: &Path,
    started: i64,
    volume: Option<u64>,
    compress: Option<i32>,
) -> Vec<String> {
    std::fs::create_dir_all(dest).expect("mkdir");
    let data = work.join(format!("store-{started}"));
    storegen::generate(
        &data,
        &storegen::Options {
            size: 3 << 20,
            seed: started as u64,
            ..Default::default()
        },
    )
    .expect("generate a store");
    // The folders the appliance leaves out of its data partition.
    let exclude = ["backup", "restore", "state"]
        .iter()
        .map(|d| data.join(d).into())
        .collect();
    let opts = WriteOptions {
        data_root: data,
        exclude,
        dest_dir: dest.to_path_buf(),
        state_dir: work.join(format!("state-{started}")),
        hostname: "mx1".into(),
        unit: "5d1c0ffe-0000-4000-8000-000000000001".into(),
        kind: backupset::SetKind::Full,
        started,
        body_window_hours: 24,
        volume_size: volume,
        version: "test".into(),
        verify: true,
        cancel: Arc::new(AtomicBool::new(false)),
        encrypt_to: None,
        compress,
    };
    let out = write_set(&opts, &Progress::default()).expect("write a set");
    let mut names: Vec<String> = out.volumes.iter().map(|v| v.name.clone()).collect();
    names.push(out.name.md5_name());
    names
}

/// Ends a client started under `timeout` (which passes SIGTERM on; a
/// SIGKILL would only end `timeout` and leave the client running).
pub fn stop_client(child: &mut Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
}

/// Runs a client with a time limit.
pub fn run(program: &str, args: &[&str]) -> Output {
    run_in(program, args, None)
}

pub fn run_in(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut c = Command::new("timeout");
    c.arg(CLIENT_SECS).arg(program).args(args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output()
        .unwrap_or_else(|e| panic!("running {program} (apt-get install it): {e}"))
}

pub fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// curl as `sysarchive` over explicit FTPS (the appliance's certificate is
/// self-signed).
pub fn curl_tls(args: &[&str]) -> Output {
    let user = format!("sysarchive:{PASSWORD}");
    let mut all = vec!["-sS", "--ssl-reqd", "-k", "--user", &user];
    all.extend_from_slice(args);
    run("curl", &all)
}

/// An lftp script over FTPS with protected data, as `sysarchive`.
pub fn lftp(port: u16, script: &str) -> Output {
    lftp_in(port, script, None)
}

pub fn lftp_in(port: u16, script: &str, dir: Option<&Path>) -> Output {
    let full = format!(
        "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; \
         set net:max-retries 1; set net:timeout 20; \
         open -u sysarchive,{PASSWORD} -p {port} 127.0.0.1; {script}; quit"
    );
    run_in("lftp", &["-c", &full], dir)
}

/// Python with ftplib; the script gets the port as `PORT`, the password as
/// `PW`, `tls()` for a logged-in FTPS session and `upload(f, path, bytes)`
/// (ftplib's own `storbinary`, which insists on TLS's closing message).
pub fn python(port: u16, script: &str, args: &[&str]) -> Output {
    let prelude = format!(
        "import ftplib, ssl, socket, sys, time, os, io\n\
         PORT = {port}\nPW = {PASSWORD:?}\n\
         CTX = ssl.create_default_context()\n\
         CTX.check_hostname = False\nCTX.verify_mode = ssl.CERT_NONE\n\
         def tls():\n\
         \x20   f = ftplib.FTP_TLS(context=CTX, timeout=20)\n\
         \x20   f.connect('127.0.0.1', PORT)\n\
         \x20   f.login('sysarchive', PW)\n\
         \x20   f.prot_p()\n\
         \x20   return f\n\
         def upload(f, path, data):\n\
         \x20   return f.storbinary('STOR ' + path, io.BytesIO(data))\n"
    );
    let mut all = vec!["-c".to_string(), format!("{prelude}{script}")];
    all.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run("python3", &refs)
}

/// A field of `/proc/<pid>/status` (`None` once the process is gone).
pub fn proc_status(pid: i32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// `md5sum -c` over every `.md5` file in `dir`.
pub fn md5sum_check(dir: &Path) -> Output {
    let mut sums: Vec<String> = Appliance::files(dir)
        .into_iter()
        .filter(|n| n.ends_with(".md5"))
        .collect();
    sums.sort();
    assert!(!sums.is_empty(), "no .md5 file in {}", dir.display());
    let mut args = vec!["-c"];
    args.extend(sums.iter().map(String::as_str));
    run_in("md5sum", &args, Some(dir))
}
