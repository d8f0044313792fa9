//! `appctl`: what the init scripts ask of the configuration.

use anyhow::{Context, Result};
use appconfig::Config;
use appctl::{accounts, grow, layout, network};
use clap::{Parser, Subcommand};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Applies the appliance's configuration (/data/config/appliance.toml) to
/// the running system. Run by the init scripts and the console.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The configuration file (default: $APPLIANCE_CONFIG or /data/config/appliance.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the /data folders and, on first boot, the default configuration.
    DataLayout {
        #[arg(long, default_value = "/data")]
        data: PathBuf,
    },
    /// Grow the data partition and its file system to the end of a larger disk.
    GrowData {
        /// Where the data partition is mounted.
        #[arg(long, default_value = "/data")]
        data: PathBuf,
    },
    /// Write the shadow file from the image's base entries and the console password.
    Accounts {
        #[arg(long, default_value = "/etc/shadow.base")]
        base: PathBuf,
        #[arg(long, default_value = "/run/shadow")]
        shadow: PathBuf,
        /// Where the last good shadow file is kept, for a boot whose
        /// configuration cannot be read.
        #[arg(long, default_value = "/data/state/appctl/shadow")]
        last_good: PathBuf,
    },
    /// Set the host name and the local time zone from the configuration.
    Hostname,
    /// Write the local time zone (/run/localtime, which /etc/localtime
    /// points at) from the configuration: early in boot, before syslog.
    Timezone,
    /// Bring the network interface up, take it down, or re-apply the settings.
    Network {
        #[arg(value_parser = ["up", "down", "apply"])]
        action: String,
    },
    /// Write /run/resolv.conf: configured DNS servers, else the DHCP lease's.
    Resolv {
        #[arg(long, default_value = "")]
        dhcp_dns: String,
        #[arg(long, default_value = "")]
        dhcp_domain: String,
    },
    /// Check the configuration file and print it as the services read it.
    Check,
}

fn main() {
    applog::init(
        c"appctl",
        applog::Options {
            echo_stderr: true,
            ..Default::default()
        },
    );
    if let Err(e) = run(Cli::parse()) {
        log::error!("{e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let config_path = cli.config.unwrap_or_else(appconfig::config_path);
    let load = || Config::load(&config_path).map_err(anyhow::Error::from);
    match cli.command {
        Cmd::DataLayout { data } => {
            // The interface of the factory settings names a new unit.
            let interface = Config::default().network.interface;
            let mac = layout::mac_address(std::path::Path::new("/sys/class/net"), &interface);
            let r = layout::ensure_layout(&data, mac)
                .with_context(|| format!("creating the layout of {}", data.display()))?;
            if r.wrote_default_config {
                log::info!("first boot: wrote the default configuration");
            }
            if let Some(id) = &r.new_identity {
                log::info!("this unit's identity is {id}");
            }
            if !r.created.is_empty() {
                log::info!("created in {}: {}", data.display(), r.created.join(", "));
            }
        }
        Cmd::GrowData { data } => {
            let places = grow::Places {
                data,
                ..grow::Places::default()
            };
            let r = grow::grow_data(&places)
                .with_context(|| format!("growing {}", places.data.display()))?;
            if r.changed() {
                log::info!(
                    "grew {} on {} from {} to {} MiB",
                    r.partition.display(),
                    r.disk.display(),
                    r.fs_before >> 20,
                    r.fs_after >> 20
                );
            }
        }
        Cmd::Accounts {
            base,
            shadow,
            last_good,
        } => match load() {
            Ok(config) => accounts::write_shadow(&config, &base, &shadow, &last_good)
                .with_context(|| format!("writing {}", shadow.display()))?,
            Err(e) => {
                let how = accounts::write_fallback_shadow(&base, &shadow, &last_good)
                    .with_context(|| format!("writing {}", shadow.display()))?;
                log::error!("{e:#}: the logins use {how}");
                return Err(e.context("the configuration cannot be read"));
            }
        },
        Cmd::Hostname => {
            let c = load()?;
            nix::unistd::sethostname(c.system.hostname.as_str())
                .with_context(|| format!("setting the host name to {}", c.system.hostname))?;
            write_localtime(&c)?;
        }
        Cmd::Timezone => write_localtime(&load()?)?,
        Cmd::Network { action } => {
            let c = load()?;
            let net = &c.network;
            if action == "down" || action == "apply" {
                stop_dhcp();
                // Taking a down interface down again is not an error worth stopping for.
                let _ = network::run(&network::down_commands(net));
            }
            if action == "up" || action == "apply" {
                write_resolv(&c.network.dns, &[], "")?;
                network::run(&network::up_commands(net, c.system.hostname.as_str()))
                    .map_err(anyhow::Error::msg)?;
                log::info!("network {} is up ({:?})", net.interface, net.mode);
            }
        }
        Cmd::Resolv {
            dhcp_dns,
            dhcp_domain,
        } => {
            let dhcp: Vec<Ipv4Addr> = dhcp_dns
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            write_resolv(&load()?.network.dns, &dhcp, &dhcp_domain)?;
        }
        Cmd::Check => {
            print!("{}", load()?.to_toml());
        }
    }
    Ok(())
}

fn write_resolv(configured: &[Ipv4Addr], dhcp: &[Ipv4Addr], domain: &str) -> Result<()> {
    let text = network::resolv_conf(configured, dhcp, Some(domain));
    atomicfile::write_atomically(
        std::path::Path::new("/run/resolv.conf"),
        text.as_bytes(),
        0o644,
    )
    .context("writing /run/resolv.conf")
}

fn stop_dhcp() {
    if let Ok(pid) = std::fs::read_to_string(network::UDHCPC_PID)
        && let Ok(pid) = pid.trim().parse::<i32>()
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = std::fs::remove_file(network::UDHCPC_PID);
    }
}

/// /run/localtime: the configured zone as a TZif file, so that the C
/// library (syslog's time stamps, `date`) and every service agree.
fn write_localtime(c: &Config) -> Result<()> {
    let tzif =
        appconfig::tzif(&c.system.timezone).map_err(|e| anyhow::anyhow!("system.timezone: {e}"))?;
    atomicfile::write_atomically(std::path::Path::new(LOCALTIME), &tzif, 0o644)
        .with_context(|| format!("writing {LOCALTIME}"))
}

/// Where /etc/localtime points (the root file system is read-only).
const LOCALTIME: &str = "/run/localtime";
