//! The FTP pull service in the appliance, used from the host through QEMU's
//! port forwards as an administrator would: the guest sees the host as
//! 10.0.2.2. A backup made by backupd is listed and fetched with curl and
//! lftp and passes `md5sum -c`; an address off the FTP Access List and a
//! wrong password are refused; a set uploaded to `restore` is checked and
//! then listed as verified by backupd.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use systest::{Vm, VmConfig};

const PASSWORD: &str = "blue-harbour-42";
/// `openssl passwd -6 -salt Qx3dV9sTz1Lk blue-harbour-42`
const HASH: &str = "$6$Qx3dV9sTz1Lk$xGvJ7THHor2TLhPiROPO8U8w6pV2N3uA4a8eg8YVrNdZ8spcUmzVG7iRx9/1bNdkAl3gG8n2T5waaUwxQ8HEa.";
const PASSIVE_PORTS: u16 = 6;

/// A free port on the host's loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A run of free ports for passive mode: forwarded one to one, since the
/// guest announces its own port numbers.
fn free_range() -> u16 {
    let mut base = 40000 + (std::process::id() % 2000) as u16 * 10;
    loop {
        let held: Vec<_> = (base..base + PASSIVE_PORTS)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == PASSIVE_PORTS as usize {
            return base;
        }
        base = if base > 60000 {
            40000
        } else {
            base + PASSIVE_PORTS
        };
    }
}

