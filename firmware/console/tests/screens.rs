//! Screen tests: every view drawn at 80x24 on ratatui's TestBackend and
//! driven with keys, against temporary files, real scripts and a fake
//! backupd on a Unix socket.

mod rig;

use appconfig::{AddressMode, BackupType, Config, DestinationKind, Weekday};
use ratatui::crossterm::event::KeyCode;
use rig::{Rig, configured, serve_backupd, set};

#[test]
fn first_login_makes_the_administrator_set_a_password() {
    let mut rig = Rig::new(None);
    let screen = rig.screen();
    assert!(screen.contains("no console password yet"), "{screen}");
    assert!(screen.contains("New password"), "{screen}");
    assert!(screen.contains("[ Set password ]"), "{screen}");

    // Esc does not get past it.
    rig.key(KeyCode::Esc);
    assert!(rig.screen().contains("Set a password first"));

    // Too short.
    rig.type_text("abc1");
    assert!(rig.row_with("New password").contains("****"));
    rig.press("Set password");
    assert!(
        rig.field("New password").contains("too short"),
        "{}",
        rig.screen()
    );
    // Strong enough but not repeated the same.
    rig.focus("New password");
    rig.replace_text("blue-harbour-42");
    rig.focus("Repeat password");
    rig.replace_text("blue-harbour-43");
    rig.press("Set password");
    assert!(rig.field("Repeat password").contains("do not match"));
    assert!(rig.config_bytes().is_empty(), "nothing saved yet");

    rig.focus("Repeat password");
    rig.replace_text("blue-harbour-42");
    rig.press("Set password");
    let screen = rig.screen();
    assert!(screen.contains("Main menu"), "{screen}");
    assert!(screen.contains("Password set"), "{screen}");
    let saved = rig.saved();
    assert!(appconfig::verify_password(
        "blue-harbour-42",
        &saved.accounts.sysconfig
    ));
    assert_eq!(&saved, rig.app.config());
    assert_eq!(
        rig.commands(),
        "appctl accounts\nsshgate reload\n",
        "the shadow file is refreshed, and SSH may start"
    );
}

#[test]
fn first_login_tolerates_a_missing_appctl() {
    let mut rig = Rig::with(None, |_, s| s.appctl = vec!["/nonexistent/appctl".into()]);
    rig.type_text("blue-harbour-42");
    rig.key(KeyCode::Tab);
    rig.type_text("blue-harbour-42");
    rig.press("Set password");
    let screen = rig.screen();
    assert!(screen.contains("Main menu"), "{screen}");
    assert!(
        screen.contains("login not updated: /nonexistent/appctl is not installed"),
        "{screen}"
    );
    assert!(!rig.saved().accounts.sysconfig.is_empty());
}

#[test]
fn main_menu_lists_the_sections_and_the_state() {
    let mut c = configured();
    c.network.interface = "lo".into();
    let mut rig = Rig::new(Some(&c));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    // Reopen the menu now that backupd listens.
    rig.key(KeyCode::Char('1'));
    rig.key(KeyCode::Esc);
    let screen = rig.wait_for("Last backup");
    for item in [
        "1 Network Configuration",
        "2 System Configuration",
        "3 SSH Access",
        "4 Backup/Maintenance",
        "5 Restore From Backup",
        "6 Firmware Update",
        "7 Exit/Logout",
    ] {
        assert!(screen.contains(item), "{item} missing:\n{screen}");
    }
    assert!(screen.contains("mx1"), "{screen}");
    assert!(screen.contains("127.0.0.1/8 on lo"), "{screen}");
    assert!(screen.contains("verified, 1234 files"), "{screen}");
    assert!(screen.contains("2026-11-22 22:00 (full)"), "{screen}");
    // ASCII borders only: a VT100 draws them.
    assert!(screen.is_ascii(), "{screen}");
}

#[test]
fn menu_says_when_backupd_is_not_running_and_exit_logs_out() {
    let mut rig = Rig::new(Some(&configured()));
    let screen = rig.wait_for("not running");
    assert!(screen.contains("backupd is not running"), "{screen}");
    rig.ctrl('c');
    assert!(!rig.app.should_quit(), "Ctrl-C does not drop the session");
    assert!(rig.screen().contains("choose Exit/Logout"));
    rig.key(KeyCode::Esc);
    assert!(!rig.app.should_quit(), "Esc in the menu does not log out");
    rig.keys(&[KeyCode::Up, KeyCode::Enter]);
    assert!(rig.app.should_quit());
}

#[test]
fn unreadable_config_is_reported_not_overwritten() {
    let rig_dir = {
        let rig = Rig::new(Some(&configured()));
        std::fs::write(rig.config_path(), "[backup]\nretention = \"many\"\n").expect("write");
        let mut rig2 = Rig::with(None, |_, s| s.config_path = rig.config_path());
        let screen = rig2.screen();
        assert!(screen.contains("Main menu"), "{screen}");
        assert!(screen.contains("line 2"), "{screen}");
        assert_eq!(
            std::fs::read_to_string(rig.config_path()).expect("read"),
            "[backup]\nretention = \"many\"\n"
        );
        rig
    };
    drop(rig_dir);
}

#[test]
fn network_static_address_bad_input_then_save() {
    let mut c = configured();
    c.network.interface = "lo".into();
    let mut rig = Rig::new(Some(&c));
    let before = rig.config_bytes();
    rig.key(KeyCode::Enter);
    let screen = rig.screen();
    assert!(screen.contains("Network Configuration"), "{screen}");
    assert!(screen.contains("Interface lo: present"), "{screen}");
    assert!(screen.contains("Address 127.0.0.1/8"), "{screen}");
    assert!(screen.contains("DNS 10.0.2.3"), "{screen}");
    assert!(rig.row_with("Address mode").contains("(*) DHCP"));

    // Space chooses Static; the address fields become usable.
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);
    assert!(rig.row_with("Address mode").contains("(*) Static"));
    rig.focus("IP address");
    rig.type_text("10.0.2.300");
    rig.focus("Network mask");
    rig.type_text("255.0.255.0");
    rig.focus("DNS servers");
    rig.type_text("10.0.2.3, 8.8.8");
    rig.press("Save");
    assert!(
        rig.field("IP address").contains("is not an IPv4 address"),
        "{}",
        rig.screen()
    );
    assert!(rig.field("Network mask").contains("not a network mask"));
    assert!(
        rig.field("DNS servers")
            .contains("\"8.8.8\" is not an IPv4")
    );
    assert!(rig.screen().contains("Not saved"));
    assert_eq!(rig.config_bytes(), before, "nothing half-saved");

    // Valid fields, but a gateway outside the network: appconfig's rule.
    rig.focus("IP address");
    rig.replace_text("10.0.2.15");
    rig.focus("Network mask");
    rig.replace_text("/24");
    rig.focus("Gateway");
    rig.type_text("10.0.3.1");
    rig.focus("DNS servers");
    rig.replace_text("10.0.2.3, 1.1.1.1");
    rig.press("Save");
    assert!(
        rig.field("Gateway").contains("is not inside 10.0.2.15/24"),
        "{}",
        rig.screen()
    );
    assert_eq!(rig.config_bytes(), before);

    rig.focus("Gateway");
    rig.replace_text("10.0.2.2");
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    assert!(
        screen.contains("network: ok (applied network apply)"),
        "{screen}"
    );
    assert_eq!(rig.commands(), "appctl network apply\n");
    let saved = rig.saved();
    assert_eq!(&saved, rig.app.config(), "Save writes what load reads back");
    assert_eq!(saved.network.mode, AddressMode::Static);
    assert_eq!(
        saved.network.address,
        Some("10.0.2.15/24".parse().expect("net"))
    );
    assert_eq!(saved.network.gateway, Some("10.0.2.2".parse().expect("ip")));
    assert_eq!(saved.network.dns.len(), 2);
    assert_eq!(saved.accounts, c.accounts, "other sections untouched");
}

