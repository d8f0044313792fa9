//! What the tests do as an operator or administrator would: keys typed on
//! the console and what its screen shows, the backup settings and a backup
//! by hand in the guest, and `md5sum -c` of a set on the host. Each panics
//! with what went wrong, as a test step should.

use crate::{CmdOutput, Vm};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The main menu's digit for Exit/Logout (its last item).
pub const MENU_EXIT: &[u8] = b"9";

/// Types keys one group at a time, giving the console time to redraw.
pub fn keys(vm: &mut Vm, groups: &[&[u8]]) {
    for g in groups {
        vm.send(g).expect("type");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until the guest's screen (as a terminal shows it) holds `text`.
pub fn see(vm: &mut Vm, text: &str, timeout: Duration) {
    vm.wait_screen(text, timeout)
        .unwrap_or_else(|e| panic!("the console never showed {text:?}: {e}"))
}

/// From a root shell on the serial line: logs out, then logs in as
/// `sysconfig` on a unit whose console has no password yet and sets it to
/// `password` (asked twice, then acknowledged).
pub fn first_console_login(vm: &mut Vm, password: &str) {
    let wait = Duration::from_secs(60);
    let from = vm.cursor();
    vm.send(b"exit\n").expect("log out");
    vm.wait_for_from(from, " login: ", wait)
        .expect("login prompt");
    vm.send(b"sysconfig\n").expect("user");
    see(vm, "Set the console password", wait);
    keys(
        vm,
        &[
            password.as_bytes(),
            b"\r",
            password.as_bytes(),
            b"\r",
            b"\r",
        ],
    );
}

/// Chooses Exit/Logout on the console's main menu, which is shown, and
/// waits for the login prompt.
pub fn console_logout(vm: &mut Vm) {
    let from = vm.cursor();
    keys(vm, &[MENU_EXIT]);
    vm.wait_for_from(from, " login: ", Duration::from_secs(60))
        .expect("back at the login prompt");
}

/// Replaces the configuration's `[backup]` settings (TOML lines) and tells
/// backupd; the rest of the file (the unit's identity and host name, the
/// network, the accounts) stays as the appliance has it.
pub fn configure_backup<S: AsRef<str>>(vm: &mut Vm, settings: &[S]) {
    // What the console saves for a new unit unless the test says otherwise
    // (a section without the key reads as a configuration from before
    // compression: plain sets).
    let compression = (!settings
        .iter()
        .any(|s| s.as_ref().starts_with("compression")))
    .then_some(DEFAULT_COMPRESSION);
    // Before any [backup.smb] line the settings hold.
    let lines: Vec<String> = std::iter::once("[backup]")
        .chain(compression)
        .chain(settings.iter().map(AsRef::as_ref))
        .map(|l| {
            assert!(!l.contains('\''), "no quotes in test settings: {l}");
            format!("'{l}'")
        })
        .collect();
    vm.ok(&format!(
        "f=/data/config/appliance.toml; \
         awk '/^\\[/ {{ skip = ($0 ~ /^\\[backup[].]/) }} !skip' $f > $f.new && \
         printf '%s\\n' {} >> $f.new && mv $f.new $f && backupctl reload",
        lines.join(" ")
    ))
    .expect("configure backupd");
}

/// `backupctl backup full`, followed to its end (output to a file, so no
/// progress bar on the serial line); fails when the backup does.
pub fn backup_full(vm: &mut Vm) -> CmdOutput {
    vm.run_timeout(
        "backupctl backup full --wait >/tmp/backup.out 2>&1; rc=$?; cat /tmp/backup.out; [ $rc = 0 ]",
        Duration::from_secs(300),
    )
    .expect("backupctl backup")
}

/// `md5sum -c` on the host, in the set's folder, as an administrator would;
/// returns its output. Not `backupset::testing`'s: as a normal dependency of
/// this library it would switch that test support on in the release build
/// (`cargo build --bin` builds the virtual workspace's features together).
pub fn md5sum_check(dir: &Path, md5_file: &str) -> String {
    let out = Command::new("md5sum")
        .arg("-c")
        .arg(md5_file)
        .current_dir(dir)
        .output()
        .expect("md5sum runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "md5sum -c {md5_file}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A new unit's `backup.compression`, as the console saves it.
pub const DEFAULT_COMPRESSION: &str = "compression = \"zstd\"";

/// Whether a file name is a set's first volume (`.tar`, `.tar.zst`; not
/// encrypted).
pub fn is_first_volume(name: &str) -> bool {
    name.ends_with(".tar") || name.ends_with(".tar.zst")
}

/// The `.md5` files of complete sets among a folder's file names.
pub fn complete_sets(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| (n.ends_with(".tar.md5") || n.ends_with(".tar.zst.md5")) && !n.starts_with('.'))
        .cloned()
        .collect()
}
