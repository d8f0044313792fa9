//! One backup run: open the destination, clean leftovers, write and verify
//! the set, prune, and say how it went.

use crate::destination::destination_for;
use crate::kind::{backup_type, set_kind};
use crate::paths::Paths;
use appconfig::{BackupType, Config};
use backupset::{Exclude, Progress, Sealer, SecretFiles, WriteOptions, retention};
use control::backupd::RunResult;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What a run needs besides the configuration.
pub struct RunRequest {
    pub kind: BackupType,
    pub started: i64,
    pub cancel: Arc<AtomicBool>,
    pub progress: Arc<Progress>,
    /// Skip the read-back check (benchmarks only).
    pub no_verify: bool,
}

/// Folders at the top of the data partition never backed up: the sets
/// themselves (the local destination, the FTP `restore` folder) and the
/// services' state. The moved places in `paths` are left out too.
pub const LEFT_OUT: [&str; 3] = ["backup", "restore", "state"];

/// Folders of the data partition whose `*.key` files are TLS private keys.
pub const KEY_FOLDERS: [&str; 2] = ["sslcert", "sslca"];

/// What a set's secret files are encrypted with: age, to the configured
/// X25519 recipient.
pub struct AgeSealer {
    recipient: age::x25519::Recipient,
    text: String,
}

impl std::fmt::Debug for AgeSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgeSealer({})", self.text)
    }
}

impl AgeSealer {
    pub fn new(recipient: &str) -> Result<AgeSealer, String> {
        let r = recipient
            .parse::<age::x25519::Recipient>()
            .map_err(|e| format!("backup.secrets_recipient: {e}"))?;
        Ok(AgeSealer {
            recipient: r,
            text: recipient.to_string(),
        })
    }
}

impl Sealer for AgeSealer {
    fn suffix(&self) -> &str {
        ".age"
    }
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        age::encrypt(&self.recipient, plain).map_err(|e| e.to_string())
    }
}

/// The unit's secret files: the secrets file beside the configuration
/// (with its undo record and temporary files) and the TLS private keys;
/// `also` adds more (an `appliance.toml` whose secrets could not be moved
/// out). Sealed with age when a recipient is set, else left out.
pub fn secret_files(
    config: &Config,
    paths: &Paths,
    also: &[std::path::PathBuf],
) -> Result<SecretFiles, String> {
    let mut patterns = appconfig::secret_file_patterns(&paths.config);
    patterns.extend(
        KEY_FOLDERS
            .iter()
            .map(|d| paths.data_root.join(d).join("*.key")),
    );
    patterns.extend(also.iter().cloned());
    let sealer = match config.backup.secrets_recipient.as_str() {
        "" => None,
        r => Some(std::sync::Arc::new(AgeSealer::new(r)?) as std::sync::Arc<dyn Sealer>),
    };
    Ok(SecretFiles { patterns, sealer })
}

/// The recipient a set to this destination is encrypted to: the USB drive
/// and the SMB share with `backup.encrypt_recipient` set; the local folder
/// never (its sets stay on the unit, pulled over FTPS).
pub fn encrypt_to(config: &Config) -> Result<Option<age::x25519::Recipient>, String> {
    let r = config.backup.encrypt_recipient.trim();
    if r.is_empty() || config.backup.destination == appconfig::DestinationKind::Local {
        return Ok(None);
    }
    backupset::crypt::parse_recipient(r)
        .map(Some)
        .map_err(|e| format!("backup.encrypt_recipient: {e}"))
}