#[test]
fn network_apply_failure_is_shown() {
    let mut rig = Rig::with(Some(&configured()), |d, s| {
        let p = d.join("failing-appctl");
        std::fs::write(&p, "#!/bin/sh\necho 'eth0: no such device' >&2\nexit 2\n").expect("w");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        s.appctl = vec![p.display().to_string()];
    });
    rig.key(KeyCode::Enter);
    rig.focus("DNS servers");
    rig.type_text("10.0.2.3");
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    assert!(
        screen.contains("network: failed, exit status 2: eth0: no such device"),
        "{screen}"
    );
}

#[test]
fn system_configuration_refuses_bad_input_and_wrong_password() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let before = rig.config_bytes();
    rig.key(KeyCode::Char('2'));
    let screen = rig.screen();
    for label in [
        "Host name",
        "Time zone",
        "NTP servers",
        "FTP Access List",
        "FTP password",
        "Console pw. now",
        "[ Save ]",
    ] {
        assert!(screen.contains(label), "{label} missing:\n{screen}");
    }
    assert!(rig.row_with("Host name").contains("mx1"));
    assert!(rig.row_with("Time zone").contains("UTC"));

    rig.focus("Host name");
    rig.replace_text("bad_name");
    rig.focus("Time zone");
    rig.replace_text("Mars Base");
    rig.focus("NTP servers");
    rig.type_text("10.0.2.300");
    rig.focus("FTP Access List");
    rig.type_text("192.168.1.15, 10.0.0.1/8");
    rig.focus("FTP password");
    rig.type_text("archive-pw-7");
    rig.focus("Repeat FTP pw.");
    rig.type_text("archive-pw-8");
    rig.focus("Console pw. now");
    rig.type_text("not-my-password");
    rig.focus("New console pw.");
    rig.type_text("new-console-9");
    rig.focus("Repeat console");
    rig.type_text("new-console-9");
    rig.press("Save");
    assert!(rig.field("Host name").contains("only letters, digits"));
    assert!(rig.field("Time zone").contains("is not a time zone"));
    assert!(rig.field("NTP servers").contains("not an IPv4 address"));
    assert!(
        rig.field("FTP Access List").contains("host bits"),
        "{}",
        rig.screen()
    );
    assert!(rig.field("Repeat FTP pw.").contains("do not match"));
    assert!(rig.field("Console pw. now").contains("wrong password"));
    assert_eq!(
        *rig.sys.failed_passwords.lock().expect("lock"),
        ["sysconfig"],
        "the wrong password is delayed and logged"
    );
    assert!(
        rig.screen()
            .contains("Not saved: correct the fields marked with !")
    );
    // The focus went to the first refusal, shown in full at the bottom after
    // the next key.
    rig.key(KeyCode::End);
    let screen = rig.screen();
    let bottom = screen.lines().nth(22).expect("row 22");
    assert!(bottom.contains("only letters, digits and '-'"), "{screen}");
    assert_eq!(rig.config_bytes(), before, "nothing half-saved");
    assert!(
        !backupd
            .lock()
            .expect("lock")
            .requests
            .contains(&control::backupd::Request::Reload)
    );

    rig.focus("Host name");
    rig.replace_text("mail-1.example.com");
    rig.focus("Time zone");
    rig.replace_text("Europe/Prague");
    rig.focus("NTP servers");
    rig.replace_text("10.0.2.2");
    rig.focus("FTP Access List");
    rig.replace_text("192.168.1.15, 10.0.0.0/8");
    rig.focus("Repeat FTP pw.");
    rig.replace_text("archive-pw-7");
    rig.focus("Console pw. now");
    rig.replace_text("secret-pw-1");
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    assert!(
        screen.contains("backupd: reloaded the configuration"),
        "{screen}"
    );
    assert!(screen.contains("ftpd: not running"), "{screen}");
    assert!(screen.contains("accounts: ok"), "{screen}");
    assert!(screen.contains("time service: ok"), "{screen}");
    assert_eq!(
        rig.commands(),
        "appctl accounts\nsshgate reload\nappctl hostname\ntimesyncd reload\n"
    );
    let saved = rig.saved();
    assert_eq!(&saved, rig.app.config());
    assert_eq!(saved.system.hostname.as_str(), "mail-1.example.com");
    assert_eq!(saved.system.timezone, "Europe/Prague");
    assert_eq!(saved.system.ntp_server, "10.0.2.2");
    assert_eq!(
        saved.ftp.access_list.to_string(),
        "192.168.1.15, 10.0.0.0/8"
    );
    assert!(appconfig::verify_password(
        "archive-pw-7",
        &saved.accounts.sysarchive
    ));
    assert!(appconfig::verify_password(
        "new-console-9",
        &saved.accounts.sysconfig
    ));
    assert_eq!(rig.sys.failed_passwords.lock().expect("lock").len(), 1);
    // Password fields are emptied after a save.
    rig.key(KeyCode::Enter);
    assert!(!rig.row_with("FTP password").contains('*'));
}

