//! Destination figures for ci/bench-destinations.sh (a benchmark, not a
//! test), measured in the appliance under QEMU:
//!
//! - hotplugd's time from the kernel's uevent for a USB drive to its FAT32
//!   file system being mounted (its own log line), over several plugs;
//! - backup throughput to a USB drive and to an SMB share (Samba on the
//!   host's loopback), with and without the read-back check, against `cp`
//!   of the same set to the same target followed by `sync`, as ratios.
//!
//! Usage: bench_destinations [PLUGS] [MIB] [REPS]

use smbmount::testserver::{SambaOptions, SambaServer};
use std::time::Duration;
use systest::{Vm, VmConfig};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const MOUNTED: &str = "grep -q ' /media/usb vfat ' /proc/mounts";

fn main() {
    let mut args = std::env::args().skip(1);
    let plugs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let mib: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    if let Err(e) = run(plugs.max(1), mib.max(8), reps.max(1)) {
        eprintln!("bench_destinations: {e}");
        std::process::exit(1);
    }
}

/// Waits in the guest until `cond` holds (up to `secs`).
fn wait_until(vm: &mut Vm, cond: &str, secs: u32) -> Result<()> {
    let cmd = format!(
        "i=0; until {cond}; do [ $i -ge {} ] && break; i=$((i+1)); sleep 0.05; done; {cond}",
        secs * 20
    );
    vm.run_timeout(&cmd, Duration::from_secs(u64::from(secs) + 30))?;
    Ok(())
}

/// Seconds a guest command takes (from /proc/uptime), after flushing and
/// dropping the page cache so every run starts cold.
fn timed(vm: &mut Vm, cmd: &str) -> Result<f64> {
    let out = vm.run_timeout(
        &format!(
            "sync; echo 3 > /proc/sys/vm/drop_caches; a=$(cut -d' ' -f1 /proc/uptime); \
             {{ {cmd}; }} >/tmp/bench.out 2>&1; rc=$?; b=$(cut -d' ' -f1 /proc/uptime); \
             echo \"elapsed $a $b\"; [ $rc = 0 ] || cat /tmp/bench.out; [ $rc = 0 ]"
        ),
        Duration::from_secs(1800),
    )?;
    if out.status != 0 {
        return Err(format!("`{cmd}` failed:\n{}", out.output).into());
    }
    let line = out
        .output
        .lines()
        .find_map(|l| l.strip_prefix("elapsed "))
        .ok_or_else(|| format!("no time from `{cmd}`: {}", out.output))?;
    let (a, b) = line
        .split_once(' ')
        .ok_or_else(|| format!("bad time line {line:?}"))?;
    Ok(b.trim().parse::<f64>()? - a.trim().parse::<f64>()?)
}

/// Replaces the configuration's `[backup]` settings and tells backupd.
fn configure_backup(vm: &mut Vm, lines: &[String]) -> Result<()> {
    let quoted: Vec<String> = std::iter::once("[backup]".to_string())
        .chain(lines.iter().cloned())
        .map(|l| format!("'{l}'"))
        .collect();
    vm.ok(&format!(
        "printf '%s\\n' {} > /data/config/appliance.toml && backupctl reload",
        quoted.join(" ")
    ))?;
    Ok(())
}

const BACKUP: &str = "backupctl backup full --wait";
/// The same run without reading the set back (backupd's benchmark switch).
const BACKUP_NO_VERIFY: &str = "backupd --once full --no-verify";

struct Row {
    target: &'static str,
    backup: f64,
    no_verify: f64,
    cp: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Backup, backup without read-back and cp to one target, `reps` times
/// interleaved (the machine is shared: the median of each is reported).
fn measure(
    vm: &mut Vm,
    target: &'static str,
    reps: usize,
    cp: &str,
    after_cp: &str,
) -> Result<Row> {
    let (mut b, mut n, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        b.push(timed(vm, BACKUP)?);
        n.push(timed(vm, BACKUP_NO_VERIFY)?);
        c.push(timed(vm, cp)?);
        vm.ok(after_cp)?;
    }
    Ok(Row {
        target,
        backup: median(b),
        no_verify: median(n),
        cp: median(c),
    })
}

fn run(plugs: usize, mib: u64, reps: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let password = "bench-only-password".to_string();
    let srv = SambaServer::start(SambaOptions {
        password: password.clone(),
        ..SambaOptions::default()
    })?;
    let mut vm = Vm::boot(VmConfig::new("bench-destinations"))?;
    vm.login()?;

    // 1. From the kernel's uevent to the mounted file system.
    let img = dir.path().join("usb.img");
    systest::make_fat32_image(&img, 1024, "BENCH")?;
    let mut ms = Vec::new();
    for i in 0..plugs {
        let id = format!("bench{i}");
        vm.usb_plug(&id, &img)?;
        wait_until(&mut vm, MOUNTED, 60)?;
        let line =
            vm.ok("grep 'hotplugd.*mounted at /media/usb, ' /data/log/messages | tail -n 1")?;
        let n: u64 = line
            .trim()
            .split(", ")
            .find_map(|p| p.strip_suffix(" ms after the kernel's event"))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("no time in {line:?}"))?;
        ms.push(n);
        if i + 1 < plugs {
            vm.ok("usbctl eject")?;
            vm.usb_unplug(&id)?;
            wait_until(&mut vm, "[ ! -e /sys/block/sda ]", 60)?;
        }
    }

