//! The table of figures: per kind of fault, how many were injected, how
//! many the appliance survived, and what went wrong.

use std::collections::BTreeMap;

use super::campaign::{Config, Kind, Record};

/// Everything a campaign did.
pub struct Report {
    pub seed: u64,
    pub records: Vec<Record>,
    /// Sessions that could not start or died, with why.
    pub broken: Vec<String>,
    /// Wall time of each session's setup (boot, store, first sets).
    pub setup: Vec<(String, f64)>,
    pub wall: f64,
    pub jobs: usize,
    pub store_mib: u64,
    pub payload_mib: u64,
    /// Faults planned but not run (a session that died).
    pub not_run: usize,
}

#[derive(Default)]
struct Row {
    faults: usize,
    survived: usize,
    not_back: usize,
    lost: usize,
    falsely: usize,
    wrong: usize,
    other: usize,
    secs: f64,
}

impl Report {
    pub fn new(cfg: &Config) -> Report {
        Report {
            seed: cfg.seed,
            records: Vec::new(),
            broken: Vec::new(),
            setup: Vec::new(),
            wall: 0.0,
            jobs: cfg.jobs,
            store_mib: cfg.store_mib,
            payload_mib: cfg.payload_mib,
            not_run: 0,
        }
    }

    fn rows(&self) -> BTreeMap<Kind, Row> {
        let mut rows: BTreeMap<Kind, Row> = BTreeMap::new();
        for r in &self.records {
            let row = rows.entry(r.kind).or_default();
            let o = &r.outcome;
            row.faults += 1;
            row.survived += usize::from(o.survived());
            row.not_back += usize::from(!o.came_back);
            row.lost += o.lost.len();
            row.falsely += o.falsely_complete.len();
            row.wrong += o.restore_wrong.len();
            row.other += usize::from(!o.problems.is_empty());
            row.secs += r.secs;
        }
        rows
    }

    /// Whether the campaign passes: no set lost or falsely complete, no
    /// restore that gave back other data, the appliance always back, and
    /// every planned fault run.
    pub fn passed(&self) -> bool {
        self.broken.is_empty()
            && self.not_run == 0
            && self.records.iter().all(|r| {
                let o = &r.outcome;
                o.came_back
                    && o.lost.is_empty()
                    && o.falsely_complete.is_empty()
                    && o.restore_wrong.is_empty()
            })
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "| fault | injected | survived | not back | sets lost | falsely complete | restore wrong | other checks failed | cost per fault | seed |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        let mut total = Row::default();
        for (k, r) in self.rows() {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s | {} |\n",
                k.name(),
                r.faults,
                r.survived,
                r.not_back,
                r.lost,
                r.falsely,
                r.wrong,
                r.other,
                r.secs / r.faults.max(1) as f64,
                self.seed
            ));
            total.faults += r.faults;
            total.survived += r.survived;
            total.not_back += r.not_back;
            total.lost += r.lost;
            total.falsely += r.falsely;
            total.wrong += r.wrong;
            total.other += r.other;
            total.secs += r.secs;
        }
        s.push_str(&format!(
            "| **all** | {} | {} | {} | {} | {} | {} | {} | {:.0} s | {} |\n",
            total.faults,
            total.survived,
            total.not_back,
            total.lost,
            total.falsely,
            total.wrong,
            total.other,
            total.secs / total.faults.max(1) as f64,
            self.seed
        ));
        s
    }

    pub fn markdown(&self) -> String {
        let faults = self.records.len();
        let setup: f64 = self.setup.iter().map(|(_, t)| *t).sum();
        let mut s = format!(
            "# Fault campaign\n\nSeed {seed} (replay: `ci/fault-campaign.sh --seed {seed} --faults {faults}`), \
             {faults} faults, {} appliance(s) side by side, store {} MiB + {} MiB of recent mail ({} MiB on the local appliance). \
             Wall time {}, setup {} ({}). Cost per fault: the fault, the appliance's recovery and \
             every check, {:.0} s on average; with setup and two appliances sharing the machine, \
             {:.0} s of wall time per fault.\n\n",
            self.jobs,
            self.store_mib,
            self.payload_mib,
            self.payload_mib * super::campaign::LOCAL_PAYLOAD_FACTOR,
            hms(self.wall),
            hms(setup),
            self.setup
                .iter()
                .map(|(n, t)| format!("{n} {}", hms(*t)))
                .collect::<Vec<_>>()
                .join(", "),
            self.records.iter().map(|r| r.secs).sum::<f64>() / faults.max(1) as f64,
            self.wall / faults.max(1) as f64,
            seed = self.seed,
        );
        s.push_str(&self.table());
        if self.not_run > 0 || !self.broken.is_empty() {
            s.push_str(&format!("\n{} planned faults not run.\n", self.not_run));
            for b in &self.broken {
                s.push_str(&format!("- {b}\n"));
            }
        }
        s.push_str("\nWhere the faults landed (the operation's step just before the fault):\n\n");
        let mut phases: BTreeMap<Kind, BTreeMap<String, usize>> = BTreeMap::new();
        for r in &self.records {
            if !r.outcome.phase.is_empty() {
                *phases
                    .entry(r.kind)
                    .or_default()
                    .entry(r.outcome.phase.clone())
                    .or_default() += 1;
            }
        }
        for (k, p) in phases {
            let list: Vec<String> = p.iter().map(|(ph, n)| format!("{ph} {n}")).collect();
            s.push_str(&format!("- {}: {}\n", k.name(), list.join(", ")));
        }
        let failed: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| !r.outcome.survived())
            .collect();
        if !failed.is_empty() {
            s.push_str("\n## Faults with failed checks\n\n");
            for r in failed {
                s.push_str(&format!("- `[{:?}] {}`\n", r.site, r.line()));
            }
        }
        s
    }
}

pub fn hms(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