#[test]
fn ftpd_is_sent_sighup_after_a_save() {
    let mut rig = Rig::new(Some(&configured()));
    let mut stand_in = std::process::Command::new("sleep");
    stand_in.arg("30");
    // Under nohup SIGHUP is ignored, and sleep(1) would inherit that.
    // SAFETY: only async-signal-safe signal(2) runs between fork and exec.
    unsafe {
        use nix::sys::signal::{SigHandler, Signal, signal};
        use std::os::unix::process::CommandExt;
        stand_in.pre_exec(|| {
            signal(Signal::SIGHUP, SigHandler::SigDfl)
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    let mut ftpd = stand_in.spawn().expect("spawn a stand-in ftpd");
    std::fs::write(rig.path("ftpd.pid"), format!("{}\n", ftpd.id())).expect("pid file");
    rig.key(KeyCode::Char('2'));
    rig.focus("FTP Access List");
    rig.type_text("10.0.2.2");
    rig.press("Save");
    let screen = rig.screen();
    assert!(
        screen.contains(&format!("ftpd: reloaded (pid {})", ftpd.id())),
        "{screen}"
    );
    // sleep(1) dies of SIGHUP: proof that the signal was sent.
    let status = ftpd.wait().expect("wait");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(1));
}

#[test]
fn esc_with_unsaved_changes_asks_and_defaults_to_keep_editing() {
    let mut rig = Rig::new(Some(&configured()));
    let before = rig.config_bytes();
    rig.key(KeyCode::Char('2'));
    rig.type_text("x");
    rig.key(KeyCode::Esc);
    let screen = rig.screen();
    assert!(screen.contains("have not been saved"), "{screen}");
    assert!(screen.contains("[ Keep editing ]"), "{screen}");
    rig.key(KeyCode::Enter);
    assert!(rig.row_with("Host name").contains("mx1x"), "kept editing");
    rig.key(KeyCode::Esc);
    rig.key(KeyCode::Esc);
    assert!(
        rig.screen().contains("System Configuration"),
        "a lone Esc never discards"
    );
    rig.key(KeyCode::Esc);
    rig.keys(&[KeyCode::Right, KeyCode::Enter]);
    let screen = rig.screen();
    assert!(screen.contains("Main menu"), "{screen}");
    assert!(screen.contains("Changes discarded"), "{screen}");
    assert_eq!(rig.config_bytes(), before);
    assert_eq!(rig.app.config().system.hostname.as_str(), "mx1");
}

#[test]
fn backup_location_smb_chosen_with_space_validated_tested_and_saved() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    backupd.lock().expect("lock").sets_configured = vec![
        set(
            "mx1-F20261120T220000Z.tar",
            BackupType::Full,
            "2026-11-20 22:00:00",
            56 << 20,
        ),
        set(
            "mx1-I20261121T220000Z.tar",
            BackupType::Differential,
            "2026-11-21 22:00:00",
            3 << 20,
        ),
    ];
    let before = rig.config_bytes();
    rig.key(KeyCode::Char('4'));
    let screen = rig.wait_for("verified, 1234 files");
    assert!(screen.contains("(*) Local"), "{screen}");
    assert!(
        !screen.contains("Share"),
        "SMB fields hidden until chosen:\n{screen}"
    );
    assert!(screen.contains("Backup time"), "{screen}");
    assert!(rig.row_with("Backup time").contains("22:00"));
    assert!(rig.row_with("Restore points").contains('3'));
    assert!(rig.row_with("Body window (h)").contains("24"));
    assert!(screen.contains("[ Test Connectivity ]"), "{screen}");
    assert!(screen.contains("Next: 2026-11-22 22:00 (full)"), "{screen}");

    // Arrow to SMB/Windows, space to choose it: its fields appear.
    rig.key(KeyCode::Right);
    assert!(!rig.screen().contains("Share"), "moving is not choosing");
    rig.key(KeyCode::Char(' '));
    let screen = rig.screen();
    assert!(screen.contains("(*) SMB/Windows"), "{screen}");
    for label in ["Host", "Share", "Path", "User name", "Password"] {
        assert!(screen.contains(label), "{label} missing:\n{screen}");
    }

    // Empty SMB fields, a bad time, a bad retention: each refused by name.
    rig.focus("Backup time");
    rig.replace_text("25:00");
    rig.focus("Restore points");
    rig.replace_text("0");
    rig.press("Save");
    assert!(
        rig.field("  Host").contains("address or name is empty"),
        "{}",
        rig.screen()
    );
    assert!(rig.field("  Share").contains("share name is empty"));
    assert!(rig.field("  User name").contains("user name is empty"));
    assert!(
        rig.field("Backup time")
            .contains("the hour must be 0 to 23")
    );
    assert!(rig.field("Restore points").contains("from 1 to 1000"));
    // Test Connectivity refuses to run on bad fields too.
    rig.press("Test Connectivity");
    assert!(rig.screen().contains("before testing"));
    assert_eq!(rig.config_bytes(), before, "nothing half-saved");

    rig.focus("Host");
    rig.type_text("10.0.2.2");
    rig.focus("Share");
    rig.type_text("backup");
    rig.focus("Path");
    rig.type_text("appliance/mx1");
    rig.focus("User name");
    rig.type_text("CORP\\backup");
    rig.focus("Password");
    rig.type_text("sh,are-pw");
    rig.focus("Backup time");
    rig.replace_text("23:30");
    rig.focus("Differential on");
    rig.keys(&[
        KeyCode::Right,
        KeyCode::Char(' '),
        KeyCode::Right,
        KeyCode::Right,
        KeyCode::Char(' '),
    ]);
    assert!(rig.row_with("Differential on").contains("[x]Tue"));
    rig.focus("Restore points");
    rig.replace_text("5");
    rig.focus("Body window (h)");
    rig.replace_text("48");

    rig.press("Test Connectivity");
    let screen = rig.wait_for("SUCCESS");
    assert!(screen.contains("SUCCESS: Connected"), "{screen}");
    assert!(screen.contains("mount //10.0.2.2/backup: ok"), "{screen}");
    assert!(screen.contains("delete probe: ok"), "{screen}");
    assert!(
        screen.contains("file system cifs, SMB 3.1.1, 20.0 GiB free of 50.0 GiB"),
        "{screen}"
    );
    assert!(screen.contains("Backup sets found (2)"), "{screen}");
    assert!(
        screen.contains("mx1-F20261120T220000Z.tar  full  2026-11-20 22:00:00  56.0 MiB"),
        "{screen}"
    );
    assert!(
        screen.contains("mx1-I20261121T220000Z.tar  differential"),
        "{screen}"
    );
    {
        let b = backupd.lock().expect("lock");
        let tested = b
            .requests
            .iter()
            .find_map(|r| match r {
                control::backupd::Request::TestConnectivity { settings } => settings.clone(),
                _ => None,
            })
            .expect("TestConnectivity sent with the unsaved settings");
        assert_eq!(tested.destination, DestinationKind::Smb);
        assert_eq!(tested.smb.host, "10.0.2.2");
        assert_eq!(tested.smb.password, "sh,are-pw");
    }
    assert_eq!(rig.config_bytes(), before, "testing does not save");
    rig.key(KeyCode::Enter);

    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    assert!(
        screen.contains("backupd: reloaded the configuration"),
        "{screen}"
    );
    let saved = rig.saved();
    assert_eq!(&saved, rig.app.config());
    let b = &saved.backup;
    assert_eq!(b.destination, DestinationKind::Smb);
    assert_eq!(b.smb.host, "10.0.2.2");
    assert_eq!(b.smb.share, "backup");
    assert_eq!(b.smb.path, "appliance/mx1");
    assert_eq!(b.smb.username, "CORP\\backup");
    assert_eq!(b.smb.password, "sh,are-pw");
    assert_eq!(b.schedule.to_string(), "23:30");
    assert_eq!(b.differential_days, [Weekday::Tue, Weekday::Thu]);
    assert_eq!(b.retention, 5);
    assert_eq!(b.body_window_hours, 48);
    // The password is kept in the secrets file beside the configuration,
    // which backups leave out.
    assert!(
        !std::fs::read_to_string(rig.config_path())
            .expect("read")
            .contains("sh,are-pw")
    );
    assert!(
        std::fs::read_to_string(appconfig::secrets_path(&rig.config_path()))
            .expect("read")
            .contains("sh,are-pw")
    );
}

#[test]
fn test_connectivity_failure_is_reported_in_words() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('4'));
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);
    for (label, text) in [("Host", "10.9.9.9"), ("Share", "b"), ("User name", "u")] {
        rig.focus(label);
        rig.type_text(text);
    }
    rig.press("Test Connectivity");
    let screen = rig.wait_for("FAILED");
    assert!(
        screen.contains("FAILED: host 10.9.9.9 does not answer"),
        "{screen}"
    );
    assert!(screen.contains("mount: no answer on port 445"), "{screen}");
    assert!(screen.contains("No backup sets found"), "{screen}");
}

