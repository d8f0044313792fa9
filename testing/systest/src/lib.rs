//! The system-test harness.
//!
//! [`Vm::boot`] starts the appliance image under QEMU (TCG, a copy-on-write
//! overlay so the image is never modified), with the serial console on a
//! pipe and QMP on a Unix socket. Tests then wait for console output, log in,
//! run shell commands and read their output and exit status, hot-plug USB
//! drives, reboot or cut the power. Every wait has a time-out; a failure
//! carries the tail of the console log and the path of the whole log.
//!
//! ```no_run
//! use systest::{Vm, VmConfig};
//! let mut vm = Vm::boot(VmConfig::new("example")).expect("boot");
//! vm.login().expect("login");
//! assert_eq!(vm.ok("cat /etc/appliance-version").expect("run").trim(), "0.1.0");
//! ```

pub mod bundle;
mod console;
mod error;
pub mod host;
pub mod operator;
mod qmp;
mod vm;

pub use error::HarnessError;
pub use vm::{CmdOutput, Firmware, Vm, VmConfig};

use std::path::PathBuf;

/// The repository's root (this crate lives in `testing/systest`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The image the tests boot: `$APPLIANCE_IMAGE` or `out/appliance-test.img`.
pub fn test_image() -> PathBuf {
    std::env::var_os("APPLIANCE_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("out/appliance-test.img"))
}

/// The password of root in the test image (board/appliance/test-overlay); release images
/// have root locked.
pub const TEST_ROOT_PASSWORD: &str = "appliance-test";

/// Makes a FAT32 file system image of `mib` MiB at `path` (mkfs.vfat, from
/// Debian's dosfstools), as a USB drive would carry.
pub fn make_fat32_image(path: &std::path::Path, mib: u64, label: &str) -> Result<(), HarnessError> {
    let f = std::fs::File::create(path)
        .map_err(HarnessError::io(format!("creating {}", path.display())))?;
    f.set_len(mib << 20)
        .map_err(HarnessError::io(format!("sizing {}", path.display())))?;
    let out = std::process::Command::new("mkfs.vfat")
        .args(["-F", "32", "-n", label])
        .arg(path)
        .output()
        .map_err(HarnessError::io(
            "running mkfs.vfat (apt-get install dosfstools)",
        ))?;
    if !out.status.success() {
        return Err(HarnessError::Setup(format!(
            "mkfs.vfat failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}
