//! The hotplugd binary as the appliance runs it, over a sysfs tree and
//! device nodes made here: start-up scan, status and eject over the control
//! socket and through usbctl, a malformed request, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A USB disk `sda` whose whole-disk content is a FAT32 image.
fn usb_disk(root: &Path, dev: &Path) {
    let usb = root.join("devices/pci0000:00/0000:00:04.0/usb2/2-1");
    let iface = usb.join("2-1:1.0");
    let scsi = iface.join("host2/target2:0:0/2:0:0:0");
    let disk = scsi.join("block/sda");
    std::fs::create_dir_all(&disk).expect("tree");
    std::fs::create_dir_all(root.join("bus/usb")).expect("bus");
    std::fs::create_dir_all(root.join("class/block")).expect("class");
    symlink(root.join("bus/usb"), usb.join("subsystem")).expect("link");
    symlink(root.join("bus/usb"), iface.join("subsystem")).expect("link");
    std::fs::write(scsi.join("vendor"), "Generic \n").expect("vendor");
    std::fs::write(scsi.join("model"), "Flash Disk      \n").expect("model");
    symlink(&scsi, disk.join("device")).expect("link");
    std::fs::write(disk.join("size"), "131072\n").expect("size");
    symlink(&disk, root.join("class/block/sda")).expect("link");
    let img = dev.join("sda");
    std::fs::File::create(&img)
        .and_then(|f| f.set_len(64 << 20))
        .expect("image");
    let ok = Command::new("mkfs.vfat")
        .args(["-F", "32", "-n", "OFFSITE"])
        .arg(&img)
        .stdout(Stdio::null())
        .status()
        .expect("mkfs.vfat");
    assert!(ok.success());
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The drive is listed, not mounted, and its problem starts with `why`.
fn assert_not_mounted_because(d: &control::hotplug::UsbDrive, why: &str) {
    assert!(!d.mounted, "{d:?}");
    assert!(
        d.problem.as_deref().is_some_and(|p| p.starts_with(why)),
        "{d:?}"
    );
}

/// An eject is refused, with words that `expected` accepts.
fn assert_eject_refused(hotplugd: &control::hotplug::Client, expected: impl Fn(&str) -> bool) {
    let refused = hotplugd.eject().expect_err("the eject is refused");
    assert!(
        matches!(&refused, control::ClientError::Refused(m) if expected(m)),
        "{refused:?}"
    );
}

#[test]
fn service_reports_drives_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sys, dev) = (dir.path().join("sys"), dir.path().join("dev"));
    std::fs::create_dir_all(&dev).expect("dev");
    usb_disk(&sys, &dev);
    let socket = dir.path().join("run/hotplugd.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotplugd"))
        .arg("--foreground")
        .arg("--sysfs")
        .arg(&sys)
        .arg("--dev")
        .arg(&dev)
        .arg("--mount-point")
        .arg(dir.path().join("media/usb"))
        .arg("--socket")
        .arg(&socket)
        .stderr(Stdio::piped())
        .spawn()
        .expect("hotplugd starts");
    wait_for(&socket);

    let hotplugd = control::hotplug::Client::new(&socket);
    let status = hotplugd.status().expect("status");
    assert_eq!(status.drives.len(), 1, "{status:?}");
    let d = &status.drives[0];
    assert_eq!(d.device, "sda");
    assert_eq!(d.filesystem, "vfat (FAT32)");
    assert_eq!(d.label, "OFFSITE");
    assert_eq!(d.vendor, "Generic");
    assert_eq!(d.size_bytes, 64 << 20);
    // A device node that is a plain file never mounts (ENOTBLK), and this
    // sandbox's kernel has no vfat (ENODEV): the reason is reported.
    assert_not_mounted_because(d, "cannot mount");
    assert_eject_refused(&hotplugd, |m| m == "no USB drive is mounted");

    // usbctl, the command line over the same socket.
    let usbctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_usbctl"))
            .args(args)
            .env("HOTPLUGD_SOCKET", &socket)
            .output()
            .expect("usbctl runs")
    };
    let out = usbctl(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "nothing mounted: {out:?}");
    assert!(
        text.starts_with("sda: Generic Flash Disk, 64.0 MiB, vfat (FAT32) \"OFFSITE\"\n  not mounted: cannot mount"),
        "{text}"
    );
    let out = usbctl(&["eject"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "usbctl: no USB drive is mounted\n"
    );

    let mut raw = UnixStream::connect(&socket).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    raw.write_all(b"{\"request\":\"format_everything\"}\n")
        .expect("write");
    let mut line = String::new();
    BufReader::new(&raw).read_line(&mut line).expect("reply");
    assert!(line.contains("malformed request"), "{line}");
    drop(raw);

    // Attacks on the socket: only root may connect (0600); an endless line
    // is cut off at 64 KiB; idle connections beyond 8 are turned away at
    // once instead of each holding a thread; the service still answers.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    let mut long = UnixStream::connect(&socket).expect("connect");
    long.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = long.write_all(&vec![b'x'; 1 << 20]);
    let mut line = String::new();
    let _ = BufReader::new(&long).read_line(&mut line);
    assert!(line.contains("longer than 64 KiB"), "{line}");
    drop(long);
    let idle: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(&socket).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut ninth = UnixStream::connect(&socket).expect("connect");
    ninth
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = ninth.write_all(b"{\"request\":\"status\"}\n");
    let mut line = String::new();
    let n = BufReader::new(&ninth).read_line(&mut line).unwrap_or(0);
    assert_eq!(n, 0, "the ninth connection is closed unanswered: {line}");
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    hotplugd.status().expect("status again");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("hotplugd did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut log);
    }
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(!socket.exists(), "socket removed on exit");
    assert!(
        log.contains("OFFSITE"),
        "the drive is named in the log:\n{log}"
    );
}

