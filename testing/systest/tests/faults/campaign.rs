//! The campaign: its settings, the kinds of fault, the appliance sessions
//! they run in, and the record of each fault.

use smbmount::testserver::{SambaOptions, SambaServer};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use systest::{Vm, VmConfig};

use super::guest::{self, R};
use super::host;
use super::rng::Rng;
use super::sets::{CheckResult, Tracker};

/// What to run (`ci/fault-campaign.sh` sets these through the environment).
#[derive(Debug, Clone)]
pub struct Config {
    /// Faults in all, spread evenly over the kinds.
    pub faults: usize,
    pub seed: u64,
    pub kinds: Vec<Kind>,
    /// Appliances run side by side (at most 2).
    pub jobs: usize,
    /// Size of the generated store (storegen), MiB.
    pub store_mib: u64,
    /// Recent messages of the campaign's own domain on top, MiB (the local
    /// appliance gets [`LOCAL_PAYLOAD_FACTOR`] times as much).
    pub payload_mib: u64,
    /// Where the table goes.
    pub report: PathBuf,
    /// Where each fault's line goes as it happens.
    pub log: PathBuf,
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

impl Config {
    /// The CI-sized campaign unless the environment says otherwise.
    pub fn from_env() -> Config {
        let seed = env("FAULT_CAMPAIGN_SEED").unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            // Short enough to type.
            (t ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
        });
        let kinds = std::env::var("FAULT_CAMPAIGN_KINDS")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.split(',')
                    .map(|k| {
                        Kind::parse(k.trim()).unwrap_or_else(|| {
                            panic!("unknown fault kind {k:?}; kinds: {}", Kind::names())
                        })
                    })
                    .collect()
            })
            .unwrap_or_else(|| Kind::ALL.to_vec());
        let target = systest::repo_root().join("target/systest");
        Config {
            faults: env("FAULT_CAMPAIGN_FAULTS").unwrap_or(12),
            seed,
            kinds,
            jobs: env::<usize>("FAULT_CAMPAIGN_JOBS").unwrap_or(2).clamp(1, 2),
            store_mib: env("FAULT_CAMPAIGN_STORE_MIB").unwrap_or(8),
            payload_mib: env("FAULT_CAMPAIGN_PAYLOAD_MIB").unwrap_or(16),
            report: std::env::var_os("FAULT_CAMPAIGN_REPORT")
                .map(PathBuf::from)
                .unwrap_or_else(|| target.join("fault-campaign.md")),
            log: std::env::var_os("FAULT_CAMPAIGN_LOG")
                .map(PathBuf::from)
                .unwrap_or_else(|| target.join("fault-campaign.log")),
        }
    }
}

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    PowerFull,
    PowerDiff,
    PowerRestore,
    DataFull,
    ClockBack,
    PowerInstall,
    UsbPull,
    DestFull,
    SmbKill,
}

/// Which appliance a kind runs in: the local one backs up to /data/backup,
/// restores and fills /data; the remote one backs up to a USB drive, an SMB
/// share and (for the clock) /data/backup, and installs firmware. Each
/// keeps its disk across its faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Site {
    Local,
    Remote,
}

impl Kind {
    /// In the order the faults are dealt out: a campaign of fewer faults
    /// than kinds times n gives the extra ones to the cheaper kinds first.
    pub const ALL: [Kind; 9] = [
        Kind::UsbPull,
        Kind::DestFull,
        Kind::SmbKill,
        Kind::PowerFull,
        Kind::PowerDiff,
        Kind::PowerRestore,
        Kind::PowerInstall,
        Kind::DataFull,
        Kind::ClockBack,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::PowerFull => "power-full",
            Kind::PowerDiff => "power-diff",
            Kind::PowerRestore => "power-restore",
            Kind::PowerInstall => "power-install",
            Kind::UsbPull => "usb-pull",
            Kind::SmbKill => "smb-kill",
            Kind::DataFull => "data-full",
            Kind::DestFull => "dest-full",
            Kind::ClockBack => "clock-back",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.name() == s)
    }

    pub fn names() -> String {
        Kind::ALL.map(Kind::name).join(",")
    }

    pub fn site(self) -> Site {
        match self {
            Kind::PowerFull | Kind::PowerDiff | Kind::PowerRestore | Kind::DataFull => Site::Local,
            Kind::PowerInstall
            | Kind::UsbPull
            | Kind::DestFull
            | Kind::SmbKill
            | Kind::ClockBack => Site::Remote,
        }
    }
}

