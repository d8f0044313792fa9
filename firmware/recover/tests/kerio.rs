//! Every option of kmsrecover and the examples of Kerio's manual, run
//! with the real binary against sets written from generated stores.

mod common;

use backupset::SetKind;
use common::*;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A set with the default body window (most messages headers only).
fn windowed() -> (Fixture, backupset::Outcome) {
    let fx = fixture(2 << 20);
    let out = full_checked(&fx, NOW);
    (fx, out)
}

#[test]
fn full_backup_recovery_examples() {
    let fx = fixture(1 << 20);
    let f = full_checked(&fx, NOW);
    // "kmsrecover E:\backup" and "kmsrecover E:\backup\F2005....zip"
    for (i, source) in [fx.dest.clone(), fx.set_path(&f)].iter().enumerate() {
        let out = fx.path(&format!("out{i}"));
        let (ok, stdout, stderr) = run(&["-c", s(&out), "-s", s(&out.join("store")), s(source)]);
        assert!(ok, "{stdout} {stderr}");
        assert!(stdout.contains("Restore point: mail-F"), "{stdout}");
        assert!(stdout.contains("the restored data is in place"), "{stdout}");
        let stubs = assert_restored(
            &fx,
            &snapshot(&fx.data, &["backup", "restore", "state"]),
            &snapshot(&out, &["state"]),
        );
        // Into an empty folder: every headers-only message is restored so.
        assert!(
            stdout.contains(&format!(
                "{stubs} messages restored as headers only: their bodies were older than the set's body window"
            )),
            "{stdout}"
        );
    }
    // kmsrecover "E:\backup 2": a folder with a space.
    let spaced = fx.path("backup 2");
    std::fs::rename(&fx.dest, &spaced).expect("rename");
    let out = fx.path("spaced");
    let (ok, _, stderr) = run(&["-q", "-c", s(&out), "-s", s(&out.join("store")), s(&spaced)]);
    assert!(ok, "{stderr}");
    assert!(out.join("config/users.cfg").is_file());
}

