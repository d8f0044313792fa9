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
        "6 Alerts",
        "7 Log",
        "8 Firmware Update",
        "9 Exit/Logout",
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

    // Four DNS servers: appconfig's rule too, next to the field.
    rig.focus("Gateway");
    rig.replace_text("10.0.2.2");
    rig.focus("DNS servers");
    rig.replace_text("10.0.2.3, 1.1.1.1, 8.8.8.8, 9.9.9.9");
    rig.press("Save");
    assert!(
        rig.field("DNS servers").contains("at most 3 DNS servers"),
        "{}",
        rig.screen()
    );
    assert_eq!(rig.config_bytes(), before);

    rig.focus("DNS servers");
    rig.replace_text("10.0.2.3, 1.1.1.1");
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
    assert!(rig.field("Time zone").contains("neither a zone name"));
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
    assert!(screen.contains("ftpd: ok (reloaded)"), "{screen}");
    assert!(screen.contains("accounts: ok"), "{screen}");
    assert!(screen.contains("time service: ok"), "{screen}");
    assert_eq!(
        rig.commands(),
        "ftpd reload\nappctl accounts\nsshgate reload\nappctl hostname\ntimesyncd reload\n"
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
fn ftpd_is_reloaded_through_its_init_script_after_a_save() {
    let mut rig = Rig::new(Some(&configured()));
    rig.key(KeyCode::Char('2'));
    rig.focus("FTP Access List");
    rig.type_text("10.0.2.2");
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("ftpd: ok (reloaded)"), "{screen}");
    assert!(
        rig.commands().contains("ftpd reload\n"),
        "{}",
        rig.commands()
    );
}

#[test]
fn time_zone_is_chosen_from_the_list_and_the_time_shown() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('2'));
    assert!(rig.screen().contains("Time now: "), "{}", rig.screen());
    assert!(rig.screen().contains(" UTC"), "{}", rig.screen());
    rig.press("Choose time zone from the list");
    let screen = rig.screen();
    assert!(screen.contains("Find: "), "{screen}");
    assert!(screen.contains(" zones"), "{screen}");
    rig.type_text("prag");
    let screen = rig.screen();
    assert!(screen.contains("1 of "), "{screen}");
    assert!(screen.contains("Europe/Prague"), "{screen}");
    rig.key(KeyCode::Enter);
    assert!(rig.row_with("Time zone").contains("Europe/Prague"));
    // Esc leaves the list without changing the field.
    rig.press("Choose time zone from the list");
    rig.type_text("tokyo");
    rig.key(KeyCode::Esc);
    assert!(rig.row_with("Time zone").contains("Europe/Prague"));
    rig.press("Save");
    assert!(
        rig.screen().contains("Configuration saved"),
        "{}",
        rig.screen()
    );
    assert_eq!(rig.saved().system.timezone, "Europe/Prague");
    assert!(
        rig.commands().contains("appctl hostname"),
        "the zone is applied"
    );
    rig.key(KeyCode::Enter);
    let screen = rig.screen();
    assert!(
        screen.contains(" CET ") || screen.contains(" CEST "),
        "the time now in the new zone:\n{screen}"
    );
}

