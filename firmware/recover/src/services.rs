//! The appliance's services around a whole-system restore: stopped before
//! (every `/etc/init.d/S??<name>` that links to `lib/appliance/service`,
//! in reverse order), started after, with `appctl accounts` and `appctl
//! hostname` so the restored passwords and host name apply. The network
//! interface is restarted only when asked: as in Sendio's guide, the
//! restored address takes effect when the interface restarts.
//!
//! Commands run with a time limit and their output goes to a file, not a
//! pipe, so a daemon a script starts can never hold us up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one init script or appctl call may take (stopping a service
/// waits up to 10 s before SIGKILL).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Only the last line of a failed command's output is reported.
const MAX_OUTPUT: u64 = 64 << 10;

/// Where the init scripts and appctl are (overridable for host tests).
#[derive(Debug, Clone)]
pub struct Hooks {
    pub init_dir: PathBuf,
    pub appctl: PathBuf,
    /// Restart the network interface after the restore.
    pub restart_network: bool,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            init_dir: PathBuf::from("/etc/init.d"),
            appctl: PathBuf::from("appctl"),
            restart_network: false,
        }
    }
}

/// The service scripts, in start order.
pub fn service_scripts(init_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(init_dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    let b = name.as_bytes();
                    b.len() > 3
                        && b[0] == b'S'
                        && b[1].is_ascii_digit()
                        && b[2].is_ascii_digit()
                        && std::fs::read_link(p).is_ok_and(|t| t.ends_with("lib/appliance/service"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The network init script (`S??network`).
pub fn network_script(init_dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(init_dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() > 3 && n.starts_with('S') && &n[3..] == "network")
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Runs a command to its end (or kills it after the time limit); `Err`
/// says how it failed, with the last line of its output.
pub fn run(program: &Path, args: &[&str]) -> Result<(), String> {
    let what = format!("{} {}", program.display(), args.join(" "));
    match timedcmd::run(Command::new(program).args(args), SCRIPT_TIMEOUT, MAX_OUTPUT) {
        Ok(done) if done.status.success() => Ok(()),
        Ok(done) => Err(format!("{what}: {} {}", done.status, done.last_line())
            .trim_end()
            .to_string()),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// Stops every service, newest-started first. Failures are returned as
/// warnings: a service that does not stop is killed by its script.
pub fn stop_all(hooks: &Hooks) -> (Vec<String>, Vec<String>) {
    let mut stopped = Vec::new();
    let mut problems = Vec::new();
    for s in service_scripts(&hooks.init_dir).iter().rev() {
        match run(s, &["stop"]) {
            Ok(()) => stopped.push(script_name(s)),
            Err(e) => problems.push(e),
        }
    }
    (stopped, problems)
}

/// Starts every service in order; returns the problems.
pub fn start_all(hooks: &Hooks) -> (Vec<String>, Vec<String>) {
    let mut started = Vec::new();
    let mut problems = Vec::new();
    for s in service_scripts(&hooks.init_dir) {
        match run(&s, &["start"]) {
            Ok(()) => started.push(script_name(&s)),
            Err(e) => problems.push(e),
        }
    }
    (started, problems)
}

/// The service a script runs (`S60backupd` → `backupd`).
pub fn script_name(p: &Path) -> String {
    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    n.get(3..).unwrap_or(n).to_string()
}

/// After the configuration came back: the account database and the host
/// name from it, and the interface when asked.
pub fn apply_config(hooks: &Hooks) -> Vec<String> {
    let mut problems = Vec::new();
    for args in [["accounts"], ["hostname"]] {
        if let Err(e) = run(&hooks.appctl, &args) {
            problems.push(e);
        }
    }
    if hooks.restart_network {
        match network_script(&hooks.init_dir) {
            Some(s) => {
                if let Err(e) = run(&s, &["restart"]) {
                    problems.push(e);
                }
            }
            None => problems.push(format!(
                "no network init script in {}",
                hooks.init_dir.display()
            )),
        }
    }
    problems
}
