//! The real daemon on a temporary socket, driven by the real backupctl.

mod common;

use common::*;
use nix::sys::signal::Signal;
use std::time::Duration;

#[test]
fn control_socket_end_to_end() {
    let app = Appliance::new(4 << 20, "retention = 2");
    let mut daemon = app.start_daemon();

    let o = app.ctl(&["status"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("Destination:  local") && t.contains("Next backup:") && t.contains("(full)"),
        "{t}"
    );
    assert!(t.contains("Last runs:    none yet"), "{t}");

    let o = app.ctl(&["backup", "full", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("OK") && text(&o).contains("mx1-F"),
        "{}",
        text(&o)
    );
    // One per second at most: set names carry seconds.
    std::thread::sleep(Duration::from_millis(1100));
    let o = app.ctl(&["backup", "differential", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("mx1-I"), "{}", text(&o));

    let o = app.ctl(&["list"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let full = t
        .lines()
        .find(|l| l.starts_with("mx1-F"))
        .expect("full listed")
        .split_whitespace()
        .next()
        .expect("name")
        .to_string();
    assert!(
        t.lines()
            .any(|l| l.starts_with("mx1-I") && l.contains(&format!("based on {full}"))),
        "{t}"
    );
    assert_eq!(every_complete_set_verifies(&app.backup_dir()), 2);

    let o = app.ctl(&["verify", &full]);
    assert!(
        o.status.success() && text(&o).contains("verified") && text(&o).contains(": OK"),
        "{}",
        text(&o)
    );
    let o = app.ctl(&["verify", "mx1-F20000101T000000Z.tar"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("no such file") || text(&o).contains(".md5"),
        "{}",
        text(&o)
    );

    let o = app.ctl(&["test"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("write a probe file: ok") && text(&o).contains(&full),
        "{}",
        text(&o)
    );

    let o = app.ctl(&["status"]);
    let t = text(&o);
    assert!(
        t.contains("OK") && t.contains("mx1-I") && t.contains("verified"),
        "{t}"
    );

    // A bad configuration on SIGHUP: logged with line and reason, the old one kept.
    std::fs::write(
        &app.config,
        "[system]\nhostname = \"mx1\"\n[backup]\nschedule = \"25:00\"\n",
    )
    .expect("bad config");
    signal(&daemon, Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(300));
    let o = app.ctl(&["reload"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("keeping the last good configuration")
            && t.contains("line 4")
            && t.contains("hour"),
        "{t}"
    );
    let o = app.ctl(&["status"]);
    assert!(
        o.status.success() && text(&o).contains("Next backup:"),
        "still serving: {}",
        text(&o)
    );
    std::fs::write(
        &app.config,
        "[system]\nhostname = \"mx1\"\n[backup]\nschedule = \"03:30\"\n",
    )
    .expect("good config");
    let o = app.ctl(&["reload"]);
    assert!(
        o.status.success() && text(&o).contains("reloaded"),
        "{}",
        text(&o)
    );
    assert!(text(&app.ctl(&["status"])).contains(" 03:30 (full)"));

    signal(&daemon, Signal::SIGTERM);
    let st = wait_exit(&mut daemon, Duration::from_secs(20));
    assert!(st.success(), "{st:?}");
    assert!(!app.socket.exists(), "socket removed on exit");
}

/// SIGTERM while the daemon writes a set: it abandons the run cleanly and
/// leaves nothing behind.
fn sigterm_during_a_backup(app: &Appliance) {
    let mut daemon = app.start_daemon();
    let o = app.ctl(&["backup", "full", "--no-wait"]);
    assert!(o.status.success(), "{}", text(&o));
    let started = text(&o);
    // Wait until it is writing, then stop the service.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let t = text(&app.ctl(&["status"]));
        if t.contains("writing:") && !t.contains(" 0 B") {
            break;
        }
        assert!(
            !t.contains("Running:      nothing"),
            "the backup ended before it could be interrupted: {t}"
        );
        assert!(std::time::Instant::now() < deadline, "{t}");
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&daemon, Signal::SIGTERM);
    let st = wait_exit(&mut daemon, Duration::from_secs(30));
    assert!(st.success(), "{st:?}");
    let left = files_in(&app.backup_dir());
    assert!(
        left.is_empty(),
        "abandoned backup left {left:?} (started: {started})"
    );
    let mut stderr = String::new();
    if let Some(mut e) = daemon.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert!(
        stderr.contains("abandoning the backup in progress"),
        "{stderr}"
    );
    assert!(stderr.contains("cancelled"), "{stderr}");
}

/// The settings a customer has (24-hour body window, 3 restore points).
#[test]
fn sigterm_during_a_backup_with_the_default_settings() {
    sigterm_during_a_backup(&Appliance::new(160 << 20, ""));
}

/// Every body kept and volumes of 8 MiB: more to write and to cut.
#[test]
fn sigterm_during_a_backup_leaves_no_complete_looking_set() {
    sigterm_during_a_backup(&Appliance::new(
        96 << 20,
        "body_window_hours = 0\nretention = 5\nvolume_size_mib = 8",
    ));
}

#[test]
fn invalid_config_refuses_to_start_with_file_line_and_reason() {
    let app = Appliance::new(64 << 10, "retention = 3");
    for (cfg, line, word) in [
        ("[backup]\nschedule = \"7:99\"\n", "line 2", "minutes"),
        ("[backup]\ndestination = \"cloud\"\n", "line 2", "cloud"),
        ("[backup]\n\nretention = -1\n", "line 3", "retention"),
        (
            "[system]\ntimezone = \"Nowhere/Land\"\n",
            "line 2",
            "timezone",
        ),
    ] {
        std::fs::write(&app.config, cfg).expect("config");
        let o = std::process::Command::new(BACKUPD)
            .args(app.daemon_args())
            .output()
            .expect("runs");
        assert!(!o.status.success());
        let t = text(&o);
        assert!(
            t.contains(&app.config.display().to_string()) && t.contains(line) && t.contains(word),
            "{cfg}: {t}"
        );
        assert!(!app.socket.exists());
    }
}