#[test]
fn single_mailbox_and_single_folder_examples() {
    let fx = fixture(2 << 20);
    let f = full_checked(&fx, NOW);
    let (d, u) = some_user(&fx.data);
    let user_dir = fx.data.join(format!("store/mail/{d}/{u}"));

    // kmsrecover -d company.com -u smith -s D:\tmp E:\backup (and ...\F....zip)
    for (i, source) in [fx.dest.clone(), fx.set_path(&f)].iter().enumerate() {
        let tmp = fx.path(&format!("tmp{i}"));
        let (ok, stdout, stderr) = run(&["-d", &d, "-u", &u, "-s", s(&tmp), s(source)]);
        assert!(ok, "{stdout} {stderr}");
        assert_restored(
            &fx,
            &snapshot(&user_dir, &[]),
            &snapshot(&tmp.join(format!("mail/{d}/{u}")), &[]),
        );
        assert_eq!(
            std::fs::read(tmp.join(format!("contacts/{d}/{u}.vcf"))).expect("vcf"),
            std::fs::read(fx.data.join(format!("store/contacts/{d}/{u}.vcf"))).expect("vcf")
        );
    }

    // kmsrecover -v -d company.com -u smith -f "Sent Items" E:\backup, into
    // the live store: the folder comes back, newer mail elsewhere stays.
    let live = live_copy(&fx, "live");
    let live_user = live.join(format!("store/mail/{d}/{u}"));
    std::fs::remove_dir_all(live_user.join("Sent Items")).expect("lose the folder");
    let newer = live_user.join("INBOX/new/9999999999.M1P1.mail,S=5");
    std::fs::create_dir_all(newer.parent().expect("parent")).expect("mkdir");
    std::fs::write(&newer, b"newer").expect("newer mail");
    let (ok, stdout, stderr) = run(&[
        "-v",
        "-d",
        &d,
        "-u",
        &u,
        "-f",
        "Sent Items",
        "-s",
        s(&live.join("store")),
        "-c",
        s(&live),
        s(&fx.dest),
    ]);
    assert!(ok, "{stdout} {stderr}");
    assert_restored(
        &fx,
        &snapshot(&user_dir.join("Sent Items"), &[]),
        &snapshot(&live_user.join("Sent Items"), &[]),
    );
    assert_eq!(std::fs::read(&newer).expect("kept"), b"newer");
    // -v names every restored file.
    let listed = stdout
        .lines()
        .filter(|l| l.contains("/Sent Items/cur/"))
        .count();
    assert_eq!(
        listed,
        count_messages(&user_dir.join("Sent Items")) - {
            std::fs::read_dir(user_dir.join("Sent Items/new"))
                .map(|r| r.count())
                .unwrap_or(0)
        }
    );
    // A nested folder is given with '/'.
    let tmp = fx.path("nested");
    let (ok, _, stderr) = run(&[
        "-d",
        &d,
        "-u",
        &u,
        "-f",
        "Projects/Beta",
        "-s",
        s(&tmp),
        s(&fx.dest),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        tmp.join(format!("mail/{d}/{u}/Projects/Beta/Specs & Notes/cur"))
            .is_dir()
    );
    assert!(!tmp.join(format!("mail/{d}/{u}/Projects/Alpha")).exists());
}

/// Needs every body in the set: the damaged message must come back whole
/// (with the default window most are headers only, and those never replace
/// a file: that case, with -b, is in body_window.rs).
#[test]
fn public_folders_with_backup_example() {
    let fx = fixture_all_bodies(2 << 20);
    full_checked(&fx, NOW);
    let domain = std::fs::read_dir(fx.data.join("store/public"))
        .expect("public")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .expect("a domain with public folders");
    let live = live_copy(&fx, "live");
    let public = live.join(format!("store/public/{domain}"));
    let extra = public.join("Announcements/cur/added-after-the-backup");
    std::fs::create_dir_all(extra.parent().expect("parent")).expect("mkdir");
    std::fs::write(&extra, b"new").expect("write");
    let before = snapshot(&public, &[]);
    let first_msg = before
        .iter()
        .find(|(k, v)| v.0 == 'f' && k.contains("/cur/") && !k.ends_with("after-the-backup"))
        .map(|(k, _)| k.clone())
        .expect("a message");
    std::fs::write(public.join(&first_msg), b"damaged").expect("damage");
    let before = snapshot(&public, &[]);
    let lists_before = snapshot(&live.join("store/lists"), &[]);

    // kmsrecover -b -d company.com -m public E:\backup
    let (ok, stdout, stderr) = run(&[
        "-b",
        "-d",
        &domain,
        "-m",
        "public",
        "-s",
        s(&live.join("store")),
        "-c",
        s(&live),
        s(&fx.dest),
    ]);
    assert!(ok, "{stdout} {stderr}");
    // The current folders were kept as .BAK, exactly.
    assert_same(
        &before,
        &snapshot(&public.with_file_name(format!("{domain}.BAK")), &[]),
    );
    // The damaged message is back, the newer one stays.
    assert_eq!(
        std::fs::read(public.join(&first_msg)).expect("restored"),
        std::fs::read(fx.data.join(format!("store/public/{domain}/{first_msg}"))).expect("orig")
    );
    assert!(extra.is_file());
    // Nothing else was touched.
    assert_same(&lists_before, &snapshot(&live.join("store/lists"), &[]));
    // A second -b replaces the .BAK, as Kerio says.
    std::fs::write(public.join(&first_msg), b"damaged again").expect("damage");
    let (ok, _, stderr) = run(&[
        "-b",
        "-q",
        "-d",
        &domain,
        "-m",
        "public",
        "-s",
        s(&live.join("store")),
        "-c",
        s(&live),
        s(&fx.dest),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(
            public
                .with_file_name(format!("{domain}.BAK"))
                .join(&first_msg)
        )
        .expect("bak"),
        b"damaged again"
    );
}

#[test]
fn masks_restore_only_their_parts() {
    let fx = fixture(1 << 20);
    full_checked(&fx, NOW);
    let live = live_copy(&fx, "live");
    for f in [
        "config/mailserver.cfg",
        "config/users.cfg",
        "config/appliance.toml",
        "license/license.key",
        "sslca/ca-root.crt",
        "sslcert/server.crt",
    ] {
        std::fs::write(live.join(f), b"changed").expect("change");
    }
    std::fs::remove_dir_all(live.join("store/spamassassin")).expect("rm");
    let mail_before = snapshot(&live.join("store/mail"), &[]);
    // kmsrecover -m cfg,license,sslca,sslcert
    let (ok, _, stderr) = run(&[
        "-m",
        "cfg,license,sslca,sslcert",
        "-s",
        s(&live.join("store")),
        "-c",
        s(&live),
        s(&fx.dest),
    ]);
    assert!(ok, "{stderr}");
    for f in [
        "config/mailserver.cfg",
        "config/users.cfg",
        "license/license.key",
        "sslca/ca-root.crt",
        "sslcert/server.crt",
    ] {
        assert_eq!(
            std::fs::read(live.join(f)).expect("read"),
            std::fs::read(fx.data.join(f)).expect("orig"),
            "{f}"
        );
    }
    // Not in the mask: untouched.
    assert_eq!(
        std::fs::read(live.join("config/appliance.toml")).expect("toml"),
        b"changed"
    );
    assert!(!live.join("store/spamassassin").exists());
    assert_same(&mail_before, &snapshot(&live.join("store/mail"), &[]));
    // --mask=system and -m spamassassin bring those back.
    let (ok, _, stderr) = run(&[
        "--mask=system,spamassassin",
        "--store",
        s(&live.join("store")),
        "--cfgdir",
        s(&live),
        s(&fx.dest),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(live.join("config/appliance.toml")).expect("toml"),
        std::fs::read(fx.data.join("config/appliance.toml")).expect("orig")
    );
    assert_same(
        &snapshot(&fx.data.join("store/spamassassin"), &[]),
        &snapshot(&live.join("store/spamassassin"), &[]),
    );
    // The other masks each restore their folder.
    for (mask, dir) in [
        ("lists", "store/lists"),
        ("contacts", "store/contacts"),
        ("queue", "store/queue"),
        ("mail", "store/mail"),
        ("public", "store/public"),
    ] {
        let out = fx.path(&format!("m-{mask}"));
        let (ok, _, stderr) = run(&[
            "-g",
            "-m",
            mask,
            "-s",
            s(&out.join("store")),
            "-c",
            s(&out),
            s(&fx.dest),
        ]);
        assert!(ok, "{mask}: {stderr}");
        let stubs = assert_restored(
            &fx,
            &snapshot(&fx.data.join(dir), &[]),
            &snapshot(&out.join(dir), &[]),
        );
        match mask {
            "mail" => assert!(stubs > 0, "no headers-only message restored"),
            "public" => {}
            _ => assert_eq!(stubs, 0, "{mask}: only messages are ever headers only"),
        }
        let top: Vec<String> = std::fs::read_dir(out.join("store"))
            .expect("store")
            .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(top, [dir.trim_start_matches("store/")], "{mask}");
    }
}

#[test]
fn listing_shows_folders_with_message_and_headers_only_counts() {
    let (fx, out) = windowed();
    let (d, u) = some_user(&fx.data);
    let (ok, stdout, stderr) = run(&["-l", s(&fx.dest)]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("Set {}", fx.set_path(&out).display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} messages with headers only",
            out.summary.headers_only_files
        )),
        "{stdout}"
    );
    for part in [
        "(cfg): config/mailserver.cfg, config/users.cfg",
        "(system): config/appliance.toml",
        "(license): 1 file,",
        "(queue):",
        "(lists):",
    ] {
        assert!(stdout.contains(part), "{part} in {stdout}");
    }
    assert!(stdout.contains(&format!("{u}@{d}")));
    // What headers only means is said once per set, and each mail part
    // says how many of its messages are.
    assert!(
        stdout.contains(
            "headers only: messages older than the body window, stored without their body"
        ) && stdout.contains("a restore puts them back only where the message is missing"),
        "{stdout}"
    );
    for part in ["Mailboxes (mail): ", "Public folders (public): "] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(part))
            .unwrap_or_else(|| panic!("{part} in {stdout}"));
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .take(2)
            .map(|n| n.parse().expect("number"))
            .collect();
        assert!(
            line.contains(" messages (") && line.contains(" of them headers only), "),
            "{line}"
        );
        assert!(nums[1] > 0 && nums[1] <= nums[0], "{line}");
    }
    let user_row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{u}@{d} ")))
        .expect("the user's row");
    let nums: Vec<u64> = user_row[44..]
        .split_whitespace()
        .take(2)
        .map(|n| n.parse().expect("number"))
        .collect();
    assert!(nums[1] > 0 && nums[1] <= nums[0], "{user_row}");
    assert!(
        !stdout.contains("userss") && !stdout.contains("listss"),
        "{stdout}"
    );
    // Without a window: said so, and no message is headers only.
    let all = fixture_all_bodies(256 << 10);
    full_checked(&all, NOW);
    let (ok, stdout, stderr) = run(&["-l", s(&all.dest)]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("0 messages with headers only (body window off: every body kept)")
            && stdout.contains("(0 of them headers only)")
            && !stdout.contains("headers only: messages older"),
        "{stdout}"
    );

    // -l -d -u: that user's folders, nested, with counts that match what a
    // restore of them gives.
    let (ok, stdout, stderr) = run(&["-l", "-d", &d, "-u", &u, s(&fx.dest)]);
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("(license)"), "{stdout}");
    let tmp = fx.path("user");
    let (ok, _, stderr) = run(&["-q", "-d", &d, "-u", &u, "-s", s(&tmp), s(&fx.dest)]);
    assert!(ok, "{stderr}");
    let restored = tmp.join(format!("mail/{d}/{u}"));
    for folder in ["INBOX", "Sent Items", "Specs & Notes"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(folder))
            .unwrap_or_else(|| panic!("{folder} not listed: {stdout}"));
        let nums: Vec<u64> = line[44..]
            .split_whitespace()
            .take(2)
            .map(|n| n.parse().expect("number"))
            .collect();
        let path = if folder == "Specs & Notes" {
            restored.join("Projects/Beta/Specs & Notes")
        } else {
            restored.join(folder)
        };
        let files: Vec<PathBuf> = ["cur", "new"]
            .iter()
            .flat_map(|m| {
                std::fs::read_dir(path.join(m))
                    .map(|r| r.map(|e| e.expect("e").path()).collect::<Vec<_>>())
                    .unwrap_or_default()
            })
            .collect();
        let headers_only = files
            .iter()
            .filter(|f| backupset::window::is_headers_only(&std::fs::read(f).expect("read")))
            .count() as u64;
        assert_eq!(nums, [files.len() as u64, headers_only], "{folder}: {line}");
    }
    // Nested folders are indented below their parent.
    let beta = stdout
        .lines()
        .position(|l| l.trim_start().starts_with("Beta"))
        .expect("Beta");
    let specs = stdout.lines().nth(beta + 1).expect("next");
    assert!(specs.trim_start().starts_with("Specs & Notes"));
    assert!(specs.find('S') > stdout.lines().nth(beta).and_then(|l| l.find('B')));

    // -l -d -u -f: one folder.
    let (ok, stdout, _) = run(&["-l", "-d", &d, "-u", &u, "-f", "INBOX", s(&fx.dest)]);
    assert!(ok);
    assert!(stdout.contains(&format!("{u}@{d}: INBOX")), "{stdout}");
    assert!(!stdout.contains("Sent Items"), "{stdout}");
    // -l -d: the domain's users.
    let (ok, stdout, _) = run(&["-l", "-d", &d, s(&fx.dest)]);
    assert!(ok);
    assert!(
        stdout.contains(&format!("{u}@{d}")) && stdout.contains("(public)"),
        "{stdout}"
    );
}