/// The write options of a run (also used to name the set before it starts).
pub fn write_options(
    config: &Config,
    paths: &Paths,
    req: &RunRequest,
    dest_dir: std::path::PathBuf,
    volume_size: Option<u64>,
    secrets: SecretFiles,
) -> WriteOptions {
    WriteOptions {
        data_root: paths.data_root.clone(),
        exclude: LEFT_OUT
            .iter()
            .map(|d| paths.data_root.join(d))
            .chain([
                paths.backup_dir.clone(),
                paths.restore_dir.clone(),
                paths.state_dir.clone(),
            ])
            .map(Exclude::from)
            .chain([Exclude::Secrets(secrets)])
            .collect(),
        dest_dir,
        state_dir: paths.state_dir.clone(),
        hostname: config.system.hostname.to_string(),
        unit: config.system.unit_id.to_string(),
        kind: set_kind(req.kind),
        started: req.started,
        body_window_hours: config.backup.body_window_hours,
        volume_size,
        version: env!("CARGO_PKG_VERSION").to_string(),
        verify: !req.no_verify,
        cancel: req.cancel.clone(),
        encrypt_to: None,
        compress: (config.backup.compression == appconfig::Compression::Zstd)
            .then_some(config.backup.compression_level),
    }
}

/// Runs one backup to the configured destination.
/// `on_named` is called once the set's name is known (or the run failed before).
pub fn run(
    config: &Config,
    paths: &Paths,
    req: &RunRequest,
    on_named: &mut dyn FnMut(&str),
) -> RunResult {
    let mut result = RunResult {
        set: String::new(),
        kind: req.kind,
        destination: config.backup.destination,
        started: backupset::timefmt::utc_text(req.started),
        finished: String::new(),
        ok: false,
        message: String::new(),
        bytes: 0,
        stream_bytes: 0,
        files: 0,
        skipped: 0,
        warnings: Vec::new(),
    };
    let outcome = write(config, paths, req, &mut result, on_named);
    on_named(&result.set);
    result.ok = outcome.is_ok();
    result.message = outcome.unwrap_or_else(|e| e);
    result.finished = backupset::timefmt::utc_text(now_secs());
    if result.ok {
        log::info!("backup {}: {}", result.set, result.message);
    } else {
        log::error!("backup {} failed: {}", result.set, result.message);
    }
    result
}

/// Opens the destination, writes the set and prunes: the run's message, or
/// why it failed. `result` gets the set's name and figures as they are known.
fn write(
    config: &Config,
    paths: &Paths,
    req: &RunRequest,
    result: &mut RunResult,
    on_named: &mut dyn FnMut(&str),
) -> Result<String, String> {
    let secrets = secrets_of_run(config, paths)?;
    let encrypt = encrypt_to(config)?;
    let dest = destination_for(&config.backup, &config.network.dns, paths)?;
    let session = dest.open().map_err(|e| e.to_string())?;
    let dir = session.dir().to_path_buf();
    // The configured volume size below the file system's limit, as the
    // destination worked it out.
    let volume_size = session.max_file_size();
    let owner = owner_of(config);
    clean_leftovers(&dir, &owner);
    let mut opts = write_options(config, paths, req, dir.clone(), volume_size, secrets);
    opts.encrypt_to = encrypt;
    let (kind, _) = backupset::effective_kind(&opts);
    result.kind = backup_type(kind);
    result.set = backupset::set_name(&opts, kind).tar_name();
    on_named(&result.set);
    let (written, cut) = write_watched(session.as_ref(), &opts, &req.progress);
    let outcome = match written {
        Ok(o) => o,
        Err(backupset::SetError::Cancelled) => {
            return Err("cancelled; no set was published".into());
        }
        Err(e) => return Err(write_failure(&e, cut, session.as_ref())),
    };
    result.set = outcome.name.tar_name();
    result.kind = backup_type(outcome.name.kind);
    result.bytes = outcome.size();
    // The tar stream's length: what the next run's progress is measured in.
    result.stream_bytes = req
        .progress
        .bytes
        .load(std::sync::atomic::Ordering::Relaxed);
    result.files = outcome.summary.count_files;
    result.skipped = outcome.summary.skipped_files;
    let mut msg = describe(config, req, &outcome);
    prune(
        config,
        &owner,
        &dir,
        &outcome,
        &mut msg,
        &mut result.warnings,
    );
    drop(session);
    Ok(msg)
}