#[test]
fn plain_ftp_is_allowed_only_after_a_plain_warning() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    assert!(!rig.saved().ftp.allow_plain, "FTPS only by default");
    rig.key(KeyCode::Char('2'));
    assert!(rig.row_with("Allow plain FTP").contains("No (FTPS only)"));
    rig.focus("Allow plain FTP");
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);
    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Allow plain FTP?"), "{screen}");
    assert!(screen.contains("unencrypted"), "{screen}");
    // Enter on the default button (Cancel) keeps plain FTP off.
    rig.key(KeyCode::Enter);
    assert!(!rig.saved().ftp.allow_plain, "cancelled");
    assert!(
        rig.screen().contains("plain FTP stays off"),
        "{}",
        rig.screen()
    );
    rig.press("Save");
    rig.keys(&[KeyCode::Right, KeyCode::Enter]);
    assert!(
        rig.screen().contains("Configuration saved"),
        "{}",
        rig.screen()
    );
    assert!(rig.saved().ftp.allow_plain);
    // Turning it off again asks nothing.
    rig.key(KeyCode::Enter);
    rig.focus("Allow plain FTP");
    rig.keys(&[KeyCode::Left, KeyCode::Char(' ')]);
    rig.press("Save");
    assert!(
        rig.screen().contains("Configuration saved"),
        "{}",
        rig.screen()
    );
    assert!(!rig.saved().ftp.allow_plain);
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
    // The kind asked; Copy, the default, leaves the restore points alone.
    let screen = rig.screen();
    assert!(screen.contains("Differential: what changed"), "{screen}");
    rig.key(KeyCode::Enter);
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
    rig.plug_usb(ejected());
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
    rig.plug_usb(ejected());
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
    rig.plug_usb(ejected());
    rig.key(KeyCode::Char('8'));
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
    // A bundle in the folder, but hotplugd reports no drive mounted there:
    // the console looks where hotplugd says, never in a folder of its own.
    std::fs::write(rig.path("usb/appliance-2.0.raucb"), b"x").expect("bundle");
    rig.key(KeyCode::Char('8'));
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
        // Buttons are on screen, not cut off below (the Log has none).
        assert!(key == '5' || screen.contains("[ "), "{screen}");
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

/// A syslog line as BusyBox syslogd writes it.
fn syslog(time: &str, tag: &str, text: &str) -> String {
    format!("Dec  4 {time} mx1 daemon.info {tag}: {text}\n")
}

#[test]
fn log_shows_the_newest_lines_filtered_by_service_and_scrolls() {
    let mut rig = Rig::new(Some(&configured()));
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&syslog("04:00:00", "ftpd[7]", &format!("session {i}")));
        text.push_str(&syslog("04:00:01", "backupd[9]", &format!("step {i}")));
    }
    text.push_str("Dec  4 04:00:02 mx1 kern.warn kernel: [ 1.0] usb 1-1: new device\n");
    std::fs::write(rig.path("messages"), &text).expect("log");
    rig.key(KeyCode::Char('7'));
    let screen = rig.screen();
    assert!(screen.contains("Service:"), "{screen}");
    // Newest at the bottom, the host name and facility left out.
    assert!(
        screen.contains("Dec  4 04:00:02 kernel: [ 1.0] usb 1-1: new device"),
        "{screen}"
    );
    assert!(screen.contains("201 lines of"), "{screen}");
    assert!(!screen.contains("session 0\n"), "{screen}");
    // backupd only.
    rig.key(KeyCode::Right);
    let screen = rig.screen();
    assert!(screen.contains("100 lines of"), "{screen}");
    assert!(screen.contains("backupd[9]: step 99"), "{screen}");
    assert!(!screen.contains("ftpd["), "{screen}");
    assert!(!screen.contains("kernel:"), "{screen}");
    // Home: the oldest; PgDn and End back down.
    rig.key(KeyCode::Home);
    let screen = rig.screen();
    assert!(screen.contains("backupd[9]: step 0"), "{screen}");
    assert!(!screen.contains("step 99"), "{screen}");
    rig.key(KeyCode::PageDown);
    let screen = rig.screen();
    assert!(!screen.contains("step 0 "), "{screen}");
    rig.key(KeyCode::Down);
    rig.key(KeyCode::Up);
    rig.key(KeyCode::End);
    assert!(rig.screen().contains("step 99"));
    // The kernel, and a service that wrote nothing.
    rig.keys(&[KeyCode::Left, KeyCode::Left]);
    let screen = rig.screen();
    assert!(screen.contains("<  kernel  >"), "{screen}");
    assert!(screen.contains("1 lines of"), "{screen}");
    assert!(screen.contains("kernel: [ 1.0]"), "{screen}");
    rig.keys(&[KeyCode::Left]);
    assert!(
        rig.screen().contains("No lines from this service"),
        "{}",
        rig.screen()
    );
    // R reads the file again.
    rig.keys(&[
        KeyCode::Home,
        KeyCode::Right,
        KeyCode::Right,
        KeyCode::Right,
    ]);
    assert!(rig.screen().contains("<  backupd  >"), "{}", rig.screen());
    std::fs::OpenOptions::new()
        .append(true)
        .open(rig.path("messages"))
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(syslog("04:05:00", "backupd[9]", "a late line").as_bytes())
        })
        .expect("append");
    assert!(!rig.screen().contains("a late line"));
    rig.key(KeyCode::Char('r'));
    assert!(rig.screen().contains("a late line"), "{}", rig.screen());
    rig.key(KeyCode::Esc);
    assert!(rig.screen().contains("7 Log"));
}

