//! timesyncd: keeps the clock right from the NTP servers in the
//! appliance's configuration (`system.ntp_server`).

use anyhow::{Context, Result};
use appconfig::Config;
use clap::Parser;
use smbmount::Resolver;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;
use svcsignals::Request;
use timesync::{Adjustment, Sample};

/// Polls while the clock has never been set, and after failures (doubling).
const FIRST_POLL: Duration = Duration::from_secs(64);
/// Polls once the clock is right.
const POLL: Duration = Duration::from_secs(1024);
/// How long one server is waited for.
const TIMEOUT: Duration = Duration::from_secs(3);
/// A step back this large is logged as a warning: backups made while the
/// clock was ahead are dated in the future from now on.
const BIG_STEP_BACK: f64 = 60.0;

#[derive(Parser)]
#[command(
    version,
    about = "Sets the clock from the NTP servers in the configuration (system.ntp_server) and keeps it right",
    long_about = "Sets the clock from the NTP servers in the configuration (system.ntp_server: \
addresses or names, optionally with :port, separated by spaces or commas; names are asked of \
network.dns). A clock more than 0.5 s off is stepped and the hardware clock written; a smaller \
offset is slewed. Polls every 1024 s (64 s until the first answer). Started as root, it runs \
as the user timesync with only CAP_SYS_TIME once the configuration is read, so SIGHUP cannot \
re-read it: restart it (the init script's reload does). SIGTERM stops."
)]
struct Cli {
    /// Configuration file (default: $APPLIANCE_CONFIG or /data/config/appliance.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log to standard error as well as syslog.
    #[arg(long, short)]
    foreground: bool,
    /// Ask once, correct the clock, and exit (status 1 when no server answered).
    #[arg(long)]
    once: bool,
    /// Only print the offset of each server; change nothing.
    #[arg(long)]
    query: bool,
}

fn main() {
    let cli = Cli::parse();
    applog::init_service(c"timesyncd", cli.foreground || cli.once || cli.query);
    if let Err(e) = run(cli) {
        log::error!("{e:#}");
        std::process::exit(1);
    }
}

/// The first answer from the configured servers, in their order.
fn ask(config: &Config) -> Result<Option<Sample>> {
    let servers = config
        .system
        .ntp_servers()
        .map_err(|e| anyhow::anyhow!("system.ntp_server: {e}"))?;
    let resolver = Resolver::new(&config.network.dns);
    let mut last_problem = None;
    for s in &servers {
        let addrs = match timesync::addresses(s, &resolver) {
            Ok(a) => a,
            Err(e) => {
                last_problem = Some(e);
                continue;
            }
        };
        for addr in addrs {
            match timesync::query(addr, TIMEOUT) {
                Ok(sample) => return Ok(Some(sample)),
                Err(e) => last_problem = Some(e.to_string()),
            }
        }
    }
    if let Some(p) = last_problem {
        log::warn!("no NTP server answered ({p})");
    }
    Ok(None)
}

fn correct(sample: &Sample) {
    let a = timesync::decide(sample.offset);
    if let Err(e) = timesync::adjust(a) {
        log::error!("cannot correct the clock by {:+.3} s: {e}", sample.offset);
        return;
    }
    match a {
        Adjustment::Step(off) => {
            if off <= -BIG_STEP_BACK {
                log::warn!(
                    "clock put back by {:.0} s from {} (stratum {}): it was ahead, and backups \
                     made meanwhile are dated in the future",
                    -off,
                    sample.server,
                    sample.stratum
                );
            } else {
                log::info!(
                    "clock stepped by {off:+.3} s from {} (stratum {})",
                    sample.server,
                    sample.stratum
                );
            }
            // The hardware clock keeps the corrected time across a power cut.
            match timesync::rtc::device() {
                Some(dev) => {
                    if let Err(e) = timesync::rtc::write(&dev) {
                        log::warn!("cannot write the hardware clock: {e}");
                    }
                }
                None => log::warn!("cannot write the hardware clock: no /dev/rtc0"),
            }
        }
        Adjustment::Slew(off) => log::debug!("slewing {off:+.3} s from {}", sample.server),
    }
}

fn run(cli: Cli) -> Result<()> {
    let path = cli.config.unwrap_or_else(appconfig::config_path);
    let load = || Config::load(&path).with_context(|| format!("reading {}", path.display()));
    if cli.query {
        let config = load()?;
        let resolver = Resolver::new(&config.network.dns);
        let servers = config.system.ntp_servers().map_err(anyhow::Error::msg)?;
        for s in &servers {
            for addr in timesync::addresses(s, &resolver).map_err(anyhow::Error::msg)? {
                match timesync::query(addr, TIMEOUT) {
                    Ok(x) => println!(
                        "{addr}: offset {:+.3} s, delay {:.3} s, stratum {}",
                        x.offset, x.delay, x.stratum
                    ),
                    Err(e) => println!("{e}"),
                }
            }
        }
        return Ok(());
    }
    if cli.once {
        let config = load()?;
        return match ask(&config)? {
            Some(s) => {
                correct(&s);
                Ok(())
            }
            None => Err(anyhow::anyhow!(
                "the clock was not set: no NTP server answered"
            )),
        };
    }
    let mut config = load()?;
    // Root's part ends here: the RTC opened to the service's group, then
    // only CAP_SYS_TIME as `timesync` (before any thread starts).
    if nix::unistd::geteuid().is_root()
        && let Some(dev) = timesync::rtc::device()
        && let Err(e) = timesync::rtc::share_with(&dev, timesync::TIMESYNC_GID)
    {
        log::warn!("cannot let timesyncd's group open {}: {e}", dev.display());
    }
    privs::enter(&timesync::PRIVILEGES).context("giving up privileges")?;
    let (tx, rx) = mpsc::channel();
    svcsignals::forward(tx).context("installing signal handlers")?;
    let mut wait = FIRST_POLL;
    loop {
        if config.system.ntp_server.trim().is_empty() {
            log::info!("no NTP server configured: the clock runs on its own");
            wait = Duration::MAX;
        } else {
            wait = match ask(&config) {
                Ok(Some(s)) => {
                    correct(&s);
                    POLL
                }
                Ok(None) => (wait.min(POLL / 2) * 2).max(FIRST_POLL),
                Err(e) => {
                    log::error!("{e:#}");
                    Duration::MAX
                }
            };
        }
        let ev = match rx.recv_timeout(wait.min(Duration::from_secs(86_400 * 365))) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => Request::Stop,
        };
        match ev {
            Request::Stop => return Ok(()),
            Request::Reload => match load() {
                Ok(c) => {
                    config = c;
                    wait = FIRST_POLL;
                }
                // As `timesync` the configuration cannot be read again: the
                // init script's reload restarts timesyncd instead.
                Err(e) => log::error!(
                    "keeping the last good configuration (restart timesyncd to read it): {e:#}"
                ),
            },
        }
    }
}
