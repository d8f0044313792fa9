//! Each kind of fault: set the appliance up, inject the fault at a random
//! moment, bring the appliance back, and check it.

use std::time::{Duration, Instant};

use super::campaign::{Dest, Kind, Outcome, Record, Session, first_lines};
use super::guest::{self, R};
use super::host;

/// Runs one fault of `kind` and its checks.
pub fn run(s: &mut Session, kind: Kind, number: usize) -> Record {
    let t0 = Instant::now();
    let mut o = Outcome::new();
    let mut offset = String::new();
    let r = match kind {
        Kind::PowerFull => power_backup(s, &mut o, &mut offset, "full"),
        Kind::PowerDiff => power_backup(s, &mut o, &mut offset, "differential"),
        Kind::PowerRestore => power_restore(s, &mut o, &mut offset),
        Kind::PowerInstall => power_install(s, &mut o, &mut offset),
        Kind::UsbPull => usb_pull(s, &mut o, &mut offset),
        Kind::SmbKill => smb_kill(s, &mut o, &mut offset),
        Kind::DataFull => data_full(s, &mut o, &mut offset),
        Kind::DestFull => dest_full(s, &mut o, &mut offset),
        Kind::ClockBack => clock_back(s, &mut o, &mut offset),
    };
    if let Err(e) = r {
        o.problem(format!("step failed: {}", first_lines(&e, 20)));
        // A step that did not answer: power cycle so the session goes on.
        if guest::run(&mut s.vm, "true", 30).is_err() && !s.revive() {
            o.came_back = false;
        }
    }
    let _ = guest::ok(&mut s.vm, &format!("rm -f {}", guest::FILLER), 60);
    let _ = s.tidy();
    Record {
        site: s.site,
        number,
        kind,
        offset,
        outcome: o,
        secs: t0.elapsed().as_secs_f64(),
    }
}

/// A random moment into an operation: seconds, and the share of the
/// operation's estimated length that the seed chose.
fn at_text(at: f64, est: f64) -> String {
    format!("{at:.2}s ({:.2} of ~{est:.1}s)", at / est.max(0.001))
}

fn sleep_until(t0: Instant, secs: f64) {
    let at = t0 + Duration::from_secs_f64(secs);
    let now = Instant::now();
    if at > now {
        std::thread::sleep(at - now);
    }
}

/// What backupd is doing, in a few words (just before a fault).
fn peek_backup(s: &mut Session) -> String {
    match s.vm.run_timeout("backupctl status", Duration::from_secs(4)) {
        Ok(out) => out
            .output
            .lines()
            .find_map(|l| l.strip_prefix("Running:"))
            .map(|l| {
                let l = l.trim();
                if l == "nothing" {
                    "backup finished".to_string()
                } else {
                    // "<set> (full), writing: 3 files, 1.2 MiB of about ..., 0:00:02 elapsed"
                    l.split_once("), ")
                        .map(|(_, r)| r.split(" of about").next().unwrap_or(r))
                        .map(|r| r.split(", 0:").next().unwrap_or(r).to_string())
                        .unwrap_or_else(|| l.to_string())
                }
            })
            .unwrap_or_else(|| "?".into()),
        Err(_) => "no answer".into(),
    }
}

/// A few words for where a fault landed: `writing`, `backup finished`,
/// a restore's or an install's step.
fn phase_of(peek: &str) -> String {
    let p = peek.trim();
    let p = p
        .split_once("% ")
        .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        .map(|(_, r)| r)
        .unwrap_or(p);
    let p = p.split(':').next().unwrap_or(p);
    p.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
}

fn backup_kind(s: &mut Session, copies: bool) -> &'static str {
    let x = s.rng.unit();
    if copies && x < 0.12 {
        "copy"
    } else if x < 0.56 {
        "full"
    } else {
        "differential"
    }
}

/// The next backup after a fault, uncut: it must succeed, and the sets
/// of its destination are checked again.
fn follow_up(s: &mut Session, o: &mut Outcome) -> R<()> {
    let kind = backup_kind(s, true);
    s.expect_sets()?;
    let (ok, out, t) = guest::backup(&mut s.vm, kind, 1800)?;
    if ok {
        let op = format!("{}-{kind}", s.dest.unwrap_or("local"));
        s.learn(&op, t);
        o.note(format!("next {kind} OK ({t:.1} s)"));
        let left = s.leftovers()?;
        if !left.is_empty() {
            o.problem(format!(
                "the next backup left what the interrupted run wrote: {}",
                left.join(" ")
            ));
        }
    } else {
        o.problem(format!(
            "the next {kind} backup failed: {}",
            out.lines().last().unwrap_or("")
        ));
    }
    s.check_dest(o)
}