/// How one fault went.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The appliance booted (where the power was cut) and its services ran.
    pub came_back: bool,
    pub lost: Vec<String>,
    pub falsely_complete: Vec<String>,
    /// After a restore: the data is neither the old nor the set's.
    pub restore_wrong: Vec<String>,
    /// Other checks that failed (services, the next backup, leftovers).
    pub problems: Vec<String>,
    /// What happened, for the fault's line.
    pub notes: Vec<String>,
    /// Where in the operation the fault landed (its phase then).
    pub phase: String,
}

impl Outcome {
    pub fn new() -> Outcome {
        Outcome {
            came_back: true,
            ..Outcome::default()
        }
    }

    pub fn survived(&self) -> bool {
        self.came_back
            && self.lost.is_empty()
            && self.falsely_complete.is_empty()
            && self.restore_wrong.is_empty()
            && self.problems.is_empty()
    }

    pub fn add_check(&mut self, label: &str, r: &CheckResult) {
        self.lost
            .extend(r.lost.iter().map(|l| format!("{label}: {l}")));
        self.falsely_complete
            .extend(r.falsely_complete.iter().map(|l| format!("{label}: {l}")));
        self.notes.push(r.summary(label));
    }

    pub fn problem(&mut self, p: impl Into<String>) {
        self.problems.push(p.into());
    }

    pub fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }
}

/// One fault as it happened.
#[derive(Debug, Clone)]
pub struct Record {
    pub site: Site,
    pub number: usize,
    pub kind: Kind,
    /// The random choices: offset into the operation, variant, amounts.
    pub offset: String,
    pub outcome: Outcome,
    /// Wall time of the fault with its recovery and checks.
    pub secs: f64,
}

impl Record {
    pub fn line(&self) -> String {
        let o = &self.outcome;
        let verdict = if o.survived() {
            "survived".to_string()
        } else {
            let mut why = Vec::new();
            if !o.came_back {
                why.push("DID NOT COME BACK".to_string());
            }
            why.extend(o.lost.iter().map(|l| format!("SET LOST {l}")));
            why.extend(
                o.falsely_complete
                    .iter()
                    .map(|l| format!("FALSELY COMPLETE {l}")),
            );
            why.extend(o.restore_wrong.iter().map(|l| format!("RESTORE WRONG {l}")));
            why.extend(o.problems.iter().map(|l| format!("CHECK FAILED {l}")));
            format!("FAILED: {}", why.join("; "))
        };
        format!(
            "fault {:>3} {:<13} {} -> {} [{}] ({:.1} s)",
            self.number,
            self.kind.name(),
            self.offset,
            verdict,
            o.notes.join("; "),
            self.secs
        )
        .replace('\n', " / ")
    }
}

pub enum Dest {
    Local,
    Usb,
    Smb,
}

/// The USB drive the remote appliance backs up to.
pub struct UsbDrive {
    pub image: PathBuf,
    /// The QMP id it is plugged under, if plugged.
    pub plugged: Option<String>,
    pub tracker: Tracker,
    next_id: u32,
}

/// The Samba server on the host and the sets on its share.
pub struct SmbDest {
    pub server: SambaServer,
    /// The slow link's port the appliance connects to.
    pub port: u16,
    pub tracker: Tracker,
}

/// The local appliance gets this many times the recent mail: its backups
/// go to its own disk, fast, and must last long enough to be cut midway.
pub const LOCAL_PAYLOAD_FACTOR: u64 = 3;

