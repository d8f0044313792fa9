//! Upgrade bundles for the tests: the test image's root file system with a
//! different version (and optionally a fault), signed like the build signs.
//! Uses the host's squashfs-tools, rauc and openssl.

use crate::HarnessError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What goes into a test bundle.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    /// Written to /etc/appliance-version and os-release, and the manifest.
    pub version: String,
    /// The manifest's compatible string (the appliance's by default).
    pub compatible: String,
    /// Replace /usr/bin/backupd with a program that exits at once: the
    /// slot boots but its services do not come up.
    pub broken_services: bool,
    /// Sign with a key the appliance does not trust.
    pub untrusted_key: bool,
}

impl BundleSpec {
    pub fn new(version: &str) -> BundleSpec {
        BundleSpec {
            version: version.to_string(),
            compatible: "mail-appliance-x86_64".to_string(),
            broken_services: false,
            untrusted_key: false,
        }
    }
}

/// Where the build left the test image's artifacts (`out/test`, beside the
/// image the tests boot).
pub fn artifacts_dir() -> PathBuf {
    let image = crate::test_image();
    image
        .parent()
        .map(|d| d.join("test"))
        .unwrap_or_else(|| PathBuf::from("out/test"))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), HarnessError> {
    let out = cmd
        .output()
        .map_err(HarnessError::io(format!("running {what}")))?;
    if !out.status.success() {
        return Err(HarnessError::Setup(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Builds the bundle described by `spec` in `work`; returns its path.
pub fn make_bundle(work: &Path, name: &str, spec: &BundleSpec) -> Result<PathBuf, HarnessError> {
    let art = artifacts_dir();
    let dir = work.join(format!("bundle-{name}"));
    let root = work.join(format!("root-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&dir).map_err(HarnessError::io("creating the bundle folder"))?;
    run(
        Command::new("unsquashfs")
            .args(["-q", "-no-xattrs", "-d"])
            .arg(&root)
            .arg(art.join("rootfs.squashfs")),
        "unsquashfs (apt-get install squashfs-tools)",
    )?;
    let write = |rel: &str, text: String| {
        let p = root.join(rel);
        let _ = std::fs::remove_file(&p);
        std::fs::write(&p, text).map_err(HarnessError::io(format!("writing {rel}")))
    };
    write("etc/appliance-version", format!("{}\n", spec.version))?;
    let os = std::fs::read_to_string(root.join("etc/os-release"))
        .map_err(HarnessError::io("reading os-release"))?;
    let os: String = os
        .lines()
        .map(|l| {
            if l.starts_with("VERSION_ID=") {
                format!("VERSION_ID={}\n", spec.version)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    write("etc/os-release", os)?;
    if spec.broken_services {
        write(
            "usr/bin/backupd",
            "#!/bin/sh\necho 'backupd: broken on purpose' >&2\nexit 1\n".into(),
        )?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            root.join("usr/bin/backupd"),
            std::fs::Permissions::from_mode(0o755),
        )
        .map_err(HarnessError::io("chmod backupd"))?;
    }
    run(
        Command::new("mksquashfs")
            .arg(&root)
            .arg(dir.join("rootfs.squashfs"))
            .args([
                "-noappend",
                "-comp",
                "gzip",
                "-all-root",
                "-no-xattrs",
                "-quiet",
                "-no-progress",
            ]),
        "mksquashfs",
    )?;
    let template = std::fs::read_to_string(art.join("manifest.raucm.in"))
        .map_err(HarnessError::io("reading manifest.raucm.in"))?;
    let manifest = template
        .replace("@COMPATIBLE@", &spec.compatible)
        .replace("@VERSION@", &spec.version)
        .replace("@BUILD@", "systest");
    std::fs::write(dir.join("manifest.raucm"), manifest)
        .map_err(HarnessError::io("writing the manifest"))?;
    let (key, cert) = if spec.untrusted_key {
        let key = work.join("untrusted.key.pem");
        let cert = work.join("untrusted.cert.pem");
        if !key.exists() {
            run(
                Command::new("openssl")
                    .args([
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                    ])
                    .args(["-subj", "/O=Somebody else/CN=untrusted", "-keyout"])
                    .arg(&key)
                    .arg("-out")
                    .arg(&cert),
                "openssl req",
            )?;
        }
        (key, cert)
    } else {
        (art.join("signing.key.pem"), art.join("signing.cert.pem"))
    };
    let out = work.join(format!("{name}.raucb"));
    let _ = std::fs::remove_file(&out);
    run(
        Command::new("rauc")
            .arg(format!("--cert={}", cert.display()))
            .arg(format!("--key={}", key.display()))
            .arg("bundle")
            .arg(&dir)
            .arg(&out),
        "rauc bundle (apt-get install rauc)",
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&root);
    Ok(out)
}

/// Copies files onto a FAT32 image with mtools (no mounting needed).
pub fn copy_to_fat(image: &Path, files: &[&Path]) -> Result<(), HarnessError> {
    let mut cmd = Command::new("mcopy");
    cmd.env("MTOOLS_SKIP_CHECK", "1").arg("-i").arg(image);
    for f in files {
        cmd.arg(f);
    }
    cmd.arg("::");
    run(&mut cmd, "mcopy (apt-get install mtools)")
}
