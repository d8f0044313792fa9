//! Writing a whole tree.

use crate::error::{GenError, io_at};
use crate::layout::{self, FOLDERS, PUBLIC_FOLDERS};
use crate::message::{self, MessageSpec, Pools};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashSet;
use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Target size of the message store in bytes (the other files are small).
    pub size: u64,
    pub seed: u64,
    /// "Now" as seconds since the epoch: message dates lie before it.
    pub now: i64,
    /// Messages are dated over this many days before `now`.
    pub days: u32,
    /// Host name written into the configuration.
    pub hostname: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            size: 8 << 20,
            seed: 1,
            now: 1_795_317_495,
            days: 14,
            hostname: "mail".into(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub files: u64,
    pub bytes: u64,
    pub messages: u64,
    pub dirs: u64,
}

/// Median message size and spread of the log-normal size distribution:
/// a median of 8 KiB and a long tail up to megabytes, as in real mail.
const MEDIAN: f64 = 8000.0;
const SIGMA: f64 = 1.35;
const MAX_MESSAGE: f64 = 24.0 * 1024.0 * 1024.0;

pub(crate) struct Writer {
    pub root: PathBuf,
    made: HashSet<PathBuf>,
    pub stats: Stats,
}

impl Writer {
    pub fn new(root: &Path) -> Writer {
        Writer {
            root: root.to_path_buf(),
            made: HashSet::new(),
            stats: Stats::default(),
        }
    }

    /// Writes `rel` (relative to the root) with `data` and modification time `mtime`.
    pub fn file(&mut self, rel: &Path, data: &[u8], mtime: i64) -> Result<(), GenError> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent()
            && !self.made.contains(dir)
        {
            fs::create_dir_all(dir).map_err(io_at(dir))?;
            self.made.insert(dir.to_path_buf());
            self.stats.dirs += 1;
        }
        let mut f = File::create(&path).map_err(io_at(&path))?;
        f.write_all(data).map_err(io_at(&path))?;
        let t = epoch(mtime);
        f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .map_err(io_at(&path))?;
        self.stats.files += 1;
        self.stats.bytes += data.len() as u64;
        Ok(())
    }
}

pub(crate) fn epoch(secs: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// Generates a tree under `root` (created if missing; existing files with
/// the same names are overwritten).
pub fn generate(root: &Path, opts: &Options) -> Result<Stats, GenError> {
    if opts.days == 0 {
        return Err(GenError::Invalid("days must be at least 1".into()));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let pools = Pools::new(&mut rng);
    let mut w = Writer::new(root);
    for d in ["backup", "restore", "state"] {
        let p = root.join(d);
        fs::create_dir_all(&p).map_err(io_at(&p))?;
    }
    // Folders the backup must leave out carry something, so a test notices.
    w.file(
        Path::new("restore/README.txt"),
        b"Drop sets here.\n",
        opts.now,
    )?;
    w.file(Path::new("state/other/marker"), b"state\n", opts.now)?;

    let n_users = (opts.size / (4 << 20)).clamp(3, 5000) as usize;
    let n_domains = (n_users / 20).clamp(2, 64);
    let domains = layout::domains(&mut rng, n_domains);
    let names = layout::users(&mut rng, n_users);
    let users: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, u)| (domains[i % domains.len()].clone(), u.clone()))
        .collect();

    write_config(&mut w, &mut rng, opts, &domains, &users)?;

    // Some users get far more mail than others.
    let weight_dist = LogNormal::new(0.0, 1.0).map_err(|e| GenError::Invalid(e.to_string()))?;
    let mut cumulative = Vec::with_capacity(users.len());
    let mut total = 0.0;
    for _ in &users {
        total += weight_dist.sample(&mut rng);
        cumulative.push(total);
    }
    let folder_total: u32 = FOLDERS.iter().map(|f| f.1).sum();
    let sizes = LogNormal::new(MEDIAN.ln(), SIGMA).map_err(|e| GenError::Invalid(e.to_string()))?;
    let span = i64::from(opts.days) * 86_400;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut id: u64 = opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let budget = opts.size;
    while w.stats.bytes < budget {
        id = id.wrapping_add(1);
        let size = sizes.sample(&mut rng).clamp(300.0, MAX_MESSAGE) as usize;
        let size = size.min((budget - w.stats.bytes) as usize + 400);
        let date = opts.now - rng.random_range(60..span);
        let mtime = (date + rng.random_range(0..120)).min(opts.now);
        let (display, addr) = layout::person(&mut rng);
        let from_domain = domains[rng.random_range(0..domains.len())].clone();
        let from = format!("{addr}@{from_domain}");
        let kind = rng.random_range(0..100u32);
        let rel: PathBuf;
        let to: String;
        if kind < 94 {
            let x = rng.random_range(0.0..total);
            let ui = cumulative.partition_point(|&c| c < x).min(users.len() - 1);
            let (domain, user) = &users[ui];
            let mut pick = rng.random_range(0..folder_total);
            let mut folder = FOLDERS[0].0;
            for (f, wgt) in FOLDERS {
                if pick < *wgt {
                    folder = f;
                    break;
                }
                pick -= wgt;
            }
            to = format!("{user}@{domain}");
            let cur = opts.now - date > 2 * 86_400 || rng.random_bool(0.5);
            let name = layout::maildir_name(
                date,
                rng.random_range(0..1_000_000),
                (id & 0xffff) as u32,
                size,
                cur,
                if rng.random_bool(0.8) { "S" } else { "" },
            );
            rel = PathBuf::from(format!(
                "store/mail/{domain}/{user}/{folder}/{}/{name}",
                if cur { "cur" } else { "new" }
            ));
        } else if kind < 98 {
            let domain = &domains[rng.random_range(0..domains.len())];
            let folder = PUBLIC_FOLDERS[rng.random_range(0..PUBLIC_FOLDERS.len())];
            to = format!("public@{domain}");
            let name = layout::maildir_name(
                date,
                rng.random_range(0..1_000_000),
                (id & 0xffff) as u32,
                size,
                true,
                "S",
            );
            rel = PathBuf::from(format!("store/public/{domain}/{folder}/cur/{name}"));
        } else {
            let (domain, user) = &users[rng.random_range(0..users.len())];
            to = format!("{user}@{domain}");
            let q = if rng.random_bool(0.5) {
                "incoming"
            } else {
                "outgoing"
            };
            rel = PathBuf::from(format!("store/queue/{q}/{id:016x}.eml"));
        }
        message::build(
            &mut rng,
            &pools,
            &MessageSpec {
                date,
                from: (&display, &from),
                to: (&to, &to),
                size,
                id,
            },
            &mut buf,
        );
        w.file(&rel, &buf, mtime)?;
        w.stats.messages += 1;
    }
    set_dir_times(root, opts.now)?;
    Ok(w.stats)
}