/// The date of the campaign's own messages: after any clock of the unit.
pub const MANAGED_MTIME: &str = "2035-01-01 00:00:00";

/// Write speed of the USB drive, bytes a second (a slow stick, so that a
/// backup lasts long enough to pull it in the middle).
pub const USB_BPS: u64 = 6 << 20;
/// Speed of the link to the file server, bytes a second.
pub const SMB_BPS: f64 = 6.0 * 1024.0 * 1024.0;

/// One appliance, kept across many faults (a power cut keeps its disk).
pub struct Session {
    pub site: Site,
    pub vm: Vm,
    pub rng: Rng,
    pub work: tempfile::TempDir,
    pub services: Vec<String>,
    /// The destination configured now (`None`: unknown, e.g. after a restore).
    pub dest: Option<&'static str>,
    pub local: Tracker,
    pub usb: Option<UsbDrive>,
    pub smb: Option<SmbDest>,
    /// Store manifest MD5 of each local set the campaign made.
    pub manifests: HashMap<String, String>,
    /// The manifest the next new sets get, and from when (unit's clock).
    pub pending: Option<(String, i64)>,
    /// Estimated seconds of each operation, learnt from uncut runs.
    pub est: BTreeMap<String, f64>,
    /// The size of the newest set on the USB drive.
    pub last_set_bytes: u64,
    /// Counter of the campaign's own new messages.
    pub msg_seq: u64,
    /// The firmware bundle being made for the install faults.
    bundle: Option<std::thread::JoinHandle<R<PathBuf>>>,
    /// Checks outside the faults that failed (e.g. the first restore).
    pub findings: Vec<String>,
    pub seed: u64,
    evidence_seq: u32,
    pub version: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Session {
    /// Boots a new appliance, carries the store (and a firmware bundle)
    /// in on a USB drive, and makes the first sets the kinds need.
    pub fn start(site: Site, cfg: &Config, kinds: &[Kind]) -> R<Session> {
        let name = match site {
            Site::Local => "faults-local",
            Site::Remote => "faults-remote",
        };
        let work = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .map_err(|e| format!("work folder: {e}"))?;
        // The bundle is made while the appliance boots.
        let bundle = kinds.contains(&Kind::PowerInstall).then(|| {
            let dir = work.path().join("bundle");
            std::thread::spawn(move || {
                std::fs::create_dir_all(&dir).map_err(|e| format!("bundle folder: {e}"))?;
                systest::bundle::make_bundle(
                    &dir,
                    "update",
                    &systest::bundle::BundleSpec::new("0.2.0"),
                )
                .map_err(|e| format!("making the bundle: {e}"))
            })
        });
        let store = host::make_store_tar(
            work.path(),
            cfg.store_mib,
            cfg.payload_mib * LOCAL_PAYLOAD_FACTOR.pow(u32::from(site == Site::Local)),
            cfg.seed,
        )?;
        let mut config = VmConfig::new(name);
        // A failed upgrade boots twice before the fallback.
        config.boot_timeout = Duration::from_secs(400);
        let mut vm = Vm::boot(config).map_err(guest::err)?;
        vm.login().map_err(guest::err)?;
        carry_in(
            &mut vm,
            work.path(),
            &store,
            &format!(
                "mkdir -p {} && tar -xf /media/usb/store.tar -C /data",
                guest::STATE
            ),
        )?;
        let services = guest::ok(
            &mut vm,
            "for s in backupd hotplugd ftpd timesyncd syslogd; do pidof $s >/dev/null && echo $s; done; true",
            30,
        )?
        .split_whitespace()
        .map(str::to_string)
        .collect();
        let version = guest::ok(&mut vm, "cat /etc/appliance-version", 30)?
            .trim()
            .to_string();
        let mut s = Session {
            site,
            vm,
            rng: Rng::derive(cfg.seed, name),
            work,
            services,
            dest: None,
            local: Tracker::default(),
            usb: None,
            smb: None,
            manifests: HashMap::new(),
            pending: None,
            est: BTreeMap::new(),
            last_set_bytes: 0,
            msg_seq: 0,
            findings: Vec::new(),
            seed: cfg.seed,
            evidence_seq: 0,
            version,
            log: Default::default(),
            bundle,
        };
        s.setup(cfg, kinds)?;
        Ok(s)
    }

    pub fn say(&self, line: String) {
        println!("[{}] {line}", self.label());
        if let Ok(mut l) = self.log.lock() {
            l.push(format!("[{}] {line}", self.label()));
        }
    }

    pub fn label(&self) -> &'static str {
        match self.site {
            Site::Local => "local",
            Site::Remote => "remote",
        }
    }