#[test]
fn log_without_a_file_says_so() {
    let mut rig = Rig::new(Some(&configured()));
    rig.key(KeyCode::Char('7'));
    let screen = rig.screen();
    assert!(screen.contains("0 lines of"), "{screen}");
    assert!(screen.contains("No lines from this service"), "{screen}");
}

/// A fake `recover` for the selective restore: logs its arguments, lists
/// or restores as recover says it.
fn fake_selective_recover(rig: &Rig) {
    let seen = rig.path("seen-keys");
    fake_recover(
        rig,
        &format!(
            "all=\" $* \"\n\
             while [ $# -gt 0 ]; do\n\
               case \"$1\" in --identity)\n\
                 echo \"$1 $(stat -c %a \"$2\")\" >> '{seen}'; cat \"$2\" >> '{seen}'; shift;;\n\
               esac; shift\n\
             done\n\
             case \"$all\" in\n\
             *' -l '*) echo 'Set mx1-F20261120T220000Z.tar'; \
                       echo '  company.com/smith/INBOX        12 messages   9 headers-only';;\n\
             *) echo 'restoring: 50% (1 MiB of 2 MiB), about 3 s left'; \
                echo 'Restored 12 files and 0 links (2.0 MiB) into /data/store/mail/company.com/smith';;\n\
             esac",
            seen = seen.display()
        ),
    );
}

/// Opens Restore From Backup, chooses the only set and opens Selected mail.
fn open_selected_mail(rig: &mut Rig, name: &str) {
    rig.key(KeyCode::Char('5'));
    rig.wait_for(name);
    rig.keys(&[
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Right,
        KeyCode::Enter,
    ]);
    let screen = rig.screen();
    assert!(screen.contains("Restore selected mail"), "{screen}");
}

#[test]
fn selected_mail_lists_and_restores_one_users_folder() {
    let mut rig = Rig::new(Some(&configured()));
    fake_selective_recover(&rig);
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let name = "mx1-F20261120T220000Z.tar";
    backupd.lock().expect("lock").sets_configured =
        vec![set(name, BackupType::Full, "2026-11-20 22:00:00", 9)];
    open_selected_mail(&mut rig, name);
    assert!(rig.screen().contains(&format!("From {name} (location)")));

    // Nothing chosen: Restore would be the whole system, so it is refused.
    rig.press("Restore");
    assert!(
        rig.field("Domain")
            .contains("choose a domain, user, folder or parts"),
        "{}",
        rig.screen()
    );
    // A folder needs its user; a user is one name; parts are recover's.
    rig.focus("Folder");
    rig.type_text("INBOX");
    rig.focus("User");
    rig.type_text("a/b");
    rig.focus("Parts");
    rig.type_text("mail,bogus");
    rig.press("Restore");
    assert!(rig.field("User").contains("one name"), "{}", rig.screen());
    assert!(
        rig.field("Folder").contains("needs its domain and user"),
        "{}",
        rig.screen()
    );
    assert!(
        rig.field("Parts").contains("\"bogus\" is not a part"),
        "{}",
        rig.screen()
    );
    assert!(rig.commands().is_empty(), "recover never started");

    rig.focus("Domain");
    rig.type_text("company.com");
    rig.focus("User");
    rig.replace_text("smith");
    rig.focus("Parts");
    rig.replace_text("mail");
    // Show contents: recover's listing, scrollable, then back to the form.
    rig.press("Show contents");
    let screen = rig.wait_for("End of the listing.");
    assert!(screen.contains("12 messages   9 headers-only"), "{screen}");
    assert_eq!(
        rig.commands(),
        format!(
            "recover -l --location configured --domain=company.com --user=smith \
             --folder=INBOX --mask=mail {name}\n"
        )
    );
    rig.key(KeyCode::Enter);
    assert!(rig.screen().contains("Restore selected mail"));

    // Keep as .BAK, restore: progress with the time left, the verdict.
    rig.focus("Keep as .BAK");
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);
    rig.press("Restore");
    let screen = rig.wait_for("Restore finished.");
    assert!(screen.contains("about 3 s left"), "{screen}");
    assert!(screen.contains("Restored 12 files"), "{screen}");
    assert!(
        rig.commands().ends_with(&format!(
            "recover --location configured --domain=company.com --user=smith \
             --folder=INBOX --mask=mail --backup {name}\n"
        )),
        "{}",
        rig.commands()
    );
    rig.key(KeyCode::Enter);
    rig.key(KeyCode::Esc);
    let screen = rig.screen();
    assert!(!screen.contains("Restore selected mail"), "{screen}");
    assert!(screen.contains(name), "{screen}");
}

