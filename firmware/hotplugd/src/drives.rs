//! The drives hotplugd knows of and what it did with them: the state that
//! uevents, the start-up scan and eject requests change, and that status
//! reports.

use crate::mount::{MountError, Mounter};
use crate::repair::{FSCK_LIMIT, Repair};
use crate::superblock::{Content, FatKind, Identity, fat_unclean, identify};
use crate::sysfs::{BlockInfo, Sysfs};
use crate::uevent::{Action, BlockEvent};
use control::hotplug::{UsbDrive, UsbStatus};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Instant;

/// Where hotplugd looks and mounts.
#[derive(Debug, Clone)]
pub struct Paths {
    pub sysfs: Sysfs,
    /// Device nodes (`/dev`, kept by the kernel's devtmpfs).
    pub dev_dir: PathBuf,
    pub mount_point: PathBuf,
    /// Disks that hold the appliance's own file systems (its root slot and
    /// `/data`): never a backup drive, even when the unit boots from USB.
    pub own_disks: Vec<String>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            sysfs: Sysfs::default(),
            dev_dir: PathBuf::from("/dev"),
            mount_point: PathBuf::from(control::hotplug::MOUNT_POINT),
            own_disks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Mounted,
    /// Flushed and unmounted on request: safe to pull.
    Ejected,
    /// Not usable, with the reason.
    Refused(String),
    /// FAT32 and usable, but another drive holds the mount point.
    Waiting,
    /// Not ejected last time: fsck.fat is checking it, then it is mounted.
    Checking {
        since: Instant,
    },
}

#[derive(Debug, Clone)]
struct Drive {
    info: BlockInfo,
    identity: Option<Identity>,
    state: State,
    /// Checked since it was plugged in: not checked again, even when the
    /// check could not clear its state byte.
    checked: bool,
}

/// A check running on a thread of its own: fsck.fat may take up to its
/// limit, and meanwhile events and requests are served.
struct Check {
    /// The device checked (its drive may be gone by the end).
    name: String,
    who: String,
    since: Instant,
    /// What it found, sent before the waker is called (so a wake-up always
    /// finds it); disconnected if the thread died without a verdict.
    verdict: Receiver<Repair>,
}

/// Called on the check's thread when it ends, to wake the service's loop.
pub type CheckWaker = Arc<dyn Fn() + Send + Sync>;

/// The drives, in the order they were plugged in, and the mount point.
pub struct Drives<M: Mounter> {
    paths: Paths,
    mounter: M,
    drives: Vec<Drive>,
    /// Set while the start-up scan decides whether to keep an existing mount.
    hold_mounts: bool,
    /// When the event being handled arrived, to log how long mounting took
    /// (the guest benchmark reads it: target under 300 ms).
    event_at: Option<Instant>,
    /// The drive check under way; one at a time, and no drive is mounted
    /// while it runs.
    check: Option<Check>,
    waker: Option<CheckWaker>,
}

impl<M: Mounter> Drives<M> {
    pub fn new(paths: Paths, mounter: M) -> Drives<M> {
        Drives {
            paths,
            mounter,
            drives: Vec::new(),
            hold_mounts: false,
            event_at: None,
            check: None,
            waker: None,
        }
    }

    /// What the check's thread calls when it ends ([`Drives::finish_check`]
    /// is then due); without one, the caller polls.
    pub fn set_check_waker(&mut self, waker: CheckWaker) {
        self.waker = Some(waker);
    }

    /// The start-up scan. `mounted_source` is what the mount table shows at
    /// the mount point: hotplugd's own mount from before a restart is kept
    /// (a backup may be writing to it); anything else there is detached.
    pub fn start(&mut self, mounted_source: Option<&str>) {
        self.hold_mounts = true;
        self.scan();
        self.hold_mounts = false;
        if let Some(source) = mounted_source {
            let name = Path::new(source)
                .strip_prefix(&self.paths.dev_dir)
                .ok()
                .and_then(|n| n.to_str())
                .map(str::to_string);
            if name.is_some_and(|n| self.adopt(&n)) {
                log::info!(
                    "{source} was already mounted at {}; keeping it",
                    self.paths.mount_point.display()
                );
            } else {
                let target = self.paths.mount_point.clone();
                log::warn!(
                    "{source} is mounted at {} but is not a usable USB drive; detaching it",
                    target.display()
                );
                if let Err(e) = self.mounter.detach(&target) {
                    log::error!("cannot detach {}: {e}", target.display());
                }
            }
        }
        self.mount_waiting();
    }