    fn setup(&mut self, cfg: &Config, kinds: &[Kind]) -> R<()> {
        match self.site {
            Site::Local => {
                self.use_dest(Dest::Local)?;
                let t = self.timed_backup("full")?;
                self.say(format!("first full backup: {t:.1} s"));
                if kinds
                    .iter()
                    .any(|k| matches!(k, Kind::PowerRestore | Kind::DataFull))
                {
                    // A whole restore, timed, and checked: exactly the set's data.
                    let set = self
                        .local
                        .newest_first()
                        .first()
                        .map(|k| k.tar.clone())
                        .ok_or("no set after the first backup")?;
                    let want = self.manifests.get(&set).cloned().ok_or("no manifest")?;
                    self.mutate()?;
                    let t0 = Instant::now();
                    let (rc, out) = guest::run(
                        &mut self.vm,
                        &format!(
                            "recover --system -g /data/backup/{set} > /tmp/recover.log 2>&1; rc=$?; tail -n 3 /tmp/recover.log; [ $rc = 0 ]"
                        ),
                        1800,
                    )?;
                    let t = t0.elapsed().as_secs_f64();
                    if rc != 0 {
                        return Err(format!("the first whole restore failed: {out}"));
                    }
                    self.dest = None;
                    let (now, _) = guest::manifest(&mut self.vm)?;
                    self.est.insert("restore".into(), t);
                    if now == want {
                        self.say(format!(
                            "first whole restore: {t:.1} s, the set's data exactly"
                        ));
                    } else {
                        let d = guest::manifest_diff(&mut self.vm, &want)?;
                        let f = format!(
                            "the first whole restore ({set}, uncut) did not give back the set's data: {d}"
                        );
                        self.say(f.clone());
                        self.findings.push(f);
                    }
                    guest::wait_services(&mut self.vm, &self.services.clone())?;
                }
            }
            Site::Remote => {
                if kinds.contains(&Kind::SmbKill) {
                    let server = SambaServer::start(SambaOptions::default())
                        .map_err(|e| format!("smbd: {e}"))?;
                    let port = host::slow_link(server.port, SMB_BPS)?;
                    self.smb = Some(SmbDest {
                        server,
                        port,
                        tracker: Tracker::default(),
                    });
                    self.use_dest(Dest::Smb)?;
                    let t = self.timed_backup("full")?;
                    self.say(format!("first full backup to the SMB share: {t:.1} s"));
                }
                if kinds
                    .iter()
                    .any(|k| matches!(k, Kind::UsbPull | Kind::DestFull))
                {
                    // Room for the sets retention keeps and one being written.
                    let mib = 8 * (cfg.store_mib + cfg.payload_mib) + 64;
                    let image = self.work.path().join("usb.img");
                    systest::make_fat32_image(&image, mib, "FAULTS").map_err(guest::err)?;
                    self.usb = Some(UsbDrive {
                        image,
                        plugged: None,
                        tracker: Tracker::default(),
                        next_id: 0,
                    });
                    self.use_dest(Dest::Usb)?;
                    let t = self.timed_backup("full")?;
                    self.say(format!("first full backup to the USB drive: {t:.1} s"));
                }
                if let Some(b) = self.bundle.take() {
                    let bundle = b.join().map_err(|_| "the bundle's thread panicked")??;
                    self.pull_usb(true)?;
                    carry_in(
                        &mut self.vm,
                        self.work.path(),
                        &bundle,
                        &format!("cp /media/usb/update.raucb {}", guest::BUNDLE),
                    )?;
                    let _ = std::fs::remove_file(&bundle);
                    let t0 = Instant::now();
                    let (rc, out) = guest::run(
                        &mut self.vm,
                        &format!(
                            "rauc install {} > /tmp/rauc.log 2>&1; rc=$?; tail -n 3 /tmp/rauc.log; [ $rc = 0 ]",
                            guest::BUNDLE
                        ),
                        1800,
                    )?;
                    if rc != 0 {
                        return Err(format!("the first firmware install failed: {out}"));
                    }
                    let t = t0.elapsed().as_secs_f64();
                    self.est.insert("install".into(), t);
                    self.say(format!("first firmware install: {t:.1} s"));
                }
            }
        }
        Ok(())
    }