#[test]
fn selected_mail_from_an_encrypted_set_asks_for_the_key_once() {
    let mut rig = Rig::new(Some(&configured()));
    fake_selective_recover(&rig);
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let name = "mx1-F20261120T220000Z.tar.age";
    backupd.lock().expect("lock").sets_restore =
        vec![set(name, BackupType::Full, "2026-11-20 22:00:00", 9)];
    open_selected_mail(&mut rig, name);
    rig.focus("Domain");
    rig.type_text("company.com");
    rig.press("Show contents");
    let screen = rig.screen();
    assert!(screen.contains("is encrypted"), "{screen}");
    // A selective restore brings no secrets back: not asked.
    assert!(!screen.contains("Sealed secrets"), "{screen}");
    rig.focus("Set key");
    rig.type_text(SET_IDENTITY);
    rig.press("Restore");
    rig.wait_for("End of the listing.");
    rig.key(KeyCode::Enter);
    // The same key serves the restore: no second question.
    rig.press("Restore");
    rig.wait_for("Restore finished.");
    let commands = rig.commands();
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines.len(), 2, "{commands}");
    assert!(
        lines[0].starts_with("recover -l --location restore --domain=company.com --identity "),
        "{commands}"
    );
    assert!(lines[1].starts_with("recover --location restore --domain=company.com --identity "));
    assert!(lines[1].ends_with(name));
    let seen = std::fs::read_to_string(rig.path("seen-keys")).expect("keys seen");
    assert!(seen.contains("--identity 600"), "{seen}");
    assert!(seen.contains(SET_IDENTITY), "{seen}");
    // Closing the form removes the key file.
    rig.key(KeyCode::Enter);
    rig.key(KeyCode::Esc);
    no_key_left(&rig);
}

#[test]
fn verify_shows_the_verdict_for_each_volume() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    {
        let mut b = backupd.lock().expect("lock");
        b.sets_configured = vec![
            set(
                "mx1-F20261120T220000Z.tar",
                BackupType::Full,
                "2026-11-20 22:00:00",
                9,
            ),
            set(
                "mx1-F20261119T220000Z.tar",
                BackupType::Full,
                "2026-11-19 22:00:00",
                9,
            ),
        ];
        b.corrupt = vec!["mx1-F20261119T220000Z.tar".into()];
    }
    rig.key(KeyCode::Char('5'));
    rig.wait_for("mx1-F20261120T220000Z.tar");
    // Nothing chosen.
    rig.keys(&[KeyCode::Tab, KeyCode::Right, KeyCode::Right, KeyCode::Enter]);
    assert!(rig.screen().contains("Choose a set with Space first"));
    // The check's progress, from backupd's status, while it runs.
    backupd.lock().expect("lock").verifying = Some(control::backupd::Progress {
        set: "mx1-F20261120T220000Z.tar".into(),
        kind: BackupType::Full,
        phase: "verifying".into(),
        bytes_done: 1 << 30,
        bytes_total: 4 << 30,
        files_done: 0,
        elapsed_secs: 10,
        eta_secs: Some(30),
    });
    rig.keys(&[
        KeyCode::Tab,
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Enter,
    ]);
    let screen = rig.wait_for("Time left 0:30");
    assert!(screen.contains("1.0 GiB of 4.0 GiB"), "{screen}");
    assert!(screen.contains("25%"), "{screen}");
    backupd.lock().expect("lock").verifying = None;
    let screen = rig.wait_for("Close");
    assert!(
        screen.contains("mx1-F20261120T220000Z.tar: OK, every volume matches"),
        "{screen}"
    );
    assert!(
        screen.contains("  mx1-F20261120T220000Z.tar: OK"),
        "{screen}"
    );
    rig.key(KeyCode::Enter);
    rig.wait_for("mx1-F20261119T220000Z.tar");
    rig.keys(&[
        KeyCode::Tab,
        KeyCode::Down,
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Enter,
    ]);
    let screen = rig.wait_for("Close");
    assert!(
        screen.contains("mx1-F20261119T220000Z.tar: FAILED"),
        "{screen}"
    );
    assert!(screen.contains("MD5 mismatch"), "{screen}");
    assert!(backupd.lock().expect("lock").requests.contains(
        &control::backupd::Request::VerifySet {
            location: control::backupd::Location::Configured,
            name: "mx1-F20261119T220000Z.tar".into()
        }
    ));
}

