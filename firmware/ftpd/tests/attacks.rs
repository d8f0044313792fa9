//! Attacks that must fail, against the default settings (FTPS required,
//! the FTP Access List naming the client): clear data behind a TLS login,
//! FTP bounce and port scans through PORT/EPRT, a command line without
//! end, a session's privileges, TLS data cut short, and password guessing
//! from parallel sessions. (The free-space floor is in `uploads.rs`.)

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts Python with the common prelude, its output piped line by line.
fn python_child(port: u16, script: &str) -> std::process::Child {
    let prelude = format!(
        "import ftplib, ssl, socket, sys, time, os, io, select\n\
         PORT = {port}\nPW = {PASSWORD:?}\n\
         CTX = ssl.create_default_context()\n\
         CTX.check_hostname = False\nCTX.verify_mode = ssl.CERT_NONE\n\
         def tls():\n\
         \x20   f = ftplib.FTP_TLS(context=CTX, timeout=20)\n\
         \x20   f.connect('127.0.0.1', PORT)\n\
         \x20   f.login('sysarchive', PW)\n\
         \x20   f.prot_p()\n\
         \x20   return f\n"
    );
    Command::new("timeout")
        .args([CLIENT_SECS, "python3", "-c", &format!("{prelude}{script}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3")
}

/// The child's output, a line at a time.
fn lines_of(child: &mut std::process::Child) -> BufReader<std::process::ChildStdout> {
    BufReader::new(child.stdout.take().expect("stdout"))
}

fn read_line(out: &mut BufReader<std::process::ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    line.trim().to_string()
}

/// (1) With FTPS required, a client logged in over TLS asks for clear data
/// (`PROT C`, or no `PROT` at all) with every kind of data connection and
/// every data command: all refused with 521, and nothing connects.
#[test]
fn clear_data_is_refused_on_every_channel_and_for_every_command() {
    let a = Appliance::start(Setup::default());
    std::fs::write(a.backup_dir().join("x.tar"), b"secret set").expect("write");
    let script = "f = ftplib.FTP_TLS(context=CTX, timeout=20)\n\
        f.connect('127.0.0.1', PORT); f.login('sysarchive', PW)\n\
        lsn = socket.socket(); lsn.bind(('127.0.0.1', 0)); lsn.listen(5); lsn.settimeout(1)\n\
        p = lsn.getsockname()[1]\n\
        def show(cmd):\n\
        \x20   try: r = f.sendcmd(cmd)\n\
        \x20   except ftplib.Error as e: r = str(e)\n\
        \x20   print(cmd.split()[0], r)\n\
        for prot in [None, 'PROT C']:\n\
        \x20   if prot: show(prot)\n\
        \x20   for setup in ['PASV', 'EPSV', 'PORT 127,0,0,1,%d,%d' % (p >> 8, p & 255), 'EPRT |1|127.0.0.1|%d|' % p]:\n\
        \x20       show(setup)\n\
        \x20       for cmd in ['LIST', 'NLST', 'MLSD', 'RETR /backup/x.tar', 'STOR /restore/y.tar', 'APPE /restore/y.tar', 'STOU']:\n\
        \x20           show(cmd)\n\
        try: lsn.accept(); print('CONNECTED')\n\
        except socket.timeout: print('nothing connected')\n\
        print(f.sendcmd('STAT'))\n\
        f.prot_p(); print('with PROT P:', f.nlst('/backup'))\n\
        print(f.sendcmd('STAT'))\n";
    let out = python(a.port, script, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // 2 x (4 set-ups + 4 x 7 commands) answers, and PROT C.
    let refused: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" 521 Data connections must be protected (PROT P)"))
        .collect();
    assert_eq!(refused.len(), 2 * (4 + 4 * 7), "{stdout}");
    assert!(
        stdout.contains("PROT 534 Data connections must be protected (PROT P): PROT C is refused."),
        "{stdout}"
    );
    assert!(stdout.contains("nothing connected"), "{stdout}");
    assert!(stdout.contains("with PROT P: ['x.tar']"), "{stdout}");
    // STAT tells the truth about the client's connections.
    assert!(
        stdout.contains(
            "Logged in as sysarchive\n Control connection in TLS\n Data connections in clear"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Data connections in TLS (PROT P)"),
        "{stdout}"
    );
    assert!(!a.restore_dir().join("y.tar").exists());

    // Real clients asking for clear data get nothing either.
    let dl = a.tmp.path().join("dl");
    std::fs::create_dir(&dl).expect("mkdir");
    let out = run(
        "curl",
        &[
            "-sS",
            "--ftp-ssl-control",
            "-k",
            "--user",
            &format!("sysarchive:{PASSWORD}"),
            "-o",
            &dl.join("curl.tar").to_string_lossy(),
            &a.url("backup/x.tar"),
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    let out = run(
        "lftp",
        &[
            "-c",
            &format!(
                "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data no; \
                 set net:max-retries 1; set net:timeout 10; \
                 open -u sysarchive,{PASSWORD} -p {} 127.0.0.1; get backup/x.tar -o {}",
                a.port,
                dl.join("lftp.tar").display()
            ),
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    for f in Appliance::files(&dl) {
        let got = std::fs::read(dl.join(&f)).expect("read");
        assert!(got.is_empty(), "{f} received data in clear");
    }
    a.wait_log(
        "127.0.0.1: refused PASV without PROT P: FTPS is required",
        Duration::from_secs(5),
    );
}

/// (2) PORT and EPRT to another host, or to a port below 1024: refused,
/// and nothing is connected (no FTP bounce, no port scan). To the client
/// itself they work (active mode, as Windows' ftp.exe needs).
#[test]
fn port_and_eprt_go_only_to_the_client_itself() {
    let a = Appliance::start(Setup::default());
    std::fs::write(a.backup_dir().join("x.tar"), b"set bytes").expect("write");
    let script = "f = tls()\n\
        other = socket.socket(); other.bind(('127.0.0.2', 0)); other.listen(5); other.settimeout(1)\n\
        low = socket.socket(); low.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
        low.bind(('127.0.0.1', 1000)); low.listen(5); low.settimeout(1)\n\
        q = other.getsockname()[1]\n\
        def show(cmd):\n\
        \x20   try: r = f.sendcmd(cmd)\n\
        \x20   except ftplib.Error as e: r = str(e)\n\
        \x20   print(cmd, '->', r[:3])\n\
        for cmd in ['PORT 127,0,0,2,%d,%d' % (q >> 8, q & 255), 'EPRT |1|127.0.0.2|%d|' % q,\n\
        \x20           'EPRT |1|192.0.2.1|25|', 'PORT 127,0,0,1,3,232', 'EPRT |1|127.0.0.1|1000|',\n\
        \x20           'EPRT |2|::1|%d|' % q, 'PORT 127,0,0,1,300,1', 'EPRT |1|127.0.0.2|%d|' % q]:\n\
        \x20   show(cmd)\n\
        \x20   show('RETR /backup/x.tar')\n\
        for s, name in [(other, 'other host'), (low, 'low port')]:\n\
        \x20   try: s.accept(); print('CONNECTED to', name)\n\
        \x20   except socket.timeout: print('nothing connected to', name)\n\
        f.set_pasv(False); got = []\n\
        f.retrbinary('RETR /backup/x.tar', got.append); print('active:', b''.join(got))\n";
    let out = python(a.port, script, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("-> 501").count(), 8, "{stdout}");
    assert_eq!(
        stdout.matches("RETR /backup/x.tar -> 425").count(),
        8,
        "{stdout}"
    );
    assert!(
        stdout.contains("nothing connected to other host"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing connected to low port"), "{stdout}");
    assert!(stdout.contains("active: b'set bytes'"), "{stdout}");
    a.wait_log(
        "refused EPRT to 192.0.2.1:25: only the client's own address and ports from 1024 up",
        Duration::from_secs(5),
    );

    // curl in active mode: to another address refused, to itself served.
    let dl = a.tmp.path().join("dl");
    std::fs::create_dir(&dl).expect("mkdir");
    let out = curl_tls(&[
        "--ftp-port",
        "127.0.0.2",
        "-o",
        &dl.join("bounce").to_string_lossy(),
        &a.url("backup/x.tar"),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!dl.join("bounce").exists() || std::fs::read(dl.join("bounce")).expect("r").is_empty());
    // lftp in active mode over FTPS (curl 7.88 never starts TLS on an
    // active data connection, with any server).
    let out = lftp_in(
        a.port,
        "set ftp:passive-mode no; get backup/x.tar -o active",
        Some(&dl),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(dl.join("active")).expect("read"),
        b"set bytes"
    );
    a.wait_log("refused EPRT to 127.0.0.2:", Duration::from_secs(5));
}

/// Sends 10 MiB without a newline (before TLS, or after `AUTH TLS`) and
/// watches the session's memory; returns what the client saw and the
/// session's peak resident size in KiB.
fn endless_line(a: &Appliance, n: usize, tls: bool) -> (String, u64) {
    let script = format!(
        "s = socket.create_connection(('127.0.0.1', PORT)); s.settimeout(10)\n\
         def line():\n\
         \x20   b = b''\n\
         \x20   while not b.endswith(b'\\n'):\n\
         \x20       c = s.recv(1)\n\
         \x20       if not c: break\n\
         \x20       b += c\n\
         \x20   return b.decode().strip()\n\
         print(line(), flush=True)\n\
         if {tls}:\n\
         \x20   s.sendall(b'AUTH TLS\\r\\n'); print(line(), flush=True)\n\
         \x20   s = CTX.wrap_socket(s)\n\
         print('READY', flush=True); sys.stdin.readline()\n\
         s.setblocking(False); sent = 0; got = b''; chunk = b'A' * 16384\n\
         while sent < (10 << 20) and b'\\n' not in got:\n\
         \x20   try:\n\
         \x20       d = s.recv(4096)\n\
         \x20       if not d: break\n\
         \x20       got += d\n\
         \x20   except (ssl.SSLWantReadError, BlockingIOError): pass\n\
         \x20   except OSError as e: print('recv failed:', type(e).__name__); break\n\
         \x20   try: sent += s.send(chunk)\n\
         \x20   except (ssl.SSLWantWriteError, BlockingIOError): time.sleep(0.001)\n\
         \x20   except OSError as e: print('send failed:', type(e).__name__); break\n\
         print('SENT', sent)\n\
         s.setblocking(True); s.settimeout(10)\n\
         try:\n\
         \x20   while b'\\n' not in got:\n\
         \x20       d = s.recv(4096)\n\
         \x20       if not d: break\n\
         \x20       got += d\n\
         except OSError as e: print('recv failed:', type(e).__name__)\n\
         print('REPLY', got.split(b'\\n')[0].decode().strip())\n\
         try: print('THEN', repr(s.recv(100)))\n\
         except OSError as e: print('THEN', type(e).__name__)\n",
        tls = if tls { "True" } else { "False" }
    );
    let mut child = python_child(a.port, &script);
    let mut out = lines_of(&mut child);
    loop {
        let l = read_line(&mut out);
        if l == "READY" {
            break;
        }
        assert!(!l.is_empty(), "the client stopped early");
    }
    let pid = a.session_pid(n);
    let kib = |v: Option<String>| -> Option<u64> { v?.split_whitespace().next()?.parse().ok() };
    let before = kib(proc_status(pid, "VmRSS")).expect("session running");
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        let end = Instant::now() + Duration::from_secs(30);
        while let Some(hwm) = kib(proc_status(pid, "VmHWM")) {
            peak = peak.max(hwm);
            if Instant::now() > end {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        peak
    });
    writeln!(child.stdin.as_mut().expect("stdin"), "go").expect("go");
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut out, &mut seen).expect("read");
    let _ = child.wait();
    let peak = sampler.join().expect("sampler");
    println!(
        "{}: session RSS {before} KiB before the line, peak {peak} KiB; client: {}",
        if tls { "after AUTH TLS" } else { "in clear" },
        seen.replace('\n', " | ")
    );
    (seen, peak)
}

/// (3) A command line that never ends: the session answers 500 after 4 KiB,
/// closes, and its memory stays where it was.
#[test]
fn an_endless_command_line_ends_the_session_in_bounded_memory() {
    let a = Appliance::start(Setup::default());
    for (n, tls) in [(1, false), (2, true)] {
        let (seen, peak_kib) = endless_line(&a, n, tls);
        assert!(
            seen.contains(
                "REPLY 500 Command line too long (more than 4096 bytes): closing the session."
            ),
            "{seen}"
        );
        assert!(
            seen.contains("THEN b''") || seen.contains("THEN Connection"),
            "closed: {seen}"
        );
        let sent: u64 = seen
            .lines()
            .find_map(|l| l.strip_prefix("SENT "))
            .and_then(|s| s.trim().parse().ok())
            .expect("SENT");
        assert!(sent < 10 << 20, "the session kept reading: {sent}");
        assert!(peak_kib < 32 << 10, "session peak {peak_kib} KiB");
    }
    a.wait_log(
        "127.0.0.1: a command line longer than 4096 bytes; closing the session",
        Duration::from_secs(5),
    );
    a.wait_no_sessions(Duration::from_secs(10));
}

/// (4) A session runs as the user ftp with nothing left of root: it cannot
/// read the configuration (the password hash) or the TLS key, nor write to
/// backup/; the supervisor stays root.
#[test]
fn sessions_run_unprivileged() {
    let mut a = Appliance::start(Setup::default());
    let mut child = python_child(
        a.port,
        "f = tls(); print('IN', flush=True); sys.stdin.readline(); f.quit()\n",
    );
    let mut out = lines_of(&mut child);
    assert_eq!(read_line(&mut out), "IN");
    let pid = a.session_pid(1);
    let field = |f: &str| proc_status(pid, f).unwrap_or_else(|| panic!("{f} of the session"));
    assert_eq!(field("Uid"), "21\t21\t21\t21");
    assert_eq!(field("Gid"), "21\t21\t21\t21");
    assert_eq!(field("Groups"), "");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(field(cap), "0000000000000000", "{cap}");
    }
    assert_eq!(field("NoNewPrivs"), "1");
    let supervisor = a.supervisor_pid();
    assert_eq!(
        proc_status(supervisor, "Uid").expect("supervisor"),
        "0\t0\t0\t0"
    );

    // What the session's user and group may do with the data folder.
    let as_session = |cmd: &str| {
        Command::new("setpriv")
            .args([
                "--reuid=21",
                "--regid=21",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "sh",
                "-c",
                cmd,
            ])
            .current_dir(&a.root)
            .output()
            .expect("setpriv (util-linux)")
    };
    for denied in [
        "cat config/appliance.toml",
        "cat sslcert/server.key",
        "touch backup/planted.tar",
    ] {
        let out = as_session(denied);
        assert!(!out.status.success(), "{denied}: {}", text(&out));
    }
    std::fs::write(a.backup_dir().join("x.tar"), b"x").expect("write");
    assert!(!as_session("rm backup/x.tar").status.success());
    assert!(a.backup_dir().join("x.tar").exists());
    assert!(as_session("cat backup/x.tar >/dev/null").status.success());
    assert!(
        as_session("touch restore/probe && rm restore/probe")
            .status
            .success()
    );
    writeln!(child.stdin.as_mut().expect("stdin"), "bye").expect("bye");
    let _ = child.wait();
    let _ = a.stop();
}

/// (5) Python's ftplib over FTPS (prot_p) stores a set with `storbinary`
/// and reads it back with `retrbinary`, passive and active: TLS data
/// connections end with close_notify, so neither call errs.
#[test]
fn ftplib_storbinary_and_retrbinary_over_ftps() {
    let a = Appliance::start(Setup::default());
    let work = a.tmp.path().join("work");
    let names = make_set(&work, &work.join("set"), 1_795_300_000, None);
    let out = python(
        a.port,
        "import hashlib\n\
         for passive in [True, False]:\n\
         \x20   f = tls(); f.set_pasv(passive); f.cwd('restore')\n\
         \x20   for n in sys.argv[2:]:\n\
         \x20       data = open(os.path.join(sys.argv[1], n), 'rb').read()\n\
         \x20       print(f.storbinary('STOR ' + n, io.BytesIO(data)))\n\
         \x20       h = hashlib.md5(); print(f.retrbinary('RETR ' + n, h.update))\n\
         \x20       print('same' if h.hexdigest() == hashlib.md5(data).hexdigest() else 'DIFFERENT')\n\
         \x20   f.quit()\n",
        &[&work.join("set").to_string_lossy(), &names[0], &names[1]],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("226 ").count(), 8, "{stdout}");
    assert_eq!(stdout.matches("same").count(), 4, "{stdout}");
    assert!(!stdout.contains("DIFFERENT"), "{stdout}");
    a.wait_log(
        &format!("restore folder: {} matches its .md5 file", names[0]),
        Duration::from_secs(20),
    );
}

/// (6) Guessing passwords from 8 parallel sessions for a minute: the
/// address gets a handful of tries, whatever the number of sessions
/// (it got 24 a minute before they were paced across sessions).
#[test]
fn password_guessing_from_parallel_sessions_is_paced() {
    let a = Appliance::start(Setup::default());
    let secs = 60;
    let script = format!(
        "import threading\n\
         SECS = {secs}; lock = threading.Lock(); verdicts = []; refused = [0]; t0 = time.time()\n\
         def worker(i):\n\
         \x20   n = 0\n\
         \x20   while time.time() - t0 < SECS:\n\
         \x20       try:\n\
         \x20           f = ftplib.FTP_TLS(context=CTX, timeout=SECS + 5); f.connect('127.0.0.1', PORT)\n\
         \x20       except ftplib.error_temp:\n\
         \x20           with lock: refused[0] += 1\n\
         \x20           time.sleep(0.2); continue\n\
         \x20       except (OSError, EOFError):\n\
         \x20           time.sleep(0.2); continue\n\
         \x20       try:\n\
         \x20           f.auth()\n\
         \x20           while time.time() - t0 < SECS:\n\
         \x20               n += 1\n\
         \x20               try: f.login('sysarchive', 'guess-%d-%d' % (i, n)); print('LOGGED IN'); return\n\
         \x20               except ftplib.error_perm:\n\
         \x20                   with lock: verdicts.append(time.time() - t0)\n\
         \x20       except (OSError, EOFError, ftplib.Error): pass\n\
         \x20       finally:\n\
         \x20           try: f.close()\n\
         \x20           except Exception: pass\n\
         ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]\n\
         [t.start() for t in ts]; [t.join() for t in ts]\n\
         print('VERDICTS', len([v for v in verdicts if v <= SECS]))\n\
         print('AT', ' '.join('%.1f' % v for v in sorted(verdicts)))\n"
    );
    let out = Command::new("timeout")
        .args(["200", "python3", "-c"])
        .arg(format!(
            "import ftplib, ssl, socket, time\nPORT = {}\n\
             CTX = ssl.create_default_context(); CTX.check_hostname = False; CTX.verify_mode = ssl.CERT_NONE\n{script}",
            a.port
        ))
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!stdout.contains("LOGGED IN"), "{stdout}");
    let verdicts: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("VERDICTS "))
        .and_then(|v| v.trim().parse().ok())
        .expect("VERDICTS");
    println!("{verdicts} passwords tried in {secs} s from one address with 8 sessions");
    // 1, 2, 4, 8, 16 s apart: 6 in the first minute (fewer when the
    // machine is busy: each check takes 200,000 rounds of SHA-512).
    assert!(
        (1..=7).contains(&verdicts),
        "{verdicts} in a minute\n{}\n{stdout}",
        a.log_text()
    );
    a.wait_log(
        "127.0.0.1: login refused: wrong password for sysarchive (1 failed from this address; the next login is checked in 1 s)",
        Duration::from_secs(5),
    );
}