    /// Configures a destination (only when it changes) and makes it ready.
    pub fn use_dest(&mut self, d: Dest) -> R<()> {
        let name = match d {
            Dest::Local => "local",
            Dest::Usb => "usb",
            Dest::Smb => "smb",
        };
        if let Dest::Usb = d {
            self.plug_usb()?;
        }
        if self.dest == Some(name) {
            return Ok(());
        }
        let lines: Vec<String> = match d {
            Dest::Local => Vec::new(),
            Dest::Usb => vec!["destination = \"usb\"".into()],
            Dest::Smb => {
                let smb = self.smb.as_ref().ok_or("no SMB server")?;
                let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\"));
                vec![
                    "destination = \"smb\"".into(),
                    "[backup.smb]".into(),
                    format!("host = {}", q(&format!("10.0.2.2:{}", smb.port))),
                    format!("share = {}", q(&smb.server.options.share)),
                    "path = \"\"".into(),
                    format!("username = {}", q("TESTDOM\\backup")),
                    format!("password = {}", q(&smb.server.options.password)),
                ]
            }
        };
        guest::configure_backup(&mut self.vm, &lines)?;
        self.dest = Some(name);
        Ok(())
    }

    /// Plugs the USB drive (write-throttled) unless it is plugged.
    pub fn plug_usb(&mut self) -> R<()> {
        let usb = self.usb.as_mut().ok_or("no USB drive in this session")?;
        if usb.plugged.is_some() {
            return Ok(());
        }
        usb.next_id += 1;
        let id = format!("usb{}", usb.next_id);
        let image = usb.image.clone();
        let vm = &mut self.vm;
        vm.qmp(
            "object-add",
            serde_json::json!({"qom-type": "throttle-group", "id": format!("{id}-tg"),
                   "limits": {"bps-write": USB_BPS}}),
        )
        .map_err(guest::err)?;
        vm.qmp(
            "blockdev-add",
            serde_json::json!({"driver": "throttle", "node-name": id, "throttle-group": format!("{id}-tg"),
                   "file": {"driver": "raw",
                            "file": {"driver": "file", "filename": image.display().to_string()}}}),
        )
        .map_err(guest::err)?;
        vm.qmp(
            "device_add",
            serde_json::json!({"driver": "usb-storage", "bus": "xhci.0", "drive": id, "id": id}),
        )
        .map_err(guest::err)?;
        if let Some(u) = self.usb.as_mut() {
            u.plugged = Some(id);
        }
        guest::wait_usb(&mut self.vm, true, 60)
    }

    /// Pulls the USB drive (no eject first unless `eject`).
    pub fn pull_usb(&mut self, eject: bool) -> R<()> {
        let Some(id) = self.usb.as_mut().and_then(|u| u.plugged.take()) else {
            return Ok(());
        };
        if eject {
            guest::ok(&mut self.vm, "sync; usbctl eject", 120)?;
        }
        self.vm.usb_unplug(&id).map_err(guest::err)?;
        let _ = self
            .vm
            .qmp("object-del", serde_json::json!({"id": format!("{id}-tg")}));
        guest::wait_usb(&mut self.vm, false, 60)
    }

