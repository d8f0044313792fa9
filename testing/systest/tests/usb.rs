//! The USB destination in the running appliance: hotplugd mounts a FAT32
//! drive (present at boot or hot-plugged through QMP) with the safe
//! options, backupd writes sets to it (split into volumes), the host reads
//! them back with mtools and checks them with `md5sum -c`; exFAT and ext4
//! drives are refused with the reason; a drive pulled mid-backup leaves the
//! services running, the backup fails in plain words without a set that
//! looks complete, and the next drive works; eject flushes and unmounts.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use systest::operator::{
    backup_full, complete_sets, configure_backup, console_logout, first_console_login, keys,
    md5sum_check, see,
};
use systest::{Vm, VmConfig};

/// Mount options hotplugd must use (as /proc/mounts shows them).
const SAFE_OPTIONS: [&str; 9] = [
    "rw",
    "nosuid",
    "nodev",
    "noexec",
    "fmask=0077",
    "dmask=0077",
    "utf8",
    "flush",
    "errors=remount-ro",
];

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

/// A file system image of `mib` MiB made by `mkfs` with `args`.
fn image(dir: &Path, name: &str, mib: u64, mkfs: &str, args: &[&str]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .and_then(|f| f.set_len(mib << 20))
        .expect("image file");
    host(Command::new(mkfs).args(args).arg(&p));
    p
}

/// Waits (in the guest) until `cond` holds, up to `secs` seconds.
fn wait_until(vm: &mut Vm, cond: &str, secs: u32) {
    // The condition is tested once more at the end for the exit status.
    let cmd = format!(
        "i=0; until {cond}; do [ $i -ge {} ] && break; i=$((i+1)); sleep 0.1; done; {cond}",
        secs * 10
    );
    let out = vm
        .run_timeout(&cmd, Duration::from_secs(u64::from(secs) + 30))
        .expect("wait");
    assert_eq!(out.status, 0, "never true: {cond}\n{}", out.output);
}

const MOUNTED: &str = "grep -q ' /media/usb vfat ' /proc/mounts";
const NOT_MOUNTED: &str = "! grep -q ' /media/usb ' /proc/mounts";

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