    // 2. A store of small and large files, and a local set as cp's source.
    let large = mib / 2;
    let small = (mib - large) * 1024 / 32; // 32 KiB on average
    vm.run_timeout(
        &format!(
            "head -c 1048576 /dev/urandom > /tmp/r && \
             d=/data/store/mail/example.com/bench/INBOX/cur && \
             mkdir -p $d /data/store/queue/incoming && \
             i=0; while [ $i -lt {small} ]; do head -c $(( (i * 7919) % 61440 + 2048 )) /tmp/r > $d/$i.eml; i=$((i+1)); done; \
             i=0; while [ $i -lt {large} ]; do cp /tmp/r /data/store/queue/incoming/big$i; i=$((i+1)); done; \
             rm /tmp/r"
        ),
        Duration::from_secs(1800),
    )?;
    configure_backup(&mut vm, &["destination = \"local\"".into()])?;
    vm.run_timeout(&format!("{BACKUP} >/dev/null"), Duration::from_secs(1800))?;
    let set = vm
        .ok("ls /data/backup/*.tar | tail -n 1")?
        .trim()
        .to_string();
    let bytes: u64 = vm.ok(&format!("stat -c %s {set}"))?.trim().parse()?;

    let mut rows = Vec::new();
    // 3. USB.
    configure_backup(&mut vm, &["destination = \"usb\"".into()])?;
    // The first statfs of a freshly mounted FAT32 counts its free clusters
    // by reading the whole FAT: done here so no timed run pays for it.
    vm.ok("df /media/usb >/dev/null")?;
    rows.push(measure(
        &mut vm,
        "USB (FAT32)",
        reps,
        &format!("cp {set} /media/usb/cp.tar && sync"),
        "rm -f /media/usb/cp.tar",
    )?);

    // 4. SMB, and the same share mounted by hand (same options) for cp.
    let server = format!("10.0.2.2:{}", srv.port);
    configure_backup(
        &mut vm,
        &[
            "destination = \"smb\"".into(),
            "[backup.smb]".into(),
            format!("host = \"{server}\""),
            "share = \"backups\"".into(),
            "username = \"TESTDOM\\\\backup\"".into(),
            format!("password = \"{password}\""),
        ],
    )?;
    vm.ok(&format!(
        "mkdir -p /tmp/smb && mount -t cifs -o ip=10.0.2.2,port={},vers=3.1.1,username=backup,\
         domain=TESTDOM,password={password},soft,nosharesock,noserverino,echo_interval=5 \
         //10.0.2.2/backups /tmp/smb",
        srv.port
    ))?;
    rows.push(measure(
        &mut vm,
        "SMB (Samba on the host)",
        reps,
        &format!("cp {set} /tmp/smb/cp.tar && sync"),
        "rm -f /tmp/smb/cp.tar",
    )?);
    vm.ok("umount /tmp/smb")?;

    ms.sort_unstable();
    println!(
        "uevent to mounted FAT32 (hotplugd's log, {plugs} plugs): median {} ms, max {} ms, all {ms:?} (target < 300 ms)",
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    );
    let set_mib = bytes as f64 / (1 << 20) as f64;
    println!(
        "set: {set_mib:.1} MiB ({small} small files, {large} of 1 MiB); times are medians of {reps} runs"
    );
    let rate = |secs: f64| set_mib / secs.max(0.001);
    for r in rows {
        println!(
            "{}: backup {:.1} s ({:.1} MiB/s), without read-back {:.1} s ({:.1} MiB/s), cp+sync {:.1} s ({:.1} MiB/s); \
             backup/cp throughput {:.2}, without read-back {:.2}",
            r.target,
            r.backup,
            rate(r.backup),
            r.no_verify,
            rate(r.no_verify),
            r.cp,
            rate(r.cp),
            r.cp / r.backup,
            r.cp / r.no_verify
        );
    }
    let _ = vm.poweroff(Duration::from_secs(60));
    drop(srv);
    Ok(())
}
