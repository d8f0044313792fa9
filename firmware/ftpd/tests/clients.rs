//! Stock clients pull the sets: curl, lftp's mirror, the Sendio guide's
//! scheduled job with a command-line ftp client, and Python's ftplib.

mod common;

use common::*;
use std::time::Duration;

fn with_sets(setup: Setup) -> (Appliance, Vec<String>) {
    let a = Appliance::start(setup);
    let work = a.tmp.path().join("work");
    // Two sets: a new unit's (compressed) in volumes, as on a FAT32
    // destination, and a plain one of older firmware.
    let mut names = make_set(&work, &a.backup_dir(), 1_795_300_000, Some(32 << 10));
    assert!(names.len() > 3, "{names:?}");
    names.extend(make_set_with(
        &work,
        &a.backup_dir(),
        1_795_390_000,
        None,
        None,
    ));
    names.sort();
    (a, names)
}

#[test]
fn curl_lists_and_downloads_and_md5sum_agrees() {
    let (a, names) = with_sets(Setup::default());
    let out = curl_tls(&["--list-only", &a.url("backup/")]);
    assert!(out.status.success(), "{}", text(&out));
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, names);

    let dl = a.tmp.path().join("dl");
    std::fs::create_dir(&dl).expect("mkdir");
    for n in &names {
        let out = curl_tls(&[
            "-o",
            &dl.join(n).to_string_lossy(),
            &a.url(&format!("backup/{n}")),
        ]);
        assert!(out.status.success(), "{n}: {}", text(&out));
    }
    let check = md5sum_check(&dl);
    assert!(check.status.success(), "{}", text(&check));
    a.wait_log(
        "sysarchive@127.0.0.1: logged in (FTPS)",
        Duration::from_secs(5),
    );
    a.wait_log(
        "sysarchive@127.0.0.1: sent /backup/",
        Duration::from_secs(5),
    );
}

#[test]
fn lftp_mirror_resume_and_a_second_mirror_that_has_nothing_to_do() {
    let (a, names) = with_sets(Setup::default());
    let out = lftp(
        a.port,
        &format!("mirror -v backup {}", a.tmp.path().join("m").display()),
    );
    assert!(out.status.success(), "{}", text(&out));
    let m = a.tmp.path().join("m");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Transferring file"),
        "{}",
        text(&out)
    );
    assert_eq!(Appliance::files(&m), names);
    let check = md5sum_check(&m);
    assert!(check.status.success(), "{}", text(&check));

    // Sizes and times in the listing: mirror finds nothing new.
    let again = lftp(a.port, &format!("mirror -v backup {}", m.display()));
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("Transferring file"),
        "{}",
        text(&again)
    );

    // A cut-off download resumes with REST.
    let big = names.iter().find(|n| n.ends_with(".tar")).expect("a .tar");
    assert!(
        names.iter().any(|n| n.ends_with(".tar.zst.001")),
        "{names:?}"
    );
    let path = m.join(big);
    let full = std::fs::metadata(&path).expect("size").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    f.set_len(full / 3).expect("truncate");
    drop(f);
    let out = lftp_in(a.port, &format!("cd backup; get -c {big}"), Some(&m));
    assert!(out.status.success(), "{}", text(&out));
    let check = md5sum_check(&m);
    assert!(check.status.success(), "{}", text(&check));
    a.wait_log(&format!("from byte {}", full / 3), Duration::from_secs(5));

    // MDTM and SIZE answer for the mirror's checks.
    let out = python(
        a.port,
        "f = tls(); f.cwd('backup'); print(f.size(sys.argv[1])); print(f.sendcmd('MDTM ' + sys.argv[1]))",
        &[big],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&full.to_string()), "{stdout}");
    assert!(stdout.contains("213 20"), "{stdout}");
}

