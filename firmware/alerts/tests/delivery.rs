//! Alerts delivered for real: e-mail to aiosmtpd (STARTTLS, TLS, AUTH)
//! on loopback, remote syslog to a UDP/TCP listener; and each way an
//! e-mail can fail, said in words.

use alerts::testing::{SmtpOptions, SmtpServer, SyslogListener};
use alerts::{Kind, Target};
use appconfig::{AlertSettings, SmtpSecurity, SyslogTransport};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn settings(server: &SmtpServer, o: &SmtpOptions) -> AlertSettings {
    let mut a = AlertSettings {
        email_to: "ops@example.com".into(),
        ..Default::default()
    };
    a.smtp.host = "127.0.0.1".into();
    a.smtp.port = server.port;
    a.smtp.security = o.security;
    a.smtp.username = o.user.clone();
    a.smtp.password = o.password.clone();
    a.smtp.pin_sha256 = server.pin_hex();
    a
}

fn send(a: &AlertSettings, kind: Kind, text: &str) -> alerts::Delivery {
    let t = Target {
        settings: a,
        hostname: "mx1",
        dns: &[],
        timeout: Duration::from_secs(5),
    };
    let mut d = t.deliver(kind, text);
    assert_eq!(d.len(), 1, "{d:?}");
    d.remove(0)
}

#[test]
fn starttls_with_auth_and_a_pinned_certificate_delivers() {
    let o = SmtpOptions::default();
    let server = SmtpServer::start(&o).expect("smtpd");
    let a = settings(&server, &o);
    let d = send(&a, Kind::Test, "a test from the console");
    assert!(d.ok, "{d:?}");
    assert!(d.text.starts_with("250 "), "{}", d.text);
    let m = server.wait_for("Test e-mail", WAIT).expect("arrives");
    assert!(m.contains("tls=True auth=True"), "{m}");
    assert!(m.contains("from=backup@mx1 to=ops@example.com"), "{m}");
    assert!(
        m.contains("Subject: [mx1] Test e-mail from the backup appliance"),
        "{m}"
    );
    assert!(m.contains("a test from the console"), "{m}");

    let d = send(&a, Kind::Alert, "The last backup failed: disk full");
    assert!(d.ok, "{d:?}");
    let m = server
        .wait_for("Backup alert: The last backup failed: disk full", WAIT)
        .expect("the alert arrives");
    assert!(m.contains("needs attention"), "{m}");
}

#[test]
fn implicit_tls_delivers() {
    let o = SmtpOptions {
        security: SmtpSecurity::Tls,
        ..Default::default()
    };
    let server = SmtpServer::start(&o).expect("smtpd");
    let d = send(&settings(&server, &o), Kind::Cleared, "verified, 3 files");
    assert!(d.ok, "{d:?}");
    let m = server.wait_for("Backups OK again", WAIT).expect("arrives");
    assert!(m.contains("tls=True auth=True"), "{m}");
}

#[test]
fn a_wrong_password_is_the_relays_535() {
    let o = SmtpOptions::default();
    let server = SmtpServer::start(&o).expect("smtpd");
    let mut a = settings(&server, &o);
    a.smtp.password = "wrong".into();
    let d = send(&a, Kind::Test, "x");
    assert!(!d.ok);
    assert!(
        d.text.starts_with("authentication: 535 ")
            && d.text
                .ends_with(&format!("at relay 127.0.0.1:{}", server.port)),
        "{}",
        d.text
    );
    assert!(server.messages().is_empty());
}

#[test]
fn a_certificate_other_than_the_pinned_one_gets_no_password() {
    let o = SmtpOptions::default();
    let server = SmtpServer::start(&o).expect("smtpd");
    let mut a = settings(&server, &o);
    a.smtp.pin_sha256 = "00".repeat(32);
    let d = send(&a, Kind::Test, "x");
    assert!(!d.ok);
    assert!(d.text.contains("not the pinned one"), "{}", d.text);
    assert!(
        d.text.contains(&server.pin_hex()),
        "says what it saw: {}",
        d.text
    );
}