/// A drive attached before power-on is found and mounted with the safe
/// options; Test Connectivity passes; a backup split into 1 MiB volumes
/// lands on it; eject flushes and unmounts; the host reads the set with
/// mtools and `md5sum -c` passes. Then exFAT and ext4 drives are refused
/// with the reason in usbctl's status, Test Connectivity and syslog.
#[test]
fn drive_at_boot_backup_in_volumes_eject_and_refusals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let boot_img = dir.path().join("atboot.img");
    systest::make_fat32_image(&boot_img, 64, "ATBOOT").expect("fat32 image");
    let mut vm = Vm::boot(VmConfig::new("usb-at-boot").usb_at_boot(&boot_img)).expect("boot");
    vm.login().expect("login");

    // Found by hotplugd's start-up scan, mounted with the safe options.
    wait_until(&mut vm, MOUNTED, 30);
    let line = vm.ok("grep ' /media/usb ' /proc/mounts").expect("mounts");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[..3], ["/dev/sda", "/media/usb", "vfat"], "{line}");
    let options: Vec<&str> = fields[3].split(',').collect();
    for o in SAFE_OPTIONS {
        assert!(options.contains(&o), "{o} missing from {line}");
    }
    let status = vm.ok("usbctl status").expect("usbctl status");
    assert!(
        status.contains("vfat (FAT32) \"ATBOOT\", mounted at /media/usb"),
        "{status}"
    );
    vm.ok("grep 'hotplugd.*\"ATBOOT\": mounted at /media/usb' /data/log/messages")
        .expect("the mount is in syslog");

    // Some data, and sets cut into 1 MiB volumes.
    vm.ok(
        "mkdir -p /data/store/mail/example.com/alice/INBOX/cur && \
         printf 'From: a@example.com\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n' \
           > /data/store/mail/example.com/alice/INBOX/cur/1.eml && \
         for i in 1 2 3; do dd if=/dev/urandom of=/data/store/queue/incoming/m$i bs=1024 count=1000 2>/dev/null; done",
    )
    .expect("data");
    configure_backup(&mut vm, &["destination = \"usb\"", "volume_size_mib = 1"]);
    let t = vm.run("backupctl test").expect("test");
    assert_eq!(t.status, 0, "{}", t.output);
    for want in [
        "OK (usb): The USB drive is ready",
        "write a probe file: ok",
        "read it back: ok",
        "delete it: ok",
        "free space: ",
        "file system: vfat (FAT32)",
    ] {
        assert!(t.output.contains(want), "{want:?} in:\n{}", t.output);
    }
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    assert!(
        b.output.contains("OK") && b.output.contains("volumes"),
        "{}",
        b.output
    );

    // Eject: flushed, unmounted, and the destination says so.
    let e = vm.ok("usbctl eject").expect("eject");
    assert!(e.contains("\"ATBOOT\" can be removed now"), "{e}");
    vm.ok(NOT_MOUNTED).expect("unmounted after eject");
    let t = vm.run("backupctl test").expect("test");
    assert_ne!(t.status, 0);
    assert!(
        t.output.contains("ejected: it can be removed"),
        "{}",
        t.output
    );

    // The host reads the drive without mounting it.
    let out = dir.path().join("from-atboot");
    let names = files_on(&boot_img, &out);
    let sets = complete_sets(&names);
    assert_eq!(sets.len(), 1, "{names:?}");
    let checked = md5sum_check(&out, &sets[0]);
    let base = sets[0].trim_end_matches(".md5");
    let volumes: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with(base) && !n.ends_with(".md5"))
        .collect();
    assert!(volumes.len() >= 3, "3 MiB in 1 MiB volumes: {names:?}");
    for v in &volumes {
        assert!(checked.contains(&format!("{v}: OK")), "{checked}");
        let size = std::fs::metadata(out.join(v.as_str()))
            .expect("volume")
            .len();
        assert!(size <= 1 << 20, "{v} is {size} bytes");
    }
    assert!(
        !names.iter().any(|n| n.starts_with('.')),
        "no temporary files left: {names:?}"
    );

    // Pull the boot drive; then drives that are not FAT32 are refused.
    vm.qmp("device_del", json!({"id": "bootusb0dev"}))
        .expect("pull the boot drive");
    wait_until(&mut vm, "[ ! -e /sys/block/sda ]", 30);
    for (id, img, fs, label, reason) in [
        (
            "exfat",
            image(dir.path(), "exfat.img", 64, "mkfs.exfat", &["-L", "PHOTOS"]),
            "exfat",
            "",
            "exFAT is not supported, format the drive as FAT32",
        ),
        (
            "ext4",
            image(
                dir.path(),
                "ext4.img",
                64,
                "mkfs.ext4",
                &["-q", "-L", "LINUX"],
            ),
            "ext4",
            " \"LINUX\"",
            "ext4 is not supported, format the drive as FAT32",
        ),
    ] {
        vm.usb_plug(id, &img).expect("plug");
        wait_until(&mut vm, "usbctl status | grep -q 'not mounted'", 30);
        let s = vm.run("usbctl status").expect("status");
        assert_eq!(s.status, 1, "nothing mounted: {}", s.output);
        assert!(
            s.output
                .contains(&format!("{fs}{label}\n  not mounted: {reason}")),
            "{}",
            s.output
        );
        let t = vm.run("backupctl test").expect("test");
        assert_ne!(t.status, 0);
        assert!(
            t.output.contains(&format!(
                "FAILED (usb): not FAT32: the USB drive sda{label} holds {fs}; {reason}"
            )),
            "{}",
            t.output
        );
        vm.ok(&format!(
            "grep -q 'hotplugd.*: {reason}' /data/log/messages"
        ))
        .expect("the reason is in syslog");
        vm.ok(NOT_MOUNTED).expect("not mounted");
        vm.usb_unplug(id).expect("pull");
        wait_until(&mut vm, "[ ! -e /sys/block/sda ]", 30);
    }
    vm.ok("pidof hotplugd && pidof backupd")
        .expect("services still running");
}

/// Hot-plugs a raw image whose writes QEMU limits to `bytes_per_sec`, so a
/// backup to it lasts long enough to pull the drive in the middle.
fn plug_slow_drive(vm: &mut Vm, id: &str, img: &Path, bytes_per_sec: u64) {
    vm.qmp(
        "object-add",
        json!({"qom-type": "throttle-group", "id": format!("{id}-tg"),
               "limits": {"bps-write": bytes_per_sec}}),
    )
    .expect("throttle group");
    vm.qmp(
        "blockdev-add",
        json!({"driver": "throttle", "node-name": id, "throttle-group": format!("{id}-tg"),
               "file": {"driver": "raw",
                        "file": {"driver": "file", "filename": img.display().to_string()}}}),
    )
    .expect("throttled block device");
    vm.qmp(
        "device_add",
        json!({"driver": "usb-storage", "bus": "xhci.0", "drive": id, "id": id}),
    )
    .expect("plug");
}