#[test]
fn backup_screen_without_backupd_still_saves() {
    let mut rig = Rig::new(Some(&configured()));
    rig.key(KeyCode::Char('4'));
    let screen = rig.wait_for("not running");
    assert!(screen.contains("backupd is not running"), "{screen}");
    rig.keys(&[KeyCode::Right, KeyCode::Right, KeyCode::Char(' ')]);
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    assert!(
        screen.contains("it reads the file when it starts"),
        "{screen}"
    );
    assert_eq!(rig.saved().backup.destination, DestinationKind::Usb);
    rig.key(KeyCode::Enter);
    rig.press("Test Connectivity");
    let screen = rig.wait_for("FAILED");
    assert!(
        screen.contains("FAILED: backupd is not running"),
        "{screen}"
    );
}

/// Throwaway age key pairs (age-keygen), for the fields and the restore.
const SET_RECIPIENT: &str = "age1cg9jl7qvlx2kxahr77gskua2ezskhs949ghzyjyevzmtydg7kswsgv5xsh";
const SET_IDENTITY: &str =
    "AGE-SECRET-KEY-1SPW4LV9HPE9WRDZXT3EYKZTSG9SR8RN563S5HM2LV7VWX3JAG2ZSL5250P";
const SECRETS_RECIPIENT: &str = "age14x203v6xmd0jq2fcmyzqxf4lrwn4t4w6u78fkx9gfv8xte5r8fsqhqfqpr";
const SECRETS_IDENTITY: &str =
    "AGE-SECRET-KEY-1KCZ7348N88PJJK52TDECDTPFUEDK9RK4HMA33US94E2G05L7SX8QW83JN8";

#[test]
fn backup_keys_are_checked_beside_their_fields_and_saved() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    let before = rig.config_bytes();
    rig.key(KeyCode::Char('4'));
    let screen = rig.wait_for("verified, 1234 files");
    assert!(screen.contains("Secrets key (age recipient)"), "{screen}");
    assert!(screen.contains("Set encryption key"), "{screen}");
    // The help line: the operator keeps the identity, no restore without it.
    rig.focus("Set encryption key");
    let screen = rig.screen();
    assert!(
        screen.contains("keep its identity: no restore without it"),
        "{screen}"
    );
    rig.focus("Secrets key (age recipient)");
    assert!(
        rig.screen()
            .contains("keep its identity or they stay sealed")
    );

    // The secret half of a pair is refused, and so is a mistyped key: the
    // reason beside the field as the focus leaves it, and again on Save.
    rig.focus("Set encryption key");
    rig.type_text(SET_IDENTITY);
    rig.key(KeyCode::Tab);
    assert!(
        rig.field("Set encryption key")
            .contains("that is a secret key"),
        "{}",
        rig.screen()
    );
    rig.focus("Secrets key (age recipient)");
    rig.replace_text("age1nope");
    rig.press("Save");
    assert!(rig.screen().contains("Not saved"), "{}", rig.screen());
    assert!(
        rig.field("Secrets key (age recipient)")
            .contains("is not an age public key")
    );
    assert!(
        rig.field("Set encryption key")
            .contains("that is a secret key")
    );
    assert_eq!(rig.config_bytes(), before, "nothing saved");

    rig.focus("Secrets key (age recipient)");
    rig.replace_text(SECRETS_RECIPIENT);
    rig.focus("Set encryption key");
    rig.replace_text(SET_RECIPIENT);
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    let saved = rig.saved();
    assert_eq!(saved.backup.encrypt_recipient, SET_RECIPIENT);
    assert_eq!(saved.backup.secrets_recipient, SECRETS_RECIPIENT);
    rig.key(KeyCode::Enter);

    // Emptied, encryption is off again.
    rig.focus("Set encryption key");
    rig.ctrl('u');
    rig.press("Save");
    assert!(rig.screen().contains("Configuration saved"));
    assert_eq!(rig.saved().backup.encrypt_recipient, "");
    assert_eq!(rig.saved().backup.secrets_recipient, SECRETS_RECIPIENT);
}

#[test]
fn backup_now_shows_live_progress_and_the_result() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('4'));
    rig.wait_for("verified, 1234 files");

    // Unsaved changes: Backup Now would not use them, so it says so.
    rig.focus("Body window (h)");
    rig.type_text("0");
    rig.press("Backup Now");
    assert!(rig.screen().contains("Save the changes first"));
    rig.focus("Body window (h)");
    rig.replace_text("24");
    rig.press("Save");
    rig.key(KeyCode::Enter);

    rig.press("Backup Now");
    let screen = rig.wait_for("Phase: writing");
    assert!(
        screen.contains("Set: mx1-C20261122T100000Z.tar"),
        "{screen}"
    );
    assert!(screen.contains("Time left estimating..."), "{screen}");
    assert!(screen.contains("0 B of 3.0 GiB, 0 files"), "{screen}");
    // backupd may not know the total yet: no bar stuck at 0%, bytes so far.
    {
        let mut b = backupd.lock().expect("lock");
        if let Some(p) = b.status.as_mut().and_then(|s| s.running.as_mut()) {
            p.bytes_total = 0;
        }
        b.advance(4 << 20, 152, 1, None);
    }
    let screen = rig.wait_for("4.0 MiB so far, 152 files");
    assert!(screen.contains("(total size not known yet)"), "{screen}");
    assert!(!screen.contains("0%"), "{screen}");
    if let Some(p) = backupd
        .lock()
        .expect("lock")
        .status
        .as_mut()
        .and_then(|s| s.running.as_mut())
    {
        p.bytes_total = 3 << 30;
    }
    backupd
        .lock()
        .expect("lock")
        .advance(2 << 30, 66, 60, Some(30));
    let screen = rig.wait_for("Time left 0:30");
    assert!(
        screen.contains("[###########################.............]  66%"),
        "{screen}"
    );
    assert!(screen.contains("2.0 GiB of 3.0 GiB, 66 files"), "{screen}");
    assert!(screen.contains("Elapsed 1:00"), "{screen}");
    backupd
        .lock()
        .expect("lock")
        .finish("verified, 99 files, 3.0 GiB");
    let screen = rig.wait_for("Finished: verified, 99 files, 3.0 GiB");
    assert!(screen.contains("[ Close ]"), "{screen}");
    assert!(backupd.lock().expect("lock").requests.contains(
        &control::backupd::Request::BackupNow {
            kind: BackupType::Copy
        }
    ));
    rig.key(KeyCode::Enter);
    let screen = rig.wait_for("2026-11-22 10:00:00");
    assert!(screen.contains("Now: idle"), "{screen}");
    let row = rig.row_with("2026-11-22 10:00:00");
    assert!(row.contains("copy") && row.contains("OK"), "{row}");
}

