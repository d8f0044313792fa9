//! What ftpd refuses: wrong passwords and guessing, addresses off the FTP
//! Access List, logins while no password is set, plain FTP unless allowed,
//! and every way out of the two folders.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn wrong_passwords_and_unknown_users_are_refused() {
    let a = Appliance::start(Setup::default());
    let out = run(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "-k",
            "--user",
            "sysarchive:sendio",
            &a.url(""),
        ],
    );
    assert_eq!(out.status.code(), Some(67), "login denied: {}", text(&out));
    a.wait_log(
        "127.0.0.1: login refused: wrong password for sysarchive (1 failed from this address; the next login is checked in 1 s)",
        Duration::from_secs(5),
    );
    let out = run(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "-k",
            "--user",
            &format!("root:{PASSWORD}"),
            &a.url(""),
        ],
    );
    assert_eq!(out.status.code(), Some(67), "{}", text(&out));
    a.wait_log(
        "login refused: unknown user \"root\"",
        Duration::from_secs(5),
    );
}

#[test]
fn three_wrong_guesses_end_the_session_and_the_address_is_paced() {
    let a = Appliance::start(Setup::default());
    // Three wrong guesses end the session; the address's next login waits
    // its turn (4 s after the third failure), then the right one works.
    let out = python(
        a.port,
        "f = ftplib.FTP_TLS(context=CTX, timeout=20)\n\
         f.connect('127.0.0.1', PORT)\n\
         for i in range(4):\n\
         \x20   try:\n\
         \x20       f.login('sysarchive', 'guess%d' % i); print('LOGGED IN')\n\
         \x20   except ftplib.error_perm as e: print('refused', e)\n\
         \x20   except (EOFError, OSError) as e: print('closed'); break\n\
         t = time.time()\n\
         g = ftplib.FTP_TLS(context=CTX, timeout=20); g.connect('127.0.0.1', PORT)\n\
         g.login('sysarchive', PW); print('then logged in after %.1f s' % (time.time() - t))\n",
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stdout.matches("refused 530").count(), 3, "{}", text(&out));
    assert!(stdout.contains("closed"), "{}", text(&out));
    assert!(!stdout.contains("LOGGED IN"), "{}", text(&out));
    let waited: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("then logged in after "))
        .and_then(|l| l.trim_end_matches(" s").parse().ok())
        .unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(waited >= 3.0, "the next login was not paced: {waited} s");
    a.wait_log(
        "127.0.0.1: 3 failed logins; closing the session",
        Duration::from_secs(5),
    );
    a.wait_log(
        "(3 failed from this address; the next login is checked in 4 s)",
        Duration::from_secs(5),
    );
}

