//! usbctl: asks hotplugd what is plugged in, or ejects the mounted drive.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "USB drives: status, and eject (flush and unmount so the drive can be pulled)"
)]
struct Cli {
    /// hotplugd's control socket.
    #[arg(long, env = control::hotplug::SOCKET_ENV, default_value = control::hotplug::SOCKET, global = true)]
    socket: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The drives plugged in: file system, label, size, free space, and why
    /// one is not mounted. Exits 1 when no drive is mounted.
    Status,
    /// Flush and unmount the mounted drive.
    Eject,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Status => hotplugd::ctl::status(&cli.socket).map(|(s, text)| {
            print!("{text}");
            s.drives.iter().any(|d| d.mounted)
        }),
        Command::Eject => hotplugd::ctl::eject(&cli.socket).map(|m| {
            println!("{m}");
            true
        }),
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("usbctl: {e:#}");
            std::process::exit(2);
        }
    }
}
