//! `storegen`: writes a realistic appliance data tree for tests and benchmarks.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "Generate or change a realistic appliance data tree (deterministic from a seed)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new tree under ROOT.
    Generate {
        root: PathBuf,
        /// Size of the message store: 64M, 1G, ...
        #[arg(long, default_value = "64M", value_parser = storegen::parse_size)]
        size: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// "Now" in seconds since the epoch (default: the current time).
        #[arg(long)]
        now: Option<i64>,
        /// Spread message dates over this many days.
        #[arg(long, default_value_t = 14)]
        days: u32,
        #[arg(long, default_value = "mail")]
        hostname: String,
    },
    /// Change, add and delete about PERCENT % of the messages of a tree.
    Mutate {
        root: PathBuf,
        #[arg(long, default_value_t = 1.0)]
        percent: f64,
        #[arg(long, default_value_t = 2)]
        seed: u64,
        #[arg(long)]
        now: Option<i64>,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Generate {
            root,
            size,
            seed,
            now: at,
            days,
            hostname,
        } => {
            let stats = storegen::generate(
                &root,
                &storegen::Options {
                    size,
                    seed,
                    now: at.unwrap_or_else(now),
                    days,
                    hostname,
                },
            )
            .context("generating the tree")?;
            println!(
                "{} files ({} messages) in {} folders, {} bytes",
                stats.files, stats.messages, stats.dirs, stats.bytes
            );
        }
        Command::Mutate {
            root,
            percent,
            seed,
            now: at,
        } => {
            let s = storegen::mutate(
                &root,
                &storegen::MutateOptions {
                    percent,
                    seed,
                    now: at.unwrap_or_else(now),
                },
            )
            .context("changing the tree")?;
            println!(
                "deleted {}, renamed {}, rewritten {}, added {} ({} bytes), folders removed {}",
                s.deleted, s.renamed, s.rewritten, s.added, s.added_bytes, s.folders_removed
            );
        }
    }
    Ok(())
}