fn short(tar: &str) -> String {
    super::sets::stem_of(tar)
        .unwrap_or(tar)
        .rsplit_once('-')
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| tar.to_string())
}

/// Power cut during a full backup or a differential to /data/backup.
fn power_backup(s: &mut Session, o: &mut Outcome, offset: &mut String, kind: &str) -> R<()> {
    s.use_dest(Dest::Local)?;
    if kind == "differential" && !s.local.has_full() {
        s.timed_backup("full")?;
    }
    s.mutate()?;
    let est = s.estimate(&format!("local-{kind}"));
    let at = s.rng.range(0.0, 1.25 * est);
    *offset = format!("offset={}", at_text(at, est));
    s.expect_sets()?;
    let set = guest::start_backup(&mut s.vm, kind)?;
    let t0 = Instant::now();
    sleep_until(t0, at);
    let peek = peek_backup(s);
    o.phase = phase_of(&peek);
    o.note(format!(
        "cut at {:.2}s ({}): {peek}",
        t0.elapsed().as_secs_f64(),
        short(&set)
    ));
    if !s.cut_power(o) {
        return Ok(());
    }
    guest::wait_idle(&mut s.vm, 300)?;
    s.check_local(o)?;
    follow_up(s, o)
}

/// Compares the store with the old data and the set's.
fn restore_verdict(
    s: &mut Session,
    o: &mut Outcome,
    old: &str,
    want: &str,
    uncut: bool,
) -> R<&'static str> {
    let (cur, n) = guest::manifest(&mut s.vm)?;
    if cur == want {
        o.note(format!("store = the set's data ({n} files)"));
        Ok("the set's data")
    } else if cur == old && !uncut {
        o.note(format!("store = the old data ({n} files)"));
        Ok("the old data")
    } else {
        let vs_set = guest::manifest_diff(&mut s.vm, want)?;
        let vs_old = guest::manifest_diff(&mut s.vm, old)?;
        o.restore_wrong.push(format!(
            "the store is {}: against the set's data {vs_set}; against the old data {vs_old}",
            if cur == old {
                "the old data after a restore that finished"
            } else {
                "neither the old data nor the set's"
            }
        ));
        Ok("WRONG data")
    }
}

/// A set of /data/backup with its manifest, at random.
fn restorable(s: &mut Session) -> R<(String, String)> {
    let mut c: Vec<String> = s
        .local
        .known
        .keys()
        .filter(|k| s.manifests.contains_key(*k))
        .cloned()
        .collect();
    if c.is_empty() {
        s.use_dest(Dest::Local)?;
        s.timed_backup("full")?;
        c = s
            .local
            .known
            .keys()
            .filter(|k| s.manifests.contains_key(*k))
            .cloned()
            .collect();
    }
    c.sort();
    let set = s.rng.pick(&c).clone();
    let m = s.manifests[&set].clone();
    Ok((set, m))
}

fn boot_story(s: &Session) -> &'static str {
    let boot = s.vm.console_since(0);
    if boot.contains("interrupted restore") && boot.contains("Finish") {
        "the boot finished the restore"
    } else if boot.contains("left by an interrupted restore") {
        "the boot removed the staged data"
    } else {
        "nothing to resume at boot"
    }
}

/// Power cut during a whole-system restore (`recover --system`).
fn power_restore(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    s.use_dest(Dest::Local)?;
    let (set, want) = restorable(s)?;
    s.mutate()?;
    let (old, _) = guest::manifest(&mut s.vm)?;
    let est = s.estimate("restore");
    let at = s.rng.range(0.0, 1.25 * est);
    *offset = format!("set={} offset={}", short(&set), at_text(at, est));
    guest::ok(
        &mut s.vm,
        &format!("recover --system -g /data/backup/{set} > /tmp/recover.log 2>&1 &"),
        60,
    )?;
    let t0 = Instant::now();
    sleep_until(t0, at);
    // Cut at the planned moment; where it landed shows afterwards.
    o.note(format!("cut at {:.2}s", t0.elapsed().as_secs_f64()));
    if !s.cut_power(o) {
        return Ok(());
    }
    s.dest = None;
    let story = boot_story(s);
    o.note(story);
    let left = guest::restore_leftovers(&mut s.vm)?;
    if !left.is_empty() {
        o.problem(format!("restore leftovers after the boot: {left}"));
    }
    let which = restore_verdict(s, o, &old, &want, false)?;
    o.phase = format!("{story}: {which}");
    s.check_local(o)?;
    s.use_dest(Dest::Local)?;
    follow_up(s, o)
}