    pub fn mount_point(&self) -> &Path {
        &self.paths.mount_point
    }

    /// Brings the state in line with sysfs: at start-up (drives plugged in
    /// at boot) and after the kernel dropped events (ENOBUFS).
    pub fn scan(&mut self) {
        let names = match self.paths.sysfs.block_devices() {
            Ok(n) => n,
            Err(e) => {
                log::error!("cannot list block devices in sysfs: {e}");
                return;
            }
        };
        let gone: Vec<String> = self
            .drives
            .iter()
            .map(|d| d.info.name.clone())
            .filter(|n| !names.contains(n))
            .collect();
        for name in gone {
            self.remove(&name);
        }
        for name in names {
            if !self.drives.iter().any(|d| d.info.name == name) {
                self.consider(&name);
            }
        }
        self.mount_waiting();
    }

    /// Acts on one kernel event.
    pub fn handle(&mut self, ev: &BlockEvent) {
        self.event_at = Some(Instant::now());
        self.handle_event(ev);
        self.event_at = None;
    }

    fn handle_event(&mut self, ev: &BlockEvent) {
        match ev.action {
            Action::Add => {
                self.consider(&ev.devname);
            }
            Action::Remove => {
                self.remove(&ev.devname);
                self.mount_waiting();
            }
            Action::Change => {
                // A mounted or ejected drive is left alone (partition
                // re-reads and media polling send change events too);
                // anything else is looked at afresh, e.g. a card put into a
                // reader or a drive just formatted.
                let held = self.drives.iter().any(|d| {
                    d.info.name == ev.devname
                        && matches!(
                            d.state,
                            State::Mounted | State::Ejected | State::Checking { .. }
                        )
                });
                if !held {
                    self.drives.retain(|d| d.info.name != ev.devname);
                    self.consider(&ev.devname);
                }
            }
        }
    }

    /// Looks at a block device and, when it is a USB file system, records
    /// it and mounts it if it is FAT32 and the mount point is free.
    fn consider(&mut self, name: &str) {
        let Ok(info) = self.paths.sysfs.info(name) else {
            return;
        };
        if !info.usb || info.size_bytes == 0 {
            // Not USB, or a card reader with no card in it.
            return;
        }
        if self.paths.own_disks.contains(&info.disk) {
            log::info!(
                "{name} is on {}, the appliance's own disk: never used as a backup drive",
                info.disk
            );
            return;
        }
        if !info.partition && info.has_partitions {
            // The file systems are in the partitions, which come as their own devices.
            return;
        }
        let node = self.paths.dev_dir.join(name);
        let identity = std::fs::File::open(&node).and_then(|f| identify(&f));
        let (identity, state) = match identity {
            Err(e) => (
                None,
                State::Refused(format!("the drive cannot be read: {e}")),
            ),
            Ok(id) => {
                let state = match id.content.refusal() {
                    Some(why) => State::Refused(why),
                    None => State::Waiting,
                };
                (Some(id), state)
            }
        };
        let drive = Drive {
            info,
            identity,
            state,
            checked: false,
        };
        if let State::Refused(why) = &drive.state {
            log::warn!("{}: {why}", describe(&drive));
        } else {
            log::info!("{}: FAT32 drive found", describe(&drive));
        }
        self.drives.retain(|d| d.info.name != name);
        self.drives.push(drive);
        self.mount_waiting();
    }

    /// Mounts the first waiting FAT32 drive when no drive holds the mount
    /// point and no check runs; a drive not ejected last time is checked
    /// first (on a thread) and mounted when the check ends.
    fn mount_waiting(&mut self) {
        if self.hold_mounts
            || self.check.is_some()
            || self
                .drives
                .iter()
                .any(|d| matches!(d.state, State::Mounted | State::Ejected))
        {
            return;
        }
        let Some(i) = self.drives.iter().position(|d| d.state == State::Waiting) else {
            return;
        };
        let node = self.paths.dev_dir.join(&self.drives[i].info.name);
        let target = self.paths.mount_point.clone();
        if !self.drives[i].checked && self.unclean(i, &node) {
            self.start_check(i, &node);
            return;
        }
        match self.mounter.mount_fat(&node, &target) {
            Ok(()) => {
                self.drives[i].state = State::Mounted;
                let after = self
                    .event_at
                    .map(|t| format!(", {} ms after the kernel's event", t.elapsed().as_millis()))
                    .unwrap_or_default();
                log::info!(
                    "{}: mounted at {}{after}",
                    describe(&self.drives[i]),
                    target.display()
                );
            }
            Err(e) => {
                log::error!("{}: cannot mount: {e}", describe(&self.drives[i]));
                self.drives[i].state = State::Refused(format!("cannot mount: {e}"));
            }
        }
    }

