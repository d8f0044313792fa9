//! The gate as a process on loopback, with small scripts in Dropbear's
//! place that show what the gate passed on: the banner they print proves
//! a connection reached "Dropbear", a close without a byte that the gate
//! refused it. Dropbear itself is tried in the QEMU test
//! (`systest/tests/ssh.rs`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HASH: &str = "$6$rounds=5000$abcdefgh$0123456789";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFL0yG5nvNG66o5q24H+XR7AWPF0M5BNLjeCZgqwbRb admin@pc";

struct Rig {
    dir: tempfile::TempDir,
    port: u16,
    gate: Child,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.gate.kill();
        let _ = self.gate.wait();
    }
}

fn script(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Rig {
    /// A gate with this configuration (and the console password set when
    /// `hash` is not empty: it lives in the secrets file).
    fn start(config: &str, hash: &str) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("config")).expect("config dir");
        std::fs::write(d.join("config/appliance.toml"), config).expect("config");
        std::fs::write(
            d.join("config/secrets.toml"),
            format!("[accounts]\nsysconfig = {hash:?}\n"),
        )
        .expect("secrets");
        // "Dropbear": records its arguments, greets, then either reports a
        // failed login (the client sends "fail") or waits for the client.
        script(
            &d.join("dropbear"),
            &format!(
                "#!/bin/sh\necho \"$@\" > {args}\nprintf 'SSH-2.0-stand-in\\r\\n'\n\
                 read -r line\ncase \"$line\" in fail*) echo \"Dec  4 04:30:00 appliance authpriv.warn dropbear[$$]: Bad password attempt for 'sysconfig' from x\" >> {messages} ;; esac\n",
                args = d.join("args").display(),
                messages = d.join("messages").display()
            ),
        );
        script(
            &d.join("dropbearkey"),
            "#!/bin/sh\ncase \"$1\" in\n-y) echo 'Public key portion is:'; echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFL0yG5nvNG66o5q24H+XR7AWPF0M5BNLjeCZgqwbRb root@x' ;;\n\
             *) : > \"$4\" ;;\nesac\n",
        );
        let port = free_port();
        let gate = Rig::spawn(d, port);
        let rig = Rig { dir, port, gate };
        rig.wait_log("SSH access");
        rig
    }

    fn spawn(d: &Path, port: u16) -> Child {
        Command::new(env!("CARGO_BIN_EXE_sshgate"))
            .arg("--foreground")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(d.join("state"))
            .arg("--home")
            .arg(d.join("home"))
            .arg("--dropbear")
            .arg(d.join("dropbear"))
            .arg("--dropbearkey")
            .arg(d.join("dropbearkey"))
            .arg("--syslog")
            .arg(d.join("messages"))
            .env("APPLIANCE_CONFIG", d.join("config/appliance.toml"))
            .stderr(std::fs::File::create(d.join("log")).expect("log file"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start sshgate")
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("log")).unwrap_or_default()
    }

    fn wait_log(&self, text: &str) {
        let until = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(text) {
            assert!(
                Instant::now() < until,
                "no {text:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn reload(&self, config: &str) {
        let before = self.log().matches("reloading").count();
        std::fs::write(self.path("config/appliance.toml"), config).expect("config");
        let pid = self.gate.id().to_string();
        let ok = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        let until = Instant::now() + Duration::from_secs(10);
        while self.log().matches("reloading").count() == before {
            assert!(Instant::now() < until, "no reload:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
    }

    fn connect(&self) -> std::io::Result<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(s)
    }
}

/// What the server sent before closing or within the time-out: empty when
/// the gate closed the connection at once.
fn greeting(s: &mut TcpStream) -> String {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => String::new(),
        Err(e) => panic!("reading the greeting: {e}"),
    }
}

const LOOPBACK: &str = "[ssh]\naccess_list = [\"127.0.0.1\"]\n";

#[test]
fn the_access_list_decides_and_ssh_waits_for_the_console_password() {
    // Defaults: on, but only for the private blocks; loopback is not one.
    let rig = Rig::start("", HASH);
    let mut s = rig.connect().expect("listening by default");
    assert_eq!(greeting(&mut s), "", "loopback is off the default list");
    rig.wait_log("refused: not on the SSH Access List");
    assert!(
        !rig.path("args").exists(),
        "no Dropbear for a refused address"
    );

    rig.reload(LOOPBACK);
    let mut s = rig.connect().expect("connect");
    assert_eq!(greeting(&mut s), "SSH-2.0-stand-in\r\n");
    let args = std::fs::read_to_string(rig.path("args")).expect("args");
    assert!(args.starts_with("-i -j -k -m -T 3 -K 30 -r "), "{args}");
    assert!(args.contains("dropbear_ed25519_host_key"), "{args}");

    // Switched off: the port closes; an empty list: nobody.
    rig.reload(&format!("{LOOPBACK}enabled = false\n"));
    assert!(rig.connect().is_err(), "port 22 closed when SSH is off");
    rig.reload("[ssh]\naccess_list = []\n");
    let mut s = rig.connect().expect("connect");
    assert_eq!(greeting(&mut s), "");
    rig.wait_log("the SSH Access List is empty");
}

#[test]
fn no_console_password_no_port() {
    let rig = Rig::start(LOOPBACK, "");
    assert!(rig.log().contains("no console password yet"));
    assert!(rig.connect().is_err());
    std::fs::write(
        rig.path("config/secrets.toml"),
        format!("[accounts]\nsysconfig = {HASH:?}\n"),
    )
    .expect("secrets");
    rig.reload(LOOPBACK);
    let mut s = rig.connect().expect("on once the password exists");
    assert_eq!(greeting(&mut s), "SSH-2.0-stand-in\r\n");
}

#[test]
fn sessions_per_address_are_bounded() {
    let rig = Rig::start(LOOPBACK, HASH);
    let mut held = Vec::new();
    for _ in 0..sshgate::gate::MAX_PER_ADDRESS {
        let mut s = rig.connect().expect("connect");
        assert_eq!(greeting(&mut s), "SSH-2.0-stand-in\r\n");
        held.push(s);
    }
    let mut s = rig.connect().expect("connect");
    assert_eq!(greeting(&mut s), "", "one too many");
    rig.wait_log("sessions from this address");
    // One ends: a place is free again.
    let first = held.remove(0);
    first.shutdown(Shutdown::Both).expect("close");
    drop(first);
    rig.wait_log("ended");
    let mut s = rig.connect().expect("connect");
    assert_eq!(greeting(&mut s), "SSH-2.0-stand-in\r\n");
}

#[test]
fn failed_logins_block_the_address() {
    let rig = Rig::start(LOOPBACK, HASH);
    for _ in 0..sshgate::gate::MAX_FAILURES {
        let mut s = rig.connect().expect("connect");
        assert_eq!(greeting(&mut s), "SSH-2.0-stand-in\r\n");
        s.write_all(b"fail\n").expect("fail");
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    // The failures are counted from the system log, where "Dropbear"
    // wrote them.
    let messages = std::fs::read_to_string(rig.path("messages")).expect("messages");
    assert_eq!(
        messages.matches("Bad password attempt").count(),
        sshgate::gate::MAX_FAILURES
    );
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = rig.connect().expect("connect");
        if greeting(&mut s).is_empty() {
            break;
        }
        assert!(Instant::now() < until, "never blocked:\n{}", rig.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    rig.wait_log("too many failed logins");
}

#[test]
fn junk_and_abrupt_clients_leave_the_gate_serving() {
    let rig = Rig::start(LOOPBACK, HASH);
    for i in 0..6u8 {
        let mut s = rig.connect().expect("connect");
        let junk: Vec<u8> = (0..4096u32)
            .map(|n| (n as u8).wrapping_mul(31).wrapping_add(i))
            .collect();
        let _ = s.write_all(&junk);
        drop(s);
    }
    // Connect and vanish at once, many times.
    for _ in 0..10 {
        drop(rig.connect().expect("connect"));
    }
    std::thread::sleep(Duration::from_secs(1));
    let mut s = rig.connect().expect("still listening");
    let g = greeting(&mut s);
    assert!(
        g == "SSH-2.0-stand-in\r\n" || g.is_empty(),
        "unexpected {g:?}"
    );
    let mut gate = rig;
    assert!(
        gate.gate.try_wait().expect("wait").is_none(),
        "the gate died:\n{}",
        gate.log()
    );
}

#[test]
fn authorized_keys_come_from_the_configuration() {
    let rig = Rig::start(&format!("{LOOPBACK}authorized_keys = [{KEY:?}]\n"), HASH);
    let file = rig.path("home/.ssh/authorized_keys");
    let text = std::fs::read_to_string(&file).expect("authorized_keys");
    assert_eq!(text, format!("{} {KEY}\n", sshgate::keys::KEY_OPTIONS));
    let pubkey = rig.path("state/dropbear_ed25519_host_key.pub");
    assert!(
        std::fs::read_to_string(pubkey)
            .expect("host key .pub")
            .starts_with("ssh-ed25519 AAAA")
    );
    rig.reload(LOOPBACK);
    assert!(!file.exists(), "keys removed in the console go");
}

#[test]
fn a_broken_configuration_keeps_ssh_off_and_the_gate_up() {
    let rig = Rig::start("[ssh\nenabled = maybe\n", HASH);
    assert!(rig.log().contains("SSH stays off"), "{}", rig.log());
    assert!(rig.connect().is_err());
    rig.reload(LOOPBACK);
    let mut s = rig.connect().expect("on once it reads");
    assert_eq!(greeting(&mut s), "SSH-2.0-stand-in\r\n");
}
