//! Uploads to `restore`: hidden until complete, gone when abandoned or when
//! the disk fills, and sets checked against their `.md5` before backupd
//! offers them to the console.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Python that starts uploading `size` bytes to `path`, sends the first
/// half, prints HALF, then waits for a line on stdin: `GO` finishes the
/// upload, `DIE` exits on the spot (both connections close).
fn half_upload(port: u16, tls: bool, path: &str, size: usize) -> std::process::Child {
    let login = if tls {
        "f = ftplib.FTP_TLS(context=ctx, timeout=20); f.connect('127.0.0.1', PORT); f.login('sysarchive', PW); f.prot_p()"
    } else {
        "f = ftplib.FTP(timeout=20); f.connect('127.0.0.1', PORT); f.login('sysarchive', PW)"
    };
    let script = format!(
        "import ftplib, ssl, sys, os\n\
         PORT = {port}; PW = {PASSWORD:?}\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         {login}\n\
         data = bytes(range(256)) * ({size} // 256)\n\
         c = f.transfercmd('STOR {path}')\n\
         c.sendall(data[:len(data) // 2])\n\
         print('HALF', flush=True)\n\
         if sys.stdin.readline().strip() == 'DIE': os._exit(0)\n\
         c.sendall(data[len(data) // 2:])\n\
         try: c.unwrap()\n\
         except (ssl.SSLError, OSError, AttributeError): pass\n\
         c.close()\n\
         print(f.voidresp(), flush=True)\n"
    );
    let mut child = Command::new("timeout")
        .args([CLIENT_SECS, "python3", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line.trim(), "HALF", "the upload did not start");
    child
}

fn say(child: &mut std::process::Child, word: &str) {
    writeln!(child.stdin.as_mut().expect("stdin"), "{word}").expect("write");
}

fn temp_uploads(dir: &Path) -> Vec<String> {
    Appliance::files(dir)
        .into_iter()
        .filter(|n| n.starts_with(".ftp-upload."))
        .collect()
}

#[test]
fn an_upload_appears_under_its_name_only_when_complete() {
    let a = Appliance::start(Setup::default());
    let size = 4 << 20;
    let mut up = half_upload(a.port, true, "/restore/big.bin", size);
    // Half-way: a hidden temporary file, invisible to other clients.
    let temps = temp_uploads(&a.restore_dir());
    assert_eq!(temps.len(), 1, "{:?}", Appliance::files(&a.restore_dir()));
    assert!(temps[0].ends_with(".big.bin"), "{temps:?}");
    assert!(!a.restore_dir().join("big.bin").exists());
    let out = curl_tls(&["--list-only", &a.url("restore/")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");

    say(&mut up, "GO");
    let out = up.wait_with_output().expect("python");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("226"),
        "{}",
        text(&out)
    );
    let got = std::fs::read(a.restore_dir().join("big.bin")).expect("uploaded");
    let want: Vec<u8> = (0..size).map(|i| (i % 256) as u8).collect();
    assert!(got == want, "the uploaded bytes differ");
    assert!(temp_uploads(&a.restore_dir()).is_empty());
    a.wait_log(
        "received /restore/big.bin (4194304 bytes)",
        Duration::from_secs(5),
    );

    // Nothing to resume or append to: refused, and the file stays as it was.
    let out = python(
        a.port,
        "f = tls()\n\
         for cmd in ['REST 100', None]:\n\
         \x20   try:\n\
         \x20       if cmd: f.sendcmd(cmd)\n\
         \x20       c = f.transfercmd('APPE /restore/big.bin' if cmd is None else 'STOR /restore/big.bin')\n\
         \x20       c.sendall(b'more'); c.close(); print(f.voidresp())\n\
         \x20   except ftplib.Error as e: print('refused', e)\n",
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("refused 502")
            .count(),
        2,
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(a.restore_dir().join("big.bin")).expect("still there"),
        want
    );
}

#[test]
fn abandoned_uploads_leave_nothing_behind() {
    let a = Appliance::start(Setup {
        allow_plain: true,
        ..Setup::default()
    });
    // Over TLS the cut shows as a missing end of TLS data; over plain FTP
    // the data connection just ends, and the closed control connection
    // tells an abandoned upload from a complete one.
    for (tls, name) in [(true, "cut-tls.bin"), (false, "cut-plain.bin")] {
        let mut up = half_upload(a.port, tls, &format!("/restore/{name}"), 2 << 20);
        say(&mut up, "DIE");
        let _ = up.wait();
        let line = a.wait_log(
            &format!("upload of /restore/{name} "),
            Duration::from_secs(10),
        );
        assert!(line.contains("the partial file was removed"), "{line}");
        assert!(!a.restore_dir().join(name).exists(), "{}", a.log_text());
    }
    assert!(temp_uploads(&a.restore_dir()).is_empty());

    // A session that dies mid-upload: the supervisor removes its file.
    let mut up = half_upload(a.port, true, "/restore/killed.bin", 2 << 20);
    let line = a.wait_log_n(
        "connection from 127.0.0.1 (session ",
        3,
        Duration::from_secs(5),
    );
    let pid: i32 = line
        .rsplit("(session ")
        .next()
        .and_then(|r| r.trim_end_matches(')').parse().ok())
        .expect("session pid");
    assert_eq!(temp_uploads(&a.restore_dir()).len(), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the session");
    a.wait_log(
        &format!("session {pid} of 127.0.0.1 ended abnormally (signal SIGKILL)"),
        Duration::from_secs(5),
    );
    a.wait_log(
        "removed the unfinished upload .ftp-upload.",
        Duration::from_secs(5),
    );
    assert!(temp_uploads(&a.restore_dir()).is_empty());
    stop_client(&mut up);
}

/// (7) Uploads never take the data partition below the floor the mail
/// store keeps (5 % of it, at most 1 GiB): an upload that would is cut off
/// with 452 and removed, and when the partition is at the floor uploads
/// are refused before any byte moves.
#[test]
fn uploads_stop_at_the_free_space_kept_for_the_mail_store() {
    let a = Appliance::start(Setup::default());
    let restore = a.restore_dir();
    // A real, small file system of 64 MiB: the floor is 3.2 MiB (the tests
    // run as root).
    nix::mount::mount(
        Some("tmpfs"),
        &restore,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=64m"),
    )
    .expect("mount a 64 MiB tmpfs on restore/ (tests run as root)");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _guard = Unmount(&restore);
    let floor = "452 Insufficient storage space: the appliance keeps 3 MiB free for the mail store";

    // 62 MiB into 64: stopped at the floor, nothing left behind.
    let big = a.tmp.path().join("big.bin");
    std::fs::write(&big, vec![0x5a; 62 << 20]).expect("write");
    let out = curl_tls(&["-T", &big.to_string_lossy(), &a.url("restore/big.bin")]);
    assert!(!out.status.success(), "{}", text(&out));
    a.wait_log(
        "upload of /restore/big.bin failed after",
        Duration::from_secs(10),
    );
    assert!(
        a.log_text().contains(
            "the data partition would go below the 3 MiB kept free for the mail store; the partial file was removed"
        ),
        "{}",
        a.log_text()
    );
    assert!(
        Appliance::files(&restore).is_empty(),
        "{:?}",
        Appliance::files(&restore)
    );
    let space = ftpd::space::Space::of(&restore).expect("statvfs");
    assert!(space.available > 60 << 20, "{space:?}");

    // What fits above the floor goes through.
    let fits = a.tmp.path().join("fits.bin");
    std::fs::write(&fits, vec![0x11; 40 << 20]).expect("write");
    let out = curl_tls(&["-T", &fits.to_string_lossy(), &a.url("restore/fits.bin")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::metadata(restore.join("fits.bin"))
            .expect("uploaded")
            .len(),
        40 << 20
    );

    // The mail store fills the rest down to the floor: the next upload is
    // refused at once, with the floor in the reply (ftplib, and curl).
    let filler = restore.join(".mail-store-growth");
    std::fs::write(&filler, vec![0u8; 21 << 20]).expect("fill");
    let out = python(
        a.port,
        "f = tls()\n\
         try: f.storbinary('STOR /restore/small.bin', io.BytesIO(b'x' * 1000)); print('STORED')\n\
         except ftplib.Error as e: print('refused', e)\n\
         print(f.voidcmd('NOOP'))\n",
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("refused {floor}")),
        "{}",
        text(&out)
    );
    assert!(stdout.contains("200"), "the session goes on: {stdout}");
    let small = a.tmp.path().join("small.bin");
    std::fs::write(&small, b"fits").expect("write");
    let out = curl_tls(&["-T", &small.to_string_lossy(), &a.url("restore/small.bin")]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("452"),
        "{}",
        text(&out)
    );
    a.wait_log(
        "refused STOR /restore/small.bin: Insufficient storage space",
        Duration::from_secs(5),
    );

    // Space again: a small upload goes through.
    std::fs::remove_file(&filler).expect("rm");
    let out = curl_tls(&["-T", &small.to_string_lossy(), &a.url("restore/small.bin")]);
    assert!(out.status.success(), "{}\n{}", text(&out), a.log_text());
    assert_eq!(
        std::fs::read(restore.join("small.bin")).expect("read"),
        b"fits"
    );
}

#[test]
fn uploaded_sets_are_checked_before_the_console_offers_them() {
    let a = Appliance::start(Setup::default());
    let work = a.tmp.path().join("work");
    let good_dir = work.join("good");
    let good = make_set(&work, &good_dir, 1_795_300_000, Some(32 << 10));
    let bad_dir = work.join("bad");
    // A plain set, as older firmware wrote them; the good one is compressed.
    let bad = make_set_with(&work, &bad_dir, 1_795_390_000, None, None);
    // One byte of the second set changes on the way.
    let tar = bad_dir.join(&bad[0]);
    let mut bytes = std::fs::read(&tar).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&tar, bytes).expect("write");

    // The good set volumes first, as mput *.* does; the bad one .md5 first.
    let mut script = String::from("cd restore");
    for n in &good {
        script.push_str(&format!("; put {}", good_dir.join(n).display()));
    }
    for n in bad.iter().rev() {
        script.push_str(&format!("; put {}", bad_dir.join(n).display()));
    }
    let out = lftp(a.port, &script);
    assert!(out.status.success(), "{}", text(&out));
    a.wait_log(
        &format!("restore folder: {} matches its .md5 file", good[0]),
        Duration::from_secs(20),
    );
    a.wait_log(
        &format!("restore folder: {} cannot be restored from", bad[0]),
        Duration::from_secs(20),
    );

    let sets = backupd::service::sets_in(&a.restore_dir()).expect("list the restore folder");
    let by_name = |n: &str| sets.iter().find(|s| s.name == n).expect("listed");
    let g = by_name(&good[0]);
    assert!(g.complete);
    assert_eq!(g.verified, Some(true));
    assert_eq!(g.volumes as usize, good.len() - 1);
    assert!(g.volumes > 1, "a set in several volumes");
    assert!(good[0].ends_with(".tar.zst"), "{good:?}");
    assert!(bad[0].ends_with(".tar"), "{bad:?}");
    let b = by_name(&bad[0]);
    assert!(b.complete);
    assert_eq!(b.verified, Some(false));
    assert!(
        b.problem.as_deref().unwrap_or("").contains("MD5 differs"),
        "{b:?}"
    );
    let table = backupd::cli::format_sets(&sets);
    assert!(table.contains("complete, verified"), "{table}");
    assert!(table.contains("FAILED CHECK"), "{table}");

    // The record of the checks is not for FTP clients.
    let out = curl_tls(&["--list-only", &a.url("restore/")]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(".verified"));

    // Replacing the bad volume with the right bytes: checked again, now good.
    let fixed = make_set_with(&work, &work.join("again"), 1_795_390_000, None, None);
    assert_eq!(fixed, bad);
    let out = lftp(
        a.port,
        &format!(
            "cd restore; put {}; put {}",
            work.join("again").join(&fixed[0]).display(),
            work.join("again").join(&fixed[1]).display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    a.wait_log(
        &format!("restore folder: {} matches its .md5 file", bad[0]),
        Duration::from_secs(20),
    );
    let sets = backupd::service::sets_in(&a.restore_dir()).expect("list");
    assert!(sets.iter().all(|s| s.verified == Some(true)), "{sets:?}");
}