#[test]
fn output_options() {
    let fx = fixture(1 << 20);
    fx.full(NOW);
    let (d, u) = some_user(&fx.data);
    let target = |n: &str| fx.path(n);
    // Not on a terminal: plain progress lines.
    let (ok, stdout, _) = run(&["-d", &d, "-u", &u, "-s", s(&target("a")), s(&fx.dest)]);
    assert!(ok);
    assert!(stdout.contains("Restoring: "), "{stdout}");
    // -g: no progress, the rest stays.
    let (ok, stdout, _) = run(&["-g", "-d", &d, "-u", &u, "-s", s(&target("b")), s(&fx.dest)]);
    assert!(ok);
    assert!(
        !stdout.contains("Restoring: ") && stdout.contains("Restored "),
        "{stdout}"
    );
    // -q: nothing at all.
    let (ok, stdout, stderr) = run(&["-q", "-d", &d, "-u", &u, "-s", s(&target("c")), s(&fx.dest)]);
    assert!(ok);
    assert!(stdout.is_empty() && stderr.is_empty(), "{stdout} {stderr}");
    // -v: every file, and the ranges read.
    let (ok, stdout, _) = run(&[
        "--verbose",
        "-d",
        &d,
        "-u",
        &u,
        "-s",
        s(&target("d")),
        s(&fx.dest),
    ]);
    assert!(ok);
    assert!(
        stdout.contains("Reading ") && stdout.contains("/INBOX/cur/"),
        "{stdout}"
    );
    // -u alone: that user in every domain holding one.
    let (ok, _, stderr) = run(&["-q", "-u", &u, "-s", s(&target("e")), s(&fx.dest)]);
    assert!(ok, "{stderr}");
    assert!(target("e").join(format!("mail/{d}/{u}")).is_dir());
}