/// A drive pulled while a backup writes to it: hotplugd detaches it,
/// backupd reports the pulled drive in plain words, both keep running, no
/// set on the drive looks complete, and the next drive takes backups
/// (retention applies on it) that the host verifies after pulling it,
/// without eject, the moment the last backup is reported done.
#[test]
fn drive_pulled_mid_backup_then_next_drive_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = image(
        dir.path(),
        "first.img",
        256,
        "mkfs.vfat",
        &["-F", "32", "-n", "FIRST"],
    );
    let second = image(
        dir.path(),
        "second.img",
        256,
        "mkfs.vfat",
        &["-F", "32", "-n", "SECOND"],
    );
    let mut vm = Vm::boot(VmConfig::new("usb-pull")).expect("boot");
    vm.login().expect("login");
    // 40 MiB of incompressible data: ten seconds of writing at 4 MiB/s.
    // Each file its own random bytes: copies of one would compress away.
    vm.run_timeout(
        "for i in $(seq 1 40); do \
         dd if=/dev/urandom of=/data/store/queue/incoming/m$i bs=1M count=1 2>/dev/null; done",
        Duration::from_secs(120),
    )
    .expect("data");
    configure_backup(&mut vm, &["destination = \"usb\"", "retention = 1"]);
    let pids = vm.ok("pidof hotplugd; pidof backupd").expect("pids");

    plug_slow_drive(&mut vm, "usb1", &first, 4 << 20);
    wait_until(&mut vm, MOUNTED, 30);
    let log = vm
        .ok("grep 'hotplugd.*\"FIRST\": mounted at /media/usb' /data/log/messages")
        .expect("mount logged");
    assert!(log.contains("ms after the kernel's event"), "{log}");
    // Start a backup and pull the drive once some megabytes are written.
    let started = vm
        .ok("backupctl backup full --no-wait && \
             until backupctl status | grep -Eq 'writing: [0-9]+ files, [0-9.]+ MiB'; do sleep 0.2; done")
        .expect("backup running");
    assert!(started.starts_with("started "), "{started}");
    vm.usb_unplug("usb1").expect("pull mid-backup");
    wait_until(
        &mut vm,
        "backupctl status | grep -q '^Running: *nothing'",
        120,
    );
    let status = vm.ok("backupctl status").expect("status");
    let last = status
        .lines()
        .find(|l| l.contains("FAILED") || l.contains(" OK "))
        .unwrap_or_default();
    assert!(
        last.contains("FAILED")
            && last.contains("the USB drive was removed during the backup; no set was published"),
        "{status}"
    );
    assert_eq!(
        vm.ok("pidof hotplugd; pidof backupd").expect("pids"),
        pids,
        "hotplugd and backupd kept running"
    );
    vm.ok(NOT_MOUNTED).expect("detached");
    let s = vm.run("usbctl status").expect("status");
    assert_eq!(s.output.trim(), "No USB drive.", "{}", s.output);
    vm.ok("grep -q 'hotplugd.*\"FIRST\": removed while mounted' /data/log/messages")
        .expect("removal logged");

    // The next drive works, and keeps one set (retention = 1).
    vm.usb_plug("usb2", &second).expect("plug the next drive");
    wait_until(&mut vm, MOUNTED, 30);
    for i in 0..2 {
        if i > 0 {
            // Set names have a resolution of one second.
            vm.ok("sleep 1").expect("sleep");
        }
        let b = backup_full(&mut vm);
        assert_eq!(b.status, 0, "{}", b.output);
    }
    // Pulled without eject the moment the backup is reported done: a set
    // reported complete is complete on the drive (vfat wrote a renamed
    // file's size and first cluster only at its inode's writeback, up to
    // 30 s later, so such a pull left empty volumes under final names).
    vm.usb_unplug("usb2").expect("pull right after the backup");

    let out = dir.path().join("from-second");
    let names = files_on(&second, &out);
    let sets = complete_sets(&names);
    assert_eq!(sets.len(), 1, "retention keeps one set: {names:?}");
    let checked = md5sum_check(&out, &sets[0]);
    assert!(checked.contains(": OK"), "{checked}");
    // The pulled drive holds nothing that looks like a set.
    let out = dir.path().join("from-first");
    let names = files_on(&first, &out);
    assert!(complete_sets(&names).is_empty(), "{names:?}");
    assert!(
        !names.iter().any(|n| systest::operator::is_first_volume(n)),
        "no volume under its final name: {names:?}"
    );

    // The pulled drive comes back: the kernel left its file system marked
    // in use, so hotplugd has fsck.fat check and repair it before mounting,
    // and the next backup to it works (the kernel would otherwise turn the
    // drive read-only at the first damage the backup's writes met).
    let state = std::fs::read(&first).expect("first image")[0x41];
    assert_eq!(state & 1, 1, "the pulled drive is marked in use");
    vm.usb_plug("usb3", &first)
        .expect("plug the pulled drive again");
    wait_until(&mut vm, MOUNTED, 60);
    let log = vm
        .ok("grep 'hotplugd.*\"FIRST\": not ejected last time; fsck.fat' /data/log/messages")
        .expect("the check is logged");
    println!("{}", log.trim());
    vm.ok("sleep 1").expect("sleep");
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    let ejected = vm.run("usbctl eject").expect("eject");
    assert_eq!(ejected.status, 0, "{}", ejected.output);
    vm.usb_unplug("usb3").expect("pull after the eject");
    let fsck = Command::new("fsck.fat")
        .arg("-n")
        .arg(&first)
        .output()
        .expect("fsck.fat");
    assert!(
        fsck.status.success(),
        "clean after the repair and an eject: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let out = dir.path().join("from-first-again");
    let names = files_on(&first, &out);
    let sets = complete_sets(&names);
    assert_eq!(sets.len(), 1, "retention keeps one set: {names:?}");
    let checked = md5sum_check(&out, &sets[0]);
    assert!(checked.contains(": OK"), "{checked}");
}