    /// Whether the drive was left mounted last time (pulled without an
    /// eject, a power cut): the kernel would turn it read-only at the first
    /// damage a backup's writes meet, so it is checked before it is
    /// mounted. The device is opened exclusively to read its state, which
    /// fails while anything has it mounted: a mounted file system is never
    /// repaired.
    fn unclean(&self, i: usize, node: &Path) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        let unclean = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_EXCL)
            .open(node)
            .and_then(|f| fat_unclean(&f));
        unclean.unwrap_or_else(|e| {
            log::warn!(
                "{}: cannot read its state before mounting ({e}); not checked",
                describe(&self.drives[i])
            );
            false
        })
    }

    fn start_check(&mut self, i: usize, node: &Path) {
        let who = describe(&self.drives[i]);
        let job = self.mounter.repair_job(node);
        let waker = self.waker.clone();
        let (tx, verdict) = channel();
        let spawned = std::thread::Builder::new()
            .name("hotplugd-fsck".into())
            .spawn(move || {
                let _ = tx.send(job());
                drop(tx);
                if let Some(wake) = waker {
                    wake();
                }
            });
        if let Err(e) = spawned {
            log::error!(
                "{who}: not ejected last time, and it cannot be checked ({e}); mounted as it is"
            );
            self.drives[i].checked = true;
            self.mount_waiting();
            return;
        }
        log::warn!(
            "{who}: not ejected last time; checking it with fsck.fat before it is mounted (up to {} s)",
            FSCK_LIMIT.as_secs()
        );
        let since = Instant::now();
        self.drives[i].state = State::Checking { since };
        self.check = Some(Check {
            name: self.drives[i].info.name.clone(),
            who,
            since,
            verdict,
        });
    }

    /// A check that has ended: says what it found and mounts the drive
    /// (a drive that could not be repaired is mounted as it is, so that its
    /// sets can be copied off). Does nothing while the check runs.
    pub fn finish_check(&mut self) {
        let repair = match self.check.as_ref().map(|c| c.verdict.try_recv()) {
            None | Some(Err(TryRecvError::Empty)) => return,
            Some(Ok(repair)) => repair,
            Some(Err(TryRecvError::Disconnected)) => {
                Repair::Failed("the check stopped unexpectedly".into())
            }
        };
        let Some(check) = self.check.take() else {
            return;
        };
        let took = check.since.elapsed().as_millis();
        let who = check.who;
        let drive = self
            .drives
            .iter_mut()
            .find(|d| d.info.name == check.name && matches!(d.state, State::Checking { .. }));
        match drive {
            None => log::info!("{who}: its check ended after it was removed ({took} ms)"),
            Some(d) => {
                d.state = State::Waiting;
                d.checked = true;
                match repair {
                    Repair::Clean => log::warn!(
                        "{who}: not ejected last time; fsck.fat found nothing else wrong ({took} ms)"
                    ),
                    Repair::Repaired(what) => log::warn!(
                        "{who}: not ejected last time; fsck.fat repaired its file system ({took} ms): {what}"
                    ),
                    Repair::Failed(why) => log::error!(
                        "{who}: not ejected last time, and its file system could not be repaired \
                         ({why}); mounted as it is: copy the sets off and format it"
                    ),
                }
            }
        }
        self.mount_waiting();
    }

    /// Whether a check runs (the service then looks for its end every
    /// second, and says so when stopped; tests wait on it).
    pub fn checking(&self) -> bool {
        self.check.is_some()
    }

    /// The drive (or a disk with its partitions) is gone: detach what was
    /// mounted at once so writers get errors instead of hanging, and forget it.
    fn remove(&mut self, name: &str) {
        let (gone, kept): (Vec<Drive>, Vec<Drive>) = std::mem::take(&mut self.drives)
            .into_iter()
            .partition(|d| d.info.name == name || d.info.disk == name);
        self.drives = kept;
        for d in gone {
            if d.state == State::Mounted {
                let target = self.paths.mount_point.clone();
                match self.mounter.detach(&target) {
                    Ok(()) => log::warn!(
                        "{}: removed while mounted; detached from {}",
                        describe(&d),
                        target.display()
                    ),
                    Err(e) => log::error!("{}: removed, but unmounting failed: {e}", describe(&d)),
                }
            } else {
                log::info!("{}: removed", describe(&d));
            }
        }
    }

    /// Flushes and unmounts the mounted drive so it can be pulled.
    pub fn eject(&mut self) -> Result<String, String> {
        let Some(i) = self.drives.iter().position(|d| d.state == State::Mounted) else {
            return Err(if self.drives.iter().any(|d| d.state == State::Ejected) {
                "the drive is already ejected; it can be removed".into()
            } else if let Some(d) = self
                .drives
                .iter()
                .find(|d| matches!(d.state, State::Checking { .. }))
            {
                format!(
                    "{} is being checked for errors (it was not ejected last time); \
                     wait until it is mounted, then eject it",
                    describe(d)
                )
            } else {
                "no USB drive is mounted".into()
            });
        };
        let target = self.paths.mount_point.clone();
        match self.mounter.unmount(&target) {
            Ok(()) => {
                self.drives[i].state = State::Ejected;
                let msg = format!("{} can be removed now", describe(&self.drives[i]));
                log::info!("{msg}");
                Ok(msg)
            }
            Err(MountError::Busy) => Err(MountError::Busy.to_string()),
            Err(e) => {
                log::error!("{}: eject failed: {e}", describe(&self.drives[i]));
                Err(format!("the drive could not be ejected: {e}"))
            }
        }
    }

    /// What is plugged in, for the console and backupd.
    pub fn status(&self) -> UsbStatus {
        let drives = self
            .drives
            .iter()
            .map(|d| {
                let mounted = d.state == State::Mounted;
                let free_bytes = mounted
                    .then(|| nix::sys::statvfs::statvfs(&self.paths.mount_point).ok())
                    .flatten()
                    .map(|s| s.blocks_available() * s.fragment_size());
                UsbDrive {
                    device: d.info.name.clone(),
                    vendor: d.info.vendor.clone(),
                    model: d.info.model.clone(),
                    size_bytes: d.info.size_bytes,
                    filesystem: d
                        .identity
                        .as_ref()
                        .map_or("unknown", |i| i.content.name())
                        .to_string(),
                    label: d
                        .identity
                        .as_ref()
                        .map(|i| i.label.clone())
                        .unwrap_or_default(),
                    mounted,
                    mount_point: mounted.then(|| self.paths.mount_point.display().to_string()),
                    free_bytes,
                    problem: match &d.state {
                        State::Mounted => None,
                        State::Ejected => Some("ejected: it can be removed".into()),
                        State::Refused(why) => Some(why.clone()),
                        State::Waiting if self.check.is_some() => Some(format!(
                            "another drive is being checked, to be mounted at {}",
                            self.paths.mount_point.display()
                        )),
                        State::Waiting => Some(format!(
                            "another drive is mounted at {}; eject it first",
                            self.paths.mount_point.display()
                        )),
                        State::Checking { since } => Some(format!(
                            "being checked for errors (it was not ejected last time), \
                             {} s so far; it is mounted when the check ends",
                            since.elapsed().as_secs()
                        )),
                    },
                }
            })
            .collect();
        UsbStatus { drives }
    }

    /// Whether a drive is mounted, for tests and the start-up check.
    pub fn mounted_device(&self) -> Option<&str> {
        self.drives
            .iter()
            .find(|d| d.state == State::Mounted)
            .map(|d| d.info.name.as_str())
    }

    /// Marks `name` as mounted without mounting it: hotplugd restarted and
    /// found its own mount still in place.
    fn adopt(&mut self, name: &str) -> bool {
        match self.drives.iter_mut().find(|d| {
            d.info.name == name
                && d.identity.as_ref().map(|i| i.content) == Some(Content::Fat(FatKind::Fat32))
        }) {
            Some(d) => {
                d.state = State::Mounted;
                true
            }
            None => false,
        }
    }

    pub fn mounter(&self) -> &M {
        &self.mounter
    }
}