    /// Changes the campaign's own messages (`n*.eml` in `faults.test`):
    /// deletes and rewrites some, adds new ones (some in new folders with
    /// spaces in their names). They are dated [`MANAGED_MTIME`], after any
    /// clock the unit may have, so every set holds them whole however the
    /// clock moves, and a restore can give back exactly what was there.
    /// storegen's messages (most older than the body window, stored as
    /// headers only) are never touched: a restore keeps the live file of a
    /// message the set holds headers only, which is then the same.
    pub fn mutate(&mut self) -> R<()> {
        let r = &mut self.rng;
        let (del, rw) = (r.below(1_000_000), r.below(1_000_000));
        let ndel = 1 + r.below(2);
        let mut adds = Vec::new();
        for _ in 0..1 + r.below(2) {
            self.msg_seq += 1;
            let user = r.below(4);
            let folder = if r.chance(0.3) {
                format!("Folder {}", r.below(5))
            } else {
                "INBOX".into()
            };
            let kib = 16 + r.below(2048);
            adds.push(format!(
                "d=\"/data/store/mail/faults.test/user{user}/{folder}/cur\"; mkdir -p \"$d\"; \
                 {{ printf 'From: a@faults.test\\r\\nSubject: new {n}\\r\\n\\r\\n'; head -c {kib}k /dev/urandom; }} > \"$d/n{n}-{seed}.eml\" && \
                 touch -d '{MANAGED_MTIME}' \"$d/n{n}-{seed}.eml\"",
                n = self.msg_seq,
                seed = r.below(1 << 30),
            ));
        }
        let cmd = format!(
            "cd /data/store/mail/faults.test && \
             pick() {{ n=$(find . -type f -name 'n*.eml' | wc -l); [ \"$n\" -gt 0 ] && find . -type f -name 'n*.eml' | sort | sed -n \"$(( $1 % n + 1 ))p\"; }}; \
             i=0; while [ $i -lt {ndel} ]; do f=$(pick $(({del} + i))); [ -n \"$f\" ] && rm -f \"$f\"; i=$((i+1)); done; \
             f=$(pick {rw}); [ -n \"$f\" ] && {{ head -c 200 \"$f\"; head -c 4096 /dev/urandom; }} > /tmp/rw && cat /tmp/rw > \"$f\" && touch -d '{MANAGED_MTIME}' \"$f\"; \
             {}; cd /; sync",
            adds.join("; ")
        );
        guest::ok(&mut self.vm, &cmd, 300).map(|_| ())
    }

    /// Records the store's manifest for the sets the next backup makes.
    pub fn expect_sets(&mut self) -> R<String> {
        let (m, _) = guest::manifest(&mut self.vm)?;
        let now = guest::now(&mut self.vm)?;
        self.pending = Some((m.clone(), now - 2));
        Ok(m)
    }

    /// An uncut backup of the configured destination, timed; learns its
    /// duration. Fails when the backup fails.
    pub fn timed_backup(&mut self, kind: &str) -> R<f64> {
        self.expect_sets()?;
        let (ok, out, t) = guest::backup(&mut self.vm, kind, 1800)?;
        if !ok {
            return Err(format!("backup {kind} failed: {out}"));
        }
        self.learn(&format!("{}-{kind}", self.dest.unwrap_or("?")), t);
        let mut o = Outcome::new();
        self.check_dest(&mut o)?;
        if !o.lost.is_empty() || !o.falsely_complete.is_empty() {
            return Err(format!(
                "after an uncut backup: {:?} {:?}",
                o.lost, o.falsely_complete
            ));
        }
        Ok(t)
    }

    pub fn learn(&mut self, op: &str, secs: f64) {
        let e = self.est.entry(op.to_string()).or_insert(secs);
        *e = 0.5 * *e + 0.5 * secs;
    }

