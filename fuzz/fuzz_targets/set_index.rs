#![no_main]
//! Any text as a set's index (and its summary's pointers to it), inside
//! an otherwise well-formed set: read through the real reader, listed,
//! and used to choose what a selective restore reads. Refused or used,
//! never a panic or a read outside the set.

use libfuzzer_sys::fuzz_target;

const NAME: &str = "mail-F20260101T000000Z.tar";

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header(name: &str, kind: u8, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    let _ = h.set_path(name);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn pad(v: &mut Vec<u8>) {
    v.resize(v.len().div_ceil(512) * 512, 0);
}

fn file(out: &mut Vec<u8>, name: &str, data: &[u8]) -> usize {
    out.extend(header(name, b'0', data.len() as u64));
    let at = out.len();
    out.extend_from_slice(data);
    pad(out);
    at
}

/// Runs recover as its command line would, with these arguments.
fn recover_with(args: &[&str]) {
    use clap::Parser;
    let argv = std::iter::once("recover").chain(args.iter().copied());
    if let Ok(cli) = recover::options::Cli::try_parse_from(argv) {
        let (request, _, _) = cli.into_request(false);
        let _ = recover::run(&request, &mut recover::Reporter::quiet());
    }
}

fuzz_target!(|data: &[u8]| {
    let index = data;
    let mut set = Vec::new();
    file(
        &mut set,
        ".version.txt",
        b"started=2026-01-01 00:00:00\nversion=f\nhostname=mail\ntype=full\nformat=1\nbody_window_hours=24\n",
    );
    for d in [
        "@backup",
        "@backup/store",
        "@backup/store/mail",
        "@backup/store/mail/a.com",
        "@backup/store/mail/a.com/bob",
        "@backup/store/mail/a.com/bob/INBOX",
        "@backup/store/mail/a.com/bob/INBOX/cur",
    ] {
        set.extend(header(&format!("{d}/"), b'5', 0));
    }
    file(
        &mut set,
        "@backup/store/mail/a.com/bob/INBOX/cur/1",
        b"Subject: x\n\nbody\n",
    );
    file(&mut set, "@backup/config/users.cfg", b"<users/>\n");
    let at = file(&mut set, ".index.txt", index);
    let summary = format!(
        "started=2026-01-01 00:00:00\nfinished=2026-01-01 00:00:01\ncount_files=2\ntotal_size=1\nduration=00:00:01:000\nheaders_only_files=0\nskipped_files=0\nchanged_files=0\ndeleted_entries=0\nindex_offset={at}\nindex_size={}\ndeleted_offset=0\ndeleted_size=0\n",
        index.len()
    );
    file(&mut set, ".summary.txt", summary.as_bytes());
    set.extend(std::iter::repeat_n(0u8, 1024));

    let Ok(tmp) = tempfile::tempdir() else { return };
    let _ = std::fs::write(tmp.path().join(NAME), &set);
    let _ = std::fs::write(
        tmp.path().join("mail-F20260101T000000Z.tar.md5"),
        format!("{}  {NAME}\n", md5_hex(&set)),
    );
    let target = tmp.path().join("target");
    let set = tmp.path().join(NAME);
    let (set, target) = (set.to_string_lossy(), target.to_string_lossy());
    let store = format!("{target}/store");
    for extra in [
        &["-l"][..],
        &["-l", "-d", "a.com", "-u", "bob", "-f", "INBOX"][..],
        &["-d", "a.com", "-u", "bob"][..],
        &["-u", "bob"][..],
        &["-m", "cfg,mail"][..],
    ] {
        let mut args = vec!["-g", "-q", "-c", &target, "-s", &store];
        args.extend_from_slice(extra);
        args.push(&set);
        recover_with(&args);
    }
    // Index lines on their own.
    if let Ok(text) = std::str::from_utf8(index) {
        let entries: Vec<_> = text
            .lines()
            .filter_map(|l| backupset::IndexEntry::parse(l).ok())
            .collect();
        let idx = recover::index::SetIndex::from_entries(entries);
        let _ = idx.children(".");
        let _ = idx.range_for("store/mail/a.com/bob", false);
    }
});
