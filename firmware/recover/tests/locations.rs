//! `--location configured|restore NAME`: the console names a location and
//! a set, and recover opens the location itself through `destinations`, as
//! backupd does (here the local folder and the restore folder; the SMB share
//! and the USB drive in the QEMU tests).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Runs recover as the appliance would, with its folders under `root`.
fn at(root: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_recover"))
        .args(args)
        .env("APPLIANCE_CONFIG", root.join("config/appliance.toml"))
        .env("APPLIANCE_BACKUP_DIR", root.join("backup"))
        .env("APPLIANCE_RESTORE_DIR", root.join("restore"))
        .output()
        .expect("recover runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_location_and_a_set_name_are_opened_by_recover_itself() {
    let fx = fixture(512 << 10);
    let out = full_checked(&fx, NOW);
    let root = fx.path("appliance");
    std::fs::create_dir_all(root.join("config")).expect("config");
    std::fs::write(
        root.join("config/appliance.toml"),
        "[backup]\ndestination = \"local\"\n",
    )
    .expect("config");
    // The sets sit in the local backup folder, and a copy in the restore folder.
    std::fs::rename(&fx.dest, root.join("backup")).expect("move sets");
    std::fs::create_dir_all(root.join("restore")).expect("restore");
    for v in out
        .volumes
        .iter()
        .map(|v| v.name.clone())
        .chain([out.name.md5_name()])
    {
        std::fs::copy(root.join("backup").join(&v), root.join("restore").join(&v)).expect("copy");
    }
    let (domain, user) = some_user(&fx.data);
    let name = out.name.tar_name();
    for location in ["configured", "restore"] {
        let (ok, stdout, stderr) = at(&root, &["-l", "--location", location, &name]);
        assert!(ok, "{location}: {stderr}");
        assert!(stdout.contains(&domain), "{location}: {stdout}");
        // The newest restore point there when no set is named.
        let into = fx.path(&format!("into-{location}"));
        let (ok, _, stderr) = at(
            &root,
            &[
                "-d",
                &domain,
                "-u",
                &user,
                "-s",
                into.to_str().expect("utf-8"),
                "--location",
                location,
            ],
        );
        assert!(ok, "{location}: {stderr}");
        assert!(into.join("mail").join(&domain).join(&user).is_dir());
    }

    // A path where a name belongs is refused before anything is opened.
    for bad in ["../backup/x.tar", "/etc/passwd", "notes.txt"] {
        let (ok, _, stderr) = at(&root, &["-l", "--location", "configured", bad]);
        assert!(
            !ok && stderr.contains("not the name of a backup set"),
            "{bad}: {stderr}"
        );
    }
    // A missing restore folder says so.
    std::fs::remove_dir_all(root.join("restore")).expect("rm");
    let (ok, _, stderr) = at(&root, &["-l", "--location", "restore", &name]);
    assert!(!ok && stderr.contains("restore folder"), "{stderr}");
}
