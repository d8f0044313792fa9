//! Encrypted sets end to end (issue 15, item 5): with the default settings
//! plus `backup.encrypt_recipient` (a key pair made on the host with
//! `age-keygen`), a backup to a hot-plugged FAT32 drive is encrypted whole;
//! after eject and pull the host copies the set off with mtools, checks it
//! with `md5sum -c` and opens it with the stock `age` and GNU tar. Plugged
//! back, with some mail deleted, the console's Restore From Backup first
//! refuses a wrong identity (a key file on the drive) in plain words with
//! the store unchanged, then restores the whole system with the right one
//! (typed at the prompt), and the mail is back; no key is left in `/run`,
//! the log or the configuration.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use systest::operator::{
    backup_full, complete_sets, configure_backup, console_logout, first_console_login, keys,
    md5sum_check, see,
};
use systest::{Vm, VmConfig};

const ENTER: &[u8] = b"\r";
const TAB: &[u8] = b"\t";
const RIGHT: &[u8] = b"\x1b[C";
const ESC: &[u8] = b"\x1b";
const PASSWORD: &str = "Encrypted-Sets-2026";
const SHORT: Duration = Duration::from_secs(60);
const MOUNTED: &str = "grep -q ' /media/usb vfat ' /proc/mounts";
const NOT_MOUNTED: &str = "! grep -q ' /media/usb ' /proc/mounts";
const STORE_SUM: &str = "cd /data/store && find . -type f | sort | xargs md5sum | md5sum";
const MAIL: &str = "/data/store/mail/example.com";
/// Files compared between the unit and the set opened on the host.
const COMPARED: &str = "store/mail/example.com/alice/INBOX/cur/1.eml \
     store/mail/example.com/alice/INBOX/cur/3.eml store/mail/example.com/bob/INBOX/cur/2.eml";

