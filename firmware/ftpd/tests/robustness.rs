//! The service outlives its clients: many at once, one that stops reading,
//! one that breaks TLS on the data connection, a broken configuration; and
//! it stops cleanly on SIGTERM.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn md5_of(path: &std::path::Path) -> String {
    let out = run("md5sum", &[&path.to_string_lossy()]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("md5sum output")
        .to_string()
}

#[test]
fn many_parallel_connections_are_served_or_told_to_come_back() {
    let a = Appliance::start(Setup::default());
    let work = a.tmp.path().join("work");
    let names = make_set(&work, &a.backup_dir(), 1_795_300_000, None);
    let tar = &names[0];
    let want = md5_of(&a.backup_dir().join(tar));
    let script = format!(
        "import ftplib, ssl, hashlib, time\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         try:\n\
         \x20   f = ftplib.FTP_TLS(context=ctx, timeout=30); f.connect('127.0.0.1', {port})\n\
         \x20   f.login('sysarchive', {PASSWORD:?}); f.prot_p()\n\
         \x20   h = hashlib.md5(); f.retrbinary('RETR /backup/{tar}', h.update)\n\
         \x20   time.sleep(1); f.quit()\n\
         \x20   print('OK' if h.hexdigest() == '{want}' else 'WRONG BYTES')\n\
         except ftplib.error_temp as e: print('BUSY', e)\n",
        port = a.port
    );
    let clients: Vec<_> = (0..20)
        .map(|_| {
            Command::new("timeout")
                .args([CLIENT_SECS, "python3", "-c", &script])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("python3")
        })
        .collect();
    let mut ok = 0;
    let mut busy = 0;
    for c in clients {
        let out = c.wait_with_output().expect("python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.trim() {
            "OK" => ok += 1,
            s if s.starts_with("BUSY 421 Too many connections") => busy += 1,
            _ => panic!("a client failed: {}", text(&out)),
        }
    }
    assert_eq!(ok + busy, 20);
    assert!(ok >= 8, "{ok} served");
    if busy > 0 {
        a.wait_log(
            "already 8 sessions from this address",
            Duration::from_secs(5),
        );
    }
    a.wait_no_sessions(Duration::from_secs(10));
    let out = curl_tls(&["--list-only", &a.url("backup/")]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_client_that_stops_reading_loses_its_transfer_not_the_service() {
    let a = Appliance::start_with(Setup::default(), &["--stall-secs", "2"]);
    let big = a.backup_dir().join("mx1-F20261122T220000Z.tar");
    std::fs::write(&big, vec![7u8; 32 << 20]).expect("write");
    // Reads 64 KiB of a 32 MiB download, then holds both connections open.
    let mut stalled = Command::new("timeout")
        .args([
            CLIENT_SECS,
            "python3",
            "-c",
            &format!(
                "import ftplib, ssl, time\n\
                 ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
                 f = ftplib.FTP_TLS(context=ctx, timeout=30); f.connect('127.0.0.1', {})\n\
                 f.login('sysarchive', {PASSWORD:?}); f.prot_p()\n\
                 c = f.transfercmd('RETR /backup/mx1-F20261122T220000Z.tar')\n\
                 c.recv(65536); print('STALLED', flush=True)\n\
                 time.sleep(50)\n",
                a.port
            ),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(stalled.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line.trim(), "STALLED");
    // Others are served meanwhile.
    let out = curl_tls(&[
        "-o",
        "/dev/null",
        &a.url("backup/mx1-F20261122T220000Z.tar"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // The stalled transfer is dropped; its session stays until the client goes.
    let line = a.wait_log(
        "download of /backup/mx1-F20261122T220000Z.tar stopped after",
        Duration::from_secs(15),
    );
    assert!(line.contains("no data moved for 2 s"), "{line}");
    stop_client(&mut stalled);
    a.wait_no_sessions(Duration::from_secs(10));
    let out = curl_tls(&["--list-only", &a.url("")]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_broken_tls_data_connection_fails_only_its_transfer() {
    let a = Appliance::start(Setup::default());
    std::fs::write(a.backup_dir().join("x.tar"), b"data").expect("write");
    // libunftp 0.24 panicked when the TLS handshake on a data connection
    // failed; the front ends TLS itself, and only the transfer fails.
    let out = python(
        a.port,
        "f = tls()\n\
         port = int(f.sendcmd('EPSV').split('|')[3])\n\
         d = socket.create_connection(('127.0.0.1', port))\n\
         f.putcmd('RETR /backup/x.tar')\n\
         d.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); d.close()\n\
         print(f.getmultiline()); print(f.getmultiline())\n\
         print(f.voidcmd('NOOP')); print(f.nlst('/backup'))\n",
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.starts_with("150"), "{}", text(&out));
    assert!(stdout.contains("\n426 "), "{}", text(&out));
    assert!(stdout.contains("200"), "{}", text(&out));
    assert!(stdout.contains("['x.tar']"), "{}", text(&out));
    a.wait_log(
        "the TLS handshake on the data connection failed",
        Duration::from_secs(10),
    );
    assert!(!a.log_text().contains("internal error"), "{}", a.log_text());
}

#[test]
fn a_broken_configuration_keeps_the_last_good_one() {
    let a = Appliance::start(Setup::default());
    std::fs::write(
        a.root.join("config/appliance.toml"),
        "[ftp]\naccess_list = [\"10.0.0.1/8\"]\n",
    )
    .expect("write");
    a.signal(nix::sys::signal::Signal::SIGHUP);
    let line = a.wait_log(
        "keeping the last good configuration",
        Duration::from_secs(5),
    );
    assert!(line.contains("host bits"), "{line}");
    let out = curl_tls(&["--list-only", &a.url("")]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn sigterm_ends_the_sessions_and_removes_unfinished_uploads() {
    let mut a = Appliance::start(Setup::default());
    let mut up = Command::new("timeout")
        .args([
            CLIENT_SECS,
            "python3",
            "-c",
            &format!(
                "import ftplib, ssl, time\n\
                 ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
                 f = ftplib.FTP_TLS(context=ctx, timeout=30); f.connect('127.0.0.1', {})\n\
                 f.login('sysarchive', {PASSWORD:?}); f.prot_p()\n\
                 c = f.transfercmd('STOR /restore/half.bin'); c.sendall(b'x' * 100000)\n\
                 print('SENDING', flush=True); time.sleep(50)\n",
                a.port
            ),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(up.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line.trim(), "SENDING");
    assert_eq!(
        Appliance::files(&a.restore_dir()).len(),
        1,
        "the temporary file"
    );
    let status = a.stop();
    assert!(status.success(), "{status}: {}", a.log_text());
    a.wait_log("session closed: ftpd is stopping", Duration::from_secs(1));
    a.wait_log("stopped", Duration::from_secs(1));
    assert!(Appliance::files(&a.restore_dir()).is_empty());
    stop_client(&mut up);
}
