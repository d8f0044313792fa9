//! The console an operator meets on the serial line: first login sets the
//! password, bad input is refused with its reason, an SMB location is
//! entered, tested against a real Samba server and saved, and after a
//! reboot the setting is still there.

use smbmount::testserver::{SambaOptions, SambaServer};
use std::time::Duration;
use systest::operator::{keys, see};
use systest::{Vm, VmConfig};

const KEY_RIGHT: &[u8] = b"\x1b[C";
const TAB: &[u8] = b"\t";
const ENTER: &[u8] = b"\r";
const ESC: &[u8] = b"\x1b";
const PASSWORD: &str = "Mail-2026-box";
const SHORT: Duration = Duration::from_secs(30);

#[test]
fn operator_configures_smb_from_the_serial_console() {
    let samba = SambaServer::start(SambaOptions::default()).expect("samba on loopback");
    let host = format!("10.0.2.2:{}", samba.port);
    let mut vm = Vm::boot(VmConfig::new("console-e2e")).expect("boot");

    // First login: no password yet, the console asks for one first.
    vm.send(b"sysconfig\n").expect("user");
    see(&mut vm, "Set the console password", Duration::from_secs(60));
    keys(&mut vm, &[b"short", ENTER, b"short", ENTER, ENTER]);
    see(&mut vm, "at least", SHORT);
    keys(
        &mut vm,
        &[
            b"\x15",
            PASSWORD.as_bytes(),
            ENTER,
            b"\x15",
            PASSWORD.as_bytes(),
            ENTER,
            ENTER,
        ],
    );
    see(&mut vm, "Network Configuration", SHORT);

    // Bad input is refused with the reason beside the field, nothing saved.
    keys(&mut vm, &[b"1"]);
    see(&mut vm, "DHCP", SHORT);
    keys(&mut vm, &[KEY_RIGHT, b" ", TAB, b"10.0.2", TAB]);
    see(&mut vm, "is not an IPv4 address", SHORT);
    keys(&mut vm, &[ESC]);
    see(&mut vm, "Keep editing", SHORT);
    keys(&mut vm, &[KEY_RIGHT, ENTER]);
    see(&mut vm, "Backup/Maintenance", SHORT);

    // Backup/Maintenance: SMB/Windows with the server's details.
    keys(&mut vm, &[b"4"]);
    see(&mut vm, "Backup location", SHORT);
    keys(&mut vm, &[KEY_RIGHT, b" "]);
    see(&mut vm, "Share", SHORT);
    keys(
        &mut vm,
        &[
            TAB,
            host.as_bytes(),
            TAB,
            samba.options.share.as_bytes(),
            TAB,
            TAB,
            b"TESTDOM\\backup",
            TAB,
            samba.options.password.as_bytes(),
            // Backup time, differential days, restore points, copies kept,
            // body window, compression, secrets key, set encryption key,
            // then Test Connectivity.
            TAB,
            TAB,
            TAB,
            TAB,
            TAB,
            TAB,
            TAB,
            TAB,
            TAB,
            ENTER,
        ],
    );
    see(&mut vm, "SUCCESS", Duration::from_secs(180));
    // The dialect follows on the same line; a loaded host can show the
    // line half drawn when "SUCCESS" is first seen.
    see(&mut vm, "SMB 3", SHORT);
    keys(&mut vm, &[ENTER, TAB, ENTER]);
    see(&mut vm, "Saved", SHORT);
    keys(&mut vm, &[ENTER, ESC]);
    see(&mut vm, "Exit/Logout", SHORT);
    let before_logout = vm.cursor();
    keys(&mut vm, &[systest::operator::MENU_EXIT]);
    vm.wait_for_from(before_logout, " login: ", SHORT)
        .expect("back at the login prompt");

    // The setting is in the file, and survives a reboot.
    vm.login().expect("root login");
    let config = vm.ok("cat /data/config/appliance.toml").expect("config");
    assert!(config.contains("destination = \"smb\""), "{config}");
    assert!(config.contains(&host), "{config}");
    vm.reboot().expect("reboot");
    vm.login_as("sysconfig", PASSWORD)
        .expect("login with the new password");
    see(&mut vm, "Network Configuration", Duration::from_secs(60));
    keys(&mut vm, &[b"4"]);
    see(&mut vm, &host, SHORT);
}