/// Mounts nothing for real (this sandbox's kernel has no vfat); its check
/// takes `check` and says the drive was repaired.
struct SlowCheck {
    check: Duration,
}

impl hotplugd::Mounter for SlowCheck {
    fn mount_fat(&mut self, _: &Path, _: &Path) -> Result<(), hotplugd::MountError> {
        Ok(())
    }
    fn unmount(&mut self, _: &Path) -> Result<(), hotplugd::MountError> {
        Ok(())
    }
    fn detach(&mut self, _: &Path) -> Result<(), hotplugd::MountError> {
        Ok(())
    }
    fn repair_job(&self, _: &Path) -> hotplugd::mount::RepairJob {
        let check = self.check;
        Box::new(move || {
            std::thread::sleep(check);
            hotplugd::repair::Repair::Repaired("Free cluster summary corrected".into())
        })
    }
}

/// The service's loop while a drive not ejected last time is checked
/// (fsck.fat may take up to 120 s): status requests are answered at once
/// and say so, an eject is refused with the reason, and the drive is
/// mounted when the check ends, without any event to prompt it.
#[test]
fn requests_are_answered_while_a_drive_is_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sys, dev) = (dir.path().join("sys"), dir.path().join("dev"));
    std::fs::create_dir_all(&dev).expect("dev");
    usb_disk(&sys, &dev);
    // The FAT state byte of a drive pulled without an eject.
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dev.join("sda"))
            .expect("node");
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, 0x41).expect("read");
        f.write_all_at(&[b[0] | 1], 0x41).expect("write");
    }
    let socket = dir.path().join("run/hotplugd.sock");
    let settings = hotplugd::Settings {
        paths: hotplugd::Paths {
            sysfs: hotplugd::sysfs::Sysfs::new(sys),
            dev_dir: dev,
            mount_point: dir.path().join("media/usb"),
            own_disks: Vec::new(),
        },
        socket: socket.clone(),
    };
    let check = Duration::from_secs(4);
    let started = Instant::now();
    std::thread::spawn(move || hotplugd::run_with(settings, SlowCheck { check }));
    wait_for(&socket);

    let hotplugd = control::hotplug::Client::new(&socket);
    let asked = Instant::now();
    let status = hotplugd.status().expect("status during the check");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        asked.elapsed()
    );
    assert!(started.elapsed() < check, "the check was still running");
    assert_not_mounted_because(&status.drives[0], "being checked for errors");
    assert_eject_refused(&hotplugd, |m| m.contains("is being checked for errors"));

    let deadline = Instant::now() + check + Duration::from_secs(20);
    loop {
        let status = hotplugd.status().expect("status");
        if status.drives[0].mounted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not mounted after the check: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