/// Why writing the set failed, in words for the administrator.
/// "Input/output error" or "Host is down" does not say what happened; the
/// stall watch's reason for cutting the destination off does, or else the
/// session. The watch's reason comes first: asked after the cut, a server
/// that is back by then would leave only the raw error.
fn write_failure(
    e: &backupset::SetError,
    cut: Option<String>,
    session: &dyn destinations::Session,
) -> String {
    match cut.or_else(|| session.gone()) {
        Some(why) => {
            log::warn!("writing the set failed: {e}");
            format!("{why}; no set was published")
        }
        None => e.to_string(),
    }
}

/// Writes the set while the stall watch (see [`crate::stall`]) looks on,
/// where the destination can leave the writer waiting; also returns why
/// the watch cut the destination off, if it did.
fn write_watched(
    session: &dyn destinations::Session,
    opts: &WriteOptions,
    progress: &backupset::Progress,
) -> (
    Result<backupset::Outcome, backupset::SetError>,
    Option<String>,
) {
    let Some(watch) = session.watch() else {
        return (backupset::write_set(opts, progress), None);
    };
    std::thread::scope(|s| {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let watch = watch.as_ref();
        let watcher =
            s.spawn(move || crate::stall::watch(watch, progress, &stopped, &Default::default()));
        let written = backupset::write_set(opts, progress);
        drop(stop);
        // A watch thread that panicked cut nothing off that we know of.
        let cut = watcher.join().ok().flatten();
        (written, cut)
    })
}

/// The secret files of this run. Secrets an older appliance.toml still
/// holds move to the secrets file first; if they cannot, the file itself
/// is treated as a secret.
fn secrets_of_run(config: &Config, paths: &Paths) -> Result<SecretFiles, String> {
    let mut also_secret = Vec::new();
    match Config::move_secrets_out(&paths.config) {
        Ok(true) => log::info!(
            "moved the passwords out of {} into {}",
            paths.config.display(),
            appconfig::secrets_path(&paths.config).display()
        ),
        Ok(false) => {}
        Err(e) => {
            log::warn!(
                "cannot move the passwords out of the configuration ({e}): it is treated as a secret file"
            );
            also_secret.push(paths.config.clone());
        }
    }
    secret_files(config, paths, &also_secret)
}

/// Removes what an interrupted run of this unit left in `dir`.
fn clean_leftovers(dir: &std::path::Path, owner: &retention::Owner) {
    match retention::clean_leftovers(dir, owner, None) {
        Ok(removed) if !removed.is_empty() => log::info!(
            "removed leftovers of an interrupted backup: {}",
            removed.join(", ")
        ),
        Ok(_) => {}
        Err(e) => log::warn!("cannot clean leftovers: {e}"),
    }
}

/// The message of a published set: what it holds and what was special.
fn describe(config: &Config, req: &RunRequest, outcome: &backupset::Outcome) -> String {
    let mut msg = format!(
        "verified, {} files, {}",
        outcome.summary.count_files,
        humanfmt::bytes(outcome.size())
    );
    if req.no_verify {
        msg = msg.replacen("verified", "written (not read back)", 1);
    }
    if outcome.name.compressed {
        msg.push_str(", compressed");
    }
    if outcome.name.encrypted {
        msg.push_str(", encrypted to the backup key");
    }
    if outcome.volumes.len() > 1 {
        msg.push_str(&format!(", {} volumes", outcome.volumes.len()));
    }
    if outcome.summary.headers_only_files > 0 {
        msg.push_str(&format!(
            ", {} messages headers-only",
            outcome.summary.headers_only_files
        ));
    }
    if outcome.problem_count > 0 {
        msg.push_str(&format!(
            ", {} problems (see the log)",
            outcome.problem_count
        ));
    }
    if let Some(why) = &outcome.fell_back {
        msg.push_str(&format!("; full instead of differential: {why}"));
    }
    if outcome.secrets_sealed > 0 {
        msg.push_str(&format!(
            ", {} secret files encrypted to the secrets key",
            outcome.secrets_sealed
        ));
    }
    if !outcome.secrets_left_out.is_empty() {
        log::info!(
            "secret files left out of the set: {}",
            outcome.secrets_left_out.join(", ")
        );
        msg.push_str(&if config.backup.secrets_recipient.is_empty() {
            format!(
                "; {} secret files left out: set a secrets key to keep them",
                outcome.secrets_left_out.len()
            )
        } else {
            format!(
                "; {} secret files could not be encrypted and were left out (see the log)",
                outcome.secrets_left_out.len()
            )
        });
    }
    msg
}