    /// The estimated duration of an operation (a full's when unknown).
    pub fn estimate(&self, op: &str) -> f64 {
        if let Some(e) = self.est.get(op) {
            return *e;
        }
        let dest = op.split('-').next().unwrap_or("local");
        self.est
            .get(&format!("{dest}-full"))
            .or_else(|| self.est.values().next())
            .copied()
            .unwrap_or(10.0)
    }

    /// Checks the sets of the configured destination.
    pub fn check_dest(&mut self, o: &mut Outcome) -> R<()> {
        match self.dest {
            Some("usb") => self.check_usb(o),
            Some("smb") => self.check_smb(o),
            _ => self.check_local(o),
        }
    }

    /// Hidden files (temporary names of interrupted runs) at the
    /// configured destination.
    pub fn leftovers(&mut self) -> R<Vec<String>> {
        Ok(match self.dest {
            Some("usb") => {
                let usb = self.usb.as_ref().ok_or("no USB drive")?;
                if usb.plugged.is_some() {
                    guest::ok(&mut self.vm, "sync", 120)?;
                }
                host::fat_names(&usb.image)?
                    .into_iter()
                    .filter(|n| n.starts_with('.') && n != "." && n != "..")
                    .collect()
            }
            Some("smb") => {
                host::hidden_files(&self.smb.as_ref().ok_or("no SMB share")?.server.share_dir())
            }
            _ => guest::ok(&mut self.vm, "ls -A /data/backup | grep '^\\.'; true", 30)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        })
    }

    /// Keeps what a failed check saw for a later look: the USB image or
    /// the share's files, and the unit's log, under
    /// target/systest/fault-evidence/<seed>-<site>-<n>-<what>.
    pub fn keep_evidence(&mut self, what: &str, copy: Option<&std::path::Path>) {
        self.evidence_seq += 1;
        let dir = systest::repo_root().join(format!(
            "target/systest/fault-evidence/{}-{}-{}-{what}",
            self.seed,
            self.label(),
            self.evidence_seq
        ));
        let _ = std::fs::create_dir_all(&dir);
        if let Some(p) = copy {
            let _ = std::process::Command::new("cp")
                .args(["-a", "--sparse=always"])
                .arg(p)
                .arg(&dir)
                .status();
        }
        if let Ok((_, log)) = guest::run(
            &mut self.vm,
            "tail -n 300 /data/log/messages; ls -la /data/backup /media/usb 2>&1",
            60,
        ) {
            let _ = std::fs::write(dir.join("unit.log"), log);
        }
        self.say(format!("evidence kept in {}", dir.display()));
    }

    /// Checks every destination this session uses.
    pub fn check_all(&mut self, o: &mut Outcome) -> R<()> {
        match self.site {
            Site::Local => self.check_local(o),
            Site::Remote => {
                if !self.local.known.is_empty() {
                    self.check_local(o)?;
                }
                if self.smb.is_some() {
                    self.check_smb(o)?;
                }
                if self.usb.is_some() {
                    self.check_usb(o)?;
                }
                Ok(())
            }
        }
    }

    fn adopt_new(&mut self, r: &CheckResult) {
        if let Some((m, since)) = &self.pending {
            for t in &r.new {
                if super::sets::SetName::parse(t).is_some_and(|n| n.time >= *since) {
                    self.manifests.insert(t.clone(), m.clone());
                }
            }
        }
    }

    pub fn check_local(&mut self, o: &mut Outcome) -> R<()> {
        let found = guest::check_folder(&mut self.vm, "/data/backup")?;
        let now = guest::now(&mut self.vm)?;
        let r = self.local.update(&found, now);
        if !r.lost.is_empty() || !r.falsely_complete.is_empty() {
            self.keep_evidence("local", None);
        }
        self.adopt_new(&r);
        for p in &r.pruned {
            self.manifests.remove(p);
        }
        o.add_check("local", &r);
        Ok(())
    }