/// Runs a host command that must succeed; returns its standard output.
fn host(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (in the guest) until `cond` holds, up to `secs` seconds.
fn wait_until(vm: &mut Vm, cond: &str, secs: u32) {
    let cmd = format!(
        "i=0; until {cond}; do [ $i -ge {} ] && break; i=$((i+1)); sleep 0.1; done; {cond}",
        secs * 10
    );
    let out = vm
        .run_timeout(&cmd, Duration::from_secs(u64::from(secs) + 30))
        .expect("wait");
    assert_eq!(out.status, 0, "never true: {cond}\n{}", out.output);
}

/// A key pair made by `age-keygen`: the identity file and its public key.
fn key_pair(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(name);
    host(Command::new("age-keygen").arg("-o").arg(&file));
    let public = host(Command::new("age-keygen").arg("-y").arg(&file));
    (file, public.trim().to_string())
}

/// The identity line of a key file.
fn secret_line(file: &Path) -> String {
    std::fs::read_to_string(file)
        .expect("key file")
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("an identity line")
        .to_string()
}

/// Copies everything off a FAT image with mtools (no mounting on the host).
fn files_on(img: &Path, to: &Path) -> Vec<String> {
    std::fs::create_dir_all(to).expect("folder");
    let listing = host(Command::new("mdir").args(["-b", "-i"]).arg(img).arg("::"));
    let names: Vec<String> = listing
        .lines()
        .filter_map(|l| l.strip_prefix("::/").map(str::to_string))
        .collect();
    for n in &names {
        host(
            Command::new("mcopy")
                .args(["-n", "-i"])
                .arg(img)
                .arg(format!("::/{n}"))
                .arg(to.join(n)),
        );
    }
    names
}

/// The console's screen as one line of words (a dialog wraps long lines).
fn screen_words(vm: &Vm) -> String {
    vm.screen()
        .replace(['|', '+'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn encrypted_set_on_usb_opened_by_hand_and_restored_through_the_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, recipient) = key_pair(dir.path(), "key.txt");
    let (wrong, _) = key_pair(dir.path(), "wrong.txt");
    let img = dir.path().join("sets.img");
    systest::make_fat32_image(&img, 64, "SETS").expect("fat32 image");

    let mut vm = Vm::boot(VmConfig::new("encrypted-usb")).expect("boot");
    vm.login().expect("login");
    // Mail dated now (whole bodies in the set), in two mailboxes.
    vm.ok(&format!(
        "m={MAIL}; mkdir -p $m/alice/INBOX/cur $m/bob/INBOX/cur && \
         for i in 1 2 3; do \
           printf 'From: x@example.com\\r\\nSubject: secret plans %s\\r\\n\\r\\n' $i > $m/alice/INBOX/cur/$i.eml; \
           head -c 20000 /dev/urandom | base64 >> $m/alice/INBOX/cur/$i.eml; \
           printf 'From: y@example.com\\r\\nSubject: lunch %s\\r\\n\\r\\n' $i > $m/bob/INBOX/cur/$i.eml; \
           head -c 20000 /dev/urandom | base64 >> $m/bob/INBOX/cur/$i.eml; \
         done; sync"
    ))
    .expect("mail");
    let sums = vm
        .ok(&format!("cd /data && md5sum {COMPARED}"))
        .expect("sums");

    // The defaults, the USB drive, and the key.
    configure_backup(
        &mut vm,
        &[
            "destination = \"usb\"".to_string(),
            format!("encrypt_recipient = \"{recipient}\""),
        ],
    );
    vm.usb_plug("usb1", &img).expect("plug");
    wait_until(&mut vm, MOUNTED, 30);
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    let set = vm
        .ok("cd /media/usb && ls *.tar.zst.age")
        .expect("an encrypted set on the drive")
        .trim()
        .to_string();
    assert!(
        vm.run("ls /media/usb/*.tar /media/usb/*.tar.zst")
            .expect("ls")
            .status
            != 0,
        "no plain set beside it"
    );
    let before = vm.ok(STORE_SUM).expect("store checksum");
    let e = vm.ok("usbctl eject").expect("eject");
    assert!(e.contains("can be removed now"), "{e}");
    vm.ok(NOT_MOUNTED).expect("unmounted after eject");
    vm.usb_unplug("usb1").expect("pull");

    // On the host: copied off with mtools, checked without the key...
    let out = dir.path().join("copied");
    let names = files_on(&img, &out);
    let md5 = format!("{set}.md5");
    assert_eq!(
        complete_sets(&names),
        Vec::<String>::new(),
        "no plain set: {names:?}"
    );
    assert!(names.contains(&md5), "{names:?}");
    let checked = md5sum_check(&out, &md5);
    assert!(checked.contains(&format!("{set}: OK")), "{checked}");
    let raw = std::fs::read(out.join(&set)).expect("the set");
    assert!(raw.starts_with(b"age-encryption.org/v1\n"), "an age file");
    assert!(
        !raw.windows(12).any(|w| w == b"secret plans"),
        "no mail in clear on the drive"
    );
    // ...and opened with the stock tools: cat of the volumes | age | zstd | tar.
    let mut volumes: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with(&set) && !n.ends_with(".md5"))
        .collect();
    volumes.sort();
    let opened = dir.path().join("opened");
    std::fs::create_dir(&opened).expect("folder");
    let vols: Vec<String> = volumes
        .iter()
        .map(|v| format!("'{}'", out.join(v.as_str()).display()))
        .collect();
    host(Command::new("sh").arg("-c").arg(format!(
        "cat {} | age -d -i '{}' | zstd -dc | tar -x -C '{}'",
        vols.join(" "),
        key.display(),
        opened.display()
    )));
    let host_sums = host(
        Command::new("sh")
            .arg("-c")
            .arg(format!("md5sum {COMPARED}"))
            .current_dir(opened.join("@backup")),
    );
    assert_eq!(host_sums, sums, "the files come out as they were");
    let wrong_open = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' > /dev/null",
            wrong.display(),
            out.join(&set).display()
        ))
        .output()
        .expect("age runs");
    assert!(!wrong_open.status.success(), "another key does not open it");

    // The wrong key file goes onto the drive; plugged back, mail deleted.
    host(
        Command::new("mcopy")
            .args(["-i"])
            .arg(&img)
            .arg(&wrong)
            .arg("::/WRONG.TXT"),
    );
    vm.usb_plug("usb2", &img).expect("plug again");
    wait_until(&mut vm, MOUNTED, 30);
    // The name as the unit's FAT driver shows it.
    let wrong_name = vm
        .ok("cd /media/usb && ls | grep -i '^wrong.txt$'")
        .expect("the key file on the drive")
        .trim()
        .to_string();
    vm.ok(&format!(
        "rm -rf {MAIL}/alice && rm {MAIL}/bob/INBOX/cur/2.eml && sync"
    ))
    .expect("delete mail");
    let damaged = vm.ok(STORE_SUM).expect("checksum");
    assert_ne!(damaged, before);

    // The console: Restore From Backup, the set, the key question.
    first_console_login(&mut vm, PASSWORD);
    let ask_for_keys = |vm: &mut Vm| {
        see(vm, "Restore From Backup", SHORT);
        keys(vm, &[b"5"]);
        see(vm, &set, Duration::from_secs(120));
        keys(vm, &[b" ", TAB, ENTER]);
        see(vm, "Restore the whole system", SHORT);
        keys(vm, &[RIGHT, ENTER]);
        see(vm, "Keys for the restore", SHORT);
    };
    ask_for_keys(&mut vm);
    see(
        &mut vm,
        &format!("Key files on the USB drive: {wrong_name}"),
        SHORT,
    );

    // A wrong identity (the key file on the drive): refused in recover's
    // words.
    keys(&mut vm, &[wrong_name.as_bytes(), TAB, TAB, ENTER]);
    see(&mut vm, "The restore failed", Duration::from_secs(300));
    see(&mut vm, "[ Give the key again ]", SHORT);
    let words = screen_words(&vm);
    assert!(
        words.contains("the identity given does not open"),
        "refused in plain words:\n{}",
        vm.screen()
    );
    keys(&mut vm, &[ENTER, ESC]);
    see(&mut vm, "Exit/Logout", SHORT);
    console_logout(&mut vm);
    // Nothing changed, nothing left.
    vm.login().expect("root login");
    assert_eq!(
        vm.ok(STORE_SUM).expect("store checksum"),
        damaged,
        "the store is as it was before the refused restore"
    );
    vm.ok("! ls /run/console-identity-* 2>/dev/null")
        .expect("no identity file left in /run");
    vm.ok(
        "pidof hotplugd && pidof backupd && \
         { [ ! -d /data/state/recover ] || [ -z \"$(ls -A /data/state/recover | grep -vx lock)\" ]; }",
    )
    .expect("services up, no staging or journal left");

    // The right identity, typed (pasted) at the prompt.
    let before_logout = vm.cursor();
    vm.send(b"exit\n").expect("log out");
    vm.wait_for_from(before_logout, " login: ", SHORT)
        .expect("login prompt");
    vm.login_as("sysconfig", PASSWORD).expect("console login");
    ask_for_keys(&mut vm);
    keys(&mut vm, &[secret_line(&key).as_bytes(), TAB, TAB, ENTER]);
    see(&mut vm, "[ Close ]", Duration::from_secs(600));
    see(&mut vm, "Restore finished", SHORT);
    keys(&mut vm, &[ENTER, ESC]);
    see(&mut vm, "Exit/Logout", SHORT);
    console_logout(&mut vm);

    vm.login().expect("root login");
    assert_eq!(
        vm.ok(STORE_SUM).expect("store checksum"),
        before,
        "the deleted mail is back, the store as it was backed up"
    );
    let log = vm
        .ok("grep -E 'recover|console' /data/log/messages | tail -n 40")
        .expect("log");
    assert!(log.contains(&set), "{log}");
    vm.ok("! ls /run/console-identity-* 2>/dev/null")
        .expect("no identity file left in /run");
    vm.ok("! grep -rq 'AGE-SECRET-KEY' /data/log /data/config")
        .expect("no key in the log or the configuration");
}