#[test]
fn restore_lists_both_folders_and_confirms() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    {
        let mut b = backupd.lock().expect("lock");
        b.sets_configured = vec![set(
            "mx1-F20261120T220000Z.tar",
            BackupType::Full,
            "2026-11-20 22:00:00",
            56 << 20,
        )];
        let mut broken = set(
            "old-F20250101T000000Z.tar",
            BackupType::Full,
            "2025-01-01 00:00:00",
            1 << 20,
        );
        broken.complete = false;
        b.sets_restore = vec![
            set(
                "old-I20261121T220000Z.tar",
                BackupType::Differential,
                "2026-11-21 22:00:00",
                3 << 20,
            ),
            broken,
        ];
    }
    rig.key(KeyCode::Char('5'));
    let screen = rig.wait_for("mx1-F20261120T220000Z.tar");
    assert!(screen.contains("Where    Type Date (UTC)"), "{screen}");
    let newest = rig.row_with("old-I20261121T220000Z.tar");
    assert!(
        newest.contains("restore  diff 2026-11-21 22:00"),
        "{newest}"
    );
    assert!(newest.contains("3.0 MiB"), "{newest}");
    let full = rig.row_with("mx1-F20261120T220000Z.tar");
    assert!(
        full.contains("location") && full.contains("full") && full.contains("56.0 MiB"),
        "{full}"
    );
    assert!(rig.row_with("old-F2025").starts_with("|(!) restore"));
    assert!(screen.contains("(!) incomplete: a volume or the .md5 file is missing"));

    // Nothing chosen yet.
    rig.keys(&[KeyCode::Tab, KeyCode::Enter]);
    assert!(rig.screen().contains("Choose a set with Space first"));
    // The incomplete set cannot be restored.
    rig.keys(&[
        KeyCode::Tab,
        KeyCode::End,
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Enter,
    ]);
    assert!(rig.screen().contains("is incomplete"), "{}", rig.screen());

    // Choose the full set (second row) with space; confirm asks, Esc cancels.
    rig.keys(&[
        KeyCode::Tab,
        KeyCode::Home,
        KeyCode::Down,
        KeyCode::Char(' '),
    ]);
    assert!(rig.row_with("mx1-F2026").contains("(*)"));
    rig.keys(&[KeyCode::Tab, KeyCode::Enter]);
    let screen = rig.screen();
    assert!(screen.contains("Restore the whole system from"), "{screen}");
    assert!(screen.contains("are replaced"), "{screen}");
    rig.key(KeyCode::Esc);
    assert!(
        !backupd
            .lock()
            .expect("lock")
            .requests
            .iter()
            .any(|r| matches!(r, control::backupd::Request::VerifySet { .. }))
    );

    // Confirm: no second check here (recover checks what it restores), and
    // no restore tool in this rig.
    rig.keys(&[KeyCode::Enter, KeyCode::Right, KeyCode::Enter]);
    let screen = rig.wait_for("not installed");
    assert!(screen.contains("nothing was changed"), "{screen}");
    assert!(
        !backupd
            .lock()
            .expect("lock")
            .requests
            .iter()
            .any(|r| matches!(r, control::backupd::Request::VerifySet { .. }))
    );
}

