//! backupctl: talks to backupd over its socket and prints readable output.

use control::backupd::{
    Client, ConnectivityReport, Location, RunResult, SetInfo, Status, Verification,
};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

pub fn format_result(r: &RunResult) -> String {
    format!(
        "{} {} {} ({}): {}",
        r.started,
        if r.ok { "OK    " } else { "FAILED" },
        if r.set.is_empty() { "-" } else { &r.set },
        r.kind,
        r.message
    )
}

pub fn format_status(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Destination:  {}", s.destination);
    let _ = writeln!(out, "Next backup:  {} ({})", s.next_run, s.next_kind);
    match &s.running {
        Some(p) => {
            let _ = write!(
                out,
                "Running:      {} ({}), {}: {} files, {}",
                p.set,
                p.kind,
                p.phase,
                p.files_done,
                humanfmt::bytes(p.bytes_done)
            );
            if p.bytes_total > 0 {
                let _ = write!(out, " of about {}", humanfmt::bytes(p.bytes_total));
            }
            let _ = write!(out, ", {} elapsed", humanfmt::clock(p.elapsed_secs));
            if let Some(eta) = p.eta_secs {
                let _ = write!(out, ", about {} left", humanfmt::clock(eta));
            }
            out.push('\n');
        }
        None => out.push_str("Running:      nothing\n"),
    }
    if let Some(a) = &s.alert {
        let _ = writeln!(out, "ALERT:        {a}");
    }
    for w in s
        .recent
        .first()
        .map(|r| r.warnings.as_slice())
        .unwrap_or(&[])
    {
        let _ = writeln!(out, "Warning:      {w}");
    }
    if s.recent.is_empty() {
        out.push_str("Last runs:    none yet\n");
    } else {
        out.push_str("Last runs:\n");
        for r in s.recent.iter().take(5) {
            let _ = writeln!(out, "  {}", format_result(r));
        }
    }
    out
}

pub fn format_sets(sets: &[SetInfo]) -> String {
    if sets.is_empty() {
        return "No backup sets.\n".into();
    }
    let mut out = format!(
        "{:<44} {:<12} {:<19} {:>10} {:>4}  {}\n",
        "SET", "TYPE", "TIME (UTC)", "SIZE", "VOLS", "STATE"
    );
    for s in sets {
        let mut state = if !s.complete {
            "INCOMPLETE".to_string()
        } else if let Some(b) = &s.base {
            format!("complete, based on {b}")
        } else {
            "complete".to_string()
        };
        match s.verified {
            Some(true) => state.push_str(", verified"),
            Some(false) => state = format!("FAILED CHECK: {}", s.problem.as_deref().unwrap_or("")),
            None => {}
        }
        let _ = writeln!(
            out,
            "{:<44} {:<12} {:<19} {:>10} {:>4}  {}",
            s.name,
            s.kind.to_string(),
            s.time,
            humanfmt::bytes(s.size),
            s.volumes,
            state
        );
    }
    out
}

pub fn format_verification(v: &Verification) -> String {
    let mut out = format!("{}: {}\n", v.name, if v.ok { "verified" } else { "FAILED" });
    for d in &v.details {
        let _ = writeln!(out, "  {d}");
    }
    out
}

pub fn format_connectivity(r: &ConnectivityReport) -> String {
    let mut out = format!(
        "{} ({}): {}\n",
        if r.ok { "OK" } else { "FAILED" },
        r.destination,
        r.summary
    );
    for (step, outcome) in &r.steps {
        let _ = writeln!(out, "  {step}: {outcome}");
    }
    if let (Some(free), Some(total)) = (r.free_bytes, r.total_bytes) {
        let _ = writeln!(
            out,
            "  free space: {} of {}",
            humanfmt::bytes(free),
            humanfmt::bytes(total)
        );
    }
    if let Some(fs) = &r.filesystem {
        let _ = writeln!(out, "  file system: {fs}");
    }
    if let Some(d) = &r.dialect {
        let _ = writeln!(out, "  SMB dialect: {d}");
    }
    if !r.sets.is_empty() {
        out.push_str(&format_sets(&r.sets));
    }
    out
}

/// `backupctl backup`: starts a backup; follows it to the end when asked
/// (or on a terminal, with a progress bar). Returns whether it succeeded.
pub fn backup(
    socket: &Path,
    kind: appconfig::BackupType,
    wait: bool,
    no_wait: bool,
) -> anyhow::Result<bool> {
    let backupd = Client::new(socket);
    let set = backupd.backup_now(kind)?;
    let terminal = std::io::stdout().is_terminal();
    if no_wait || !(wait || terminal) {
        println!("started {set}");
        return Ok(true);
    }
    let bar = terminal.then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_draw_target(indicatif::ProgressDrawTarget::stdout_with_hz(4));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_message(set.clone());
        b
    });
    loop {
        let status = backupd.status()?;
        match &status.running {
            Some(p) => {
                if let Some(b) = &bar {
                    b.set_length(p.bytes_total.max(p.bytes_done));
                    b.set_position(p.bytes_done);
                    b.set_message(format!("{} {}", p.set, p.phase));
                }
            }
            None => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                let r = status
                    .recent
                    .iter()
                    .find(|r| r.set == set || set == "(starting)")
                    .or(status.recent.first());
                return match r {
                    Some(r) => {
                        println!("{}", format_result(r));
                        Ok(r.ok)
                    }
                    None => Err(anyhow::anyhow!("the backup ended without a result")),
                };
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn status(socket: &Path) -> anyhow::Result<String> {
    Ok(format_status(&Client::new(socket).status()?))
}

pub fn list(socket: &Path, location: Location) -> anyhow::Result<String> {
    Ok(format_sets(&Client::new(socket).list_sets(location)?))
}

pub fn verify(socket: &Path, location: Location, name: &str) -> anyhow::Result<(bool, String)> {
    let v = Client::new(socket).verify_set(location, name)?;
    Ok((v.ok, format_verification(&v)))
}

pub fn test(socket: &Path) -> anyhow::Result<(bool, String)> {
    let r = Client::new(socket).test_connectivity(None)?;
    Ok((r.ok, format_connectivity(&r)))
}

/// Sends a test e-mail and remote syslog line with the saved settings.
pub fn test_alert(socket: &Path) -> anyhow::Result<(bool, String)> {
    let t = Client::new(socket).send_test_alert(None)?;
    Ok((t.ok, t.lines.join("\n") + "\n"))
}

pub fn reload(socket: &Path) -> anyhow::Result<String> {
    Ok(Client::new(socket).reload()?)
}
