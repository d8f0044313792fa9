//! The fault campaign (issue 14, item 5): faults injected into the
//! appliance running in QEMU at random moments, and what it survived.
//!
//! Power cut during a full backup, a differential, a whole-system restore
//! and a firmware install; the USB drive pulled during a backup to it; the
//! SMB server killed and started again while a backup writes to it; /data
//! full before or during a backup or a restore; the USB destination full;
//! the clock moved back a day between backups. After each: the appliance
//! comes back, no set that looks complete is bad (`md5sum -c` by the
//! host's coreutils or the unit's BusyBox, never the product's code), no
//! set that verified before is gone unless retention after a newer set
//! may remove it, and a restore gives back exactly the old data or the
//! set's. The appliance runs with its default settings (24-hour body
//! window, 3 restore points, its own host name and identity, FTPS).
//!
//! `cargo test -p systest --test faults` runs a dozen faults (CI);
//! `ci/fault-campaign.sh --faults N` runs the full campaign through the
//! `FAULT_CAMPAIGN_*` variables (see `campaign::Config`). The seed makes a
//! run's choices reproducible. See docs/testing.md, "Fault campaign".

#[path = "faults/campaign.rs"]
mod campaign;
#[path = "faults/figures.rs"]
mod figures;
#[path = "faults/guest.rs"]
mod guest;
#[path = "faults/host.rs"]
mod host;
#[path = "faults/kinds.rs"]
mod kinds;
#[path = "faults/rng.rs"]
mod rng;
#[path = "faults/sets.rs"]
mod sets;

use campaign::{Config, Kind, Session, Site};
use figures::Report;
use rng::Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

/// The faults each site runs, in a random order the seed decides.
fn plan(cfg: &Config) -> BTreeMap<Site, Vec<Kind>> {
    let mut kinds: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| cfg.kinds.contains(k))
        .collect();
    kinds.dedup();
    let mut plan: BTreeMap<Site, Vec<Kind>> = BTreeMap::new();
    if kinds.is_empty() {
        return plan;
    }
    for i in 0..cfg.faults {
        let k = kinds[i % kinds.len()];
        plan.entry(k.site()).or_default().push(k);
    }
    for (site, list) in plan.iter_mut() {
        Rng::derive(cfg.seed, &format!("plan-{site:?}")).shuffle(list);
    }
    plan
}

struct SiteRun {
    records: Vec<campaign::Record>,
    setup: Option<(String, f64)>,
    broken: Option<String>,
    findings: Vec<String>,
    not_run: usize,
}

fn run_site(cfg: &Config, site: Site, faults: &[Kind], log: &Log) -> SiteRun {
    let t0 = Instant::now();
    let mut out = SiteRun {
        records: Vec::new(),
        setup: None,
        broken: None,
        findings: Vec::new(),
        not_run: 0,
    };
    let mut session = match Session::start(site, cfg, faults) {
        Ok(s) => s,
        Err(e) => {
            log.line(format!("[{site:?}] setup failed: {e}"));
            out.broken = Some(format!(
                "{site:?} appliance: setup failed: {}",
                campaign::first_lines(&e, 30)
            ));
            out.not_run = faults.len();
            return out;
        }
    };
    let setup = t0.elapsed().as_secs_f64();
    log.line(format!("[{}] setup {:.0} s", session.label(), setup));
    out.setup = Some((format!("{site:?}").to_lowercase(), setup));
    let mut findings = std::mem::take(&mut session.findings);
    for (i, k) in faults.iter().enumerate() {
        let r = kinds::run(&mut session, *k, i + 1);
        log.line(format!("[{}] {}", session.label(), r.line()));
        let dead = !r.outcome.came_back && guest::run(&mut session.vm, "true", 30).is_err();
        out.records.push(r);
        if dead && !session.revive() {
            out.broken = Some(format!(
                "{site:?} appliance does not answer after fault {}: the campaign stopped there",
                i + 1
            ));
            out.not_run = faults.len() - i - 1;
            break;
        }
    }
    findings.append(&mut session.findings);
    out.findings = findings;
    out
}

/// Fault lines, printed as they come and kept in the campaign's log file.
struct Log(std::sync::Mutex<std::fs::File>);

impl Log {
    fn line(&self, l: String) {
        println!("{l}");
        if let Ok(mut f) = self.0.lock() {
            let _ = writeln!(f, "{l}");
        }
    }
}

#[test]
fn fault_campaign() {
    let cfg = Config::from_env();
    if let Some(d) = cfg.log.parent() {
        std::fs::create_dir_all(d).expect("log folder");
    }
    let log = Log(std::sync::Mutex::new(
        std::fs::File::create(&cfg.log).expect("campaign log"),
    ));
    let plan = plan(&cfg);
    log.line(format!(
        "fault campaign: seed {} (replay with --seed {}), {} faults: {}",
        cfg.seed,
        cfg.seed,
        cfg.faults,
        plan.iter()
            .map(|(s, k)| format!(
                "{s:?}: {}",
                k.iter().map(|k| k.name()).collect::<Vec<_>>().join(" ")
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    let t0 = Instant::now();
    let runs: Vec<SiteRun> = if cfg.jobs >= 2 && plan.len() > 1 {
        std::thread::scope(|scope| {
            let handles: Vec<_> = plan
                .iter()
                .map(|(site, faults)| {
                    let (cfg, log) = (&cfg, &log);
                    scope.spawn(move || run_site(cfg, *site, faults, log))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a site's thread panicked"))
                .collect()
        })
    } else {
        plan.iter()
            .map(|(site, faults)| run_site(&cfg, *site, faults, &log))
            .collect()
    };
    let mut report = Report::new(&cfg);
    report.wall = t0.elapsed().as_secs_f64();
    for r in runs {
        report.records.extend(r.records);
        report.setup.extend(r.setup);
        report.broken.extend(r.broken);
        report.broken.extend(r.findings);
        report.not_run += r.not_run;
    }
    let md = report.markdown();
    if let Some(d) = cfg.report.parent() {
        std::fs::create_dir_all(d).expect("report folder");
    }
    std::fs::write(&cfg.report, &md).expect("write the report");
    println!("\n{md}\n(written to {})", cfg.report.display());
    assert!(
        report.passed(),
        "the fault campaign found sets lost, sets falsely complete, wrong restores or an \
         appliance that did not come back (seed {}):\n{md}",
        cfg.seed
    );
}