/// A fake `recover` that logs its arguments and answers with `body`.
fn fake_recover(rig: &Rig, body: &str) {
    let log = rig.path("commands.log");
    std::fs::write(
        rig.path("recover"),
        format!(
            "#!/bin/sh\necho \"recover $*\" >> '{}'\n{body}\n",
            log.display()
        ),
    )
    .expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(rig.path("recover"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
}

#[test]
fn restore_shows_why_recover_refused_a_set() {
    let mut rig = Rig::new(Some(&configured()));
    fake_recover(
        &rig,
        "echo 'recover: set mx1-F20261120T220000Z.tar does not match its .md5 file' >&2; exit 1",
    );
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    backupd.lock().expect("lock").sets_restore = vec![set(
        "mx1-F20261120T220000Z.tar",
        BackupType::Full,
        "2026-11-20 22:00:00",
        9,
    )];
    rig.key(KeyCode::Char('5'));
    rig.wait_for("mx1-F20261120T220000Z.tar");
    rig.keys(&[
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Right,
        KeyCode::Enter,
    ]);
    let screen = rig.wait_for("The restore failed");
    assert!(screen.contains("does not match its .md5 file"), "{screen}");
}

#[test]
fn restore_does_not_offer_an_upload_that_failed_its_check() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    {
        let mut b = backupd.lock().expect("lock");
        // As ftpd records it after an upload to the restore folder.
        let mut damaged = set(
            "mx1-F20261120T220000Z.tar",
            BackupType::Full,
            "2026-11-20 22:00:00",
            9,
        );
        damaged.verified = Some(false);
        damaged.problem = Some("mx1-F20261120T220000Z.tar: MD5 differs".into());
        b.sets_restore = vec![damaged];
    }
    rig.key(KeyCode::Char('5'));
    let screen = rig.wait_for("mx1-F20261120T220000Z.tar");
    assert!(
        rig.row_with("mx1-F2026").starts_with("|(!) restore"),
        "{screen}"
    );
    assert!(screen.contains("(!) failed its check"), "{screen}");
    rig.keys(&[KeyCode::Char(' '), KeyCode::Tab, KeyCode::Enter]);
    assert!(
        rig.screen()
            .contains("failed its check: mx1-F20261120T220000Z.tar: MD5"),
        "{}",
        rig.screen()
    );
    assert!(
        !backupd
            .lock()
            .expect("lock")
            .requests
            .iter()
            .any(|r| matches!(r, control::backupd::Request::VerifySet { .. }))
    );
}

#[test]
fn restore_hands_recover_the_location_and_the_set_name() {
    let mut rig = Rig::new(Some(&configured()));
    fake_recover(
        &rig,
        "echo 'restoring configuration'\necho 'restoring mail: 100%'",
    );
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    backupd.lock().expect("lock").sets_restore = vec![set(
        "mx1-F20261120T220000Z.tar",
        BackupType::Full,
        "2026-11-20 22:00:00",
        9,
    )];
    rig.key(KeyCode::Char('5'));
    rig.wait_for("mx1-F20261120T220000Z.tar");
    rig.keys(&[
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Enter,
        KeyCode::Right,
        KeyCode::Enter,
    ]);
    let screen = rig.wait_for("Restore finished");
    assert!(screen.contains("restoring mail: 100%"), "{screen}");
    assert_eq!(
        rig.commands(),
        "recover --system --location restore mx1-F20261120T220000Z.tar\n"
    );
}

#[test]
fn restore_of_another_units_set_asks_whether_this_unit_replaces_it() {
    let mut config = configured();
    config.system.unit_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".parse().expect("id");
    let mut rig = Rig::new(Some(&config));
    fake_recover(&rig, "echo done");
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let mut theirs = set(
        "appliance-123456-F20261120T220000Z.tar",
        BackupType::Full,
        "2026-11-20 22:00:00",
        9,
    );
    theirs.unit = Some("0f8c2d3e-5b7a-4c1d-9e2f-3a4b5c6d7e8f".into());
    backupd.lock().expect("lock").sets_configured = vec![theirs];
    rig.key(KeyCode::Char('5'));
    // The name is wider than its column: the row under the cursor is named in full.
    rig.wait_for("Set: appliance-123456-F20261120T220000Z.tar");
    rig.keys(&[KeyCode::Char(' '), KeyCode::Tab, KeyCode::Enter]);
    let screen = rig.screen();
    assert!(screen.contains("made by another unit"), "{screen}");
    assert!(screen.contains("Restore, keep this unit"), "{screen}");
    rig.keys(&[KeyCode::Right, KeyCode::Right, KeyCode::Enter]);
    rig.wait_for("Restore finished");
    assert_eq!(
        rig.commands(),
        "recover --system --location configured --keep-identity appliance-123456-F20261120T220000Z.tar\n"
    );
}

/// A fake `recover` that logs its arguments, and what each identity file
/// it is given holds (with its mode) while it runs, then answers `body`.
fn fake_recover_with_keys(rig: &Rig, body: &str) {
    let seen = rig.path("seen-keys");
    fake_recover(
        rig,
        &format!(
            "for a; do :; done\n\
             while [ $# -gt 0 ]; do\n\
               case \"$1\" in --identity|--secrets-identity)\n\
                 echo \"$1 $(stat -c %a \"$2\")\" >> '{}'; cat \"$2\" >> '{}'; shift;;\n\
               esac; shift\n\
             done\n{body}",
            seen.display(),
            seen.display()
        ),
    );
}

/// The private folder of identity files holds nothing.
fn no_key_left(rig: &Rig) {
    let left: Vec<_> = std::fs::read_dir(rig.path("run"))
        .expect("run dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "identity files left behind: {left:?}");
}

/// Opens Restore From Backup on the one set offered and confirms.
fn choose_and_confirm(rig: &mut Rig, name: &str) {
    rig.key(KeyCode::Char('5'));
    rig.wait_for(name);
    rig.keys(&[
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Enter,
        KeyCode::Right,
        KeyCode::Enter,
    ]);
}

#[test]
fn restore_of_an_encrypted_set_asks_for_its_identity() {
    let mut config = configured();
    config.backup.encrypt_recipient = SET_RECIPIENT.into();
    let mut rig = Rig::new(Some(&config));
    fake_recover_with_keys(&rig, "echo 'restoring mail: 100%'");
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let name = "mx1-F20261120T220000Z.tar.age";
    backupd.lock().expect("lock").sets_configured =
        vec![set(name, BackupType::Full, "2026-11-20 22:00:00", 9)];
    std::fs::write(rig.path("usb/notes.txt"), "shopping list\n").expect("write");
    choose_and_confirm(&mut rig, name);
    let screen = rig.screen();
    assert!(screen.contains("Keys for the restore"), "{screen}");
    assert!(screen.contains("is encrypted"), "{screen}");
    assert!(screen.contains("never saved"), "{screen}");
    assert!(
        screen.contains("Key files on the USB drive: notes.txt"),
        "{screen}"
    );
    // No secrets key on this unit: its own passwords stay by default.
    assert!(
        rig.row_with("Sealed secrets")
            .contains("(*) Keep this unit's")
    );

    // An empty answer, a public key, a file that is not there, a file
    // without a key, a key cut short: each refused beside the field, and
    // recover never started.
    rig.press("Restore");
    assert!(rig.field("Set key").contains("empty"), "{}", rig.screen());
    rig.focus("Set key");
    rig.replace_text(SET_RECIPIENT);
    rig.press("Restore");
    assert!(
        rig.field("Set key").contains("public key"),
        "{}",
        rig.screen()
    );
    rig.focus("Set key");
    rig.replace_text("key.txt");
    rig.press("Restore");
    let screen = rig.screen();
    assert!(
        screen.contains("no key file \"key.txt\" on the USB drive (there: notes.txt)"),
        "{screen}"
    );
    rig.focus("Set key");
    rig.replace_text("notes.txt");
    rig.press("Restore");
    assert!(
        rig.screen().contains("notes.txt holds no AGE-SECRET-KEY-1"),
        "{}",
        rig.screen()
    );
    rig.focus("Set key");
    rig.replace_text(&SET_IDENTITY[..60]);
    assert!(
        rig.row_with("Set key").contains("*****"),
        "a key shows as stars"
    );
    rig.press("Restore");
    assert!(
        rig.field("Set key").contains("not a whole age identity"),
        "{}",
        rig.screen()
    );
    assert_eq!(rig.commands(), "", "recover did not run");
    no_key_left(&rig);

    // The key: recover gets it in a private file, gone afterwards.
    rig.focus("Set key");
    rig.replace_text(SET_IDENTITY);
    assert!(!rig.screen().contains(&SET_IDENTITY[20..40]), "never shown");
    rig.press("Restore");
    let screen = rig.wait_for("Restore finished");
    assert!(screen.contains("restoring mail: 100%"), "{screen}");
    let commands = rig.commands();
    let run = rig.path("run");
    assert!(
        commands.starts_with(&format!(
            "recover --system --location configured --identity {}/console-identity-",
            run.display()
        )),
        "{commands}"
    );
    assert!(
        commands.trim_end().ends_with(&format!(".txt {name}")),
        "{commands}"
    );
    assert_eq!(
        std::fs::read_to_string(rig.path("seen-keys")).expect("seen"),
        format!("--identity 600\n{SET_IDENTITY}\n")
    );
    no_key_left(&rig);
    // Never in the configuration.
    assert!(!String::from_utf8_lossy(&rig.config_bytes()).contains("AGE-SECRET"));
}

#[test]
fn restore_with_a_wrong_identity_shows_recovers_refusal_and_asks_again() {
    let mut config = configured();
    config.backup.encrypt_recipient = SET_RECIPIENT.into();
    let mut rig = Rig::new(Some(&config));
    let name = "mx1-F20261120T220000Z.tar.age";
    fake_recover_with_keys(
        &rig,
        &format!(
            "echo 'recover: the identity given does not open {name}: it is encrypted to \
             {SET_RECIPIENT}; give that key'\"'\"'s identity with --identity' >&2; exit 2"
        ),
    );
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    backupd.lock().expect("lock").sets_configured =
        vec![set(name, BackupType::Full, "2026-11-20 22:00:00", 9)];
    choose_and_confirm(&mut rig, name);
    rig.focus("Set key");
    rig.type_text(SECRETS_IDENTITY);
    rig.press("Restore");
    let screen = rig.wait_for("The restore failed");
    assert!(
        screen.contains("the identity given does not open"),
        "{screen}"
    );
    assert!(screen.contains("[ Give the key again ]"), "{screen}");
    no_key_left(&rig);
    // Asked again, with recover's words; Esc leaves it.
    rig.keys(&[KeyCode::Right, KeyCode::Enter]);
    let screen = rig.screen();
    assert!(screen.contains("Keys for the restore"), "{screen}");
    assert!(
        screen.contains("Refused: recover: the identity given"),
        "{screen}"
    );
    assert_eq!(rig.form_text("Set key"), "", "the key typed before is gone");
    rig.key(KeyCode::Esc);
    assert!(
        rig.screen().contains("nothing was changed"),
        "{}",
        rig.screen()
    );
}

#[test]
fn restore_takes_the_key_file_from_the_usb_drive_for_set_and_secrets() {
    let mut config = configured();
    config.backup.encrypt_recipient = SET_RECIPIENT.into();
    config.backup.secrets_recipient = SET_RECIPIENT.into();
    let mut rig = Rig::new(Some(&config));
    fake_recover_with_keys(&rig, "echo done");
    std::fs::write(
        rig.path("usb/key.txt"),
        format!("# created: 2026-12-03T21:51:05Z\n# public key: {SET_RECIPIENT}\n{SET_IDENTITY}\n"),
    )
    .expect("write");
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let name = "mx1-F20261120T220000Z.tar.age";
    backupd.lock().expect("lock").sets_restore =
        vec![set(name, BackupType::Full, "2026-11-20 22:00:00", 9)];
    choose_and_confirm(&mut rig, name);
    assert!(rig.screen().contains("Key files on the USB drive: key.txt"));
    // One key for both: the secrets are opened with the set's key.
    assert!(rig.row_with("Sealed secrets").contains("(*) Same key"));
    rig.focus("Set key");
    rig.type_text("key.txt");
    assert!(
        rig.row_with("Set key").contains("key.txt"),
        "a file name shows"
    );
    rig.press("Restore");
    rig.wait_for("Restore finished");
    let commands = rig.commands();
    assert!(
        commands.contains("--location restore --identity "),
        "{commands}"
    );
    let words: Vec<&str> = commands.split_whitespace().collect();
    let at = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1]);
    assert_eq!(at("--identity"), at("--secrets-identity"), "{commands}");
    assert_eq!(
        std::fs::read_to_string(rig.path("seen-keys")).expect("seen"),
        format!("--identity 600\n{SET_IDENTITY}\n--secrets-identity 600\n{SET_IDENTITY}\n")
    );
    no_key_left(&rig);
}

