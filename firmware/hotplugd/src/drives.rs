//! The drives hotplugd knows of and what it did with them: the state that
//! uevents, the start-up scan and eject requests change, and that status
//! reports.

use crate::mount::{MountError, Mounter};
use crate::superblock::{Content, FatKind, Identity, identify};
use crate::sysfs::{BlockInfo, Sysfs};
use crate::uevent::{Action, BlockEvent};
use control::hotplug::{UsbDrive, UsbStatus};
use std::path::{Path, PathBuf};

/// Where hotplugd looks and mounts.
#[derive(Debug, Clone)]
pub struct Paths {
    pub sysfs: Sysfs,
    /// Device nodes (`/dev`, kept by the kernel's devtmpfs).
    pub dev_dir: PathBuf,
    pub mount_point: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            sysfs: Sysfs::default(),
            dev_dir: PathBuf::from("/dev"),
            mount_point: PathBuf::from(control::hotplug::MOUNT_POINT),
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
}

#[derive(Debug, Clone)]
struct Drive {
    info: BlockInfo,
    identity: Option<Identity>,
    state: State,
}

/// The drives, in the order they were plugged in, and the mount point.
pub struct Drives<M: Mounter> {
    paths: Paths,
    mounter: M,
    drives: Vec<Drive>,
    /// Set while the start-up scan decides whether to keep an existing mount.
    hold_mounts: bool,
}

impl<M: Mounter> Drives<M> {
    pub fn new(paths: Paths, mounter: M) -> Drives<M> {
        Drives {
            paths,
            mounter,
            drives: Vec::new(),
            hold_mounts: false,
        }
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
        match ev.action {
            Action::Add => {
                self.consider(&ev.devname);
            }
            Action::Remove => {
                self.remove(&ev.devname);
                self.mount_waiting();
            }
            Action::Change => {
                // A mounted drive is left alone (partition re-reads send
                // change events too); anything else is looked at afresh, e.g.
                // a card put into a reader or a drive just formatted.
                let mounted = self
                    .drives
                    .iter()
                    .any(|d| d.info.name == ev.devname && d.state == State::Mounted);
                if !mounted {
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

    /// Mounts the first waiting FAT32 drive when no drive holds the mount point.
    fn mount_waiting(&mut self) {
        if self.hold_mounts
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
        match self.mounter.mount_fat(&node, &target) {
            Ok(()) => {
                self.drives[i].state = State::Mounted;
                log::info!(
                    "{}: mounted at {}",
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
                        State::Waiting => Some(format!(
                            "another drive is mounted at {}; eject it first",
                            self.paths.mount_point.display()
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
