//! The test rig: the console's App on a 80x24 TestBackend, its System
//! pointed at a temporary folder with shell scripts for appctl, rauc and
//! recover, and a fake backupd answering on a real Unix socket through
//! `control::serve_connection`, and a fake hotplugd when a USB drive is
//! "plugged in" (its files in the rig's `usb` folder).

#![allow(dead_code)]

use appconfig::{BackupType, Config, DestinationKind};
use console::commands::{Job, Outcome};
use console::livenet::LiveNetwork;
use console::{App, Bundle, RealSystem, Settings, System};
use control::backupd::{
    ConnectivityReport, Location, Progress, Reply, Request, RunResult, SetInfo, Status,
    Verification,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The real system, except that wrong passwords are counted (and not slept on).
pub struct TestSystem {
    real: RealSystem,
    pub failed_passwords: Mutex<Vec<String>>,
}

impl System for TestSystem {
    fn settings(&self) -> &Settings {
        self.real.settings()
    }
    fn load_config(&self) -> Result<(Config, appconfig::Revision), appconfig::ConfigError> {
        self.real.load_config()
    }
    fn save_config(
        &self,
        config: &Config,
        base: &appconfig::Revision,
    ) -> Result<appconfig::Revision, appconfig::ConfigError> {
        self.real.save_config(config, base)
    }
    fn run(&self, argv: &[String]) -> Outcome {
        self.real.run(argv)
    }
    fn start(&self, argv: &[String]) -> Result<Job, Outcome> {
        self.real.start(argv)
    }
    fn available(&self, program: &str) -> bool {
        self.real.available(program)
    }
    fn live_network(&self, interface: &str) -> LiveNetwork {
        self.real.live_network(interface)
    }
    fn bundles(&self) -> Vec<Bundle> {
        self.real.bundles()
    }
    fn key_files(&self) -> Vec<String> {
        self.real.key_files()
    }
    fn read_key_file(&self, name: &str) -> Result<String, String> {
        self.real.read_key_file(name)
    }
    fn write_identity(&self, keys: &[String]) -> Result<console::identity::IdentityFile, String> {
        self.real.write_identity(keys)
    }
    fn failed_password(&self, account: &str) {
        self.failed_passwords
            .lock()
            .expect("lock")
            .push(account.to_string());
        self.real.failed_password(account);
    }
}

/// What the fake backupd was asked, and what it answers.
#[derive(Default)]
pub struct Backupd {
    pub requests: Vec<Request>,
    pub status: Option<Status>,
    pub sets_configured: Vec<SetInfo>,
    pub sets_restore: Vec<SetInfo>,
    pub sets_local: Vec<SetInfo>,
    /// Names whose verification fails.
    pub corrupt: Vec<String>,
    /// While set, VerifySet waits until it is cleared (the check "runs"),
    /// and `status` reports this progress.
    pub verifying: Option<Progress>,
}

pub fn set(name: &str, kind: BackupType, time: &str, size: u64) -> SetInfo {
    SetInfo {
        name: name.into(),
        host: "mx1".into(),
        kind,
        time: time.into(),
        size,
        volumes: 1,
        complete: true,
        base: None,
        verified: None,
        problem: None,
        unit: None,
    }
}

fn idle_status() -> Status {
    Status {
        destination: DestinationKind::Local,
        next_run: "2026-11-22 22:00".into(),
        next_kind: BackupType::Full,
        running: None,
        verifying: Vec::new(),
        recent: vec![RunResult {
            set: "mx1-F20261121T220000Z.tar".into(),
            kind: BackupType::Full,
            destination: DestinationKind::Local,
            started: "2026-11-21 22:00:00".into(),
            finished: "2026-11-21 22:03:10".into(),
            ok: true,
            message: "verified, 1234 files, 56.0 MiB".into(),
            bytes: 56 << 20,
            stream_bytes: 0,
            files: 1234,
            skipped: 0,
            warnings: Vec::new(),
        }],
        alert: None,
    }
}

impl Backupd {
    /// The status it answers with (the idle one until changed).
    pub fn status_mut(&mut self) -> &mut Status {
        self.status.get_or_insert_with(idle_status)
    }

    /// Moves the running backup on, as backupd would report it.
    pub fn advance(&mut self, bytes_done: u64, files: u64, elapsed: u64, eta: Option<u64>) {
        if let Some(p) = self.status.as_mut().and_then(|s| s.running.as_mut()) {
            p.bytes_done = bytes_done;
            p.files_done = files;
            p.elapsed_secs = elapsed;
            p.eta_secs = eta;
        }
    }

    /// Ends the running backup with a good result.
    pub fn finish(&mut self, message: &str) {
        let Some(status) = self.status.as_mut() else {
            return;
        };
        if let Some(p) = status.running.take() {
            status.recent.insert(
                0,
                RunResult {
                    set: p.set,
                    kind: p.kind,
                    destination: DestinationKind::Local,
                    started: "2026-11-22 10:00:00".into(),
                    finished: "2026-11-22 10:01:00".into(),
                    ok: true,
                    message: message.into(),
                    bytes: p.bytes_total,
                    stream_bytes: 0,
                    files: p.files_done,
                    skipped: 0,
                    warnings: Vec::new(),
                },
            );
        }
    }

    fn answer(&mut self, request: Request) -> Reply {
        self.requests.push(request.clone());
        match request {
            Request::Status => {
                let mut status = self.status.get_or_insert_with(idle_status).clone();
                status.verifying = self.verifying.iter().cloned().collect();
                Reply::Status(status)
            }
            Request::BackupNow { kind } => {
                let status = self.status.get_or_insert_with(idle_status);
                let set = format!("mx1-{}20261122T100000Z.tar", kind.letter());
                status.running = Some(Progress {
                    set: set.clone(),
                    kind,
                    phase: "writing".into(),
                    bytes_done: 0,
                    bytes_total: 3 << 30,
                    files_done: 0,
                    elapsed_secs: 0,
                    eta_secs: None,
                });
                Reply::Started { set }
            }
            Request::ListSets { location } => Reply::Sets {
                sets: match location {
                    Location::Configured => self.sets_configured.clone(),
                    Location::RestoreFolder => self.sets_restore.clone(),
                    Location::Local => self.sets_local.clone(),
                },
            },
            Request::VerifySet { name, .. } => {
                let ok = !self.corrupt.contains(&name);
                Reply::Verified(Verification {
                    details: vec![format!(
                        "{name}: {}",
                        if ok { "OK" } else { "FAILED (MD5 mismatch)" }
                    )],
                    name,
                    ok,
                })
            }
            Request::TestConnectivity { settings } => {
                let s = settings.unwrap_or_default();
                if s.smb.host == "10.0.2.2" {
                    Reply::Connectivity(ConnectivityReport {
                        destination: s.destination,
                        ok: true,
                        summary: "Connected".into(),
                        steps: vec![
                            ("mount //10.0.2.2/backup".into(), "ok".into()),
                            ("write probe".into(), "ok".into()),
                            ("read back".into(), "ok".into()),
                            ("delete probe".into(), "ok".into()),
                        ],
                        free_bytes: Some(20 << 30),
                        total_bytes: Some(50 << 30),
                        filesystem: Some("cifs".into()),
                        dialect: Some("3.1.1".into()),
                        sets: self.sets_configured.clone(),
                    })
                } else {
                    Reply::Connectivity(ConnectivityReport {
                        destination: s.destination,
                        ok: false,
                        summary: format!("host {} does not answer", s.smb.host),
                        steps: vec![("mount".into(), "no answer on port 445".into())],
                        free_bytes: None,
                        total_bytes: None,
                        filesystem: None,
                        dialect: None,
                        sets: Vec::new(),
                    })
                }
            }
            Request::Reload => Reply::Reloaded {
                message: "reloaded the configuration".into(),
            },
            // As the real backupd words it (backupd/tests/alerts.rs checks that).
            Request::SendTestAlert { settings } => {
                let s = settings.unwrap_or_default();
                let relay = format!("{}:{}", s.smtp.host, s.smtp.port);
                if s.smtp.password == "relay-pw-7" {
                    Reply::AlertTested {
                        ok: true,
                        lines: vec![format!(
                            "e-mail: sent, 250 2.0.0 Message accepted for delivery (relay {relay}, to {})",
                            s.email_to
                        )],
                    }
                } else {
                    Reply::AlertTested {
                        ok: false,
                        lines: vec![format!(
                            "e-mail: FAILED, authentication: 535 5.7.8 Authentication credentials invalid at relay {relay}"
                        )],
                    }
                }
            }
        }
    }
}

/// Starts the fake backupd on `socket`.
pub fn serve_backupd(socket: &Path) -> Arc<Mutex<Backupd>> {
    let state = Arc::new(Mutex::new(Backupd::default()));
    let listener = UnixListener::bind(socket).expect("bind the fake backupd");
    let shared = state.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let state = shared.clone();
            std::thread::spawn(move || {
                let _ = control::serve_connection(
                    stream,
                    Duration::from_secs(10),
                    |req: Request| {
                        // A check "runs" while `verifying` is set.
                        if matches!(req, Request::VerifySet { .. }) {
                            let deadline = Instant::now() + Duration::from_secs(10);
                            while state.lock().expect("lock").verifying.is_some()
                                && Instant::now() < deadline
                            {
                                std::thread::sleep(Duration::from_millis(5));
                            }
                        }
                        state.lock().expect("lock").answer(req)
                    },
                    |message| Reply::Error { message },
                );
            });
        }
    });
    state
}