fn host(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120").arg(program).args(args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output()
        .unwrap_or_else(|e| panic!("{program} (apt-get install it): {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn curl(args: &[&str]) -> Output {
    let user = format!("sysarchive:{PASSWORD}");
    let mut all = vec!["-sS", "--ssl-reqd", "-k", "--user", &user];
    all.extend_from_slice(args);
    host("curl", &all, None)
}

/// The configuration the console would write, with the FTP settings of
/// this test.
fn configure(vm: &mut Vm, access_list: &str, passive: u16) {
    let lines = [
        "[ftp]".to_string(),
        format!("access_list = [\"{access_list}\"]"),
        format!(
            "passive_ports = \"{}-{}\"",
            passive,
            passive + PASSIVE_PORTS - 1
        ),
        // What the host's clients reach through the port forwards.
        "passive_address = \"127.0.0.1\"".to_string(),
        "[accounts]".to_string(),
        format!("sysarchive = '{HASH}'"),
    ];
    let quoted: Vec<String> = lines
        .iter()
        .map(|l| format!("'{}'", l.replace('\'', "'\\''")))
        .collect();
    vm.ok(&format!(
        "printf '%s\\n' {} > /data/config/appliance.toml && appctl check >/dev/null",
        quoted.join(" ")
    ))
    .expect("write the configuration");
    let before = vm
        .ok("grep -c 'ftpd.*configuration reloaded' /data/log/messages || true")
        .expect("count");
    vm.ok("/etc/init.d/S70ftpd reload").expect("reload ftpd");
    let start = Instant::now();
    loop {
        let now = vm
            .ok("grep -c 'ftpd.*configuration reloaded' /data/log/messages || true")
            .expect("count");
        if now.trim() != before.trim() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "ftpd did not reload"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn wait_guest_log(vm: &mut Vm, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let out = vm
            .run(&format!("grep -F '{needle}' /data/log/messages"))
            .expect("grep");
        if out.status == 0 {
            return out.output;
        }
        assert!(
            start.elapsed() < timeout,
            "no {needle:?} in the guest's log:\n{}",
            vm.ok("grep ftpd /data/log/messages | tail -n 30")
                .unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn pull_refuse_and_restore_through_the_port_forward() {
    let control = free_port();
    let passive = free_range();
    let mut config = VmConfig::new("ftp-pull").forward(control, 21);
    for p in passive..passive + PASSIVE_PORTS {
        config = config.forward(p, p);
    }
    let mut vm = Vm::boot(config).expect("boot");
    vm.login().expect("login");
    vm.ok("pidof ftpd").expect("ftpd runs from boot");
    configure(&mut vm, "10.0.2.2", passive);

    vm.ok(
        "d=/data/store/mail/example.com/smith/INBOX/cur; mkdir -p $d && \
           for i in $(seq 20); do dd if=/dev/urandom of=$d/$i.eml bs=16k count=4 2>/dev/null; done",
    )
    .expect("some mail");
    vm.ok_timeout("backupctl backup full --wait", Duration::from_secs(600))
        .expect("backup");
    let sets = vm.ok("ls /data/backup").expect("ls");
    let mut names: Vec<String> = sets.split_whitespace().map(str::to_string).collect();
    names.sort();
    assert_eq!(names.len(), 2, "{sets}");

    // List and fetch with curl (EPSV), then md5sum -c.
    let url = |path: &str| format!("ftp://127.0.0.1:{control}/{path}");
    let out = curl(&["--list-only", &url("backup/")]);
    assert!(out.status.success(), "{}", text(&out));
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, names);
    let work = tempfile::tempdir().expect("tempdir");
    let dl = work.path().join("curl");
    std::fs::create_dir(&dl).expect("mkdir");
    for n in &names {
        let out = curl(&[
            "-o",
            &dl.join(n).to_string_lossy(),
            &url(&format!("backup/{n}")),
        ]);
        assert!(out.status.success(), "{n}: {}", text(&out));
    }
    let md5 = names.iter().find(|n| n.ends_with(".md5")).expect("md5");
    let out = host("md5sum", &["-c", md5], Some(&dl));
    assert!(out.status.success(), "{}", text(&out));

    // lftp's mirror (PASV, with the announced address), then md5sum -c.
    let m = work.path().join("mirror");
    let script = format!(
        "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; \
         set net:max-retries 1; set net:timeout 30; \
         open -u sysarchive,{PASSWORD} -p {control} 127.0.0.1; mirror backup {}; quit",
        m.display()
    );
    let out = host("lftp", &["-c", &script], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = host("md5sum", &["-c", md5], Some(&m));
    assert!(out.status.success(), "{}", text(&out));
    wait_guest_log(
        &mut vm,
        "sysarchive@10.0.2.2: logged in (FTPS)",
        Duration::from_secs(10),
    );

    // A wrong password is refused.
    let out = host(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "-k",
            "--user",
            "sysarchive:sendio",
            &url(""),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(67), "{}", text(&out));
    wait_guest_log(
        &mut vm,
        "10.0.2.2: login refused: wrong password",
        Duration::from_secs(10),
    );

    // Upload the set to restore (the .md5 last, as mput does): it is
    // checked and backupd lists it as verified.
    for n in &names {
        let out = curl(&[
            "-T",
            &dl.join(n).to_string_lossy(),
            &url(&format!("restore/{n}")),
        ]);
        assert!(out.status.success(), "{n}: {}", text(&out));
    }
    wait_guest_log(
        &mut vm,
        &format!("restore folder: {} matches its .md5 file", names[0]),
        Duration::from_secs(60),
    );
    let list = vm
        .ok("backupctl list --restore-folder")
        .expect("backupctl list");
    assert!(
        list.contains(&names[0]) && list.contains("complete, verified"),
        "{list}"
    );
    assert_eq!(
        vm.ok("ls -A /data/restore | grep -c '^.ftp-upload' || true")
            .expect("ls")
            .trim(),
        "0"
    );

    // Off the list: the host's connections are closed before login.
    configure(&mut vm, "192.168.77.0/24", passive);
    let out = curl(&["--list-only", &url("")]);
    assert!(!out.status.success(), "{}", text(&out));
    wait_guest_log(
        &mut vm,
        "FTP connection from 10.0.2.2 refused: not on the FTP Access List",
        Duration::from_secs(10),
    );
    vm.ok("pidof ftpd").expect("ftpd still runs");
    vm.poweroff(Duration::from_secs(60))
        .expect("clean power-off");
}
