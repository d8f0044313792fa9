//! The `smbtest` tool: the password comes from standard input, each stage
//! is reported, and failures end in plain words with a failing exit code.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

fn smbtest(server: &str, mount_base: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smbtest"))
        .args([
            "--server",
            server,
            "--share",
            "backups",
            "--user",
            "CORP\\backup",
        ])
        .arg("--mount-base")
        .arg(mount_base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("smbtest starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"pa,ss\n")
        .expect("password");
    child.wait_with_output().expect("smbtest ends")
}

#[test]
fn closed_port_is_refused_in_plain_words() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = smbtest(&format!("127.0.0.1:{port}"), &dir.path().join("m"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refuses connections on port"), "{err}");
}

#[test]
fn a_server_that_speaks_no_smb_fails_after_the_reach_check() {
    // Accepts connections and closes them: reachable, but no SMB.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            drop(s);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = smbtest(&format!("127.0.0.1:{port}"), &dir.path().join("m"));
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("reach: ok"), "{stdout}");
    assert!(!stdout.contains("mount: ok"), "{stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("pa,ss"), "the password never shows: {err}");
}

#[test]
fn names_need_a_dns_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = smbtest("fs1.example.com", &dir.path().join("m"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no DNS server is configured"), "{err}");
}
