//! `enter` in a child process (this test binary run again with
//! `PRIVS_CHILD` naming a plan; no libtest harness, whose threads `enter`
//! refuses): the kernel's view afterwards, and what the child can no
//! longer do. As root both plans are tried; as another user it checks
//! that nothing is given up but `no_new_privs`.

use privs::{Cap, Entered, Plan, Status};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const AS_USER: Plan = Plan {
    service: "probe-user",
    user: Some((65534, 65534)),
    keep: &[Cap::SYS_TIME],
};
const AS_ROOT: Plan = Plan {
    service: "probe-root",
    user: None,
    keep: &[Cap::SYS_ADMIN, Cap::DAC_READ_SEARCH],
};

fn attempt(what: &str, ok: bool) {
    // One line per attack, read by the parent.
    println!("ATTEMPT {what}: {}", if ok { "allowed" } else { "refused" });
}

fn main() {
    match std::env::var("PRIVS_CHILD") {
        Ok(which) => child(&which),
        // cargo-nextest lists a harness-less binary's tests first
        // (`--list --format terse`, and again with `--ignored`).
        Err(_) if std::env::args().any(|a| a == "--list") => {
            if !std::env::args().any(|a| a == "--ignored") {
                println!("enter_gives_up_all_but_the_plan: test");
            }
        }
        Err(_) => {
            enter_gives_up_all_but_the_plan();
            println!("test enter_gives_up_all_but_the_plan ... ok");
        }
    }
}

/// The child's side: enter the plan, print the status, try what it may not.
fn child(which: &str) {
    let secret = std::env::var("PRIVS_SECRET").expect("secret file");
    let plan = if which == "user" { AS_USER } else { AS_ROOT };
    let entered = privs::enter(&plan).expect("enter");
    let s = Status::current().expect("status");
    println!("ENTERED {entered:?} {s:?}");
    assert!(
        s.differences(&plan).is_empty(),
        "{:?}",
        s.differences(&plan)
    );
    attempt(
        "setuid(0)",
        nix::unistd::setuid(nix::unistd::Uid::from_raw(0)).is_ok(),
    );
    // SAFETY: prctl with integers only.
    let raised = unsafe { nix::libc::prctl(nix::libc::PR_CAP_AMBIENT, 2, 12, 0, 0) } == 0;
    attempt("raise net_admin as ambient", raised);
    attempt(
        "write a root-only file",
        std::fs::OpenOptions::new()
            .append(true)
            .open(&secret)
            .is_ok()
            && which == "user",
    );
    attempt(
        "change the owner of a file",
        nix::unistd::chown(secret.as_str(), Some(nix::unistd::Uid::from_raw(1)), None).is_ok(),
    );
    let node = std::path::Path::new(&secret).with_file_name(format!("null-{which}"));
    attempt(
        "make a device node",
        nix::sys::stat::mknod(
            &node,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .is_ok(),
    );
    attempt(
        "setuid program gains root (su)",
        Command::new("su")
            .args(["-c", "id -u"])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0"),
    );
    if which == "user" {
        attempt("read a root-only file", std::fs::read(&secret).is_ok());
        attempt(
            "set the clock (kept: sys_time)",
            nix::time::clock_settime(
                nix::time::ClockId::CLOCK_REALTIME,
                nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME).expect("now"),
            )
            .is_ok(),
        );
    }
}

fn run_child(which: &str, secret: &std::path::Path) -> String {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .env("PRIVS_CHILD", which)
        .env("PRIVS_SECRET", secret)
        .output()
        .expect("run the child");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    text
}

fn enter_gives_up_all_but_the_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "secret").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    if !nix::unistd::geteuid().is_root() {
        let text = run_child("root", &secret);
        assert!(
            text.contains(&format!("ENTERED {:?}", Entered::WasUnprivileged)),
            "{text}"
        );
        return;
    }
    // The folder must be searchable for the user's attempts to mean anything.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let user = run_child("user", &secret);
    assert!(user.contains("ENTERED Reduced"), "{user}");
    for refused in [
        "setuid(0)",
        "raise net_admin as ambient",
        "write a root-only file",
        "change the owner of a file",
        "make a device node",
        "setuid program gains root (su)",
        "read a root-only file",
    ] {
        assert!(
            user.contains(&format!("ATTEMPT {refused}: refused")),
            "{refused}: {user}"
        );
    }
    assert!(
        user.contains("ATTEMPT set the clock (kept: sys_time): allowed"),
        "{user}"
    );
    let root = run_child("root", &secret);
    assert!(root.contains("ENTERED Reduced"), "{root}");
    for refused in [
        "raise net_admin as ambient",
        "change the owner of a file",
        "make a device node",
        "setuid program gains root (su)",
    ] {
        assert!(
            root.contains(&format!("ATTEMPT {refused}: refused")),
            "{refused}: {root}"
        );
    }
}