#[test]
fn restore_lists_the_local_folder_when_the_location_is_a_share() {
    let mut config = configured();
    config.backup.destination = DestinationKind::Smb;
    config.backup.smb.host = "10.0.2.2".into();
    config.backup.smb.share = "backup".into();
    config.backup.smb.username = "u".into();
    config.backup.smb.password = "p".into();
    let mut rig = Rig::new(Some(&config));
    fake_recover(&rig, "echo done");
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    backupd.lock().expect("lock").sets_local = vec![set(
        "mx1-F20261101T220000Z.tar",
        BackupType::Full,
        "2026-11-01 22:00:00",
        9,
    )];
    rig.key(KeyCode::Char('5'));
    let screen = rig.wait_for("mx1-F20261101T220000Z.tar");
    assert!(
        screen.contains("(SMB/Windows), the FTP restore folder and local:"),
        "{screen}"
    );
    assert!(rig.row_with("mx1-F20261101T220000Z.tar").contains("local"));
    rig.keys(&[
        KeyCode::Char(' '),
        KeyCode::Tab,
        KeyCode::Right,
        KeyCode::Enter,
    ]);
    rig.focus("Domain");
    rig.type_text("company.com");
    rig.press("Restore");
    rig.wait_for("Restore finished.");
    assert_eq!(
        rig.commands(),
        "recover --location local --domain=company.com mx1-F20261101T220000Z.tar\n"
    );
    // With a local destination the folder is not listed twice.
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('5'));
    rig.wait_for("No backup sets found");
    assert!(
        !backupd
            .lock()
            .expect("lock")
            .requests
            .iter()
            .any(|r| matches!(
                r,
                control::backupd::Request::ListSets {
                    location: control::backupd::Location::Local
                }
            ))
    );
}

#[test]
fn backup_now_runs_the_kind_chosen() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('4'));
    rig.wait_for("verified, 1234 files");
    rig.press("Backup Now");
    // Esc is Cancel: nothing starts.
    rig.key(KeyCode::Esc);
    assert!(
        !backupd
            .lock()
            .expect("lock")
            .requests
            .iter()
            .any(|r| matches!(r, control::backupd::Request::BackupNow { .. }))
    );
    rig.press("Backup Now");
    rig.keys(&[KeyCode::Right, KeyCode::Right, KeyCode::Enter]);
    let screen = rig.wait_for("Phase: writing");
    assert!(
        screen.contains("Set: mx1-I20261122T100000Z.tar"),
        "{screen}"
    );
    backupd
        .lock()
        .expect("lock")
        .advance(1 << 30, 5, 10, Some(20));
    rig.wait_for("Time left 0:20");
    assert!(backupd.lock().expect("lock").requests.contains(
        &control::backupd::Request::BackupNow {
            kind: BackupType::Differential
        }
    ));
}

/// hotplugd's answer to Eject.
fn ejected() -> control::hotplug::Reply {
    control::hotplug::Reply::Ejected {
        message: "sda1 can be pulled out now".into(),
    }
}

#[test]
fn eject_usb_drive_says_what_hotplugd_did() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('4'));
    // hotplugd not running: said in words.
    rig.press("Eject USB drive");
    let screen = rig.wait_for("Not ejected");
    assert!(screen.contains("hotplugd"), "{screen}");
    rig.key(KeyCode::Enter);
    rig.plug_usb(ejected());
    rig.press("Eject USB drive");
    rig.wait_for("sda1 can be pulled out now");
}