#[test]
fn without_a_pin_a_self_signed_relay_is_not_trusted() {
    let o = SmtpOptions::default();
    let server = SmtpServer::start(&o).expect("smtpd");
    let mut a = settings(&server, &o);
    a.smtp.pin_sha256.clear();
    let d = send(&a, Kind::Test, "x");
    assert!(!d.ok);
    assert!(
        d.text.starts_with("STARTTLS: ") && d.text.contains("UnknownIssuer"),
        "{}",
        d.text
    );
}

#[test]
fn a_relay_without_starttls_is_refused_and_plain_is_a_choice() {
    let o = SmtpOptions {
        security: SmtpSecurity::Plain,
        user: String::new(),
        password: String::new(),
        ..Default::default()
    };
    let server = SmtpServer::start(&o).expect("smtpd");
    let mut a = settings(&server, &o);
    a.smtp.security = SmtpSecurity::Starttls;
    let d = send(&a, Kind::Test, "x");
    assert!(!d.ok);
    assert!(d.text.contains("does not offer STARTTLS"), "{}", d.text);
    a.smtp.security = SmtpSecurity::Plain;
    let d = send(&a, Kind::Test, "plain on purpose");
    assert!(d.ok, "{d:?}");
    let m = server.wait_for("plain on purpose", WAIT).expect("arrives");
    assert!(m.contains("tls=False"), "{m}");
}

#[test]
fn a_dead_or_silent_relay_fails_in_bounded_time() {
    let free = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut a = AlertSettings {
        email_to: "ops@example.com".into(),
        ..Default::default()
    };
    a.smtp.host = "127.0.0.1".into();
    a.smtp.port = free;
    let d = send(&a, Kind::Test, "x");
    assert!(!d.ok);
    assert!(
        d.text.starts_with("connect: ") && d.text.contains("refused"),
        "{}",
        d.text
    );
    // Accepts, never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    a.smtp.port = silent.local_addr().expect("addr").port();
    let t0 = Instant::now();
    let d = send(&a, Kind::Test, "x");
    assert!(!d.ok && t0.elapsed() < Duration::from_secs(15), "{d:?}");
    assert!(d.text.contains("connect"), "{}", d.text);
    // A name with no DNS server configured: said, not looked up elsewhere.
    a.smtp.host = "relay.example.com".into();
    let d = send(&a, Kind::Test, "x");
    assert!(
        !d.ok && d.text.contains("SMTP relay \"relay.example.com\""),
        "{}",
        d.text
    );
}

#[test]
fn both_channels_deliver_and_remote_syslog_is_rfc_5424() {
    let o = SmtpOptions::default();
    let server = SmtpServer::start(&o).expect("smtpd");
    let listener = SyslogListener::start(None).expect("listener");
    let mut a = settings(&server, &o);
    a.syslog.host = "127.0.0.1".into();
    a.syslog.port = listener.port;
    for transport in [SyslogTransport::Udp, SyslogTransport::Tcp] {
        a.syslog.transport = transport;
        let t = Target {
            settings: &a,
            hostname: "mx1",
            dns: &[],
            timeout: Duration::from_secs(5),
        };
        let text = format!("No verified backup for 27 h ({transport})");
        let d = t.deliver(Kind::Alert, &text);
        assert!(d.iter().all(|d| d.ok), "{d:?}");
        let (how, m) = listener.wait_for(&text, WAIT).expect("syslog arrives");
        assert_eq!(how, transport.to_string());
        // <daemon.warning>1 TIMESTAMP HOST APP PID MSGID SD MSG
        let f: Vec<&str> = m.splitn(8, ' ').collect();
        assert_eq!(f[0], "<28>1", "{m}");
        assert!(
            f[1].ends_with('Z') && f[1].parse::<jiff::Timestamp>().is_ok(),
            "{m}"
        );
        assert_eq!(&f[2..4], ["mx1", "backupd"], "{m}");
        assert_eq!(f[4], std::process::id().to_string());
        assert_eq!(&f[5..7], ["ALERT", "-"], "{m}");
        assert_eq!(f[7], text);
        server.wait_for(&text, WAIT).expect("and the e-mail");
    }
}
