//! The FTP pull service in the appliance, used from the host through QEMU's
//! port forwards as an administrator would: the guest sees the host as
//! 10.0.2.2. A backup made by backupd is listed and fetched with curl and
//! lftp and passes `md5sum -c`; an address off the FTP Access List and a
//! wrong password are refused; a set uploaded to `restore` is checked and
//! then listed as verified by backupd.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use systest::host::{free_port, free_port_range, output_text};
use systest::{Vm, VmConfig};

const PASSWORD: &str = "blue-harbour-42";
/// `openssl passwd -6 -salt Qx3dV9sTz1Lk blue-harbour-42`
const HASH: &str = "$6$Qx3dV9sTz1Lk$xGvJ7THHor2TLhPiROPO8U8w6pV2N3uA4a8eg8YVrNdZ8spcUmzVG7iRx9/1bNdkAl3gG8n2T5waaUwxQ8HEa.";
const PASSIVE_PORTS: u16 = 6;

fn host(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120").arg(program).args(args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output()
        .unwrap_or_else(|e| panic!("{program} (apt-get install it): {e}"))
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
    let passive = free_port_range(PASSIVE_PORTS);
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
    assert!(out.status.success(), "{}", output_text(&out));
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
        assert!(out.status.success(), "{n}: {}", output_text(&out));
    }
    let md5 = names.iter().find(|n| n.ends_with(".md5")).expect("md5");
    let out = host("md5sum", &["-c", md5], Some(&dl));
    assert!(out.status.success(), "{}", output_text(&out));

    // lftp's mirror (PASV, with the announced address), then md5sum -c.
    let m = work.path().join("mirror");
    let script = format!(
        "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; \
         set net:max-retries 1; set net:timeout 30; \
         open -u sysarchive,{PASSWORD} -p {control} 127.0.0.1; mirror backup {}; quit",
        m.display()
    );
    let out = host("lftp", &["-c", &script], None);
    assert!(out.status.success(), "{}", output_text(&out));
    let out = host("md5sum", &["-c", md5], Some(&m));
    assert!(out.status.success(), "{}", output_text(&out));
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
    assert_eq!(out.status.code(), Some(67), "{}", output_text(&out));
    wait_guest_log(
        &mut vm,
        "10.0.2.2: login refused: wrong password",
        Duration::from_secs(10),
    );

    // The folders as sessions (user ftp) need them, set by ftpd at start.
    assert_eq!(
        vm.ok("stat -c '%U:%G %a' /data/backup /data/restore")
            .expect("stat")
            .trim(),
        "root:ftp 750\nroot:ftp 770"
    );

    // Upload the set to restore (the .md5 last, as mput does) with Python's
    // ftplib over FTPS (storbinary insists on TLS's close_notify), while
    // the session is looked at from inside: it runs as ftp.
    let script = format!(
        "import ftplib, ssl, sys, os\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         f = ftplib.FTP_TLS(context=ctx, timeout=60); f.connect('127.0.0.1', {control})\n\
         f.login('sysarchive', {PASSWORD:?}); f.prot_p(); f.cwd('restore')\n\
         print('IN', flush=True); sys.stdin.readline()\n\
         for n in sys.argv[2:]:\n\
         \x20   with open(os.path.join(sys.argv[1], n), 'rb') as src: print(f.storbinary('STOR ' + n, src))\n\
         f.quit()\n"
    );
    let mut up = Command::new("timeout")
        .args(["300", "python3", "-c", &script, &dl.to_string_lossy()])
        .args(&names)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdout = std::io::BufReader::new(up.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("read");
    assert_eq!(line.trim(), "IN");
    let ids = vm
        .ok("for p in /proc/[0-9]*; do grep -q -e --session $p/cmdline 2>/dev/null && grep -E '^(Uid|Gid|CapEff|NoNewPrivs):' $p/status; done; true")
        .expect("the session's ids");
    assert!(
        ids.contains("Uid:\t21\t21\t21\t21")
            && ids.contains("Gid:\t21\t21\t21\t21")
            && ids.contains("CapEff:\t0000000000000000")
            && ids.contains("NoNewPrivs:\t1"),
        "{ids}"
    );
    std::io::Write::write_all(up.stdin.as_mut().expect("stdin"), b"go\n").expect("go");
    let out = up.wait_with_output().expect("python3");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read");
    assert!(out.status.success(), "{rest}{}", output_text(&out));
    assert_eq!(rest.matches("226 ").count(), names.len(), "{rest}");
    assert_eq!(
        vm.ok("stat -c '%U:%G' /data/restore/*")
            .expect("stat")
            .trim(),
        vec!["ftp:ftp"; names.len()].join("\n")
    );
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
    assert!(!out.status.success(), "{}", output_text(&out));
    wait_guest_log(
        &mut vm,
        "FTP connection from 10.0.2.2 refused: not on the FTP Access List",
        Duration::from_secs(10),
    );
    vm.ok("pidof ftpd").expect("ftpd still runs");
    vm.poweroff(Duration::from_secs(60))
        .expect("clean power-off");
}
