use super::*;

const STATUS: &str = "Name:\ttimesyncd\nUmask:\t0022\nState:\tS (sleeping)\n\
Uid:\t30\t30\t30\t30\nGid:\t30\t30\t30\t30\nGroups:\t\nThreads:\t2\n\
CapInh:\t0000000000000000\nCapPrm:\t0000000002000000\nCapEff:\t0000000002000000\n\
CapBnd:\t0000000002000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t0\n";

const TIMESYNC: Plan = Plan {
    service: "timesyncd",
    user: Some((30, 30)),
    keep: &[Cap::SYS_TIME],
};

#[test]
fn reads_proc_status() {
    let s = Status::parse(STATUS).expect("parses");
    assert_eq!(s.uid, [30; 4]);
    assert_eq!(s.cap_eff, Cap::SYS_TIME.bit());
    assert_eq!(s.cap_bnd, 0x0200_0000);
    assert!(s.no_new_privs);
    assert_eq!(s.threads, 2);
    assert!(
        s.differences(&TIMESYNC).is_empty(),
        "{:?}",
        s.differences(&TIMESYNC)
    );
    assert!(Status::parse("Name:\tx\n").is_none());
}

#[test]
fn says_what_differs_from_the_plan() {
    let s = Status::parse(
        &STATUS
            .replace("CapBnd:\t0000000002000000", "CapBnd:\t000001ffffffffff")
            .replace("NoNewPrivs:\t1", "NoNewPrivs:\t0")
            .replace("Uid:\t30\t30\t30\t30", "Uid:\t30\t0\t30\t30"),
    )
    .expect("parses");
    let wrong = s.differences(&TIMESYNC).join("; ");
    assert!(wrong.contains("uids [30, 0, 30, 30], not 30"), "{wrong}");
    assert!(wrong.contains("bounding capabilities chown,"), "{wrong}");
    assert!(wrong.contains("not sys_time"), "{wrong}");
    assert!(wrong.contains("no_new_privs"), "{wrong}");
    assert!(!wrong.contains("effective"), "{wrong}");
}

#[test]
fn names_and_masks() {
    assert_eq!(Cap::SYS_ADMIN.name(), "sys_admin");
    assert_eq!(Cap::SYSLOG.to_string(), "syslog");
    assert_eq!(Cap(40).name(), "checkpoint_restore");
    assert_eq!(Cap(50).name(), "cap50");
    let m = mask(&[Cap::SYS_ADMIN, Cap::DAC_READ_SEARCH, Cap::SYSLOG]);
    assert_eq!(m, 0x0000_0004_0020_0004);
    assert_eq!(names(m), "dac_read_search,sys_admin,syslog");
    assert_eq!(names(0), "none");
}

#[test]
fn this_process_can_be_read() {
    let s = Status::current().expect("/proc/self/status");
    assert!(s.threads >= 1);
    assert_eq!(s.uid[0], nix::unistd::getuid().as_raw());
}