/// A fake hotplugd on `socket`: a FAT32 drive mounted at `mounted` (or
/// none), Eject answered with `eject`.
pub fn serve_hotplugd(socket: &Path, mounted: Option<PathBuf>, eject: control::hotplug::Reply) {
    use control::hotplug::{Reply, Request, UsbDrive, UsbStatus};
    let status = UsbStatus {
        drives: mounted
            .map(|dir| UsbDrive {
                device: "sda1".into(),
                filesystem: "vfat (FAT32)".into(),
                mounted: true,
                mount_point: Some(dir.display().to_string()),
                ..UsbDrive::default()
            })
            .into_iter()
            .collect(),
    };
    let listener = UnixListener::bind(socket).expect("bind the fake hotplugd");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (status, eject) = (status.clone(), eject.clone());
            std::thread::spawn(move || {
                let _ = control::serve_connection(
                    stream,
                    Duration::from_secs(10),
                    |req: Request| match req {
                        Request::Status => Reply::Status(status.clone()),
                        Request::Eject => eject.clone(),
                    },
                    |message| Reply::Error { message },
                );
            });
        }
    });
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub sys: Arc<TestSystem>,
    pub app: App,
    pub term: Terminal<TestBackend>,
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

impl Rig {
    /// A console whose configuration is `config` (none: a new appliance).
    pub fn new(config: Option<&Config>) -> Rig {
        Rig::with(config, |_, _| {})
    }