    pub fn check_smb(&mut self, o: &mut Outcome) -> R<()> {
        let now = guest::now(&mut self.vm)?;
        let smb = self.smb.as_mut().ok_or("no SMB share")?;
        let found = host::check_folder(&smb.server.share_dir())?;
        let r = smb.tracker.update(&found, now);
        if !r.lost.is_empty() || !r.falsely_complete.is_empty() {
            let share = smb.server.share_dir();
            self.keep_evidence("smb", Some(&share));
        }
        o.add_check("smb", &r);
        Ok(())
    }

    pub fn check_usb(&mut self, o: &mut Outcome) -> R<()> {
        let now = guest::now(&mut self.vm)?;
        if self.usb.as_ref().is_some_and(|u| u.plugged.is_some()) {
            // What the unit wrote is on the image once flushed.
            guest::ok(&mut self.vm, "sync", 120)?;
        }
        let copy = self.work.path().join("usb-copy");
        let usb = self.usb.as_mut().ok_or("no USB drive")?;
        host::fat_copy_sets(&usb.image, &copy)?;
        let found = host::check_folder(&copy)?;
        let r = usb.tracker.update(&found, now);
        if !r.lost.is_empty() || !r.falsely_complete.is_empty() {
            let image = usb.image.clone();
            self.keep_evidence("usb", Some(&image));
        }
        let usb = self.usb.as_mut().ok_or("no USB drive")?;
        if let Some(newest) = usb.tracker.newest_first().first() {
            let bytes: u64 = std::fs::read_dir(&copy)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .starts_with(newest.tar.as_str())
                        })
                        .filter_map(|e| e.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0);
            self.last_set_bytes = bytes;
        }
        let _ = std::fs::remove_dir_all(&copy);
        o.add_check("usb", &r);
        Ok(())
    }

    /// Powers the unit on after a cut and logs in; then its services must
    /// run. A USB drive hot-plugged before is gone with the old QEMU.
    pub fn power_on(&mut self) -> R<()> {
        if let Some(u) = self.usb.as_mut() {
            u.plugged = None;
        }
        self.vm.power_on().map_err(guest::err)?;
        self.vm.login().map_err(guest::err)?;
        let services = self.services.clone();
        guest::wait_services(&mut self.vm, &services)
    }

    /// Cuts the power; returns whether the unit came back.
    pub fn cut_power(&mut self, o: &mut Outcome) -> bool {
        let _ = self.vm.power_off_hard();
        match self.power_on() {
            Ok(()) => true,
            Err(e) => {
                o.came_back = false;
                o.problem(format!("after the power cut: {}", first_lines(&e, 12)));
                false
            }
        }
    }

    /// After a harness failure: power cycle until the unit answers again,
    /// so the session can go on. Returns false when it does not.
    pub fn revive(&mut self) -> bool {
        for _ in 0..2 {
            let _ = self.vm.power_off_hard();
            if self.power_on().is_ok() {
                self.dest = None;
                return true;
            }
        }
        false
    }

    /// Drops manifests of sets no longer there.
    pub fn tidy(&mut self) -> R<()> {
        let known: Vec<String> = self.local.known.keys().cloned().collect();
        self.manifests.retain(|k, _| known.contains(k));
        let mut keep: Vec<String> = self.manifests.values().cloned().collect();
        keep.push("cur".into());
        guest::prune_manifests(&mut self.vm, &keep)
    }
}

/// Carries a file into the unit on a USB drive made for it: plugs it,
/// runs `cmd` while it is mounted at /media/usb, ejects and pulls it.
fn carry_in(vm: &mut Vm, work: &std::path::Path, file: &std::path::Path, cmd: &str) -> R<()> {
    let img = host::carry_image(work, &[file])?;
    vm.usb_plug("carry", &img).map_err(guest::err)?;
    guest::wait_usb(vm, true, 60)?;
    guest::ok(vm, &format!("{cmd} && sync && usbctl eject"), 900)?;
    vm.usb_unplug("carry").map_err(guest::err)?;
    let _ = std::fs::remove_file(&img);
    let _ = std::fs::remove_file(file);
    guest::wait_usb(vm, false, 30)
}

pub fn first_lines(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join(" / ")
}
