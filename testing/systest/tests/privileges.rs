//! Least privilege in the running appliance (issue 15, item 4; the table
//! in docs/security.md): each long-running service's user, capabilities
//! and `no_new_privs` as the kernel reports them in `/proc/<pid>/status`,
//! also after timesyncd's reload (a restart); timesyncd still sets the
//! clock and writes the RTC with CAP_SYS_TIME alone; and what the
//! `timesync` user may not do, tried as that user (`su -s /bin/sh
//! timesync`): every attempt must be refused by the kernel.

use privs::{Cap, Status};
use std::time::Duration;
use systest::{Vm, VmConfig};
use timesync::testserver::TestServer;

/// A row of the table: the service, its pid file, user, capabilities kept.
struct Row {
    service: &'static str,
    pid_file: &'static str,
    uid: u32,
    keep: &'static [Cap],
}

const TABLE: [Row; 4] = [
    Row {
        service: "timesyncd",
        pid_file: "/run/timesyncd.pid",
        uid: 30,
        keep: &[Cap::SYS_TIME],
    },
    Row {
        service: "hotplugd",
        pid_file: "/run/hotplugd.pid",
        uid: 0,
        keep: &[Cap::SYS_ADMIN],
    },
    Row {
        service: "backupd",
        pid_file: "/run/backupd.pid",
        uid: 0,
        keep: &[Cap::SYS_ADMIN, Cap::DAC_READ_SEARCH, Cap::SYSLOG],
    },
    // Its sessions run as ftp with nothing (tests/ftp.rs).
    Row {
        service: "ftpd",
        pid_file: "/run/ftpd.pid",
        uid: 0,
        keep: &[
            Cap::NET_BIND_SERVICE,
            Cap::CHOWN,
            Cap::FOWNER,
            Cap::DAC_READ_SEARCH,
            Cap::KILL,
            Cap::SETUID,
            Cap::SETGID,
            Cap::SETPCAP,
        ],
    },
];

const DAY: i64 = 86_400;

fn host_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn guest_now(vm: &mut Vm) -> i64 {
    vm.ok("date +%s")
        .expect("date")
        .trim()
        .parse()
        .expect("seconds")
}

fn pid(vm: &mut Vm, pid_file: &str) -> u32 {
    vm.ok(&format!("cat {pid_file}"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid")
}

/// The row's service as the kernel sees it; panics when it differs.
fn check_row(vm: &mut Vm, row: &Row) -> u32 {
    let pid = pid(vm, row.pid_file);
    let text = vm.ok(&format!("cat /proc/{pid}/status")).expect("status");
    assert!(text.contains(&format!("Name:\t{}", row.service)), "{text}");
    let s = Status::parse(&text).expect("a status");
    let plan = privs::Plan {
        service: row.service,
        user: Some((row.uid, row.uid)),
        keep: row.keep,
    };
    let wrong = s.differences(&plan);
    assert!(wrong.is_empty(), "{}: {wrong:?}\n{text}", row.service);
    println!(
        "{}: uid {} caps {} bounding {} no_new_privs {}",
        row.service,
        s.uid[0],
        privs::names(s.cap_eff),
        privs::names(s.cap_bnd),
        s.no_new_privs
    );
    pid
}

/// Runs `cmd` as the user timesync; it must fail with the kernel's refusal.
fn refused_as_timesync(vm: &mut Vm, what: &str, cmd: &str) {
    let out = vm
        .run(&format!("su -s /bin/sh timesync -c '{cmd}' 2>&1"))
        .expect("su");
    let said = out.output.to_lowercase();
    // BusyBox's date says it cannot set the date and goes on to print it
    // (status 0): the kernel's refusal in the output is what counts.
    assert!(
        said.contains("denied") || said.contains("not permitted"),
        "{what}: not refused (status {}): {}",
        out.status,
        out.output
    );
    println!("refused as timesync: {what}: {}", out.output.trim());
}

#[test]
fn services_run_with_least_privilege() {
    let ntp = TestServer::start("127.0.0.1:0".parse().expect("addr"), 0).expect("ntp server");
    let mut vm = Vm::boot(VmConfig::new("privileges")).expect("boot");
    vm.login().expect("login");

    let mut pids = Vec::new();
    for row in &TABLE {
        pids.push(check_row(&mut vm, row));
    }

    // timesyncd sets the clock and writes the RTC with CAP_SYS_TIME alone:
    // a clock a day behind is stepped from the NTP server; the RTC then
    // gives the right time back.
    vm.ok(&format!("date -s @{}", host_now() - DAY))
        .expect("clock back");
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
    // The RTC is written after the step, on the next second's edge.
    std::thread::sleep(Duration::from_secs(3));
    let log = vm
        .ok("grep timesyncd /data/log/messages")
        .expect("timesyncd in syslog");
    assert!(log.contains("clock stepped by +86"), "{log}");
    assert!(!log.contains("hardware clock"), "{log}");
    vm.ok(&format!(
        "date -s @{} >/dev/null && hwclock -s -u",
        host_now() - DAY
    ))
    .expect("the clock from the RTC");
    assert!(
        (host_now() - guest_now(&mut vm)).abs() < 60,
        "the RTC was not written"
    );

    // The reload restarted timesyncd, which runs by the table again.
    let t = check_row(&mut vm, &TABLE[0]);
    assert_ne!(t, pids[0], "timesyncd was restarted by its reload");

    // What the user timesync may not do. Each is refused by the kernel.
    let backupd = pids[2];
    let attacks: Vec<(&str, String)> = vec![
        (
            "read the secrets",
            "cat /data/config/secrets.toml /data/config/appliance.toml".into(),
        ),
        ("list the mail store", "ls /data/store/mail".into()),
        ("read the TLS private key", "ls /data/sslcert".into()),
        (
            "write into the backup folder",
            "touch /data/backup/x".into(),
        ),
        (
            "write into the restore folder",
            "touch /data/restore/x".into(),
        ),
        ("read the system disk", "head -c 512 /dev/vda".into()),
        ("signal backupd", format!("kill -0 {backupd}")),
        (
            "read backupd's environment",
            format!("cat /proc/{backupd}/environ"),
        ),
        (
            "read timesyncd's memory (same user, not dumpable)",
            format!("head -c 16 /proc/{t}/environ"),
        ),
        ("set the clock without the service", "date -s @0".into()),
        (
            "write the RTC (shared read-only)",
            "hwclock -w -u -f /dev/rtc0".into(),
        ),
        (
            "mount a file system",
            "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m".into(),
        ),
        (
            "write the configuration",
            "echo x >> /data/config/appliance.toml".into(),
        ),
    ];
    for (what, cmd) in &attacks {
        refused_as_timesync(&mut vm, what, cmd);
    }
    println!(
        "attacks as timesync: {} tried, {} refused",
        attacks.len(),
        attacks.len()
    );
    assert!(
        (host_now() - guest_now(&mut vm)).abs() < 60,
        "the clock was changed by the user timesync"
    );
    vm.ok("test ! -e /data/backup/x && test ! -e /data/restore/x")
        .expect("nothing planted");

    // The services are still up and answer.
    vm.ok("backupctl status").expect("backupd answers");
    let usb = vm.run("usbctl status").expect("usbctl");
    assert!(
        usb.output.contains("No USB drive"),
        "hotplugd answers: {}",
        usb.output
    );
    let _ = vm.poweroff(Duration::from_secs(60));
}
