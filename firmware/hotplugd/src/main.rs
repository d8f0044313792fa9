use anyhow::Context;
use clap::Parser;
use hotplugd::{Paths, Settings, sysfs::Sysfs};
use std::path::PathBuf;

/// Mounts FAT32 USB drives at a stable path and tells the console and
/// backupd what is plugged in.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Log to standard error as well as syslog.
    #[arg(long, short)]
    foreground: bool,
    /// Control socket.
    #[arg(long, env = control::hotplug::SOCKET_ENV, default_value = control::hotplug::SOCKET)]
    socket: PathBuf,
    /// Where a FAT32 drive is mounted.
    #[arg(long, env = "HOTPLUGD_MOUNT_POINT", default_value = control::hotplug::MOUNT_POINT)]
    mount_point: PathBuf,
    /// The sysfs root.
    #[arg(long, env = "HOTPLUGD_SYSFS", default_value = "/sys")]
    sysfs: PathBuf,
    /// Where device nodes are.
    #[arg(long, env = "HOTPLUGD_DEV", default_value = "/dev")]
    dev: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    applog::init_service(c"hotplugd", args.foreground);
    let sysfs = Sysfs::new(args.sysfs);
    // The disk the appliance runs from (a USB stick, on some units) is
    // never taken for a backup drive.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let own_disks = sysfs.disks_under(&mountinfo, &["/", "/data"]);
    let settings = Settings {
        paths: Paths {
            sysfs,
            dev_dir: args.dev,
            mount_point: args.mount_point,
            own_disks,
        },
        socket: args.socket,
    };
    hotplugd::run(settings).context("hotplugd")
}
