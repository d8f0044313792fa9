//! Boot figures for ci/bench-image.sh: time from QEMU's start to the login
//! prompt under TCG (BIOS and UEFI), and the guest's memory in use once idle.

use std::time::{Duration, Instant};
use systest::{Firmware, Vm, VmConfig};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for fw in [Firmware::Bios, Firmware::Uefi] {
        let mut times = Vec::new();
        let mut used_kib = Vec::new();
        for i in 0..runs {
            let start = Instant::now();
            let mut vm = match Vm::boot(VmConfig::new(&format!("bench-{fw:?}-{i}")).firmware(fw)) {
                Ok(vm) => vm,
                Err(e) => {
                    eprintln!("boot failed: {e}");
                    std::process::exit(1);
                }
            };
            times.push(start.elapsed().as_secs_f64());
            std::thread::sleep(Duration::from_secs(5));
            match vm.ok("awk '/MemTotal/{t=$2} /MemAvailable/{a=$2} END{print t-a}' /proc/meminfo")
            {
                Ok(s) => used_kib.push(s.trim().parse::<u64>().unwrap_or(0)),
                // A release image lets no one log in as root: the boot
                // time still counts. (The VM is dropped, so QEMU ends.)
                Err(e) => eprintln!("reading memory failed: {e}"),
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let mem = match used_kib.iter().max() {
            Some(k) => format!("{:.1} MiB (max)", *k as f64 / 1024.0),
            None => "not read (no root login)".into(),
        };
        println!(
            "{fw:?}: QEMU start to login prompt {median:.1} s (median of {runs}: {times:.1?}); memory in use when idle {mem}"
        );
    }
}