#[test]
fn restore_on_a_unit_that_seals_its_secrets_asks_for_the_secrets_key() {
    let mut config = configured();
    config.backup.secrets_recipient = SECRETS_RECIPIENT.into();
    let mut rig = Rig::new(Some(&config));
    fake_recover_with_keys(&rig, "echo done");
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let name = "mx1-F20261120T220000Z.tar";
    backupd.lock().expect("lock").sets_configured =
        vec![set(name, BackupType::Full, "2026-11-20 22:00:00", 9)];
    choose_and_confirm(&mut rig, name);
    let screen = rig.screen();
    assert!(screen.contains("seals its passwords"), "{screen}");
    assert!(
        !screen.contains("Set key"),
        "a plain set needs no key:\n{screen}"
    );
    assert!(
        rig.row_with("Sealed secrets")
            .contains("(*) Open with a key")
    );
    rig.press("Restore");
    assert!(
        rig.field("  Secrets key").contains("empty"),
        "{}",
        rig.screen()
    );
    rig.focus("  Secrets key");
    rig.type_text(SECRETS_IDENTITY);
    rig.press("Restore");
    rig.wait_for("Restore finished");
    let commands = rig.commands();
    assert!(
        commands.starts_with("recover --system --location configured --secrets-identity "),
        "{commands}"
    );
    assert!(!commands.contains("--identity "), "{commands}");
    no_key_left(&rig);

    // Keeping this unit's own: no key at all.
    std::fs::remove_file(rig.path("commands.log")).expect("rm");
    // Close, then Restore selected again (the set is still chosen).
    rig.keys(&[
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Right,
        KeyCode::Enter,
    ]);
    rig.focus("Sealed secrets");
    rig.keys(&[KeyCode::Left, KeyCode::Char(' ')]);
    assert!(!rig.screen().contains("Secrets key "), "{}", rig.screen());
    rig.press("Restore");
    rig.wait_for("Restore finished");
    assert_eq!(
        rig.commands(),
        format!("recover --system --location configured {name}\n")
    );
}

#[test]
fn firmware_update_lists_bundles_confirms_and_shows_rauc_output() {
    let mut rig = Rig::new(Some(&configured()));
    std::fs::write(rig.path("usb/appliance-2.0.raucb"), vec![0u8; 3 << 20]).expect("bundle");
    std::fs::write(rig.path("usb/readme.txt"), b"x").expect("other file");
    rig.key(KeyCode::Char('6'));
    let screen = rig.screen();
    assert!(screen.contains("Firmware Update"), "{screen}");
    let row = rig.row_with("appliance-2.0.raucb");
    assert!(row.contains("3.0 MiB") && row.contains("usb"), "{row}");
    assert!(!screen.contains("readme.txt"));

    rig.keys(&[KeyCode::Char(' '), KeyCode::Tab, KeyCode::Enter]);
    let screen = rig.screen();
    assert!(screen.contains("Install appliance-2.0.raucb"), "{screen}");
    assert!(screen.contains("[ Cancel ]"), "{screen}");
    rig.key(KeyCode::Enter);
    assert!(rig.commands().is_empty(), "Cancel is the default");

    rig.keys(&[KeyCode::Enter, KeyCode::Right, KeyCode::Enter]);
    let screen = rig.wait_for("Installed. Reboot");
    assert!(screen.contains("installing: 100%"), "{screen}");
    assert!(screen.contains("Installing done."), "{screen}");
    assert!(screen.contains("[ Reboot ]"), "{screen}");
    assert_eq!(
        rig.commands(),
        format!(
            "rauc install {}\n",
            rig.path("usb/appliance-2.0.raucb").display()
        )
    );
}

#[test]
fn firmware_update_without_bundles_says_where_to_put_them() {
    let mut rig = Rig::new(Some(&configured()));
    rig.key(KeyCode::Char('6'));
    let screen = rig.screen();
    assert!(screen.contains("No bundles found"), "{screen}");
    rig.key(KeyCode::Enter);
    assert!(rig.screen().contains("Choose a bundle with Space first"));
}

#[test]
fn every_view_fits_80x24_in_ascii() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    for key in ['1', '2', '3', '4', '5', '6'] {
        rig.key(KeyCode::Char(key));
        rig.app.tick();
        let screen = rig.screen();
        assert!(screen.is_ascii(), "{screen}");
        let last = screen.lines().nth(23).expect("24 rows");
        assert!(last.contains("Esc"), "keys line on row 24:\n{screen}");
        // Buttons are on screen, not cut off below.
        assert!(screen.contains("[ "), "{screen}");
        rig.key(KeyCode::Esc);
    }
    let _ = Config::default();
}

#[test]
fn a_reason_appears_when_leaving_a_field_and_goes_when_it_is_fixed() {
    let mut rig = Rig::new(Some(&configured()));
    rig.key(KeyCode::Char('1'));
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);
    rig.focus("IP address");
    rig.type_text("192.168.1.");
    assert!(
        !rig.field("IP address").contains('!'),
        "no verdict while typing"
    );
    rig.key(KeyCode::Tab);
    assert!(
        rig.field("IP address")
            .contains("\"192.168.1.\" is not an IPv4 address"),
        "{}",
        rig.screen()
    );
    // The empty mask is not judged before the operator got to it.
    assert!(!rig.field("Network mask").contains('!'), "{}", rig.screen());
    rig.key(KeyCode::BackTab);
    rig.type_text("7");
    assert!(
        !rig.field("IP address").contains('!'),
        "editing clears the reason"
    );
    rig.key(KeyCode::Tab);
    assert!(!rig.field("IP address").contains('!'), "{}", rig.screen());

    // The console password is only checked on Save: moving past it is no failed try.
    rig.key(KeyCode::Esc);
    rig.keys(&[KeyCode::Right, KeyCode::Enter]);
    rig.key(KeyCode::Char('2'));
    rig.focus("Console pw. now");
    rig.type_text("wrong-password-1");
    rig.key(KeyCode::Tab);
    assert!(rig.sys.failed_passwords.lock().expect("lock").is_empty());
    rig.focus("Repeat FTP pw.");
    rig.key(KeyCode::Up);
    rig.type_text("weak");
    rig.key(KeyCode::Tab);
    assert!(
        rig.field("FTP password").contains("too short"),
        "{}",
        rig.screen()
    );
}