#[test]
fn addresses_off_the_access_list_are_closed_before_login() {
    let a = Appliance::start(Setup {
        access_list: "127.0.0.2".into(),
        ..Setup::default()
    });
    let out = python(
        a.port,
        "try: ftplib.FTP_TLS(context=CTX, timeout=20).connect('127.0.0.1', PORT); print('CONNECTED')\n\
         except ftplib.Error as e: print(e)\n",
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "421 Service not available.\n",
        "{}",
        text(&out)
    );
    a.wait_log(
        "FTP connection from 127.0.0.1 refused: not on the FTP Access List",
        Duration::from_secs(5),
    );
    // The same server from a listed address (loopback has them all).
    let out = curl_tls(&["--interface", "127.0.0.2", "--list-only", &a.url("")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "backup\nrestore\n");
    assert!(
        !a.log_text().contains("session 0"),
        "no session for refused peers"
    );
}

#[test]
fn an_empty_access_list_means_no_ftp_at_all() {
    let a = Appliance::start(Setup {
        access_list: String::new(),
        ..Setup::default()
    });
    let out = curl_tls(&[&a.url("")]);
    assert!(!out.status.success(), "{}", text(&out));
    a.wait_log(
        "the FTP Access List is empty (FTP access is off)",
        Duration::from_secs(5),
    );
    assert!(!a.log_text().contains("connection from 127.0.0.1 (session"));
}

#[test]
fn no_login_works_before_a_password_is_set() {
    let a = Appliance::start(Setup {
        password: None,
        ..Setup::default()
    });
    for pw in ["", "sendio", "sysarchive", PASSWORD] {
        let out = run(
            "curl",
            &[
                "-sS",
                "--ssl-reqd",
                "-k",
                "--user",
                &format!("sysarchive:{pw}"),
                &a.url(""),
            ],
        );
        assert_eq!(out.status.code(), Some(67), "{pw:?}: {}", text(&out));
    }
    a.wait_log(
        "login refused: no FTP password is set; set the sysarchive password in the console first",
        Duration::from_secs(5),
    );
    // Setting it in the configuration and reloading lets the account in.
    a.reconfigure(&Setup::default());
    let out = curl_tls(&["--list-only", &a.url("")]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn plain_ftp_only_when_allowed() {
    let a = Appliance::start(Setup::default());
    let script = "f = ftplib.FTP(timeout=20); f.connect('127.0.0.1', PORT); print(f.getwelcome())\n\
                  try: f.login('sysarchive', PW); print('LOGGED IN')\n\
                  except ftplib.Error as e: print('refused', e)\n\
                  g = ftplib.FTP_TLS(context=CTX, timeout=20); g.connect('127.0.0.1', PORT); g.login('sysarchive', PW)\n\
                  try: g.nlst(); print('CLEAR DATA')\n\
                  except ftplib.Error as e: print('clear data refused', e)\n\
                  g.prot_p(); print(g.nlst())\n";
    let out = python(a.port, script, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.contains("use FTPS (AUTH TLS)"), "{stdout}");
    assert!(stdout.contains("refused 534"), "{stdout}");
    assert!(stdout.contains("clear data refused"), "{stdout}");
    assert!(stdout.contains("['backup', 'restore']"), "{stdout}");
    assert!(
        !stdout.contains("LOGGED IN") && !stdout.contains("CLEAR DATA"),
        "{stdout}"
    );

    a.reconfigure(&Setup {
        allow_plain: true,
        ..Setup::default()
    });
    let out = python(a.port, script, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("LOGGED IN"), "{}", text(&out));
    a.wait_log("logged in (plain FTP)", Duration::from_secs(5));
}

#[test]
fn nothing_outside_the_two_folders_is_reachable() {
    let a = Appliance::start(Setup::default());
    let work = a.tmp.path().join("work");
    let names = make_set(&work, &a.backup_dir(), 1_795_300_000, None);
    std::os::unix::fs::symlink("/etc/passwd", a.backup_dir().join("evil.tar")).expect("link");
    std::os::unix::fs::symlink("/etc", a.backup_dir().join("outside")).expect("link");
    std::os::unix::fs::symlink("/etc/passwd", a.restore_dir().join("link.tar")).expect("link");
    let before_backup = Appliance::files(&a.backup_dir());
    let script = "f = tls()\n\
        def t(what, fn):\n\
        \x20   try: r = fn(); print('ALLOWED', what, r)\n\
        \x20   except ftplib.Error as e: print('refused', what, str(e)[:3])\n\
        def get(p): return f.retrbinary('RETR ' + p, lambda b: None)\n\
        def put(p): return upload(f, p, b'data')\n\
        t('cwd /etc', lambda: f.cwd('/etc'))\n\
        t('cwd /backup/outside', lambda: f.cwd('/backup/outside'))\n\
        t('retr /etc/passwd', lambda: get('/etc/passwd'))\n\
        t('retr ../../../etc/passwd', lambda: get('../../../etc/passwd'))\n\
        t('retr symlink', lambda: get('/backup/evil.tar'))\n\
        t('retr restore symlink', lambda: get('/restore/link.tar'))\n\
        t('retr hidden', lambda: get('/restore/.verified'))\n\
        t('size escape', lambda: f.size('/backup/../../../etc/passwd'))\n\
        print('list /etc:', f.nlst('/etc'), f.nlst('/backup/../../etc/passwd'))\n\
        t('stor backup', lambda: put('/backup/new.tar'))\n\
        t('stor escape', lambda: put('/restore/../../tmp/x'))\n\
        t('stor hidden', lambda: put('/restore/.x'))\n\
        t('stor nested', lambda: put('/restore/a/b'))\n\
        t('mkd', lambda: f.mkd('/restore/sub'))\n\
        t('rmd', lambda: f.rmd('/backup'))\n\
        t('dele backup', lambda: f.delete('/backup/' + sys.argv[1]))\n\
        t('dele escape', lambda: f.delete('/restore/../../etc/passwd'))\n\
        t('rename out of backup', lambda: f.rename('/backup/' + sys.argv[1], '/restore/x.tar'))\n\
        t('rename symlink', lambda: f.rename('/restore/link.tar', '/restore/y.tar'))\n\
        f.cwd('/'); f.cwd('..'); f.cwd('../..')\n\
        print('root after ..:', f.nlst())\n\
        f.cwd('backup'); print('backup:', sorted(f.nlst()))\n\
        print('absolute path works:', f.size('/backup/' + sys.argv[1]) > 0)\n";
    let out = python(a.port, script, &[&names[0]]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!stdout.contains("ALLOWED"), "{stdout}");
    assert_eq!(stdout.matches("refused ").count(), 18, "{stdout}");
    assert!(stdout.contains("list /etc: [] []"), "{stdout}");
    assert!(
        stdout.contains("root after ..: ['backup', 'restore']"),
        "{stdout}"
    );
    let mut expected = names.clone();
    expected.sort();
    assert!(
        stdout.contains(&format!("backup: {expected:?}").replace('"', "'")),
        "{stdout}"
    );
    assert!(stdout.contains("absolute path works: True"), "{stdout}");
    assert_eq!(Appliance::files(&a.backup_dir()), before_backup);
    assert_eq!(
        Appliance::files(&a.restore_dir()),
        vec!["link.tar".to_string()]
    );
    assert!(!a.tmp.path().join("tmp").exists());
    a.wait_log(
        "refused \"/etc\" is not in the FTP tree",
        Duration::from_secs(5),
    );
    a.wait_log(
        "refused to upload /backup/new.tar: the backup folder is read-only",
        Duration::from_secs(5),
    );
}

#[test]
fn a_reload_ends_sessions_of_addresses_taken_off_the_list() {
    let a = Appliance::start(Setup::default());
    let session = std::process::Command::new("timeout")
        .args([
            CLIENT_SECS,
            "python3",
            "-c",
            &format!(
                "import ftplib, ssl, time\n\
                 ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
                 f = ftplib.FTP_TLS(context=ctx, timeout=20); f.connect('127.0.0.1', {}); f.login('sysarchive', {PASSWORD:?})\n\
                 try:\n\
                 \x20   for i in range(200): f.voidcmd('NOOP'); time.sleep(0.1)\n\
                 \x20   print('STILL OPEN')\n\
                 except (ftplib.Error, EOFError, OSError) as e: print('closed')\n",
                a.port
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    a.wait_log("sysarchive@127.0.0.1: logged in", Duration::from_secs(10));
    a.reconfigure(&Setup {
        access_list: "192.168.1.0/24".into(),
        ..Setup::default()
    });
    a.wait_log(
        "127.0.0.1: closing its session: no longer on the FTP Access List",
        Duration::from_secs(5),
    );
    let out = session.wait_with_output().expect("python");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "closed");
    let out = curl_tls(&[&a.url("")]);
    assert!(!out.status.success());
    a.wait_log(
        "refused: not on the FTP Access List",
        Duration::from_secs(5),
    );
}