#[test]
fn help_and_option_errors() {
    let (ok, stdout, _) = run(&["--help"]);
    assert!(ok);
    for o in [
        "-d, --domain",
        "-u, --user",
        "-f, --folder",
        "-s, --store",
        "-c, --cfgdir",
        "-m, --mask",
        "-b, --backup",
        "-g, --noprogress",
        "-l, --listing",
        "-q, --quiet",
        "-v, --verbose",
        "-h, --help",
        "--system",
        "Examples:",
        "recover -b -d company.com -m public /data/backup",
        "recover -v -d company.com -u smith -f \"Sent Items\"",
        "cfg,license,sslca,sslcert",
    ] {
        assert!(stdout.contains(o), "{o} missing from --help:\n{stdout}");
    }
    let (ok, stdout, _) = run(&["-h"]);
    assert!(
        ok && stdout.contains("Usage: recover [options] <directory>|<file>"),
        "{stdout}"
    );

    let fx = fixture(512 << 10);
    fx.full(NOW);
    let sets = s(&fx.dest).to_string();
    for (args, says) in [
        (
            vec!["-f", "INBOX", &sets],
            "-f/--folder needs -d/--domain and -u/--user",
        ),
        (
            vec!["-d", "x.com", "-f", "INBOX", &sets],
            "needs -d/--domain and -u/--user",
        ),
        (vec!["-m", "mail,bogus", &sets], "is not a part of a backup"),
        (
            vec!["-d", "nowhere.example", "-s", "/nonexistent/x", &sets],
            "holds nothing for domain nowhere.example",
        ),
        (vec!["-d", "a", "-u", "../b", &sets], "is not a user name"),
        (vec!["-l", "/nonexistent/sets"], "no such file or folder"),
        (vec!["-l", "/etc/hostname"], "not a file of a backup set"),
        (vec!["-q", "-v", &sets], "cannot be used with"),
    ] {
        let (ok, stdout, stderr) = run(&args);
        assert!(!ok, "{args:?} should fail: {stdout}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count().min(1), 1);
    }
    let empty = fx.path("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let (ok, _, stderr) = run(&["-l", s(&empty)]);
    assert!(!ok && stderr.contains("no complete backup set"), "{stderr}");
}

#[test]
fn an_appliance_configuration_this_firmware_cannot_run_is_not_restored() {
    let fx = fixture(256 << 10);
    std::fs::write(
        fx.data.join("config/appliance.toml"),
        "[network]\nmode = \"static\"\n",
    )
    .expect("config");
    fx.full(NOW);
    let live = fx.path("live");
    std::fs::create_dir_all(live.join("config")).expect("mkdir");
    std::fs::write(live.join("config/appliance.toml"), b"# current\n").expect("current");
    let (ok, _, stderr) = run(&["-m", "system", "-c", s(&live), s(&fx.dest)]);
    assert!(
        !ok && stderr.contains("configuration cannot be used"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(live.join("config/appliance.toml")).expect("kept"),
        b"# current\n"
    );
    // A good one is restored, with a word on when it applies.
    std::fs::write(
        fx.data.join("config/appliance.toml"),
        "[system]\nhostname = \"restored\"\n",
    )
    .expect("config");
    fx.write(&fx.options(SetKind::Copy, NOW + 60));
    let (ok, stdout, stderr) = run(&["-m", "system", "-c", s(&live), s(&fx.dest)]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("applies at the next boot"), "{stdout}");
    assert!(
        std::fs::read_to_string(live.join("config/appliance.toml"))
            .expect("restored")
            .contains("restored")
    );
}
