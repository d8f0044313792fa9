//! flash.sh and the replacement unit: the image written onto a larger disk
//! (an image file) boots, and its first boot grows the data partition and
//! its file system to the disk's end; a damaged image is refused. Then the
//! README's "Replace a failed unit", step by step: the old unit's nightly
//! set on its USB drive, flash.sh --restore onto the new disk, the new
//! unit's console offering the set and restoring it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use systest::operator::{keys, see};
use systest::{Firmware, Vm, VmConfig};

const GIB: u64 = 1 << 30;
const LONG: Duration = Duration::from_secs(600);
const SHORT: Duration = Duration::from_secs(60);
const ENTER: &[u8] = b"\r";
const TAB: &[u8] = b"\t";
const RIGHT: &[u8] = b"\x1b[C";
const ESC: &[u8] = b"\x1b";
const PASSWORD: &str = "Replaced-2026";

/// `flash.sh ARGS...`, as an administrator runs it.
fn flash(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(systest::repo_root().join("flash.sh"))
        .args(args)
        .output()
        .expect("run flash.sh")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A new, empty disk of `bytes` (a sparse file).
fn blank_disk(path: &Path, bytes: u64) {
    std::fs::File::create(path)
        .and_then(|f| f.set_len(bytes))
        .expect("disk file");
}

/// The guest's view of the data partition: its size and the file system's.
fn data_sizes(vm: &mut Vm) -> (u64, u64) {
    let part = vm
        .ok("cat /sys/class/block/$(basename $(grep ' /data ' /proc/mounts | cut -d' ' -f1))/size")
        .expect("partition size");
    let fs = vm
        .ok("df -k /data | tail -n 1 | awk '{print $2}'")
        .expect("df");
    (
        part.trim().parse::<u64>().expect("sectors") * 512,
        fs.trim().parse::<u64>().expect("KiB") * 1024,
    )
}

#[test]
fn flashed_onto_a_larger_disk_it_boots_and_data_grows() {
    let image = systest::test_image();
    let work = tempfile::tempdir().expect("tempdir");

    // A damaged copy of the image is refused, and nothing is written.
    let damaged = work.path().join("damaged.img");
    let copied = Command::new("cp")
        .arg("--sparse=always")
        .arg(&image)
        .arg(&damaged)
        .status()
        .expect("cp");
    assert!(copied.success());
    let sum =
        std::fs::read_to_string(image.with_extension("img.sha256")).expect("the image's checksum");
    std::fs::write(work.path().join("damaged.img.sha256"), sum).expect("checksum beside it");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&damaged)
            .expect("open");
        f.seek(SeekFrom::Start(70 << 20))
            .expect("seek into the root file system");
        f.write_all(b"flipped").expect("damage");
    }
    let target = work.path().join("new-disk.img");
    blank_disk(&target, 2 * GIB);
    let out = flash(&["--yes".as_ref(), damaged.as_os_str(), target.as_os_str()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("does not match its checksum"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::metadata(&target).expect("target").len(),
        2 * GIB,
        "untouched"
    );

    // The real image onto the 2 GiB disk, verified.
    let out = flash(&["--yes".as_ref(), image.as_os_str(), target.as_os_str()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("holds the image, verified"),
        "{}",
        text(&out)
    );
    let image_size = std::fs::metadata(&image).expect("image").len();

    // First boot: the data partition and its file system reach the end.
    let mut vm = Vm::boot(VmConfig {
        image: target.clone(),
        // UEFI here (OVMF reads the rewritten tables), BIOS in the other test.
        ..VmConfig::new("flash-grow").firmware(Firmware::Uefi)
    })
    .expect("boot the flashed disk");
    vm.login().expect("login");
    let (part, fs) = data_sizes(&mut vm);
    let before = 512 << 20;
    assert!(
        part > 2 * GIB - image_size + before - (4 << 20),
        "the partition grew to the disk's end: {part}"
    );
    assert!(
        fs > part - part / 20,
        "the file system fills the partition: {fs} of {part}"
    );
    let log = vm
        .ok("grep 'appctl' /data/log/messages | grep grew")
        .expect("the growth is in syslog");
    assert!(log.contains("from 512 to"), "{log}");
    // The backup GPT header sits in the disk's last sector now.
    let sig = vm
        .ok("dd if=/dev/vda bs=512 skip=$(( $(cat /sys/class/block/vda/size) - 1 )) count=1 2>/dev/null | head -c 8")
        .expect("last sector");
    assert_eq!(sig, "EFI PART");
    // The kernel saw the image's table in the middle of the disk at boot...
    let dmesg = vm.ok("dmesg | grep GPT: || true").expect("dmesg");
    assert!(dmesg.contains("not at the end of the disk"), "{dmesg}");

    // ...and after a reboot (GRUB and the kernel read the new tables) it
    // has no complaint, and there is nothing more to grow.
    vm.reboot().expect("reboot");
    vm.login().expect("login again");
    let dmesg = vm.ok("dmesg | grep GPT: || true").expect("dmesg");
    assert!(dmesg.trim().is_empty(), "{dmesg}");
    assert_eq!(data_sizes(&mut vm), (part, fs), "nothing more to grow");
    vm.ok("echo still-here > /data/probe && sync && cat /data/probe")
        .expect("/data writable");
}

/// Copies the files of a FAT image's root folder to `to` with mtools.
fn files_on(img: &Path, to: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(to).expect("folder");
    let listing = Command::new("mdir")
        .args(["-b", "-i"])
        .arg(img)
        .arg("::")
        .output()
        .expect("mdir (apt-get install mtools)");
    let mut files = Vec::new();
    for name in String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("::/"))
    {
        let dest = to.join(name);
        let ok = Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(img)
            .arg(format!("::/{name}"))
            .arg(&dest)
            .status()
            .expect("mcopy");
        assert!(ok.success(), "mcopy {name}");
        files.push(dest);
    }
    files
}

const STORE_SUM: &str = "cd /data/store && find . -type f | sort | xargs md5sum | md5sum";

#[test]
fn replace_a_failed_unit() {
    let work = tempfile::tempdir().expect("tempdir");

    // The old unit: mail, its own host name, nightly sets on a USB drive.
    let usb = work.path().join("usb.img");
    systest::make_fat32_image(&usb, 64, "BACKUPS").expect("fat32");
    let mut old = Vm::boot(VmConfig::new("flash-old-unit").usb_at_boot(&usb)).expect("boot old");
    old.login().expect("login");
    old.ok(
        "d=/data/store/mail/example.com/smith/INBOX/cur; mkdir -p $d && \
         printf 'From: a@example.com\\r\\nSubject: keep me\\r\\n\\r\\nbody\\r\\n' > $d/1.eml && \
         for i in 1 2 3; do dd if=/dev/urandom of=/data/store/queue/incoming/m$i bs=1024 count=700 2>/dev/null; done && \
         printf '%s\\n' '[system]' 'hostname = \"mx-old\"' '[backup]' 'destination = \"usb\"' 'volume_size_mib = 1' \
           > /data/config/appliance.toml && backupctl reload && \
         i=0; until grep -q ' /media/usb vfat ' /proc/mounts || [ $i -ge 300 ]; do i=$((i+1)); sleep 0.1; done",
    )
    .expect("the old unit's data");
    let store = old.ok(STORE_SUM).expect("store checksum");
    let b = old
        .run_timeout(
            "backupctl backup full --wait >/tmp/b.out 2>&1; rc=$?; cat /tmp/b.out; [ $rc = 0 ]",
            LONG,
        )
        .expect("nightly backup");
    assert_eq!(b.status, 0, "{}", b.output);
    old.ok("sync").expect("sync");
    // The old unit dies (power gone); the USB drive is what is left.
    old.power_off_hard().expect("the old unit fails");
    drop(old);

    // Step 1: the newest set from the drive, checked as the README says.
    let sets = work.path().join("sets");
    let files = files_on(&usb, &sets);
    let md5 = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "md5"))
        .expect("a complete set on the drive")
        .clone();
    let set = md5.with_extension(""); // NAME.tar
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "001")),
        "the set is split into volumes: {files:?}"
    );
    let check = Command::new("md5sum")
        .arg("-c")
        .arg(md5.file_name().expect("name"))
        .current_dir(&sets)
        .output()
        .expect("md5sum -c");
    assert!(check.status.success(), "{}", text(&check));

    // Step 2: flash.sh with --restore onto the new unit's (larger) disk.
    let disk = work.path().join("new-unit.img");
    blank_disk(&disk, 2 * GIB);
    let image = systest::test_image();
    let out = flash(&[
        "--yes".as_ref(),
        "--restore".as_ref(),
        set.as_os_str(),
        image.as_os_str(),
        disk.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("holds the image, verified"), "{said}");
    assert!(said.contains("in /data/restore, verified"), "{said}");

    // Step 3: the new unit boots; its console offers the set and restores it.
    let mut new = Vm::boot(VmConfig {
        image: disk.clone(),
        ..VmConfig::new("flash-new-unit")
    })
    .expect("boot the new unit");
    let name = set
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    new.login().expect("login");
    let listed = new.ok("backupctl list --restore-folder").expect("list");
    assert!(listed.contains(&name), "{listed}");
    let verified = new
        .run_timeout(&format!("backupctl verify --restore-folder {name}"), LONG)
        .expect("verify");
    assert_eq!(verified.status, 0, "{}", verified.output);
    let before_logout = new.cursor();
    new.send(b"exit\n").expect("log out");
    new.wait_for_from(before_logout, " login: ", SHORT)
        .expect("login prompt");

    new.send(b"sysconfig\n").expect("user");
    see(&mut new, "Set the console password", SHORT);
    keys(
        &mut new,
        &[
            PASSWORD.as_bytes(),
            ENTER,
            PASSWORD.as_bytes(),
            ENTER,
            ENTER,
        ],
    );
    see(&mut new, "Restore From Backup", SHORT);
    keys(&mut new, &[b"5"]);
    see(&mut new, &name, Duration::from_secs(120));
    keys(&mut new, &[b" ", TAB, ENTER]);
    see(&mut new, "Restore the whole system", SHORT);
    keys(&mut new, &[RIGHT, ENTER]);
    // The restore's output scrolls in a pop-up that gets a Close button
    // when it ends; its verdict, the last line, is in view without scrolling.
    see(&mut new, "[ Close ]", LONG);
    see(&mut new, "Restore finished", SHORT);
    keys(&mut new, &[ENTER, ESC]);
    see(&mut new, "Exit/Logout", SHORT);
    let before_logout = new.cursor();
    keys(&mut new, &[systest::operator::MENU_EXIT]);
    new.wait_for_from(before_logout, " login: ", SHORT)
        .expect("back at the login prompt");

    // The old unit's data and configuration are on the new one.
    new.login().expect("root login");
    assert_eq!(new.ok(STORE_SUM).expect("store checksum"), store);
    let config = new
        .ok("cat /data/config/appliance.toml")
        .expect("configuration");
    assert!(config.contains("mx-old"), "{config}");
    // And the set stays in the restore folder for another try.
    new.ok(&format!("test -f /data/restore/{name}.md5"))
        .expect("the set is still there");
}
