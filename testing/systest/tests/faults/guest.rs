//! Steps in the appliance, over the serial line, each returning what went
//! wrong in words instead of panicking: a campaign goes on after a failed
//! check and counts it.

use std::time::{Duration, Instant};
use systest::Vm;

use super::sets::Found;

/// The campaign's own files in the appliance: outside what a backup
/// stores and what a whole restore replaces (`/data/state`).
pub const STATE: &str = "/data/state/faults";
pub const FILLER: &str = "/data/state/faults/filler";
pub const BUNDLE: &str = "/data/state/faults/update.raucb";

pub type R<T> = Result<T, String>;

pub fn err(e: systest::HarnessError) -> String {
    e.to_string()
}

pub fn run(vm: &mut Vm, cmd: &str, secs: u64) -> R<(i32, String)> {
    vm.run_timeout(cmd, Duration::from_secs(secs))
        .map(|o| (o.status, o.output))
        .map_err(err)
}

pub fn ok(vm: &mut Vm, cmd: &str, secs: u64) -> R<String> {
    vm.ok_timeout(cmd, Duration::from_secs(secs)).map_err(err)
}

/// The unit's clock, seconds since the epoch.
pub fn now(vm: &mut Vm) -> R<i64> {
    ok(vm, "date +%s", 30)?
        .trim()
        .parse()
        .map_err(|e| format!("date: {e}"))
}

/// Replaces the configuration's `[backup]` settings, keeping the rest of
/// the file (identity, host name, accounts), as
/// `systest::operator::configure_backup` does, and tells backupd.
pub fn configure_backup(vm: &mut Vm, settings: &[String]) -> R<()> {
    // A new unit's compression unless the campaign says otherwise.
    let compression = (!settings.iter().any(|s| s.starts_with("compression")))
        .then(|| systest::operator::DEFAULT_COMPRESSION.to_string());
    let lines: Vec<String> = std::iter::once("[backup]".to_string())
        .chain(compression)
        .chain(settings.iter().cloned())
        .map(|l| format!("'{l}'"))
        .collect();
    ok(
        vm,
        &format!(
            "f=/data/config/appliance.toml; \
             awk '/^\\[/ {{ skip = ($0 ~ /^\\[backup[].]/) }} !skip' $f > $f.new && \
             printf '%s\\n' {} >> $f.new && mv $f.new $f && sync && backupctl reload",
            lines.join(" ")
        ),
        60,
    )
    .map(|_| ())
}

/// The `Running:` line of `backupctl status`; `None` when idle.
pub fn running(vm: &mut Vm) -> R<Option<String>> {
    let (rc, out) = run(vm, "backupctl status", 30)?;
    if rc != 0 {
        return Err(format!("backupctl status failed: {out}"));
    }
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("Running:"))
        .map(|l| l.trim().to_string())
        .ok_or_else(|| format!("no Running: line in\n{out}"))?;
    Ok((line != "nothing").then_some(line))
}

/// The newest run's line in `backupctl status`.
pub fn last_run(vm: &mut Vm) -> R<String> {
    let out = ok(vm, "backupctl status", 30)?;
    Ok(out
        .lines()
        .skip_while(|l| !l.starts_with("Last runs:"))
        .find(|l| l.contains("OK") || l.contains("FAILED"))
        .unwrap_or("")
        .trim()
        .to_string())
}

