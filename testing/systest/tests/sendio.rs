//! The Sendio guide's FTP procedure, word for word, on a unit set up from
//! the serial console as its administrator would: time zone chosen from
//! the list, FTP Access List and password set, plain FTP refused until the
//! console allows it (after its warning), then the guide's scheduled
//! `FTPScript.txt` run by a command-line `ftp` (tnftp, as Windows' ftp.exe
//! reads it) and the Explorer URL fetched with curl, the sets checked with
//! `md5sum -c`; and the nightly backup's time is local time.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use systest::host::{free_port, free_port_range, output_text};
use systest::operator::{
    complete_sets, console_logout, first_console_login, keys, md5sum_check, see,
};
use systest::{Vm, VmConfig};

const TAB: &[u8] = b"\t";
const ENTER: &[u8] = b"\r";
const ESC: &[u8] = b"\x1b";
const RIGHT: &[u8] = b"\x1b[C";
const CONSOLE_PW: &str = "Mail-2026-box";
/// The guide's password is "sendio": too short for this firmware's rules.
const FTP_PW: &str = "sendio-2026";
const SHORT: Duration = Duration::from_secs(30);
const PASSIVE_PORTS: u16 = 4;

/// The guide's FTPScript.txt, with a local folder of this machine for
/// `c:\sendio_backup`, fed to `ftp <address> <port>` as `ftp -s:` does.
fn ftp_script(control: u16, into: &Path) -> Output {
    let script = format!(
        "sysarchive\n{FTP_PW}\nbin\nprompt off\ncd backup\nlcd {}\nmget *.*\nquit\n",
        into.display()
    );
    let mut child = Command::new("timeout")
        .args(["120", "ftp", "-v", "127.0.0.1", &control.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ftp (apt-get install ftp)");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), script.as_bytes())
        .expect("script");
    drop(child.stdin.take());
    child.wait_with_output().expect("ftp")
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// System Configuration from the main menu, then `steps` from the first
/// field (the host name), then Save; waits for the report and goes back to
/// the menu.
fn system_configuration(vm: &mut Vm, steps: &[&[u8]], confirm_plain: bool) {
    keys(vm, &[b"2"]);
    see(vm, "Time now:", SHORT);
    keys(vm, steps);
    if confirm_plain {
        see(vm, "Allow plain FTP?", SHORT);
        see(vm, "unencrypted", SHORT);
        keys(vm, &[RIGHT, ENTER]);
    }
    see(vm, "Configuration saved", SHORT);
    keys(vm, &[ENTER, ESC]);
    see(vm, "Exit/Logout", SHORT);
}

#[test]
fn the_sendio_ftp_procedure_works_once_the_console_allows_plain_ftp() {
    let control = free_port();
    let passive = free_port_range(PASSIVE_PORTS);
    let mut config = VmConfig::new("sendio-ftp").forward(control, 21);
    for p in passive..passive + PASSIVE_PORTS {
        config = config.forward(p, p);
    }
    let mut vm = Vm::boot(config).expect("boot");
    vm.login().expect("root login");
    // QEMU's port forward, not the procedure: the passive ports the host
    // forwards (a NAT router's administrator does the same).
    vm.ok(&format!(
        "sed -i 's/^passive_ports = .*/passive_ports = \"{}-{}\"/' /data/config/appliance.toml && \
         grep -q '^passive_ports = \"{0}-' /data/config/appliance.toml && appctl check >/dev/null",
        passive,
        passive + PASSIVE_PORTS - 1
    ))
    .expect("passive ports");
    vm.ok(
        "d=/data/store/mail/example.com/smith/INBOX/cur; mkdir -p $d && \
         for i in $(seq 12); do dd if=/dev/urandom of=$d/$i.eml bs=16k count=2 2>/dev/null; done",
    )
    .expect("some mail");
    vm.ok_timeout("backupctl backup full --wait", Duration::from_secs(600))
        .expect("backup");
    first_console_login(&mut vm, CONSOLE_PW);
    see(&mut vm, "Exit/Logout", Duration::from_secs(60));

    // The time zone from the list, the Access List and the FTP password;
    // plain FTP stays as it is (off).
    system_configuration(
        &mut vm,
        &[
            TAB,
            TAB,
            ENTER,
            b"prag",
            ENTER,
            TAB,
            TAB,
            TAB,
            b"10.0.2.2",
            TAB,
            TAB,
            FTP_PW.as_bytes(),
            TAB,
            FTP_PW.as_bytes(),
            TAB,
            TAB,
            TAB,
            TAB,
            ENTER,
        ],
        false,
    );

    // As the guide says, but FTPS is required by default: refused.
    let work = tempfile::tempdir().expect("tempdir");
    let refused = work.path().join("refused");
    std::fs::create_dir(&refused).expect("mkdir");
    let out = ftp_script(control, &refused);
    let said = output_text(&out);
    assert!(said.contains("requires FTPS"), "{said}");
    assert!(files(&refused).is_empty(), "{said}");

    // Allow plain FTP, after the warning.
    system_configuration(
        &mut vm,
        &[
            TAB, TAB, TAB, TAB, TAB, RIGHT, b" ", TAB, TAB, TAB, TAB, TAB, TAB, ENTER,
        ],
        true,
    );
    console_logout(&mut vm);

    // The scheduled job: DailyBackup.bat's `ftp -s:FTPScript.txt`.
    let dl = work.path().join("sendio_backup");
    std::fs::create_dir(&dl).expect("mkdir");
    let start = Instant::now();
    let out = loop {
        // ftpd takes the console's reload within moments.
        let out = ftp_script(control, &dl);
        if !files(&dl).is_empty() || start.elapsed() > SHORT {
            break out;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let said = output_text(&out);
    assert!(said.contains("230 "), "logged in: {said}");
    let got = files(&dl);
    assert_eq!(complete_sets(&got).len(), 1, "{said}");
    let md5 = got.iter().find(|n| n.ends_with(".md5")).expect("a .md5");
    md5sum_check(&dl, md5);

    // Windows Explorer's ftp://sysarchive:<password>@<address>.
    let url = format!("ftp://sysarchive:{FTP_PW}@127.0.0.1:{control}/backup/");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "--list-only", &url])
        .output()
        .expect("curl");
    assert!(out.status.success(), "{}", output_text(&out));
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, got);
    let explorer = work.path().join("explorer");
    std::fs::create_dir(&explorer).expect("mkdir");
    for n in &got {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-o"])
            .arg(explorer.join(n))
            .arg(format!("{url}{n}"))
            .output()
            .expect("curl");
        assert!(out.status.success(), "{n}: {}", output_text(&out));
    }
    md5sum_check(&explorer, md5);

    // Local time: the zone chosen on the console is the system's, and the
    // nightly backup is at 22:00 there.
    vm.login().expect("root login");
    let zone = vm.ok("date +%Z").expect("date");
    assert!(["CET", "CEST"].contains(&zone.trim()), "{zone}");
    let status = vm.ok("backupctl status").expect("status");
    assert!(status.contains("22:00"), "{status}");
    let log = vm
        .ok("grep -F 'logged in (plain FTP)' /data/log/messages")
        .expect("ftpd logs the plain session");
    assert!(log.contains("sysarchive@10.0.2.2"), "{log}");
    vm.poweroff(Duration::from_secs(60))
        .expect("clean power-off");
}