#[test]
fn alerts_are_set_checked_saved_and_tested() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    rig.key(KeyCode::Char('6'));
    let screen = rig.screen();
    assert!(screen.contains("Alerts"), "{screen}");
    assert!(
        rig.row_with("Alert after (h)").contains("26"),
        "default 26 h"
    );
    assert!(rig.row_with("Relay port").contains("587"));
    assert!(
        rig.row_with("Security").contains("(*) STARTTLS"),
        "{screen}"
    );
    assert!(rig.row_with("Syslog port").contains("514"));
    assert!(screen.contains("[ Send test e-mail ]"), "{screen}");
    let before = rig.config_bytes();

    // Bad values: each refused beside its field, nothing saved.
    rig.focus("Alert after (h)");
    rig.replace_text("0");
    rig.focus("E-mail to");
    rig.type_text("ops");
    rig.focus("Syslog host");
    rig.type_text("10.0.2.300");
    rig.press("Save");
    assert!(
        rig.field("Alert after (h)").contains("1 to 2160"),
        "{}",
        rig.screen()
    );
    assert!(rig.field("E-mail to").contains("not an e-mail address"));
    assert!(rig.field("  SMTP relay").contains("needs an SMTP relay"));
    assert!(rig.field("Syslog host").contains("not an IPv4 address"));
    assert_eq!(rig.config_bytes(), before, "nothing saved");
    rig.press("Send test e-mail");
    assert!(rig.screen().contains("before testing"));

    rig.focus("Alert after (h)");
    rig.replace_text("30");
    rig.focus("E-mail to");
    rig.replace_text("ops@example.com");
    rig.focus("  SMTP relay");
    rig.type_text("10.0.2.2");
    rig.focus("  Relay port");
    rig.replace_text("2525");
    rig.focus("  Relay user");
    rig.type_text("alerts");
    rig.press("Save");
    assert!(
        rig.field("  Relay password").contains("password is empty"),
        "{}",
        rig.screen()
    );
    rig.focus("  Relay password");
    rig.type_text("wrong-pw");
    rig.focus("  Relay cert pin");
    rig.type_text(&"ab:".repeat(31));
    rig.type_text("ab");
    rig.focus("Syslog host");
    rig.replace_text("10.0.2.2");
    rig.focus("  Transport");
    rig.keys(&[KeyCode::Right, KeyCode::Char(' ')]);

    // The test uses the unsaved fields and shows the relay's answer.
    rig.press("Send test e-mail");
    let screen = rig.wait_for("Test FAILED");
    assert!(
        screen.contains("535 5.7.8 Authentication credentials invalid")
            && screen.contains("at relay 10.0.2.2:2525"),
        "{screen}"
    );
    rig.key(KeyCode::Enter);
    rig.focus("  Relay password");
    rig.replace_text("relay-pw-7");
    rig.press("Send test e-mail");
    let screen = rig.wait_for("Test sent");
    assert!(screen.contains("250 2.0.0 Message accepted"), "{screen}");
    rig.key(KeyCode::Enter);
    assert_eq!(rig.config_bytes(), before, "testing does not save");

    rig.press("Save");
    let screen = rig.screen();
    assert!(screen.contains("Configuration saved"), "{screen}");
    assert!(screen.contains("backupd: reloaded"), "{screen}");
    let a = rig.saved().alerts;
    assert_eq!(a.stale_after_hours, 30);
    assert_eq!(a.email_to, "ops@example.com");
    assert_eq!((a.smtp.host.as_str(), a.smtp.port), ("10.0.2.2", 2525));
    assert_eq!(a.smtp.password, "relay-pw-7");
    assert_eq!(appconfig::parse_pin(&a.smtp.pin_sha256), Ok([0xab; 32]));
    assert_eq!(a.syslog.transport, appconfig::SyslogTransport::Tcp);
    let file = String::from_utf8(rig.config_bytes()).expect("utf8");
    assert!(
        !file.contains("relay-pw-7"),
        "the password is in the secrets file: {file}"
    );
    let tests = backupd
        .lock()
        .expect("lock")
        .requests
        .iter()
        .filter(|r| matches!(r, control::backupd::Request::SendTestAlert { .. }))
        .count();
    assert_eq!(tests, 2);
}