#[test]
fn small_and_large_terminals_do_not_break_any_view() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    for (w, h) in [(20, 4), (40, 10), (79, 23), (132, 50)] {
        rig.term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("term");
        for key in ['1', '2', '3', '4', '5', '6'] {
            rig.key(KeyCode::Char(key));
            rig.app.tick();
            let _ = rig.screen();
            // A pop-up too: Save's report or a question.
            rig.key(KeyCode::BackTab);
            rig.key(KeyCode::Enter);
            let _ = rig.screen();
            rig.key(KeyCode::Esc);
            rig.key(KeyCode::Esc);
            if rig.screen().contains("Keep editing") {
                rig.keys(&[KeyCode::Right, KeyCode::Enter]);
            }
        }
    }
}

#[test]
fn esc_merged_with_the_next_key_counts_as_both() {
    let mut rig = Rig::new(Some(&configured()));
    rig.key(KeyCode::Char('4'));
    assert!(rig.screen().contains("Backup/Maintenance"));
    // ESC '4' in one read is parsed as Alt-4.
    rig.app.handle_key(ratatui::crossterm::event::KeyEvent::new(
        KeyCode::Char('5'),
        ratatui::crossterm::event::KeyModifiers::ALT,
    ));
    assert!(
        rig.screen().contains("Restore From Backup"),
        "{}",
        rig.screen()
    );
}

/// The consoles on the screen and on the serial line each read the
/// configuration when they open a screen: a save based on an older read is
/// refused with the reason instead of undoing what the other one saved.
#[test]
fn two_consoles_never_undo_each_others_changes() {
    let mut first = Rig::new(Some(&configured()));
    let shared = first.path("config/appliance.toml");
    let at = shared.clone();
    let mut second = Rig::with(None, move |_, s| s.config_path = at);
    first.key(KeyCode::Char('2'));
    second.key(KeyCode::Char('2'));

    first.focus("Host name");
    first.replace_text("from-screen");
    first.press("Save");
    assert!(
        first.screen().contains("Configuration saved"),
        "{}",
        first.screen()
    );

    second.focus("NTP servers");
    second.replace_text("10.0.2.2");
    second.press("Save");
    let screen = second.screen();
    assert!(screen.contains("changed elsewhere"), "{screen}");
    let saved = appconfig::Config::load(&shared).expect("load");
    assert_eq!(saved.system.hostname.as_str(), "from-screen", "not undone");
    assert_eq!(saved.system.ntp_server, "", "the stale save wrote nothing");

    // Opened again, the screen shows the current file, and saving works.
    second.key(KeyCode::Enter);
    second.key(KeyCode::Esc);
    let leave = second.screen();
    if leave.contains("Keep editing") {
        second.keys(&[KeyCode::Right, KeyCode::Enter]);
    }
    second.key(KeyCode::Char('2'));
    assert!(
        second.row_with("Host name").contains("from-screen"),
        "{leave}\n{}",
        second.screen()
    );
    second.focus("NTP servers");
    second.replace_text("10.0.2.2");
    second.press("Save");
    assert!(
        second.screen().contains("Configuration saved"),
        "{}",
        second.screen()
    );
    let saved = appconfig::Config::load(&shared).expect("load");
    assert_eq!(saved.system.hostname.as_str(), "from-screen");
    assert_eq!(saved.system.ntp_server, "10.0.2.2");
}

/// SSH Access: the defaults, bad input refused beside its field, a key
/// added by pasting its line and removed by its number, the host keys'
/// fingerprints, and sshgate told on every save.
#[test]
fn ssh_access_keys_list_and_host_fingerprints() {
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFL0yG5nvNG66o5q24H+XR7AWPF0M5BNLjeCZgqwbRb admin@pc";
    const FP: &str = "SHA256:34itRG260RTryeaJ2mt5D7A9FnKryLrJjh4GWLfJc2s";
    let mut rig = Rig::new(Some(&configured()));
    std::fs::create_dir(rig.path("sshd")).expect("mkdir");
    // The host key's public half as sshgate writes it.
    std::fs::write(
        rig.path("sshd/dropbear_ed25519_host_key.pub"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKFL0yG5nvNG66o5q24H+XR7AWPF0M5BNLjeCZgqwbRb\n",
    )
    .expect("pub");
    rig.key(KeyCode::Char('3'));
    let screen = rig.screen();
    assert!(screen.contains("SSH Access"), "{screen}");
    assert!(rig.field("SSH access").contains("(*) On"), "{screen}");
    // The field shows its end (the cursor's place).
    assert!(
        rig.form_text("SSH Access List").ends_with("192.168.0.0/16"),
        "{screen}"
    );
    assert!(
        screen.contains("none: the console password logs in"),
        "{screen}"
    );
    assert!(rig.row_with("ED25519").contains(FP), "{screen}");
    assert!(rig.row_with("ECDSA").contains("not made yet"), "{screen}");
    assert!(screen.is_ascii(), "{screen}");

    // Refusals beside their fields; nothing saved.
    rig.focus("SSH Access List");
    rig.replace_text("10.0.2.0/33");
    rig.focus("Add a key");
    rig.type_text("command=\"/bin/sh\" ssh-ed25519 AAAA");
    rig.focus("Remove keys");
    rig.type_text("1");
    rig.press("Save");
    assert!(
        rig.field("SSH Access List").contains('!'),
        "{}",
        rig.screen()
    );
    assert!(
        rig.field("Add a key").contains("options"),
        "{}",
        rig.screen()
    );
    assert!(
        rig.field("Remove keys").contains("no keys"),
        "{}",
        rig.screen()
    );
    assert!(
        !rig.commands().contains("sshgate"),
        "nothing saved, nobody told"
    );

    // A key pasted whole, a list without the private blocks.
    rig.focus("SSH Access List");
    rig.replace_text("10.0.2.2, 192.168.1.0/24");
    rig.focus("Add a key");
    rig.replace_text(KEY);
    rig.focus("Remove keys");
    rig.replace_text("");
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("SSH: "), "{screen}");
    assert!(
        rig.commands().contains("sshgate reload"),
        "{}",
        rig.commands()
    );
    let saved = rig.saved();
    assert_eq!(
        saved.ssh.access_list.to_string(),
        "10.0.2.2, 192.168.1.0/24"
    );
    assert_eq!(saved.ssh.authorized_keys.len(), 1);
    assert_eq!(saved.ssh.authorized_keys[0].to_string(), KEY);
    rig.key(KeyCode::Enter);
    let row = rig.row_with("1  SHA256:");
    assert!(row.contains(FP) && row.contains("admin@pc"), "{row}");

    // The same key twice is refused; removed by its number it goes.
    rig.focus("Add a key");
    rig.replace_text(KEY);
    rig.press("Save");
    assert!(
        rig.field("Add a key").contains("already listed"),
        "{}",
        rig.screen()
    );
    rig.focus("Add a key");
    rig.replace_text("");
    rig.focus("Remove keys");
    rig.replace_text("1");
    rig.focus("SSH access");
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);
    rig.press("Save");
    rig.key(KeyCode::Enter);
    let saved = rig.saved();
    assert!(saved.ssh.authorized_keys.is_empty());
    assert!(!saved.ssh.enabled);
    assert!(rig.screen().contains("SSH is off"), "{}", rig.screen());
}
