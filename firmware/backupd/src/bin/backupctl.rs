//! backupctl: the command-line client of backupd.

use anyhow::Result;
use appconfig::BackupType;
use clap::{Parser, Subcommand};
use control::backupd::Location;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "Control the backup service: status, backup now, list and verify sets"
)]
struct Cli {
    /// backupd's control socket.
    #[arg(long, env = control::backupd::SOCKET_ENV, default_value = control::backupd::SOCKET, global = true)]
    socket: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// What backupd is doing, did last, and runs next.
    Status,
    /// Start a backup now: full (default), differential or copy.
    Backup {
        #[arg(default_value = "full")]
        kind: BackupType,
        /// Follow the backup to its end even when not on a terminal.
        #[arg(long)]
        wait: bool,
        /// Return as soon as it has started.
        #[arg(long, conflicts_with = "wait")]
        no_wait: bool,
    },
    /// Sets at the destination (or in the FTP restore folder).
    List {
        #[arg(long)]
        restore_folder: bool,
    },
    /// Check a set's volumes against its .md5 file.
    Verify {
        name: String,
        #[arg(long)]
        restore_folder: bool,
    },
    /// Test Connectivity of the configured destination.
    Test,
    /// Re-read the configuration.
    Reload,
    /// Send a test alert (e-mail, remote syslog) with the saved settings.
    TestAlert,
}

fn location(restore_folder: bool) -> Location {
    if restore_folder {
        Location::RestoreFolder
    } else {
        Location::Configured
    }
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("backupctl: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run() -> Result<bool> {
    let cli = Cli::parse();
    let s = &cli.socket;
    match cli.command {
        Command::Status => print!("{}", backupd::cli::status(s)?),
        Command::Backup {
            kind,
            wait,
            no_wait,
        } => return backupd::cli::backup(s, kind, wait, no_wait),
        Command::List { restore_folder } => {
            print!("{}", backupd::cli::list(s, location(restore_folder))?)
        }
        Command::Verify {
            name,
            restore_folder,
        } => {
            let (ok, text) = backupd::cli::verify(s, location(restore_folder), &name)?;
            print!("{text}");
            return Ok(ok);
        }
        Command::Test => {
            let (ok, text) = backupd::cli::test(s)?;
            print!("{text}");
            return Ok(ok);
        }
        Command::Reload => println!("{}", backupd::cli::reload(s)?),
        Command::TestAlert => {
            let (ok, text) = backupd::cli::test_alert(s)?;
            print!("{text}");
            return Ok(ok);
        }
    }
    Ok(true)
}