/// Waits until backupd runs nothing.
pub fn wait_idle(vm: &mut Vm, secs: u64) -> R<()> {
    let start = Instant::now();
    loop {
        if running(vm)?.is_none() {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(secs) {
            return Err(format!("backupd still busy after {secs} s"));
        }
        std::thread::sleep(Duration::from_millis(700));
    }
}

/// Starts a backup (`full`, `differential`, `copy`) without waiting.
pub fn start_backup(vm: &mut Vm, kind: &str) -> R<String> {
    wait_idle(vm, 900)?;
    let out = ok(vm, &format!("backupctl backup {kind} --no-wait"), 60)?;
    Ok(out.trim().trim_start_matches("started ").to_string())
}

/// A backup followed to its end: whether it succeeded, backupd's line
/// about it, and its length in seconds, measured as a fault's offset is
/// (from `backupctl backup --no-wait` returning to backupd going idle,
/// polled every few tenths of a second).
pub fn backup(vm: &mut Vm, kind: &str, secs: u64) -> R<(bool, String, f64)> {
    start_backup(vm, kind)?;
    let t0 = Instant::now();
    loop {
        if running(vm)?.is_none() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            return Err(format!("the {kind} backup still runs after {secs} s"));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let t = t0.elapsed().as_secs_f64();
    let line = last_run(vm)?;
    let ok = line.split_whitespace().nth(2) == Some("OK");
    Ok((ok, line, t))
}

/// Waits for the services the unit ran at the start to run again.
pub fn wait_services(vm: &mut Vm, services: &[String]) -> R<()> {
    let cond: Vec<String> = services
        .iter()
        .map(|s| format!("pidof {s} >/dev/null"))
        .collect();
    let cond = if cond.is_empty() {
        "true".to_string()
    } else {
        cond.join(" && ")
    };
    let (rc, out) = run(
        vm,
        &format!(
            "i=0; until {cond}; do i=$((i+1)); [ $i -gt 90 ] && break; sleep 1; done; {cond} || \
             {{ for s in {}; do pidof $s >/dev/null || echo \"$s is not running\"; done; false; }}",
            services.join(" ")
        ),
        150,
    )?;
    if rc != 0 {
        return Err(format!("services down: {}", out.trim()));
    }
    Ok(())
}

/// The store's manifest (`md5sum` of every file, sorted by name), kept in
/// the unit under its own MD5 for later comparisons; returns that MD5 and
/// the number of files.
pub fn manifest(vm: &mut Vm) -> R<(String, usize)> {
    let out = ok(
        vm,
        &format!(
            "mkdir -p {STATE}/m && (cd /data/store && find . -type f -exec md5sum {{}} + | sort -k 2) > {STATE}/m/cur && \
             h=$(md5sum < {STATE}/m/cur | cut -d' ' -f1) && cp {STATE}/m/cur {STATE}/m/$h && sync && \
             echo \"$h $(wc -l < {STATE}/m/cur)\""
        ),
        300,
    )?;
    let mut w = out.split_whitespace();
    let h = w.next().ok_or("no manifest")?.to_string();
    let n = w.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok((h, n))
}

/// How the current manifest differs from a kept one: lines only in the
/// kept one, lines only in the current one, and a few examples.
pub fn manifest_diff(vm: &mut Vm, kept: &str) -> R<String> {
    let out = ok(
        vm,
        &format!(
            "cd {STATE}/m && diff {kept} cur > /tmp/faults.diff; \
             echo \"$(grep -c '^-[^-]' /tmp/faults.diff) missing or changed, $(grep -c '^+[^+]' /tmp/faults.diff) extra or changed:\"; \
             grep '^[-+][^-+]' /tmp/faults.diff | head -4; \
             grep '^+[^+]' /tmp/faults.diff | sed 's/^+[0-9a-f]*  //' | while IFS= read -r f; do \
               head -c 21 \"/data/store/$f\" | grep -q '^X-Backup-Body-Omitted' && echo \"now headers only: $f\"; done | head -4; cd /"
        ),
        120,
    )?;
    Ok(out.lines().map(str::trim).collect::<Vec<_>>().join(" | "))
}

/// Removes kept manifests the campaign no longer needs.
pub fn prune_manifests(vm: &mut Vm, keep: &[String]) -> R<()> {
    ok(
        vm,
        &format!(
            "cd {STATE}/m 2>/dev/null && for f in *; do case ' {} ' in *\" $f \"*) ;; *) rm -f \"$f\" ;; esac; done; cd /",
            keep.join(" ")
        ),
        60,
    )
    .map(|_| ())
}

/// The sets in a folder of the unit that look complete, each checked with
/// BusyBox's `md5sum -c` (an implementation of its own, not the product's).
pub fn check_folder(vm: &mut Vm, dir: &str) -> R<Vec<Found>> {
    let out = ok(
        vm,
        &format!(
            "cd {dir} && for m in $(ls *.tar.md5 *.tar.zst.md5 2>/dev/null); do t=${{m%.md5}}; \
               if md5sum -c \"$m\" >/tmp/faults.md5 2>&1; then \
                 case $t in \
                 *.zst) b=$(recover -l \"$t\" 2>/dev/null | sed -n 's/.* based on \\([^ ,]*\\),.*/\\1/p' | head -1) ;; \
                 *) b=$(head -c 65536 \"$t\" | tar -xOf - .version.txt 2>/dev/null | sed -n 's/^base=//p') ;; \
                 esac; \
                 echo \"OK $t $b\"; \
               else echo \"BAD $t $(grep -v ': OK$' /tmp/faults.md5 | head -2 | tr '\\n' ' ')\"; fi; done; cd /"
        ),
        900,
    )?;
    let mut found = Vec::new();
    for l in out.lines() {
        let mut w = l.splitn(3, ' ');
        let (Some(verdict), Some(tar)) = (w.next(), w.next()) else {
            continue;
        };
        let rest = w.next().unwrap_or("").trim().to_string();
        match verdict {
            "OK" => found.push(Found {
                tar: tar.to_string(),
                ok: true,
                why: String::new(),
                base: (!rest.is_empty()).then_some(rest),
            }),
            "BAD" => found.push(Found {
                tar: tar.to_string(),
                ok: false,
                why: rest,
                base: None,
            }),
            _ => {}
        }
    }
    Ok(found)
}

/// Waits until a USB drive is mounted at /media/usb (or not).
pub fn wait_usb(vm: &mut Vm, mounted: bool, secs: u64) -> R<()> {
    let cond = if mounted {
        "grep -q ' /media/usb vfat ' /proc/mounts"
    } else {
        "! grep -q ' /media/usb ' /proc/mounts"
    };
    let (rc, out) = run(
        vm,
        &format!(
            "i=0; until {cond}; do i=$((i+1)); [ $i -gt {} ] && break; sleep 0.2; done; {cond} || {{ usbctl status; false; }}",
            secs * 5
        ),
        secs + 30,
    )?;
    if rc != 0 {
        return Err(format!(
            "the USB drive is {} mounted: {}",
            if mounted { "not" } else { "still" },
            out.trim()
        ));
    }
    Ok(())
}

/// A whole-system restore's leftovers: a journal or staging folders.
pub fn restore_leftovers(vm: &mut Vm) -> R<String> {
    ok(
        vm,
        "{ ls -A /data/state/recover 2>/dev/null | grep -v '^lock$'; ls -A /data | grep -e '\\.recover$' -e '\\.BAK$'; } | tr '\\n' ' '; true",
        60,
    )
    .map(|s| s.trim().to_string())
}

/// The MD5 of everything on /data outside the log and the state folders
/// (which a firmware install must not change).
pub const DATA_SUM: &str = "cd /data && find . -path ./log -prune -o -path ./state -prune -o -type f -exec md5sum {} + \
    | sort -k 2 | md5sum | cut -d' ' -f1; cd /";
