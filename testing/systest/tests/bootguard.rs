//! The boot chain gives nobody a shell (issue 15, item 1).
//!
//! GRUB's configuration on the test image's ESP is the release image's
//! (`board/appliance/grub.cfg` with the build's password hash; the test
//! overlay only changes the root file system), so what is typed here at the
//! serial line is what an intruder at a field unit's serial line could do:
//! interrupt the menu, press `e` or `c`, and get asked for a user and
//! password that they do not have. With the development build's recovery
//! password (`out/test/grub-password`, only in builds that made it) the
//! command line opens, and a kernel command line with `init=/bin/sh` still
//! starts the slot's own init. And a slot that cannot be started never
//! leaves a shell or a prompt: an initramfs that cannot mount its root slot
//! marks it bad and reboots into the other slot, and a slot whose kernel
//! GRUB cannot load makes GRUB fall back to the other slot.

use std::time::{Duration, Instant};
use systest::{Firmware, Vm, VmConfig};

const MENU_WAIT: Duration = Duration::from_secs(240);
const PROMPT_WAIT: Duration = Duration::from_secs(30);

/// GRUB's recovery password when the build made it (development builds).
fn known_password() -> Option<String> {
    let path = systest::bundle::artifacts_dir().join("grub-password");
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Reboots the logged-in appliance and stops in GRUB's menu, whose time-out
/// is 1 s: from the kernel's last words on, presses `e` every 100 ms (a
/// slow host may not answer the menu in time otherwise; GRUB drops what
/// came before it set up the serial line) until GRUB asks who is there.
/// Returns the console cursor at the reboot.
fn reboot_and_press_e(vm: &mut Vm) -> usize {
    let from = vm.cursor();
    vm.send(b"reboot\n").expect("reboot");
    vm.wait_for_from(from, "Restarting system", MENU_WAIT)
        .expect("the kernel restarts");
    let deadline = Instant::now() + MENU_WAIT;
    let mut asked = false;
    while Instant::now() < deadline {
        vm.send(b"e").expect("press e");
        if vm
            .wait_for_from(from, "Enter username:", Duration::from_millis(100))
            .is_ok()
        {
            asked = true;
            break;
        }
    }
    let seen = vm.console_since(from);
    assert!(
        asked && seen.contains("Appliance slot B"),
        "`e` at GRUB's menu must ask for a user name:\n{seen}"
    );
    from
}

/// Answers GRUB's user and password prompts (the user prompt is on screen
/// after `from`); returns the cursor after the password was sent.
fn answer_login(vm: &mut Vm, from: usize, user: &str, password: &str) -> usize {
    vm.wait_for_from(from, "Enter username:", PROMPT_WAIT)
        .expect("GRUB asks for a user name");
    // Extra `e`s typed while the menu came up went into the name: erase.
    type_slowly(vm, &[b'\x08'; 64]);
    let at = vm.cursor();
    type_slowly(vm, format!("{user}\r").as_bytes());
    vm.wait_for_from(at, "Enter password:", PROMPT_WAIT)
        .expect("GRUB asks for a password");
    let at = vm.cursor();
    type_slowly(vm, format!("{password}\r").as_bytes());
    at
}

/// Types one key at a time: GRUB's EFI serial input loses keys sent in a
/// burst while the guest runs slowly (seen in CI: "recovery" arrived as
/// "oey", and the password never came).
fn type_slowly(vm: &mut Vm, keys: &[u8]) {
    for k in keys {
        vm.send(std::slice::from_ref(k)).expect("a key");
        std::thread::sleep(Duration::from_millis(40));
    }
}

/// The intruder's attempts: the editor with a made-up user, the command
/// line with the right user and a wrong password. Both refused, back to the
/// menu. GRUB is waiting at its user prompt (reboot_and_press_e).
fn intruder_is_refused(vm: &mut Vm, grub_start: usize) {
    let at = answer_login(vm, grub_start, "root", "appliance-test");
    vm.wait_for_from(at, "access denied", PROMPT_WAIT)
        .expect("`e` with a wrong user is refused");

    let at = vm.cursor();
    vm.send(b"c").expect("press c");
    let at = answer_login(vm, at, "recovery", "wrong-password");
    let end = vm
        .wait_for_from(at, "access denied", PROMPT_WAIT)
        .expect("`c` with a wrong password is refused");
    let seen = vm.console_since(grub_start);
    assert!(
        !seen[..end - grub_start].contains("grub>"),
        "GRUB's command line must not open:\n{seen}"
    );
    assert!(
        !seen.contains("setparams"),
        "the editor must not open:\n{seen}"
    );
}

/// Boots through the normal entries: a boot without keys shows no prompt,
/// and the menu, interrupted, still boots slot A with Enter and no password.
fn grub_refuses_the_intruder(firmware: Firmware, name: &str) {
    let mut vm = Vm::boot(VmConfig::new(name).firmware(firmware)).expect("boot");
    let first = vm.console_since(0);
    assert!(
        first.contains("Appliance slot A") && !first.contains("Enter username"),
        "an unattended boot goes through the menu without a prompt:\n{first}"
    );
    vm.login().expect("login");

    let grub = reboot_and_press_e(&mut vm);
    intruder_is_refused(&mut vm, grub);

    // The normal entries need nobody, even from an interrupted menu.
    let at = vm.cursor();
    vm.send(b"\r").expect("Enter on slot A");
    vm.wait_for_from(at, " login: ", MENU_WAIT)
        .expect("slot A boots from the menu without a password");
    assert!(
        !vm.console_since(at).contains("Enter username"),
        "booting a slot entry asks for nothing"
    );
    vm.login().expect("login");
    // GRUB puts BOOT_IMAGE= first; the rest is grub.cfg's, word for word.
    let cmdline = vm.ok("cat /proc/cmdline").expect("cmdline");
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    assert_eq!(
        words.first().copied(),
        Some("BOOT_IMAGE=(hd0,gpt3)/boot/bzImage"),
        "{cmdline}"
    );
    assert_eq!(
        words[1..].join(" "),
        "root=PARTLABEL=rootfs-a rauc.slot=A ro rootwait=10 console=tty1 console=ttyS0,115200 panic=10 quiet",
        "the kernel command line is grub.cfg's"
    );
}

#[test]
fn grub_menu_and_prompt_need_the_password_bios() {
    grub_refuses_the_intruder(Firmware::Bios, "bootguard-grub-bios");
}

#[test]
fn grub_menu_and_prompt_need_the_password_uefi() {
    grub_refuses_the_intruder(Firmware::Uefi, "bootguard-grub-uefi");
}

/// With the recovery password GRUB's command line opens (the hash in
/// grub.cfg is the password's), and even a kernel started with
/// `init=/bin/sh` runs the slot's BusyBox init and its login.
#[test]
fn recovery_password_opens_grub_and_init_is_the_slots() {
    let Some(password) = known_password() else {
        eprintln!(
            "skipped: no grub-password in {} (a build given GRUB_PASSWORD_HASH)",
            systest::bundle::artifacts_dir().display()
        );
        return;
    };
    let mut vm = Vm::boot(VmConfig::new("bootguard-recovery")).expect("boot");
    vm.login().expect("login");
    let grub = reboot_and_press_e(&mut vm);
    // Leave the editor's prompt with a wrong answer, then the command line.
    let at = answer_login(&mut vm, grub, "recovery", "not-it");
    vm.wait_for_from(at, "access denied", PROMPT_WAIT)
        .expect("refused");
    let at = vm.cursor();
    vm.send(b"c").expect("press c");
    let at = answer_login(&mut vm, at, "recovery", &password);
    vm.wait_for_from(at, "grub>", PROMPT_WAIT)
        .expect("the recovery password opens GRUB's command line");

    for line in [
        "linux ($disk,gpt3)/boot/bzImage root=PARTLABEL=rootfs-a rauc.slot=A ro console=ttyS0,115200 panic=10 init=/bin/sh",
        "initrd ($disk,gpt3)/boot/initrd.img",
    ] {
        let before = vm.cursor();
        type_slowly(&mut vm, format!("{line}\r").as_bytes());
        vm.wait_for_from(before, "grub>", PROMPT_WAIT)
            .expect("GRUB takes the command");
    }
    let at = vm.cursor();
    type_slowly(&mut vm, b"boot\r");
    vm.wait_for_from(at, " login: ", MENU_WAIT)
        .expect("the slot's init starts its login, not a shell");
    let seen = vm.console_since(at);
    assert!(
        seen.contains("initramfs: ignoring init=/bin/sh"),
        "the initramfs says it ignores init=:\n{seen}"
    );
    vm.login().expect("login");
    assert!(
        vm.ok("cat /proc/cmdline")
            .expect("cmdline")
            .contains("init=/bin/sh"),
        "the typed command line was used"
    );
    // BusyBox init names itself "init" (a shell would be "/bin/sh").
    assert_eq!(
        vm.ok("tr '\\0' ' ' </proc/1/cmdline")
            .expect("pid 1")
            .trim(),
        "init",
        "PID 1 is the slot's BusyBox init"
    );
}

/// Boots a unit, gives it two good slots (slot B gets slot A's file
/// system and is marked good), reads slot A's first sector on the disk and
/// the squashfs superblock field at `field` (a byte offset), and cuts the
/// power. Returns (slot A's byte offset on the disk, the field's value).
fn unit_with_two_good_slots(vm: &mut Vm, field: u64) -> (u64, u64) {
    vm.login().expect("login");
    let number = |vm: &mut Vm, cmd: &str| -> u64 {
        let out = vm.ok(cmd).expect(cmd);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{cmd}: {out}"))
    };
    let size = number(vm, "od -An -tu8 -j40 -N8 /dev/vda3");
    let value = number(vm, &format!("od -An -tu8 -j{field} -N8 /dev/vda3"));
    let start = number(vm, "cat /sys/class/block/vda3/start");
    vm.ok_timeout(
        &format!(
            "dd if=/dev/vda3 of=/dev/vda4 bs=1M count={} 2>&1 && sync",
            size.div_ceil(1 << 20)
        ),
        Duration::from_secs(300),
    )
    .expect("copy slot A to slot B");
    vm.ok("grub-editenv /boot/efi/grub/grubenv set B_OK=1 B_TRY=0 && sync")
        .expect("slot B good");
    vm.power_off_hard().expect("power off");
    (start * 512, value)
}

/// Writes `len` bytes of `pattern` at `offset` of the VM's disk, on its
/// copy-on-write overlay only (the image stays as built).
fn overwrite(vm: &Vm, offset: u64, len: u64, pattern: u8) {
    let disk = vm.work_dir().join("disk.qcow2");
    let out = std::process::Command::new("qemu-io")
        .args(["-f", "qcow2"])
        .arg(&disk)
        .args(["-c", &format!("write -P {pattern} {offset} {len}")])
        .output()
        .expect("qemu-io (apt-get install qemu-utils)");
    assert!(
        out.status.success(),
        "qemu-io: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Logs in on slot B; returns GRUB's environment and the boot's log lines
/// that say why the slot was (or was not) marked good.
fn booted_on_slot_b(vm: &mut Vm) -> (String, String) {
    vm.login().expect("login on slot B");
    let cmdline = vm.ok("cat /proc/cmdline").expect("cmdline");
    assert!(cmdline.contains("rauc.slot=B"), "{cmdline}");
    let mounts = vm.ok("cat /proc/mounts").expect("mounts");
    assert!(
        mounts
            .lines()
            .any(|l| l.starts_with("/dev/vda4 / squashfs ro")),
        "{mounts}"
    );
    let env = vm
        .ok("grub-editenv /boot/efi/grub/grubenv list")
        .expect("grubenv");
    // Why the slot was (not) marked good: S99boot-ok's words and RAUC's.
    let log = vm
        .ok("grep -E 'boot-ok|boot:|rauc' /data/log/messages | tail -n 20")
        .unwrap_or_default();
    (env, log)
}

fn no_shell(seen: &str) {
    for shell in [
        "dropping to a shell",
        "can't access tty",
        "built-in shell",
        "grub>",
    ] {
        assert!(!seen.contains(shell), "a shell ({shell:?}):\n{seen}");
    }
}

/// A root slot whose file system the kernel cannot mount (its id table,
/// which GRUB never reads, is damaged; GRUB still loads its kernel): the
/// initramfs marks it bad and reboots, GRUB boots the other slot, and no
/// shell ever appears.
#[test]
fn unmountable_root_slot_falls_back_to_the_other_slot() {
    let mut config = VmConfig::new("bootguard-fallback");
    // Two boots: the failed slot A, then slot B.
    config.boot_timeout = Duration::from_secs(400);
    let mut vm = Vm::boot(config).expect("boot");
    // id_table_start: where the index of the uid/gid table is.
    let (slot_a, id_table) = unit_with_two_good_slots(&mut vm, 48);
    overwrite(&vm, slot_a + id_table, 8, 0xff);

    vm.power_on()
        .expect("the appliance comes up by itself after the failed slot");
    let seen = vm.console_since(0);
    for expected in [
        "initramfs: cannot mount /dev/vda3 (squashfs) of slot A",
        "initramfs: slot A marked bad",
        "initramfs: rebooting into slot B",
    ] {
        assert!(
            seen.contains(expected),
            "{expected:?} on the console:\n{seen}"
        );
    }
    no_shell(&seen);
    let (env, log) = booted_on_slot_b(&mut vm);
    assert!(
        env.contains("A_OK=0") && env.contains("A_TRY=0") && env.contains("B_OK=1"),
        "slot A marked bad, slot B good: {env}\nthe boot's log:\n{log}"
    );

    // A RAUC service slow to answer on D-Bus (a loaded machine) must not
    // get a healthy slot marked bad: slot B tried again, RAUC started so
    // that it answers only 8 s later (its pid alive all along), then the
    // boot's last step.
    vm.ok("grub-editenv /boot/efi/grub/grubenv set B_TRY=1 && /etc/init.d/S16rauc stop")
        .expect("slot B tried, RAUC stopped");
    vm.ok(
        "start-stop-daemon -S -q -b -m -p /run/rauc.pid -x /bin/sh -- \
         -c 'sleep 8; exec /usr/bin/rauc service'",
    )
    .expect("RAUC started late");
    let out = vm
        .run_timeout("/etc/init.d/S99boot-ok start", Duration::from_secs(120))
        .expect("S99boot-ok");
    let env = vm
        .ok("grub-editenv /boot/efi/grub/grubenv list")
        .expect("grubenv");
    assert!(
        out.status == 0 && env.contains("B_OK=1") && env.contains("B_TRY=0"),
        "slot B marked good once RAUC answered: {env}\n{}",
        out.output
    );
}

/// A root slot GRUB cannot even read (its first MiB is gone): GRUB falls
/// back to the other slot by itself instead of stopping at a prompt.
#[test]
fn unreadable_root_slot_falls_back_in_grub() {
    let mut config = VmConfig::new("bootguard-grub-fallback");
    config.boot_timeout = Duration::from_secs(400);
    let mut vm = Vm::boot(config).expect("boot");
    let (slot_a, _) = unit_with_two_good_slots(&mut vm, 40);
    overwrite(&vm, slot_a, 1 << 20, 0);

    vm.power_on()
        .expect("the appliance comes up by itself after the failed slot");
    let seen = vm.console_since(0);
    assert!(
        seen.contains("Falling back to"),
        "GRUB falls back to slot B:\n{seen}"
    );
    no_shell(&seen);
    let (env, log) = booted_on_slot_b(&mut vm);
    assert!(
        env.contains("A_TRY=1") && env.contains("B_OK=1") && env.contains("B_TRY=0"),
        "slot A stays tried, slot B good: {env}\nthe boot's log:\n{log}"
    );
}