#[test]
fn the_alert_banner_is_on_every_screen() {
    let mut rig = Rig::new(Some(&configured()));
    let backupd = serve_backupd(&rig.path("backupd.sock"));
    let screen = rig.screen();
    assert!(!screen.contains("ALERT"), "{screen}");
    backupd.lock().expect("lock").status_mut().alert =
        Some("The last backup failed (2026-12-04 02:00 UTC): disk full".into());
    let screen = rig.wait_for("ALERT: The last backup failed");
    let banner = screen.lines().nth(1).expect("second row");
    assert!(
        banner.contains("ALERT: The last backup failed (2026-12-04 02:00 UTC): disk full"),
        "{screen}"
    );
    for (key, title) in [
        ('1', "Network Configuration"),
        ('4', "Backup/Maintenance"),
        ('6', "Alerts"),
    ] {
        rig.key(KeyCode::Char(key));
        let screen = rig.screen();
        assert!(
            screen.contains(title) && screen.contains("ALERT: The last"),
            "{screen}"
        );
        rig.key(KeyCode::Esc);
    }
    // Cleared at backupd: the banner goes with the next poll.
    backupd.lock().expect("lock").status_mut().alert = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rig.app.alert().is_some() {
        assert!(std::time::Instant::now() < deadline, "the banner stayed");
        rig.app.tick();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!rig.screen().contains("ALERT"));
}

#[test]
fn body_window_zero_keeps_all_bodies() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    assert_eq!(rig.saved().backup.body_window_hours, 24, "Sendio's default");
    rig.key(KeyCode::Char('4'));
    rig.focus("Body window (h)");
    rig.replace_text("-1");
    rig.press("Save");
    assert!(
        rig.field("Body window (h)").contains('!'),
        "{}",
        rig.screen()
    );
    rig.focus("Body window (h)");
    rig.replace_text("0");
    rig.focus("Body window (h)");
    rig.key(KeyCode::End);
    assert!(
        rig.screen().contains("0: keep all bodies"),
        "{}",
        rig.screen()
    );
    rig.press("Save");
    assert!(
        rig.screen().contains("Configuration saved"),
        "{}",
        rig.screen()
    );
    assert_eq!(rig.saved().backup.body_window_hours, 0);
}

/// Compression: a new unit's zstd shown, switched to none and back with the
/// arrows and Space, saved.
#[test]
fn compression_is_chosen_in_the_backup_form() {
    let mut rig = Rig::new(Some(&configured()));
    let _backupd = serve_backupd(&rig.path("backupd.sock"));
    assert_eq!(
        rig.saved().backup.compression,
        appconfig::Compression::Zstd,
        "a new unit's default"
    );
    rig.key(KeyCode::Char('4'));
    assert!(
        rig.row_with("Compression").contains("(*) zstd"),
        "{}",
        rig.screen()
    );
    rig.focus("Compression");
    rig.key(KeyCode::Right);
    rig.key(KeyCode::Char(' '));
    assert!(
        rig.row_with("Compression").contains("(*) none"),
        "{}",
        rig.screen()
    );
    rig.press("Save");
    assert!(
        rig.screen().contains("Configuration saved"),
        "{}",
        rig.screen()
    );
    assert_eq!(rig.saved().backup.compression, appconfig::Compression::None);
    rig.key(KeyCode::Enter);
    assert!(
        rig.screen().contains("[ Back ]"),
        "the form fits:\n{}",
        rig.screen()
    );
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

#[test]
fn an_answer_that_does_not_belong_to_the_request_is_named() {
    let mut rig = Rig::new(Some(&configured()));
    // A backupd that answers every request with Reloaded.
    let listener = std::os::unix::net::UnixListener::bind(rig.path("backupd.sock")).expect("bind");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let _ = control::serve_connection(
                stream,
                std::time::Duration::from_secs(10),
                |_: control::backupd::Request| control::backupd::Reply::Reloaded {
                    message: "reloaded the configuration".into(),
                },
                |message| control::backupd::Reply::Error { message },
            );
        }
    });
    rig.key(KeyCode::Char('5'));
    let screen = rig.wait_for("backupd: unexpected answer reloaded to request list_sets");
    assert!(
        screen.contains("Restore folder: backupd: unexpected"),
        "{screen}"
    );
}