fn describe(d: &Drive) -> String {
    let what = [d.info.vendor.as_str(), d.info.model.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let label = d
        .identity
        .as_ref()
        .map(|i| i.label.as_str())
        .filter(|l| !l.is_empty());
    match (what.is_empty(), label) {
        (true, None) => format!("USB drive {}", d.info.name),
        (false, None) => format!("USB drive {} ({what})", d.info.name),
        (true, Some(l)) => format!("USB drive {} \"{l}\"", d.info.name),
        (false, Some(l)) => format!("USB drive {} ({what}) \"{l}\"", d.info.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mount::RepairJob;
    use crate::sysfs::fake::{FakeDisk, add_disk, remove_disk};
    use crate::testimg::{blank, fat32, mkfs, partition};
    use crate::uevent::DevType;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, mpsc};
    use std::time::Duration;

    /// Records what would be mounted (this sandbox's kernel has no vfat;
    /// real mounts are exercised in the QEMU system tests).
    #[derive(Default, Clone)]
    struct Recorder {
        calls: Arc<Mutex<Vec<String>>>,
        busy: Arc<AtomicBool>,
        /// When set, the next check ends only with what the test sends.
        gate: Arc<Mutex<Option<mpsc::Receiver<Repair>>>>,
    }

    impl Recorder {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().expect("lock"))
        }
    }

    impl Mounter for Recorder {
        fn mount_fat(&mut self, device: &Path, _target: &Path) -> Result<(), MountError> {
            let name = device.file_name().expect("name").to_string_lossy();
            self.calls
                .lock()
                .expect("lock")
                .push(format!("mount {name}"));
            Ok(())
        }
        fn unmount(&mut self, _target: &Path) -> Result<(), MountError> {
            if self.busy.load(Ordering::SeqCst) {
                return Err(MountError::Busy);
            }
            self.calls.lock().expect("lock").push("unmount".into());
            Ok(())
        }
        fn detach(&mut self, _target: &Path) -> Result<(), MountError> {
            self.calls.lock().expect("lock").push("detach".into());
            Ok(())
        }
        fn repair_job(&self, device: &Path) -> RepairJob {
            let name = device.file_name().expect("name").to_string_lossy();
            self.calls
                .lock()
                .expect("lock")
                .push(format!("repair {name}"));
            let gate = self.gate.lock().expect("lock").take();
            Box::new(move || match gate {
                Some(rx) => rx.recv().expect("the test's verdict"),
                None => Repair::Clean,
            })
        }
    }

    struct Rig {
        dir: tempfile::TempDir,
        rec: Recorder,
        drives: Drives<Recorder>,
    }

    impl Rig {
        fn new() -> Rig {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("dev")).expect("dev");
            let rec = Recorder::default();
            let paths = Paths {
                sysfs: Sysfs::new(dir.path().join("sys")),
                dev_dir: dir.path().join("dev"),
                mount_point: dir.path().join("media/usb"),
                own_disks: Vec::new(),
            };
            let drives = Drives::new(paths, rec.clone());
            Rig { dir, rec, drives }
        }

        fn sys(&self) -> PathBuf {
            self.dir.path().join("sys")
        }

        /// A USB disk whose whole-disk content (or single partition) is `img`.
        fn plug(&mut self, name: &str, img: &Path, partitioned: bool, usb: bool) -> Vec<String> {
            let sectors = std::fs::metadata(img).expect("img").len() / 512;
            let parts: &[(u32, u64)] = if partitioned { &[(1, 1000)] } else { &[] };
            add_disk(
                &self.sys(),
                &FakeDisk {
                    name,
                    usb,
                    sectors,
                    vendor: "Kingston",
                    model: "DataTraveler",
                    partitions: parts,
                },
            )
            .expect("disk");
            let dev = self.dir.path().join("dev");
            let mut names = vec![name.to_string()];
            if partitioned {
                let disk = blank(self.dir.path(), &format!("{name}-table.img"), 1);
                partition(&disk, "label: dos\n,\n");
                std::fs::copy(&disk, dev.join(name)).expect("disk node");
                std::fs::copy(img, dev.join(format!("{name}1"))).expect("part node");
                names.push(format!("{name}1"));
            } else {
                std::fs::copy(img, dev.join(name)).expect("disk node");
            }
            names
        }

        fn event(&mut self, action: Action, name: &str) {
            self.drives.handle(&BlockEvent {
                action,
                devpath: format!("/devices/x/{name}"),
                devname: name.into(),
                devtype: DevType::Unknown,
                seqnum: 1,
            });
        }

        /// Waits for the running check to end and lets it finish.
        fn wait_check(&mut self) {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while self.drives.checking() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the check did not end"
                );
                std::thread::sleep(Duration::from_millis(5));
                self.drives.finish_check();
            }
        }

        /// A running service into which a drive not ejected last time was
        /// plugged: its check runs until the test sends the verdict.
        fn with_unclean_drive_checked(name: &str) -> (Rig, mpsc::Sender<Repair>) {
            let mut rig = Rig::new();
            rig.drives.start(None);
            let img = unclean_fat32(rig.dir.path(), "f.img");
            rig.plug(name, &img, false, true);
            let verdict = rig.hold_next_check();
            rig.event(Action::Add, name);
            (rig, verdict)
        }

        /// The next check ends only when the test sends its verdict.
        fn hold_next_check(&self) -> mpsc::Sender<Repair> {
            let (tx, rx) = mpsc::channel();
            *self.rec.gate.lock().expect("lock") = Some(rx);
            tx
        }

        fn drive(&self, name: &str) -> UsbDrive {
            self.drives
                .status()
                .drives
                .into_iter()
                .find(|d| d.device == name)
                .unwrap_or_else(|| panic!("{name} not in status"))
        }
    }

    /// A unit booted from a USB stick: the stick's EFI partition is FAT32
    /// and on USB, but it is the appliance's own disk.
    #[test]
    fn the_appliances_own_usb_disk_is_never_a_backup_drive() {
        let mut rig = Rig::new();
        let img = fat32(rig.dir.path(), "esp.img", "ESP");
        rig.plug("sda", &img, true, true);
        rig.drives.paths.own_disks = vec!["sda".into()];
        rig.drives.start(None);
        assert_eq!(rig.rec.take(), Vec::<String>::new(), "nothing mounted");
        assert!(rig.drives.status().drives.is_empty());
        // Another stick plugged in later is used.
        let other = fat32(rig.dir.path(), "f.img", "NIGHTLY");
        rig.plug("sdb", &other, false, true);
        rig.event(Action::Add, "sdb");
        assert_eq!(rig.rec.take(), ["mount sdb"]);
    }

    /// A FAT32 image whose state byte says it was left mounted.
    fn unclean_fat32(dir: &Path, file: &str) -> PathBuf {
        let img = fat32(dir, file, "NIGHTLY");
        let mut bytes = std::fs::read(&img).expect("read");
        bytes[0x41] |= 1;
        std::fs::write(&img, &bytes).expect("write");
        img
    }

    /// A drive left mounted last time (its FAT state byte set) is checked
    /// and repaired before it is mounted, on a thread of its own: while
    /// the check runs the status says so and an eject says to wait. A
    /// drive ejected cleanly is not checked.
    #[test]
    fn a_drive_not_ejected_last_time_is_repaired_before_it_is_mounted() {
        let mut rig = Rig::new();
        let img = unclean_fat32(rig.dir.path(), "f.img");
        rig.plug("sda", &img, true, true);
        let verdict = rig.hold_next_check();
        rig.drives.start(None);
        assert_eq!(rig.rec.take(), ["repair sda1"]);
        let d = rig.drive("sda1");
        assert!(!d.mounted);
        let problem = d.problem.expect("a problem while checked");
        assert!(
            problem.starts_with("being checked for errors (it was not ejected last time)"),
            "{problem}"
        );
        let refused = rig.drives.eject().expect_err("no eject during the check");
        assert!(refused.contains("is being checked for errors"), "{refused}");
        verdict
            .send(Repair::Repaired("Free cluster summary corrected".into()))
            .expect("send");
        rig.wait_check();
        assert_eq!(rig.rec.take(), ["mount sda1"]);
        assert!(rig.drive("sda1").mounted);

        rig.event(Action::Remove, "sda");
        rig.rec.take();
        let clean = fat32(rig.dir.path(), "clean.img", "NIGHTLY");
        rig.plug("sdb", &clean, false, true);
        rig.event(Action::Add, "sdb");
        assert_eq!(rig.rec.take(), ["mount sdb"]);
    }

    /// A check that cannot put the drive right still ends with the drive
    /// mounted as it is (its sets can be copied off), and it is not checked
    /// again in a loop although its state byte is still set.
    #[test]
    fn a_drive_that_could_not_be_repaired_is_mounted_as_it_is_once() {
        let (mut rig, verdict) = Rig::with_unclean_drive_checked("sdb");
        verdict
            .send(Repair::Failed(
                "fsck.fat did not finish within 120 s".into(),
            ))
            .expect("send");
        rig.wait_check();
        assert_eq!(rig.rec.take(), ["repair sdb", "mount sdb"]);
        assert!(rig.drive("sdb").mounted);
    }

    /// Kernel events are handled while a check runs: a second drive waits
    /// (and says for what), the checked drive pulled mid-check is forgotten,
    /// and when its check ends the second drive is mounted.
    #[test]
    fn events_are_handled_while_a_drive_is_checked() {
        let (mut rig, verdict) = Rig::with_unclean_drive_checked("sdb");
        assert_eq!(rig.rec.take(), ["repair sdb"]);

        let clean = fat32(rig.dir.path(), "clean.img", "WEEKLY");
        rig.plug("sdc", &clean, false, true);
        rig.event(Action::Add, "sdc");
        assert_eq!(rig.rec.take(), Vec::<String>::new(), "nothing mounted yet");
        let waiting = rig.drive("sdc").problem.expect("waits");
        assert!(
            waiting.starts_with("another drive is being checked"),
            "{waiting}"
        );

        remove_disk(&rig.sys(), "sdb").expect("unplug");
        rig.event(Action::Remove, "sdb");
        assert!(rig.drives.status().drives.iter().all(|d| d.device != "sdb"));
        assert_eq!(
            rig.rec.take(),
            Vec::<String>::new(),
            "sdc waits for the check"
        );

        verdict
            .send(Repair::Failed("Read error".into()))
            .expect("send");
        rig.wait_check();
        assert_eq!(rig.rec.take(), ["mount sdc"]);
        assert_eq!(rig.drives.mounted_device(), Some("sdc"));
    }

    #[test]
    fn drive_present_at_boot_is_mounted() {
        let mut rig = Rig::new();
        let img = fat32(rig.dir.path(), "f.img", "NIGHTLY");
        rig.plug("sda", &img, true, true);
        rig.drives.start(None);
        assert_eq!(rig.rec.take(), ["mount sda1"]);
        let d = rig.drive("sda1");
        assert!(d.mounted);
        assert_eq!(d.filesystem, "vfat (FAT32)");
        assert_eq!(d.label, "NIGHTLY");
        assert_eq!(d.vendor, "Kingston");
        assert_eq!(d.problem, None);
        assert!(d.mount_point.is_some());
        // The partitioned disk itself is not listed.
        assert_eq!(rig.drives.status().drives.len(), 1);
    }

    #[test]
    fn refused_drives_say_why_and_are_not_mounted() {
        let mut rig = Rig::new();
        rig.drives.start(None);
        let p = rig.dir.path().to_path_buf();
        let cases = [
            (
                "sdb",
                mkfs(&p, "ex.img", 64, "mkfs.exfat", &[]),
                "exFAT is not supported, format the drive as FAT32",
            ),
            (
                "sdc",
                mkfs(&p, "nt.img", 16, "mkntfs", &["-F", "-Q", "-q"]),
                "NTFS is not supported, format the drive as FAT32",
            ),
            (
                "sdd",
                mkfs(&p, "e4.img", 16, "mkfs.ext4", &["-q", "-F"]),
                "ext4 is not supported, format the drive as FAT32",
            ),
            (
                "sde",
                blank(&p, "z.img", 8),
                "the drive is not formatted, format the drive as FAT32",
            ),
            (
                "sdf",
                mkfs(&p, "f16.img", 32, "mkfs.vfat", &["-F", "16"]),
                "FAT16 is not supported, format the drive as FAT32",
            ),
        ];
        for (name, img, why) in &cases {
            for n in rig.plug(name, img, false, true) {
                rig.event(Action::Add, &n);
            }
            let d = rig.drive(name);
            assert!(!d.mounted);
            assert_eq!(d.problem.as_deref(), Some(*why));
        }
        assert!(rig.rec.take().is_empty());
    }

    #[test]
    fn non_usb_disks_are_ignored() {
        let mut rig = Rig::new();
        let img = fat32(rig.dir.path(), "f.img", "INTERNAL");
        rig.plug("vdb", &img, false, false);
        rig.event(Action::Add, "vdb");
        assert!(rig.drives.status().drives.is_empty());
        assert!(rig.rec.take().is_empty());
    }

    #[test]
    fn second_drive_waits_then_takes_over_after_removal() {
        let mut rig = Rig::new();
        let a = fat32(rig.dir.path(), "a.img", "FIRST");
        let b = fat32(rig.dir.path(), "b.img", "SECOND");
        for n in rig.plug("sda", &a, true, true) {
            rig.event(Action::Add, &n);
        }
        for n in rig.plug("sdb", &b, false, true) {
            rig.event(Action::Add, &n);
        }
        assert_eq!(rig.rec.take(), ["mount sda1"]);
        assert!(
            rig.drive("sdb")
                .problem
                .is_some_and(|p| p.contains("another drive"))
        );
        // Pulled: the kernel removes the partition, then the disk.
        remove_disk(&rig.sys(), "sda").expect("unplug");
        rig.event(Action::Remove, "sda1");
        rig.event(Action::Remove, "sda");
        assert_eq!(rig.rec.take(), ["detach", "mount sdb"]);
        assert_eq!(rig.drives.mounted_device(), Some("sdb"));
        assert_eq!(rig.drives.status().drives.len(), 1);
    }

    #[test]
    fn eject_flushes_unmounts_and_holds_until_pulled() {
        let mut rig = Rig::new();
        let a = fat32(rig.dir.path(), "a.img", "EJECTME");
        for n in rig.plug("sda", &a, false, true) {
            rig.event(Action::Add, &n);
        }
        rig.rec.busy.store(true, Ordering::SeqCst);
        let busy = rig.drives.eject().expect_err("busy");
        assert!(busy.contains("in use"), "{busy}");
        assert!(rig.drive("sda").mounted);
        rig.rec.busy.store(false, Ordering::SeqCst);
        let msg = rig.drives.eject().expect("eject");
        assert!(msg.contains("can be removed"), "{msg}");
        assert_eq!(rig.rec.take(), ["mount sda", "unmount"]);
        let d = rig.drive("sda");
        assert!(!d.mounted);
        assert!(d.problem.is_some_and(|p| p.contains("ejected")));
        assert!(
            rig.drives
                .eject()
                .expect_err("again")
                .contains("already ejected")
        );
        // A change event (media polling, partition re-read) does not
        // remount it: only a replug does.
        rig.event(Action::Change, "sda");
        assert!(rig.rec.take().is_empty());
        remove_disk(&rig.sys(), "sda").expect("unplug");
        rig.event(Action::Remove, "sda");
        assert!(
            rig.rec.take().is_empty(),
            "an ejected drive is not detached again"
        );
        assert!(
            rig.drives
                .eject()
                .expect_err("none")
                .contains("no USB drive")
        );
    }

    #[test]
    fn formatting_a_drive_makes_it_usable() {
        let mut rig = Rig::new();
        let z = blank(rig.dir.path(), "z.img", 64);
        for n in rig.plug("sda", &z, false, true) {
            rig.event(Action::Add, &n);
        }
        assert!(!rig.drive("sda").mounted);
        let f = fat32(rig.dir.path(), "f.img", "FRESH");
        std::fs::copy(&f, rig.dir.path().join("dev/sda")).expect("format");
        rig.event(Action::Change, "sda");
        assert_eq!(rig.rec.take(), ["mount sda"]);
        assert_eq!(rig.drive("sda").label, "FRESH");
    }

    #[test]
    fn restart_keeps_own_mount_and_drops_stale_ones() {
        let mut rig = Rig::new();
        let a = fat32(rig.dir.path(), "a.img", "KEEP");
        rig.plug("sda", &a, false, true);
        let src = rig.dir.path().join("dev/sda").display().to_string();
        rig.drives.start(Some(&src));
        assert!(rig.rec.take().is_empty(), "adopted, not remounted");
        assert!(rig.drive("sda").mounted);

        let mut rig = Rig::new();
        rig.plug("sda", &a, false, true);
        rig.drives.start(Some("/dev/sdz9"));
        assert_eq!(rig.rec.take(), ["detach", "mount sda"]);
    }

    #[test]
    fn rescan_forgets_drives_that_vanished_unseen() {
        let mut rig = Rig::new();
        let a = fat32(rig.dir.path(), "a.img", "GONE");
        rig.plug("sda", &a, false, true);
        rig.drives.start(None);
        remove_disk(&rig.sys(), "sda").expect("unplug");
        rig.drives.scan();
        assert_eq!(rig.rec.take(), ["mount sda", "detach"]);
        assert!(rig.drives.status().drives.is_empty());
    }
}