/// The console restores the whole appliance from a set on the USB drive:
/// it hands recover the location and the set's name, recover opens the
/// drive itself and checks the set as it reads it. With the default body
/// window, a user's mail deleted since the backup comes back whole (it was
/// new), and older mail still on the disk keeps its bodies (the set holds
/// only their headers).
#[test]
fn console_restores_the_whole_system_from_the_usb_drive() {
    const ENTER: &[u8] = b"\r";
    const TAB: &[u8] = b"\t";
    const RIGHT: &[u8] = b"\x1b[C";
    const ESC: &[u8] = b"\x1b";
    const PASSWORD: &str = "Usb-Restore-2026";
    const SHORT: Duration = Duration::from_secs(60);
    const STORE_SUM: &str = "cd /data/store && find . -type f | sort | xargs md5sum | md5sum";

    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("sets.img");
    systest::make_fat32_image(&img, 64, "SETS").expect("fat32 image");
    let mut vm = Vm::boot(VmConfig::new("usb-console-restore").usb_at_boot(&img)).expect("boot");
    vm.login().expect("login");
    wait_until(&mut vm, MOUNTED, 30);
    // alice's mail is new; bob's is three days old (headers only in the set).
    vm.ok(
        "m=/data/store/mail/example.com; mkdir -p $m/alice/INBOX/cur $m/bob/INBOX/cur && \
         for i in 1 2 3; do \
           printf 'From: x@example.com\\r\\nSubject: new %s\\r\\n\\r\\n' $i > $m/alice/INBOX/cur/$i.eml; \
           head -c 20000 /dev/urandom | base64 >> $m/alice/INBOX/cur/$i.eml; \
           printf 'From: y@example.com\\r\\nSubject: old %s\\r\\n\\r\\n' $i > $m/bob/INBOX/cur/$i.eml; \
           head -c 20000 /dev/urandom | base64 >> $m/bob/INBOX/cur/$i.eml; \
           touch -d @$(( $(date +%s) - 259200 )) $m/bob/INBOX/cur/$i.eml; \
         done; sync",
    )
    .expect("mail");
    configure_backup(&mut vm, &["destination = \"usb\""]);
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    assert!(b.output.contains("headers-only"), "{}", b.output);
    let before = vm.ok(STORE_SUM).expect("store checksum");
    let set = vm
        .ok("cd /media/usb && ls *.tar.zst")
        .expect("the set on the drive");
    // Since the backup: alice's mail is lost, something new arrived.
    vm.ok("rm -rf /data/store/mail/example.com/alice && \
         echo 'Subject: later' > /data/store/mail/example.com/bob/INBOX/cur/9.eml")
        .expect("damage");
    assert_ne!(vm.ok(STORE_SUM).expect("checksum"), before);

    first_console_login(&mut vm, PASSWORD);
    see(&mut vm, "Restore From Backup", SHORT);
    keys(&mut vm, &[b"5"]);
    see(&mut vm, set.trim(), Duration::from_secs(120));
    assert!(
        vm.screen().contains("location"),
        "the set is listed at the backup location:\n{}",
        vm.screen()
    );
    keys(&mut vm, &[b" ", TAB, ENTER]);
    see(&mut vm, "Restore the whole system", SHORT);
    keys(&mut vm, &[RIGHT, ENTER]);
    see(&mut vm, "[ Close ]", Duration::from_secs(600));
    see(&mut vm, "Restore finished", SHORT);
    keys(&mut vm, &[ENTER, ESC]);
    see(&mut vm, "Exit/Logout", SHORT);
    console_logout(&mut vm);

    vm.login().expect("root login");
    assert_eq!(
        vm.ok(STORE_SUM).expect("store checksum"),
        before,
        "the store is as it was backed up, bodies included"
    );
    let log = vm
        .ok("grep 'recover' /data/log/messages | tail -n 20")
        .expect("log");
    assert!(log.contains(set.trim()), "{log}");
    // The drive is still mounted by hotplugd and the set is still there.
    vm.ok(&format!("{MOUNTED} && test -f /media/usb/{}", set.trim()))
        .expect("the drive and the set are still there");
}