#[test]
fn the_sendio_scheduled_job_works_with_a_command_line_ftp_client() {
    // Windows' ftp.exe speaks plain FTP and only active mode (PORT).
    let (a, names) = with_sets(Setup {
        allow_plain: true,
        ..Setup::default()
    });
    let dl = a.tmp.path().join("sendio_backup");
    std::fs::create_dir(&dl).expect("mkdir");
    let script = format!(
        "user sysarchive {PASSWORD}\nbin\nprompt off\ncd backup\nlcd {}\nmget *.*\nquit\n",
        dl.display()
    );
    let out = std::process::Command::new("timeout")
        .args([
            CLIENT_SECS,
            "ftp",
            "-A",
            "-n",
            "-v",
            "127.0.0.1",
            &a.port.to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(script.as_bytes())?;
            c.wait_with_output()
        })
        .expect("run ftp (apt-get install ftp)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    // Active mode (tnftp tries EPRT first, Windows' ftp.exe sends PORT).
    assert!(
        stdout.contains("200 EPRT command successful")
            || stdout.contains("200 PORT command successful"),
        "{stdout}"
    );
    assert_eq!(Appliance::files(&dl), names, "{stdout}");
    let check = md5sum_check(&dl);
    assert!(check.status.success(), "{}", text(&check));
    a.wait_log("logged in (plain FTP)", Duration::from_secs(5));
}

#[test]
fn python_ftplib_over_tls_with_a_fixed_passive_address() {
    // As behind QEMU's port forward: PASV announces a configured address.
    let (a, names) = with_sets(Setup {
        passive_address: Some("127.0.0.1".parse().expect("ip")),
        ..Setup::default()
    });
    let dl = a.tmp.path().join("py");
    std::fs::create_dir(&dl).expect("mkdir");
    let out = python(
        a.port,
        "f = tls()\n\
         f.trust_server_pasv_ipv4_address = True\n\
         print(f.pwd()); print(f.nlst())\n\
         f.cwd('backup')\n\
         for n in f.nlst():\n\
         \x20   with open(os.path.join(sys.argv[1], n), 'wb') as out: f.retrbinary('RETR ' + n, out.write)\n\
         print(f.sendcmd('PASV'))\n\
         f.quit()\n",
        &[&dl.to_string_lossy()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("['backup', 'restore']"), "{stdout}");
    assert!(stdout.contains("(127,0,0,1,"), "{stdout}");
    assert_eq!(Appliance::files(&dl), names);
    let check = md5sum_check(&dl);
    assert!(check.status.success(), "{}", text(&check));
}

#[test]
fn many_transfers_in_one_session_through_two_passive_ports() {
    // Each data connection the server closes first leaves its port in
    // TIME_WAIT for a minute: without SO_REUSEADDR the third transfer got
    // "425 No passive port is free" (seen with ftplib's storbinary through
    // QEMU's port forward, which allows only a few ports).
    let a = Appliance::start(Setup {
        passive_ports: 2,
        ..Setup::default()
    });
    let out = python(
        a.port,
        "f = tls()\n\
         f.cwd('restore')\n\
         for i in range(10):\n\
         \x20   print(upload(f, 'part%d.bin' % i, os.urandom(50000 + i)))\n\
         for i in range(10):\n\
         \x20   got = io.BytesIO(); f.retrbinary('RETR part%d.bin' % i, got.write)\n\
         \x20   assert len(got.getvalue()) == 50000 + i, i\n\
         print(len(f.nlst()))\n\
         f.quit()\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("226 ").count(), 10, "{stdout}");
    assert!(!stdout.contains("425"), "{stdout}");
}

#[test]
fn lftp_uploads_over_ftps_arrive_whole() {
    // A client that only writes never reads what the server sends after
    // the TLS 1.3 handshake; data connections send nothing then (no
    // session tickets), or lftp's close resets the connection and the end
    // of the upload is lost.
    let a = Appliance::start(Setup::default());
    let src = a.tmp.path().join("up");
    std::fs::create_dir(&src).expect("mkdir");
    let mut names = Vec::new();
    for i in 0..6 {
        let name = format!("part{i}.bin");
        let bytes: Vec<u8> = (0..(300_000 + i * 77_777))
            .map(|b| (b * 7 + i) as u8)
            .collect();
        std::fs::write(src.join(&name), bytes).expect("write");
        names.push(name);
    }
    let out = lftp_in(a.port, "cd restore; mput *.bin", Some(&src));
    assert!(out.status.success(), "{}\n{}", text(&out), a.log_text());
    for n in &names {
        assert_eq!(
            std::fs::read(a.restore_dir().join(n)).expect("uploaded"),
            std::fs::read(src.join(n)).expect("source"),
            "{n}"
        );
    }
    assert!(!a.log_text().contains("cut off"), "{}", a.log_text());
}
