//! The console binary on a real pseudo-terminal whose size reads 0x0, as a
//! serial line's does: it probes the size with a cursor-position report and
//! falls back to 80x24 when the terminal does not answer.

use nix::pty::{OpenptyResult, Winsize, openpty};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Session {
    child: Child,
    master: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

impl Session {
    fn start() -> Session {
        Session::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Session {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = appconfig::Config::default();
        config.accounts.sysconfig = appconfig::hash_password("secret-pw-1").expect("hash");
        let config_path = dir.path().join("appliance.toml");
        config.save(&config_path).expect("config");
        let size = Winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let OpenptyResult { master, slave } = openpty(Some(&size), None).expect("openpty");
        let stdio = |fd: &std::os::fd::OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        let child = Command::new(env!("CARGO_BIN_EXE_console"))
            .env("TERM", "vt100")
            .env("APPLIANCE_CONFIG", &config_path)
            .env(
                control::backupd::SOCKET_ENV,
                dir.path().join("backupd.sock"),
            )
            .envs(env.iter().copied())
            .stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave))
            .spawn()
            .expect("start the console");
        drop(slave);
        let master = std::fs::File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        let mut reader = master.try_clone().expect("dup master");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        Session {
            child,
            master,
            output,
            _dir: dir,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("lock")).into_owned()
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never came; got {text:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the terminal");
    }

    /// Chooses Exit/Logout and waits for the process to end.
    fn log_out(mut self) {
        self.send(b"9");
        self.wait_exit();
    }

    fn wait_exit(mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the console did not exit; got {:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn silent_serial_line_gets_80x24() {
    let session = Session::start();
    let text = session.wait_for("Main menu");
    assert!(text.contains("\x1b[6n"), "the size was probed: {text:?}");
    // Rows are addressed 1-based: the last is 24, none below it.
    assert!(text.contains("\x1b[24;"), "{text:?}");
    assert!(!text.contains("\x1b[25;"), "{text:?}");
    session.wait_for("Exit/Logout");
    session.log_out();
}

#[test]
fn answered_probe_sets_the_size() {
    let mut session = Session::start();
    session.wait_for("\x1b[6n");
    // The cursor parked at the bottom-right corner of a 100x40 terminal.
    session.send(b"\x1b[40;100R");
    let text = session.wait_for("Main menu");
    session.wait_for("\x1b[40;");
    assert!(!text.contains("\x1b[41;"), "{text:?}");
    session.log_out();
}

#[test]
fn idle_session_logs_out() {
    let mut session = Session::start_with(&[("CONSOLE_IDLE_LOGOUT", "1")]);
    session.wait_for("\x1b[6n");
    session.send(b"\x1b[24;80R");
    session.wait_for("Main menu");
    session.wait_exit();
}
