//! The appliance's identity and clock: a new unit names itself after its
//! MAC address and gets a unit identity that its sets carry; the NTP
//! servers in the configuration set the clock (a clock a day behind is
//! stepped, logged, and written to the RTC); and a clock put back past the
//! newest set is reported instead of re-ordering the sets.

use std::time::Duration;
use systest::operator::{backup_full, configure_backup};
use systest::{Vm, VmConfig};
use timesync::testserver::TestServer;

const DAY: i64 = 86_400;

fn guest_now(vm: &mut Vm) -> i64 {
    vm.ok("date +%s")
        .expect("date")
        .trim()
        .parse()
        .expect("seconds")
}

fn host_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[test]
fn identity_ntp_and_a_clock_put_back() {
    // An NTP server on the host's loopback, which QEMU's user network
    // reaches as 10.0.2.2; it serves the host's own time.
    let ntp = TestServer::start("127.0.0.1:0".parse().expect("addr"), 0).expect("ntp server");
    let mut vm = Vm::boot(VmConfig::new("time")).expect("boot");
    vm.login().expect("login");

    // The first boot named the unit after its MAC (QEMU's 52:54:00:12:34:56)
    // and gave it an identity.
    let config = vm.ok("cat /data/config/appliance.toml").expect("config");
    assert!(
        config.contains("hostname = \"appliance-123456\""),
        "{config}"
    );
    let unit = config
        .lines()
        .find_map(|l| l.strip_prefix("unit_id = "))
        .map(|v| v.trim_matches('"').to_string())
        .expect("a unit_id line");
    assert_eq!(unit.len(), 36, "{unit}");
    assert_eq!(
        vm.ok("hostname").expect("hostname").trim(),
        "appliance-123456"
    );

    // A set carries the identity.
    configure_backup(&mut vm, &["destination = \"local\""]);
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    let version = vm
        .ok("cd /data/backup && recover -l appliance-123456-F*.tar.zst")
        .expect("version");
    assert!(
        version.contains(&format!("written by unit {unit}")),
        "{version}"
    );

    // The clock a day behind; the NTP server set in the configuration.
    vm.ok(&format!("date -s @{}", host_now() - DAY))
        .expect("clock back");
    assert!(host_now() - guest_now(&mut vm) > DAY - 120);
    vm.ok(&format!(
        "sed -i 's/^ntp_server = .*$//' /data/config/appliance.toml && \
         sed -i 's/^\\[system\\]$/[system]\\nntp_server = \"10.0.2.2:{}\"/' /data/config/appliance.toml && \
         /etc/init.d/S45timesyncd reload",
        ntp.addr.port()
    ))
    .expect("configure NTP");
    let mut stepped = false;
    for _ in 0..60 {
        if (host_now() - guest_now(&mut vm)).abs() < 60 {
            stepped = true;
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(stepped, "the clock was not set from the NTP server");
    assert!(ntp.answered.load(std::sync::atomic::Ordering::Relaxed) > 0);
    let log = vm
        .ok("grep timesyncd /data/log/messages")
        .expect("timesyncd in syslog");
    assert!(log.contains("clock stepped by +86"), "{log}");

    // Now the clock goes back a day with no NTP to fix it: the next backup
    // keeps the newer set, and says the clock is behind it.
    vm.ok(
        "sed -i 's/^ntp_server = .*$/ntp_server = \"\"/' /data/config/appliance.toml && \
         /etc/init.d/S45timesyncd reload",
    )
    .expect("NTP off");
    vm.ok(&format!("date -s @{}", host_now() - DAY))
        .expect("clock back");
    let b = backup_full(&mut vm);
    assert_eq!(b.status, 0, "{}", b.output);
    let sets = vm.ok("ls /data/backup/*.md5 | wc -l").expect("ls");
    assert_eq!(sets.trim(), "2", "both sets kept");
    vm.ok("cd /data/backup && md5sum -c *.md5")
        .expect("both verify");
    let status = vm.ok("backupctl status").expect("status");
    assert!(status.contains("clock is behind"), "{status}");
    vm.ok("grep 'backupd.*clock is behind' /data/log/messages")
        .expect("the warning is in syslog");

    // The log on /data never grows without bound: past 4 MiB it is rotated
    // within a minute or so, and logging goes on in the new file.
    vm.ok("yes log-filler | head -c 5242880 >> /data/log/messages")
        .expect("a big log");
    let mut rotated = false;
    for _ in 0..40 {
        if vm.run("test -f /data/log/messages.0").expect("test").status == 0 {
            rotated = true;
            break;
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    assert!(rotated, "the log was not rotated");
    vm.ok("logger -t systest after-rotation").expect("logger");
    std::thread::sleep(Duration::from_secs(2));
    vm.ok("grep -q after-rotation /data/log/messages")
        .expect("logging goes on in the new file");
    let size: u64 = vm
        .ok("wc -c < /data/log/messages")
        .expect("size")
        .trim()
        .parse()
        .expect("bytes");
    assert!(size < 1 << 20, "{size}");
}
