//! `recover [options] <directory>|<file>`: see `recover --help`.

use clap::Parser;
use recover::{Done, Reporter};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    applog::init(
        c"recover",
        applog::Options {
            echo_stderr: false,
            ..Default::default()
        },
    );
    let cli = recover::options::Cli::parse();
    let (req, progress, verbosity) = cli.into_request(std::io::stdout().is_terminal());
    // Ctrl-C or SIGTERM abandons a restore before its commit point; after
    // it the swap is finished (it is only renames).
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, req.stop.clone());
    }
    let mut report = Reporter::new(progress, verbosity);
    log::info!(
        "started: {:?} of {} (store {}, cfgdir {})",
        req.action,
        req.source,
        req.targets.store.display(),
        req.targets.cfgdir.display()
    );
    match recover::run(&req, &mut report) {
        Ok(done) => {
            report.finish();
            summarize(&done, &req, &report);
            ExitCode::SUCCESS
        }
        Err(e) => {
            report.finish();
            log::error!("{e}");
            eprintln!("recover: {}", humanfmt::printable(&e.to_string(), false));
            ExitCode::FAILURE
        }
    }
}

fn summarize(done: &Done, req: &recover::Request, report: &Reporter) {
    match done {
        Done::Listed(text) => print!("{}", humanfmt::printable(text, true)),
        Done::Selective(o) => {
            let line = format!(
                "Restored {} files and {} links ({}) into {}",
                o.placed.files,
                o.placed.links,
                humanfmt::bytes(o.placed.bytes),
                o.destinations
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            log::info!("{line}");
            report.info(line);
            for line in recover::report::headers_only_lines(&o.placed) {
                log::info!("{line}");
                report.info(line);
            }
            if o.destinations
                .iter()
                .any(|d| d.ends_with(recover::apply::APPLIANCE_CONFIG))
            {
                report.info(
                    "The restored appliance configuration applies at the next boot, or now with \
                     appctl accounts, appctl hostname and appctl network apply.",
                );
            }
            if o.applied.superseded > 0 {
                report.detail(format!(
                    "{} entries of the full backup were superseded by the differential",
                    o.applied.superseded
                ));
            }
        }
        Done::Whole(o) => {
            for w in &o.warnings {
                report.warn(w);
            }
            let line = format!(
                "Restored {} files, {} links and {} folders ({}); the restored data is in place",
                o.placed.files,
                o.placed.links,
                o.placed.dirs,
                humanfmt::bytes(o.placed.bytes)
            );
            log::info!("{line}");
            report.info(line);
            for line in recover::report::headers_only_lines(&o.placed) {
                log::info!("{line}");
                report.info(line);
            }
            for b in &o.kept_as_bak {
                report.info(format!("The data it replaced is kept as {}", b.display()));
            }
            if o.system && o.config_restored && !req.hooks.restart_network {
                report.info(
                    "The restored network address takes effect when the interface restarts \
                     (console: Network Configuration, Save; or appctl network apply).",
                );
            }
        }
        Done::Resumed(Some(set)) => {
            let line = format!("Finished the interrupted restore of {set}");
            log::warn!("{line}");
            report.info(line);
        }
        Done::Resumed(None) => {}
    }
}