/// Power cut during a firmware install (`rauc install` of a test bundle).
fn power_install(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    let sum = guest::ok(&mut s.vm, guest::DATA_SUM, 300)?;
    let est = s.estimate("install");
    let at = s.rng.range(0.0, 1.25 * est);
    *offset = format!("offset={}", at_text(at, est));
    guest::ok(
        &mut s.vm,
        &format!("rauc install {} > /tmp/rauc.log 2>&1 &", guest::BUNDLE),
        60,
    )?;
    let t0 = Instant::now();
    sleep_until(t0, at);
    // Cut at the planned moment (the shell answers slowly while RAUC
    // writes); where it landed shows in what boots.
    o.note(format!("cut at {:.2}s", t0.elapsed().as_secs_f64()));
    if !s.cut_power(o) {
        return Ok(());
    }
    let st = guest::ok(
        &mut s.vm,
        "rauc status --detailed --output-format=shell | grep BOOTED_BOOTNAME; \
         grub-editenv /boot/efi/grub/grubenv list | tr '\\n' ' '; echo; cat /etc/appliance-version",
        120,
    )?;
    let slot = st
        .split("BOOTED_BOOTNAME='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap_or("?")
        .to_string();
    let version = st.lines().last().unwrap_or("").trim().to_string();
    o.note(format!("booted slot {slot}, version {version}"));
    o.phase = if version == s.version {
        "the old slot (install unfinished)".into()
    } else {
        "the new slot (install finished)".into()
    };
    if version != s.version && version != "0.2.0" {
        o.problem(format!("unexpected version {version:?}"));
    }
    if !st.contains(&format!("{slot}_OK=1")) {
        o.problem(format!("the booted slot {slot} is not marked good: {st}"));
    }
    let after = guest::ok(&mut s.vm, guest::DATA_SUM, 300)?;
    if after != sum {
        o.problem("the install changed /data");
    }
    s.check_all(o)
}

/// USB drive pulled during a backup to it.
fn usb_pull(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    s.use_dest(Dest::Usb)?;
    s.mutate()?;
    let mut kind = backup_kind(s, false);
    if !s.usb.as_ref().is_some_and(|u| u.tracker.has_full()) {
        kind = "full";
    }
    let est = s.estimate(&format!("usb-{kind}"));
    let at = s.rng.range(0.0, 1.25 * est);
    *offset = format!("{kind} offset={}", at_text(at, est));
    let pids = guest::ok(&mut s.vm, "pidof backupd; pidof hotplugd", 30)?;
    s.expect_sets()?;
    guest::start_backup(&mut s.vm, kind)?;
    let t0 = Instant::now();
    sleep_until(t0, at);
    let peek = peek_backup(s);
    o.phase = phase_of(&peek);
    s.pull_usb(false)?;
    o.note(format!(
        "pulled at {:.2}s: {peek}",
        t0.elapsed().as_secs_f64()
    ));
    if let Err(e) = guest::wait_idle(&mut s.vm, 300) {
        o.problem(format!("after the pull: {e}"));
    }
    let last = guest::last_run(&mut s.vm)?;
    o.note(format!(
        "backupd: {}",
        last.split_once(": ").map(|x| x.1).unwrap_or(&last)
    ));
    let now_pids = guest::ok(&mut s.vm, "pidof backupd; pidof hotplugd", 30)?;
    if now_pids != pids {
        o.problem(format!(
            "backupd or hotplugd restarted: {pids:?} -> {now_pids:?}"
        ));
    }
    s.check_usb(o)?;
    s.plug_usb()?;
    follow_up(s, o)
}

/// The USB destination runs out of space during a backup.
fn dest_full(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    s.use_dest(Dest::Usb)?;
    s.pull_usb(true)?;
    let img = s.usb.as_ref().ok_or("no USB drive")?.image.clone();
    let free = host::fat_free(&img)?;
    let set = s.last_set_bytes.max(1 << 20);
    let leave = s.rng.below(set + set / 2);
    let kind = backup_kind(s, false);
    *offset = format!(
        "{kind} with {:.1} MiB free (last set {:.1} MiB)",
        leave as f64 / 1048576.0,
        set as f64 / 1048576.0
    );
    host::fat_fill(
        &img,
        s.work.path(),
        "FILLER.BIN",
        free.saturating_sub(leave),
    )?;
    s.mutate()?;
    s.expect_sets()?;
    s.plug_usb()?;
    let (ok, out, _) = guest::backup(&mut s.vm, kind, 1800)?;
    o.note(format!(
        "backup {}: {}",
        if ok { "OK" } else { "FAILED" },
        out.lines()
            .last()
            .unwrap_or("")
            .chars()
            .take(120)
            .collect::<String>()
    ));
    let services = s.services.clone();
    if let Err(e) = guest::wait_services(&mut s.vm, &services) {
        o.problem(e);
    }
    s.check_usb(o)?;
    s.pull_usb(true)?;
    host::fat_delete(&img, "FILLER.BIN")?;
    s.plug_usb()?;
    follow_up(s, o)
}

/// The SMB server killed mid-write and started again after a pause.
fn smb_kill(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    s.use_dest(Dest::Smb)?;
    s.mutate()?;
    let mut kind = backup_kind(s, false);
    if !s.smb.as_ref().is_some_and(|d| d.tracker.has_full()) {
        kind = "full";
    }
    let est = s.estimate(&format!("smb-{kind}"));
    let at = s.rng.range(0.0, 1.25 * est);
    let pause = s.rng.range(0.0, 20.0);
    *offset = format!("{kind} offset={}, down {pause:.1}s", at_text(at, est));
    s.expect_sets()?;
    guest::start_backup(&mut s.vm, kind)?;
    let t0 = Instant::now();
    sleep_until(t0, at);
    let peek = peek_backup(s);
    o.phase = phase_of(&peek);
    let smb = s.smb.as_mut().ok_or("no SMB server")?;
    let conf = smb.server.config_dir().join("smb.conf");
    let killed = host::kill_smbd(&conf);
    smb.server.stop();
    o.note(format!(
        "killed {killed} smbd at {:.2}s: {peek}",
        t0.elapsed().as_secs_f64()
    ));
    std::thread::sleep(Duration::from_secs_f64(pause));
    smb.server
        .resume()
        .map_err(|e| format!("smbd does not start again: {e}"))?;
    if let Err(e) = guest::wait_idle(&mut s.vm, 600) {
        o.problem(format!("after the server came back: {e}"));
    }
    let last = guest::last_run(&mut s.vm)?;
    o.note(format!(
        "backupd: {}",
        last.split_once(": ").map(|x| x.1).unwrap_or(&last)
    ));
    let services = s.services.clone();
    if let Err(e) = guest::wait_services(&mut s.vm, &services) {
        o.problem(e);
    }
    s.check_smb(o)?;
    follow_up(s, o)?;
    let mounts = guest::ok(
        &mut s.vm,
        "grep ' /run/smb' /proc/mounts | cut -d' ' -f2 | tr '\\n' ' '; true",
        30,
    )?;
    if !mounts.trim().is_empty() {
        o.problem(format!("SMB mounts left: {}", mounts.trim()));
    }
    Ok(())
}

/// /data fills up before or during a backup or a whole restore.
fn data_full(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    s.use_dest(Dest::Local)?;
    let variant = *s.rng.pick(&[
        "backup-before",
        "backup-during",
        "restore-before",
        "restore-during",
    ]);
    let newest = s.local.newest_first().first().map(|k| k.tar.clone());
    let set_bytes: u64 = match newest {
        Some(t) => guest::ok(&mut s.vm, &format!("stat -c %s /data/backup/{t}"), 30)?
            .trim()
            .parse()
            .unwrap_or(1 << 20),
        None => 1 << 20,
    };
    let during = variant.ends_with("during");
    let leave = if during {
        s.rng.below(256 << 10)
    } else {
        s.rng.below(set_bytes + set_bytes / 2)
    };
    // Root may use the blocks ext4 reserves: fill those too. When the
    // space shrinks meanwhile (a backup writing), ask for a little less.
    // Its syncs wait for a restore's writes: up to minutes on a loaded host
    // (120 s was once too short).
    let fill = format!(
        "sync; f=$(stat -f -c '%f %S' /data); n=$(( ${{f% *}} * ${{f#* }} - {leave} - 1048576 )); i=0; \
         while [ $n -gt 0 ] && [ $i -lt 12 ] && ! fallocate -l $n {f} 2>/dev/null; do \
           rm -f {f}; n=$(( n * 15 / 16 )); i=$((i+1)); done; \
         sync; f=$(stat -f -c '%f %S' /data); echo $(( ${{f% *}} * ${{f#* }} / 1024 ))",
        f = guest::FILLER
    );
    let mut restore: Option<(String, String)> = None;
    let kind = backup_kind(s, true);
    if variant.starts_with("restore") {
        let (set, want) = restorable(s)?;
        s.mutate()?;
        let (old, _) = guest::manifest(&mut s.vm)?;
        restore = Some((old, want));
        let est = s.estimate("restore");
        let at = s.rng.range(0.0, est);
        *offset = format!(
            "{variant} set={} leave={} KiB{}",
            short(&set),
            leave >> 10,
            if during {
                format!(" at {}", at_text(at, est))
            } else {
                String::new()
            }
        );
        let cmd = format!("recover --system -g /data/backup/{set} > /tmp/recover.log 2>&1");
        if during {
            guest::ok(&mut s.vm, &format!("{cmd} &"), 60)?;
            let t0 = Instant::now();
            sleep_until(t0, at);
            let free = guest::ok(&mut s.vm, &fill, 600)?;
            o.note(format!(
                "filled at {:.2}s, {} KiB free",
                t0.elapsed().as_secs_f64(),
                free.trim()
            ));
            guest::ok(
                &mut s.vm,
                "i=0; while pidof recover >/dev/null; do i=$((i+1)); [ $i -gt 1700 ] && break; sleep 1; done; ! pidof recover >/dev/null",
                1800,
            )?;
        } else {
            let free = guest::ok(&mut s.vm, &fill, 600)?;
            o.note(format!("{} KiB free", free.trim()));
            let _ = guest::run(&mut s.vm, &cmd, 1800)?;
        }
        let log = guest::ok(&mut s.vm, "tail -n 2 /tmp/recover.log | tr '\\n' ' '", 30)?;
        o.note(format!("recover: {}", log.trim()));
        s.dest = None;
    } else {
        s.mutate()?;
        s.expect_sets()?;
        let est = s.estimate(&format!("local-{kind}"));
        let at = s.rng.range(0.0, est);
        *offset = format!(
            "{variant} {kind} leave={} KiB{}",
            leave >> 10,
            if during {
                format!(" at {}", at_text(at, est))
            } else {
                String::new()
            }
        );
        if during {
            guest::start_backup(&mut s.vm, kind)?;
            let t0 = Instant::now();
            sleep_until(t0, at);
            let free = guest::ok(&mut s.vm, &fill, 600)?;
            o.note(format!(
                "filled at {:.2}s, {} KiB free",
                t0.elapsed().as_secs_f64(),
                free.trim()
            ));
            guest::wait_idle(&mut s.vm, 1800)?;
        } else {
            let free = guest::ok(&mut s.vm, &fill, 600)?;
            o.note(format!("{} KiB free", free.trim()));
            guest::backup(&mut s.vm, kind, 1800)?;
        }
        let last = guest::last_run(&mut s.vm)?;
        o.note(format!(
            "backupd: {}",
            last.split_once(": ").map(|x| x.1).unwrap_or(&last)
        ));
    }
    // While /data is still full: the services run, the configuration is whole.
    let services = s.services.clone();
    if let Err(e) = guest::wait_services(&mut s.vm, &services) {
        o.problem(e);
    }
    let (rc, out) = guest::run(
        &mut s.vm,
        "test -s /data/config/appliance.toml && grep -q '^\\[backup\\]' /data/config/appliance.toml && backupctl status >/dev/null",
        60,
    )?;
    if rc != 0 {
        o.problem(format!(
            "configuration or backupd broken while /data was full: {out}"
        ));
    }
    s.check_local(o)?;
    guest::ok(&mut s.vm, &format!("rm -f {}; sync", guest::FILLER), 60)?;
    if let Some((old, want)) = restore {
        let left = guest::restore_leftovers(&mut s.vm)?;
        if !left.is_empty() {
            o.problem(format!("restore leftovers: {left}"));
        }
        restore_verdict(s, o, &old, &want, false)?;
    }
    s.use_dest(Dest::Local)?;
    follow_up(s, o)
}

/// The clock moved back a day between two backups; then a restore of the
/// newer set must give back exactly its data.
fn clock_back(s: &mut Session, o: &mut Outcome, offset: &mut String) -> R<()> {
    s.use_dest(Dest::Local)?;
    let a = backup_kind(s, true);
    let b = backup_kind(s, true);
    let back = 86_400 + s.rng.below(3600);
    *offset = format!("back {back}s between a {a} and a {b}");
    s.mutate()?;
    s.expect_sets()?;
    let (ok, out, _) = guest::backup(&mut s.vm, a, 1800)?;
    if !ok {
        o.problem(format!("the {a} before the clock change failed: {out}"));
    }
    s.check_local(o)?;
    guest::ok(
        &mut s.vm,
        &format!("date -s @$(( $(date +%s) - {back} )) >/dev/null"),
        30,
    )?;
    s.mutate()?;
    let want = s.expect_sets()?;
    let (ok, out, _) = guest::backup(&mut s.vm, b, 1800)?;
    if !ok {
        o.problem(format!("the {b} after the clock change failed: {out}"));
    }
    o.note(format!(
        "backupd: {}",
        out.lines()
            .last()
            .unwrap_or("")
            .chars()
            .take(140)
            .collect::<String>()
    ));
    s.check_local(o)?;
    // The newest set the campaign saw, which the backup after the change made.
    let newest = s
        .local
        .known
        .values()
        .max_by_key(|k| k.seen)
        .map(|k| k.tar.clone())
        .ok_or("no set")?;
    if s.manifests.get(&newest) != Some(&want) {
        o.problem(format!(
            "the backup after the clock change made no new set ({newest} is the newest)"
        ));
        return Ok(());
    }
    s.mutate()?;
    // A user deletes a few of storegen's messages that were within the
    // body window when the newer set was made (so that set's data has them
    // whole), and restores that set to get them back. Copies are kept to
    // put them back afterwards whatever the restore does.
    let probe = guest::ok(
        &mut s.vm,
        &format!(
            "k={st}/keep; rm -rf $k; mkdir -p $k; : > $k/list; cd /data/store/mail && \
             find . -path ./faults.test -prune -o -type f -mmin -1380 ! -mmin -60 -print | grep -E '/(cur|new)/[^/]+$' | \
             while IFS= read -r f; do echo \"$(echo \"{seed}$f\" | md5sum | cut -c1-8) $f\"; done | sort | head -n 3 | cut -d' ' -f2- | \
             while IFS= read -r f; do cp -p \"$f\" $k/$(wc -l < $k/list | tr -d ' '); echo \"/data/store/mail/$f\" >> $k/list; rm -f \"$f\"; done; \
             cd /; wc -l < $k/list",
            st = guest::STATE,
            seed = s.rng.below(1 << 30)
        ),
        120,
    )?;
    o.note(format!(
        "{} messages within the window at {} deleted before the restore",
        probe.trim(),
        short(&newest)
    ));
    let (old, _) = guest::manifest(&mut s.vm)?;
    let (rc, out) = guest::run(
        &mut s.vm,
        &format!(
            "recover --system -g /data/backup/{newest} > /tmp/recover.log 2>&1; rc=$?; tail -n 2 /tmp/recover.log; [ $rc = 0 ]"
        ),
        1800,
    )?;
    s.dest = None;
    if rc != 0 {
        o.problem(format!("restore of {} failed: {out}", short(&newest)));
    }
    restore_verdict(s, o, &old, &want, true)?;
    // The deleted messages as they were, whatever came back.
    guest::ok(
        &mut s.vm,
        &format!(
            "k={st}/keep; i=0; [ -f $k/list ] && while IFS= read -r f; do \
               cmp -s $k/$i \"$f\" || {{ mkdir -p \"$(dirname \"$f\")\"; cp -p $k/$i \"$f\"; }}; i=$((i+1)); done < $k/list; \
             rm -rf $k; sync",
            st = guest::STATE
        ),
        120,
    )?;
    let services = s.services.clone();
    if let Err(e) = guest::wait_services(&mut s.vm, &services) {
        o.problem(e);
    }
    s.check_local(o)
}