    /// As [`Rig::new`], with a chance to change the settings first.
    pub fn with(config: Option<&Config>, tweak: impl FnOnce(&Path, &mut Settings)) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for sub in ["backup", "restore", "usb", "run"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
        }
        let log = d.join("commands.log");
        script(
            &d.join("appctl"),
            &format!(
                "echo \"appctl $*\" >> '{}'\necho \"applied $*\"",
                log.display()
            ),
        );
        script(
            &d.join("rauc"),
            &format!(
                "echo \"rauc $*\" >> '{}'\necho 'installing: 20%'\necho 'installing: 100%'\necho 'Installing done.'",
                log.display()
            ),
        );
        script(
            &d.join("S45timesyncd"),
            &format!("echo \"timesyncd $*\" >> '{}'", log.display()),
        );
        script(
            &d.join("S72sshgate"),
            &format!("echo \"sshgate $*\" >> '{}'", log.display()),
        );
        script(
            &d.join("S70ftpd"),
            &format!("echo \"ftpd $*\" >> '{}'\necho reloaded", log.display()),
        );
        std::fs::write(d.join("resolv.conf"), "nameserver 10.0.2.3\n").expect("resolv");
        let mut settings = Settings {
            config_path: d.join("config/appliance.toml"),
            backupd_socket: d.join("backupd.sock"),
            resolv_conf: d.join("resolv.conf"),
            restore_dir: d.join("restore"),
            run_dir: d.join("run"),
            log_path: d.join("messages"),
            hotplugd_socket: d.join("hotplugd.sock"),
            appctl: vec![d.join("appctl").display().to_string()],
            rauc: vec![d.join("rauc").display().to_string()],
            recover: vec![d.join("recover").display().to_string()],
            reboot: vec![d.join("reboot").display().to_string()],
            timesync_reload: vec![
                d.join("S45timesyncd").display().to_string(),
                "reload".into(),
            ],
            sshgate_reload: vec![d.join("S72sshgate").display().to_string(), "reload".into()],
            ftpd_reload: vec![d.join("S70ftpd").display().to_string(), "reload".into()],
            ssh_host_keys: d.join("sshd"),
            command_timeout: Duration::from_secs(20),
            wrong_password_delay: Duration::ZERO,
            poll_interval: Duration::ZERO,
            idle_logout: None,
        };
        tweak(d, &mut settings);
        if let Some(c) = config {
            c.save(&settings.config_path)
                .expect("write the starting config");
        }
        let sys = Arc::new(TestSystem {
            real: RealSystem::new(settings),
            failed_passwords: Mutex::new(Vec::new()),
        });
        let app = App::new(sys.clone());
        let term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        Rig {
            dir,
            sys,
            app,
            term,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Plugs in a USB drive: a fake hotplugd reports it mounted at the
    /// rig's `usb` folder, and Eject answers `eject`.
    pub fn plug_usb(&self, eject: control::hotplug::Reply) {
        serve_hotplugd(&self.path("hotplugd.sock"), Some(self.path("usb")), eject);
    }

    pub fn config_path(&self) -> PathBuf {
        self.sys.settings().config_path.clone()
    }

    /// The configuration file's bytes (empty when there is none).
    pub fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_path()).unwrap_or_default()
    }

    pub fn saved(&self) -> Config {
        Config::load(&self.config_path()).expect("the saved config loads")
    }

    /// The commands the scripts were run with, one a line.
    pub fn commands(&self) -> String {
        std::fs::read_to_string(self.path("commands.log")).unwrap_or_default()
    }

    /// Draws and returns the 80x24 screen as text, one line per row.
    pub fn screen(&mut self) -> String {
        let app = &self.app;
        self.term.draw(|f| app.render(f)).expect("draw");
        let buf = self.term.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    /// The screen row holding `needle` (for "the reason is next to the field").
    pub fn row_with(&mut self, needle: &str) -> String {
        let screen = self.screen();
        screen
            .lines()
            .find(|l| l.contains(needle))
            .map(String::from)
            .unwrap_or_else(|| panic!("no row with {needle:?} on\n{screen}"))
    }

    /// The field row holding `label` together with the reason printed on
    /// the line below it when the reason does not fit beside the value.
    pub fn field(&mut self, label: &str) -> String {
        let screen = self.screen();
        let lines: Vec<&str> = screen.lines().collect();
        let i = lines
            .iter()
            // After the borders (a pop-up's too) and the focus marker.
            .position(|l| {
                l.trim_start_matches('|')
                    .get(1..)
                    .is_some_and(|t| t.starts_with(label))
            })
            .unwrap_or_else(|| panic!("no field {label:?} on\n{screen}"));
        let mut out = lines[i].to_string();
        if let Some(next) = lines.get(i + 1)
            && next.trim_start_matches('|').trim_start().starts_with('!')
        {
            out.push_str(next);
        }
        out
    }

    /// The text in the field row holding `label` (between its brackets).
    pub fn form_text(&mut self, label: &str) -> String {
        let row = self.row_with(label);
        let after = &row[row.find(label).map(|i| i + label.len()).unwrap_or(0)..];
        after
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(inside, _)| inside.trim().to_string())
            .unwrap_or_default()
    }

    pub fn key(&mut self, code: KeyCode) {
        self.app.handle_key(KeyEvent::from(code));
        self.app.tick();
    }

    pub fn ctrl(&mut self, c: char) {
        self.app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    }

    pub fn keys(&mut self, codes: &[KeyCode]) {
        for c in codes {
            self.key(*c);
        }
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Empties the focused text field and types `text`.
    pub fn replace_text(&mut self, text: &str) {
        self.ctrl('u');
        self.type_text(text);
    }

    /// Moves the focus down (Tab) until the focused row shows `label`.
    pub fn focus(&mut self, label: &str) {
        for _ in 0..30 {
            let screen = self.screen();
            let on_it = screen
                .lines()
                .any(|l| l.contains(&format!(">{label}")) || l.contains(&format!(">  {label}")));
            if on_it || self.focused_button(label) {
                return;
            }
            self.key(KeyCode::Tab);
        }
        panic!("cannot reach {label:?}:\n{}", self.screen());
    }

    /// Whether the focused cell run (reverse video) is the button `label`.
    fn focused_button(&mut self, label: &str) -> bool {
        let _ = self.screen();
        let buf = self.term.backend().buffer();
        let wanted = format!("[ {label} ]");
        for y in 0..buf.area.height {
            let mut run = String::new();
            for x in 0..buf.area.width {
                let cell = &buf[(x, y)];
                if cell.modifier.contains(ratatui::style::Modifier::REVERSED) {
                    run.push_str(cell.symbol());
                } else if !run.is_empty() {
                    if run == wanted {
                        return true;
                    }
                    run.clear();
                }
            }
            if run == wanted {
                return true;
            }
        }
        false
    }

    /// Presses the button `label` of the open form.
    pub fn press(&mut self, label: &str) {
        self.focus(label);
        self.key(KeyCode::Enter);
    }

    /// Ticks until `needle` is on the screen; panics with the screen after 10 s.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.app.tick();
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("{needle:?} never appeared on\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A configuration whose console password is `secret-pw-1`.
pub fn configured() -> Config {
    let mut c = Config::default();
    c.accounts.sysconfig = appconfig::hash_password("secret-pw-1").expect("hash");
    c.system.hostname = "mx1".parse().expect("hostname");
    c
}