/// Prunes old sets to the configured restore points; what it says goes
/// into `msg` (problems) and `warnings` (a clock put back).
fn prune(
    config: &Config,
    owner: &retention::Owner,
    dir: &std::path::Path,
    outcome: &backupset::Outcome,
    msg: &mut String,
    warnings: &mut Vec<String>,
) {
    let host = &config.system.hostname;
    let keep = retention::Keep {
        restore_points: config.backup.retention as usize,
        copies: config.backup.copies_kept as usize,
    };
    if config.system.unit_id.is_empty() && !owner.own_folder {
        log::warn!(
            "this unit has no identity yet: old sets on the shared destination are not pruned"
        );
        msg.push_str("; old sets not pruned (this unit has no identity yet)");
    } else {
        match retention::prune(dir, owner, keep, &outcome.name, now_secs()) {
            Ok(p) => {
                if !p.removed.is_empty() {
                    log::info!("retention removed {}", p.removed.join(", "));
                }
                if !p.future.is_empty() {
                    let text = format!(
                        "the clock is behind {} set(s) of this unit ({}): it was ahead before, \
                         or has been put back; check the time and the NTP server. Those sets are \
                         kept and not counted as restore points",
                        p.future.len(),
                        p.future.join(", ")
                    );
                    log::warn!("{text}");
                    warnings.push(text);
                }
                if !p.unmarked.is_empty() {
                    log::info!(
                        "left alone (named {host} but written before units had an identity; \
                         delete them by hand when no longer needed): {}",
                        p.unmarked.join(", ")
                    );
                }
            }
            Err(e) => {
                log::warn!("retention failed: {e}");
                msg.push_str(&format!("; old sets not pruned: {e}"));
            }
        }
    }
}

/// Whose sets this run may prune: the local folder is the unit's own disk;
/// on a share or a drive only sets that carry its identity are its own.
pub fn owner_of(config: &Config) -> retention::Owner {
    retention::Owner {
        unit: config.system.unit_id.to_string(),
        host: config.system.hostname.to_string(),
        own_folder: config.backup.destination == appconfig::DestinationKind::Local,
    }
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A session whose server answers (`gone` = None) or not.
    struct Answering(Option<&'static str>);

    impl destinations::Session for Answering {
        fn dir(&self) -> &Path {
            Path::new("/nonexistent")
        }
        fn max_file_size(&self) -> Option<u64> {
            None
        }
        fn filesystem(&self) -> String {
            "cifs".into()
        }
        fn gone(&self) -> Option<String> {
            self.0.map(str::to_string)
        }
    }

    fn io_error() -> backupset::SetError {
        backupset::SetError::Io {
            path: "/mnt/share/.set.tar.part".into(),
            source: std::io::Error::from_raw_os_error(5),
        }
    }

    #[test]
    fn a_cut_says_why_even_when_the_server_is_back() {
        let words = write_failure(
            &io_error(),
            Some("the SMB server 10.0.2.2 went away during the backup".into()),
            &Answering(None),
        );
        assert_eq!(
            words,
            "the SMB server 10.0.2.2 went away during the backup; no set was published"
        );
    }

    #[test]
    fn without_a_cut_the_session_is_asked() {
        let gone = write_failure(
            &io_error(),
            None,
            &Answering(Some("the USB drive was pulled")),
        );
        assert_eq!(gone, "the USB drive was pulled; no set was published");
        let raw = write_failure(&io_error(), None, &Answering(None));
        assert_eq!(raw, io_error().to_string());
        assert!(raw.contains("Input/output error"), "{raw}");
    }
}