fn write_config(
    w: &mut Writer,
    rng: &mut impl Rng,
    opts: &Options,
    domains: &[String],
    users: &[(String, String)],
) -> Result<(), GenError> {
    let t = opts.now - 30 * 86_400;
    let appliance = format!(
        "[system]\nhostname = \"{}\"\ntimezone = \"UTC\"\n\n[backup]\nschedule = \"22:00\"\nretention = 3\n",
        opts.hostname
    );
    w.file(Path::new("config/appliance.toml"), appliance.as_bytes(), t)?;
    let mut cfg = String::from("<?xml version=\"1.0\"?>\n<config>\n");
    for d in domains {
        cfg.push_str(&format!("  <domain name=\"{d}\" aliases=\"\" />\n"));
    }
    cfg.push_str("</config>\n");
    w.file(Path::new("config/mailserver.cfg"), cfg.as_bytes(), t)?;
    let mut ucfg = String::from("<?xml version=\"1.0\"?>\n<users>\n");
    for (d, u) in users {
        ucfg.push_str(&format!(
            "  <user name=\"{u}\" domain=\"{d}\" quota=\"{}\" />\n",
            rng.random_range(1..50) * 100
        ));
    }
    ucfg.push_str("</users>\n");
    w.file(Path::new("config/users.cfg"), ucfg.as_bytes(), t)?;
    w.file(
        Path::new("license/license.key"),
        &pem(rng, "LICENSE", 900),
        t,
    )?;
    w.file(
        Path::new("sslca/ca-root.crt"),
        &pem(rng, "CERTIFICATE", 1400),
        t,
    )?;
    w.file(
        Path::new("sslca/ca-intermediate.crt"),
        &pem(rng, "CERTIFICATE", 1400),
        t,
    )?;
    w.file(
        Path::new("sslcert/server.crt"),
        &pem(rng, "CERTIFICATE", 1500),
        t,
    )?;
    w.file(
        Path::new("sslcert/server.key"),
        &pem(rng, "PRIVATE KEY", 1700),
        t,
    )?;
    for d in domains {
        for l in 0..rng.random_range(1..4) {
            let text = format!("name = list{l}\ndomain = {d}\nmoderated = {}\n", l % 2 == 0);
            w.file(
                &PathBuf::from(format!("store/lists/{d}/list{l}.cfg")),
                text.as_bytes(),
                t,
            )?;
        }
    }
    for (d, u) in users {
        let mut vcf = String::new();
        for _ in 0..rng.random_range(1..30) {
            let (name, addr) = layout::person(rng);
            vcf.push_str(&format!(
                "BEGIN:VCARD\nVERSION:3.0\nFN:{name}\nEMAIL:{addr}@{}\nEND:VCARD\n",
                domains[rng.random_range(0..domains.len())]
            ));
        }
        w.file(
            &PathBuf::from(format!("store/contacts/{d}/{u}.vcf")),
            vcf.as_bytes(),
            t,
        )?;
    }
    let toks = ((opts.size / 200) as usize).clamp(4096, 4 << 20);
    let bytes: Vec<u8> = (0..toks).map(|_| rng.random()).collect();
    w.file(
        Path::new("store/spamassassin/bayes_toks"),
        &bytes,
        opts.now - 3600,
    )?;
    w.file(
        Path::new("store/spamassassin/bayes_seen"),
        &bytes[..toks / 4],
        opts.now - 3600,
    )?;
    w.file(
        Path::new("store/spamassassin/user_prefs"),
        b"required_score 5.0\n",
        t,
    )?;
    Ok(())
}

fn pem(rng: &mut impl Rng, label: &str, len: usize) -> Vec<u8> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!("-----BEGIN {label}-----\n").into_bytes();
    for i in 0..len {
        out.push(B64[rng.random_range(0..64)]);
        if i % 64 == 63 {
            out.push(b'\n');
        }
    }
    out.extend_from_slice(format!("\n-----END {label}-----\n").as_bytes());
    out
}

/// Gives every directory the same modification time, so the same options
/// make the same tree whenever they run.
pub(crate) fn set_dir_times(root: &Path, now: i64) -> Result<(), GenError> {
    let mut stack = vec![root.to_path_buf()];
    let mut dirs = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).map_err(io_at(&dir))? {
            let e = e.map_err(io_at(&dir))?;
            if e.file_type().map_err(io_at(&dir))?.is_dir() {
                stack.push(e.path());
            }
        }
        dirs.push(dir);
    }
    let t = epoch(now);
    for d in dirs {
        let f = File::open(&d).map_err(io_at(&d))?;
        f.set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .map_err(io_at(&d))?;
    }
    Ok(())
}
