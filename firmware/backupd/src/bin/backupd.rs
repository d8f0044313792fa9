//! backupd: the nightly archive service.

use anyhow::{Result, anyhow};
use appconfig::BackupType;
use backupd::Paths;
use backupd::runner::{RunRequest, now_secs};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Parser)]
#[command(
    version,
    about = "The appliance's backup service: schedule, backup sets, control socket"
)]
struct Cli {
    /// Configuration file (default: $APPLIANCE_CONFIG or /data/config/appliance.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data partition to back up.
    #[arg(long, default_value = "/data")]
    data: PathBuf,
    /// The local destination folder (default: DATA/backup).
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// The FTP restore folder (default: DATA/restore).
    #[arg(long)]
    restore_dir: Option<PathBuf>,
    /// backupd's state folder (default: DATA/state/backupd).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    #[arg(long, default_value = control::backupd::SOCKET)]
    socket: PathBuf,
    /// Log to standard error as well as syslog.
    #[arg(long, short)]
    foreground: bool,
    /// Run one backup (full, differential or copy) now and exit; no socket.
    #[arg(long, value_name = "TYPE")]
    once: Option<BackupType>,
    /// With --once: skip reading the set back (benchmarks only).
    #[arg(long, requires = "once")]
    no_verify: bool,
}

fn main() {
    let cli = Cli::parse();
    applog::init_service(c"backupd", cli.foreground || cli.once.is_some());
    if let Err(e) = run(cli) {
        log::error!("{e:#}");
        eprintln!("backupd: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut paths = Paths::under(cli.data.clone());
    paths.config = cli.config.unwrap_or_else(appconfig::config_path);
    paths.socket = cli.socket;
    if let Some(p) = cli.backup_dir {
        paths.backup_dir = p;
    }
    if let Some(p) = cli.restore_dir {
        paths.restore_dir = p;
    }
    if let Some(p) = cli.state_dir {
        paths.state_dir = p;
    }
    let Some(kind) = cli.once else {
        return backupd::daemon::run(paths);
    };
    let loaded = backupd::config::load(&paths.config).map_err(|e| anyhow!("{e}"))?;
    let cancel = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&cancel))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&cancel))?;
    let req = RunRequest {
        kind,
        started: now_secs(),
        cancel,
        progress: Arc::new(backupset::Progress::default()),
        no_verify: cli.no_verify,
    };
    let result = backupd::runner::run(&loaded.config, &paths, &req, &mut |_| {});
    println!("{}", backupd::cli::format_result(&result));
    if result.ok {
        Ok(())
    } else {
        Err(anyhow!("{}", result.message))
    }
}
