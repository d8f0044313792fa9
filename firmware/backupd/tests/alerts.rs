//! The real daemon tells of a failed run: a syslog warning, RFC 5424 to a
//! remote syslog listener and an e-mail through a real SMTP relay
//! (aiosmtpd, STARTTLS, AUTH, pinned certificate); `status` carries the
//! alert; a good run clears it with a notice; `backupctl test-alert` says
//! per channel what happened.

mod common;

use alerts::testing::{SmtpOptions, SmtpServer, SyslogListener};
use common::*;
use nix::sys::signal::Signal;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn alerts_section(smtp: &SmtpServer, o: &SmtpOptions, syslog: &SyslogListener) -> String {
    format!(
        "\n[alerts]\nemail_to = \"ops@example.com\"\n\
         [alerts.smtp]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"{}\"\npassword = \"{}\"\n\
         pin_sha256 = \"{}\"\n\
         [alerts.syslog]\nhost = \"127.0.0.1\"\nport = {}\ntransport = \"tcp\"\n",
        smtp.port,
        o.user,
        o.password,
        smtp.pin_hex(),
        syslog.port
    )
}

#[test]
fn a_failed_run_alerts_by_mail_and_syslog_and_a_good_one_clears_it() {
    let o = SmtpOptions::default();
    let smtp = SmtpServer::start(&o).expect("smtpd");
    let syslog = SyslogListener::start(None).expect("syslog listener");
    // A USB destination with no drive: the run fails at once.
    let app = Appliance::new(1 << 20, "destination = \"usb\"");
    let section = alerts_section(&smtp, &o, &syslog);
    let mut text = std::fs::read_to_string(&app.config).expect("config");
    text.push_str(&section);
    std::fs::write(&app.config, &text).expect("config");
    let mut daemon = app.start_daemon();

    let t = text_of(&app.ctl(&["status"]));
    assert!(!t.contains("ALERT"), "a new unit is not in alert: {t}");

    let o2 = app.ctl(&["test-alert"]);
    let t = text_of(&o2);
    assert!(o2.status.success(), "{t}");
    assert!(
        t.contains("remote syslog: sent, sent to 127.0.0.1:")
            && t.contains("e-mail: sent, 250 2.0.0 Message accepted"),
        "{t}"
    );
    smtp.wait_for("Test e-mail", WAIT).expect("test mail");
    syslog
        .wait_for(" TEST - test alert", WAIT)
        .expect("test syslog line");

    let o2 = app.ctl(&["backup", "full", "--wait"]);
    assert!(!o2.status.success(), "{}", text_of(&o2));
    let m = smtp
        .wait_for("Backup alert: The last backup failed", WAIT)
        .expect("the alert e-mail");
    assert!(m.contains("tls=True auth=True"), "{m}");
    let (how, line) = syslog
        .wait_for(" ALERT - The last backup failed", WAIT)
        .expect("the remote syslog alert");
    assert_eq!(how, "tcp");
    assert!(
        line.starts_with("<28>1 ") && line.contains(" mx1 backupd "),
        "{line}"
    );
    let t = text_of(&app.ctl(&["status"]));
    assert!(t.contains("ALERT:        The last backup failed"), "{t}");

    // A second failure within the day: no second e-mail.
    let _ = app.ctl(&["backup", "full", "--wait"]);
    std::thread::sleep(Duration::from_secs(2));
    let alerts = smtp
        .messages()
        .iter()
        .filter(|m| m.contains("Backup alert"))
        .count();
    assert_eq!(alerts, 1, "once per alert, not per failed run");

    // Backups work again: the notice says so, the alert is gone.
    std::fs::write(&app.config, text.replace("destination = \"usb\"", "")).expect("config");
    let o2 = app.ctl(&["reload"]);
    assert!(o2.status.success(), "{}", text_of(&o2));
    std::thread::sleep(Duration::from_millis(1100));
    let o2 = app.ctl(&["backup", "full", "--wait"]);
    assert!(o2.status.success(), "{}", text_of(&o2));
    smtp.wait_for("Backups OK again", WAIT)
        .expect("the all-clear e-mail");
    syslog
        .wait_for(" OK - the last backup", WAIT)
        .expect("all clear by syslog");
    assert!(!text_of(&app.ctl(&["status"])).contains("ALERT"));

    signal(&daemon, Signal::SIGTERM);
    let st = wait_exit(&mut daemon, Duration::from_secs(20));
    assert!(st.success(), "{st:?}");
}

#[test]
fn a_test_alert_with_a_wrong_password_says_what_the_relay_said() {
    let o = SmtpOptions::default();
    let smtp = SmtpServer::start(&o).expect("smtpd");
    let syslog = SyslogListener::start(None).expect("syslog listener");
    let app = Appliance::new(1 << 20, "");
    let bad = SmtpOptions {
        password: "not-it".into(),
        ..o.clone()
    };
    let mut text = std::fs::read_to_string(&app.config).expect("config");
    text.push_str(&alerts_section(&smtp, &bad, &syslog));
    std::fs::write(&app.config, &text).expect("config");
    let mut daemon = app.start_daemon();
    let o2 = app.ctl(&["test-alert"]);
    let t = text_of(&o2);
    assert!(!o2.status.success(), "{t}");
    assert!(
        t.contains(&format!(
            "e-mail: FAILED, authentication: 535 5.7.8 Authentication credentials invalid at relay 127.0.0.1:{}",
            smtp.port
        )),
        "{t}"
    );
    signal(&daemon, Signal::SIGTERM);
    wait_exit(&mut daemon, Duration::from_secs(20));
}

#[test]
fn channels_set_during_an_alert_hear_of_it_at_once() {
    let o = SmtpOptions::default();
    let smtp = SmtpServer::start(&o).expect("smtpd");
    let syslog = SyslogListener::start(None).expect("syslog listener");
    let app = Appliance::new(1 << 20, "destination = \"usb\"");
    let mut daemon = app.start_daemon();
    // The run fails while nobody is configured to hear of it.
    let o2 = app.ctl(&["backup", "full", "--wait"]);
    assert!(!o2.status.success(), "{}", text_of(&o2));
    assert!(text_of(&app.ctl(&["status"])).contains("ALERT:"));
    // The administrator sets e-mail and syslog: told without waiting a day.
    let mut text = std::fs::read_to_string(&app.config).expect("config");
    text.push_str(&alerts_section(&smtp, &o, &syslog));
    std::fs::write(&app.config, &text).expect("config");
    let o2 = app.ctl(&["reload"]);
    assert!(o2.status.success(), "{}", text_of(&o2));
    // The thread looks every 30 s.
    smtp.wait_for(
        "Backup alert: The last backup failed",
        Duration::from_secs(45),
    )
    .expect("the alert e-mail");
    syslog
        .wait_for(" ALERT - The last backup failed", WAIT)
        .expect("the remote syslog alert");
    signal(&daemon, Signal::SIGTERM);
    wait_exit(&mut daemon, Duration::from_secs(20));
}

fn text_of(o: &std::process::Output) -> String {
    text(o)
}
