//! The whole-system restore: stop the services, stream the sets (MD5
//! checked as they are read) into a staging area on the same file system,
//! check the staged configuration, sync, commit the journal, swap each
//! top-level folder in with renames, clean up, apply the configuration and
//! start the services again. Until the journal is written the old data is
//! untouched; after it, the swap is finished even across a power cut
//! (`recover --resume` at boot).
//!
//! A message the set holds with its headers only whose file is still in
//! the live data is not staged from the set: the live file is hard-linked
//! into the staging area (copied where that fails), so the swap keeps its
//! body. Links add nothing to sync: the file's data is already on that
//! file system, which the staging sync covers anyway.

use crate::apply::{self, Applied};
use crate::bak::{self, bak_path};
use crate::chain::Chain;
use crate::error::RecoverError;
use crate::journal::{Journal, Unit};
use crate::place::{Mode, PlaceStats, Placement, Placer};
use crate::report::Reporter;
use crate::services::{self, Hooks};
use crate::targets::Targets;
use nix::fcntl::{Flock, FlockArg};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Top-level folders of the data partition a whole restore leaves alone:
/// sets and the FTP folders, services' state (the staging area lives
/// there), the running appliance's log, and the file system's own.
pub const KEPT_TOP: [&str; 6] = [
    "backup",
    "restore",
    "state",
    "log",
    "lost+found",
    ".recover",
];

/// Options of a whole restore.
#[derive(Debug, Clone)]
pub struct WholeOptions {
    pub targets: Targets,
    /// Keep the replaced folders as `<name>.BAK`.
    pub keep_bak: bool,
    /// Keep this unit's identity (`system.unit_id`) instead of taking the
    /// restored configuration's: for a second unit made from another's
    /// set. Without it a unit restored onto replacement hardware takes over
    /// the old unit's identity, and with it the old unit's sets.
    pub keep_identity: bool,
    /// An age identity file that opens the set's encrypted secrets
    /// (`--secrets-identity`); without one the unit keeps its own.
    pub secrets_identity: Option<PathBuf>,
    /// Stop and start the appliance's services (a restore onto the
    /// running appliance); `None` for a restore into other folders.
    pub services: Option<Hooks>,
    pub stop: Arc<AtomicBool>,
}

/// What a whole restore did.
#[derive(Debug, Clone, Default)]
pub struct WholeOutcome {
    pub placed: PlaceStats,
    pub applied: Applied,
    pub replaced: Vec<PathBuf>,
    pub kept_as_bak: Vec<PathBuf>,
    pub config_restored: bool,
    /// Where the secrets came from (the unit's own, or the set's).
    pub secrets: String,
    /// The unit identity the restored configuration carries now (empty
    /// without a restored configuration).
    pub unit_id: String,
    /// The running appliance's services were stopped and started.
    pub system: bool,
    /// Things that went wrong after the data was in place (services...).
    pub warnings: Vec<String>,
}

/// `<cfgdir>/state/recover`: the default staging area, journal and lock.
pub fn recover_dir(cfgdir: &Path) -> PathBuf {
    cfgdir.join("state/recover")
}

fn journal_path(cfgdir: &Path) -> PathBuf {
    recover_dir(cfgdir).join("journal")
}

fn stages_path(cfgdir: &Path) -> PathBuf {
    recover_dir(cfgdir).join("stages")
}

fn dev_of(p: &Path) -> Option<u64> {
    fs::metadata(p).ok().map(|m| m.dev())
}

/// Holds `<cfgdir>/state/recover/lock` so two restores never overlap.
pub struct Lock {
    _lock: Flock<fs::File>,
}

pub fn lock(cfgdir: &Path) -> Result<Lock, RecoverError> {
    let dir = recover_dir(cfgdir);
    fs::create_dir_all(&dir).map_err(|e| RecoverError::io(&dir, e))?;
    let _ = fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let path = dir.join("lock");
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| RecoverError::io(&path, e))?;
    let lock =
        Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|_| RecoverError::Busy(path))?;
    Ok(Lock { _lock: lock })
}

/// Finishes what an interrupted restore left: a committed journal is
/// rolled forward; staging areas without one are deleted. Returns the set
/// whose restore was finished, if any. The caller holds the lock.
pub fn finish_leftovers(cfgdir: &Path, report: &Reporter) -> Result<Option<String>, RecoverError> {
    let jpath = journal_path(cfgdir);
    let mut finished = None;
    let mut stages: BTreeSet<PathBuf> = BTreeSet::new();
    if let Some(j) = Journal::load(&jpath)? {
        report.info(format!(
            "Finishing the interrupted restore of {} (the new data was complete)",
            j.set
        ));
        log::warn!("finishing the interrupted restore of {}", j.set);
        j.roll_forward()?;
        fs::remove_file(&jpath).map_err(|e| RecoverError::io(&jpath, e))?;
        atomicfile::sync_dir(&recover_dir(cfgdir));
        stages.extend(j.stages.iter().cloned());
        finished = Some(j.set);
    }
    stages.insert(recover_dir(cfgdir));
    let marker = stages_path(cfgdir);
    if let Ok(text) = fs::read_to_string(&marker) {
        // Written by us: staging folders of an interrupted run, one a line.
        stages.extend(
            text.lines()
                .map(PathBuf::from)
                .filter(|p| p.ends_with(".recover") && p.is_absolute()),
        );
    }
    for st in &stages {
        for sub in ["new", "old", "trash"] {
            let p = st.join(sub);
            if fs::symlink_metadata(&p).is_ok() {
                if finished.is_none() {
                    report.info(if sub == "new" {
                        format!(
                            "Removing {} left by an interrupted restore (the old data was never touched)",
                            p.display()
                        )
                    } else {
                        format!("Removing {} (data an earlier restore replaced)", p.display())
                    });
                }
                bak::remove_any(&p)?;
            }
        }
        if st.ends_with(".recover") {
            let _ = fs::remove_dir(st);
        }
    }
    let _ = fs::remove_file(&marker);
    Ok(finished)
}

/// `recover --resume`: what the boot runs before the services start.
pub fn resume(cfgdir: &Path, report: &Reporter) -> Result<Option<String>, RecoverError> {
    if !recover_dir(cfgdir).is_dir() {
        return Ok(None);
    }
    let _lock = lock(cfgdir)?;
    finish_leftovers(cfgdir, report)
}

/// The staging folder for a destination: the default one when it is on
/// the same file system, else `.recover` beside the destination.
fn stage_for(default: &Path, dest: &Path) -> PathBuf {
    let parent = dest.parent().unwrap_or(Path::new("/"));
    match (dev_of(default), dev_of(parent)) {
        (Some(a), Some(b)) if a == b => default.to_path_buf(),
        _ => parent.join(".recover"),
    }
}

fn is_kept(name: &str, targets: &Targets) -> bool {
    KEPT_TOP.contains(&name)
        || name.ends_with(".BAK")
        // With -s elsewhere, the folder named store in cfgdir is not the store.
        || (name == "store" && targets.store != targets.cfgdir.join("store"))
}

/// Restores the whole chain over `opts.targets`.
pub fn restore_whole(
    chain: &Chain,
    opts: &WholeOptions,
    report: &mut Reporter,
) -> Result<WholeOutcome, RecoverError> {
    let t = &opts.targets;
    for root in [&t.cfgdir, &t.store] {
        fs::create_dir_all(root).map_err(|e| RecoverError::io(root, e))?;
    }
    let _lock = lock(&t.cfgdir)?;
    finish_leftovers(&t.cfgdir, report)?;
    let default_stage = recover_dir(&t.cfgdir);

    // Room for the staged copy beside the old data.
    let (bytes, files) = apply::chain_totals(&chain.sets);
    let needed = bak::on_disk(bytes, files);
    let mut stage_dirs: Vec<PathBuf> = vec![default_stage.clone()];
    let store_stage = stage_for(&default_stage, &t.store);
    if store_stage != default_stage {
        stage_dirs.push(store_stage.clone());
    }
    for st in &stage_dirs {
        bak::check_space(
            st.parent().unwrap_or(st),
            needed,
            "the staging copy of the restored data",
        )?;
    }
    report.info(format!(
        "Restoring {} ({}, {} files) into {} (store {})",
        chain.newest().name(),
        humanfmt::bytes(bytes),
        files,
        t.cfgdir.display(),
        t.store.display()
    ));

    let mut outcome = WholeOutcome {
        system: opts.services.is_some(),
        ..Default::default()
    };
    if let Some(hooks) = &opts.services {
        report.info("Stopping the services");
        let (stopped, problems) = services::stop_all(hooks);
        log::info!("stopped for the restore: {}", stopped.join(" "));
        for p in problems {
            report.warn(format!("stopping a service: {p}"));
        }
    }

    let result = match stage_and_swap(chain, opts, &stage_dirs, report, &mut outcome) {
        Err(RecoverError::Interrupted) => Err(RecoverError::InterruptedNothingChanged),
        other => other,
    };
    match &result {
        Ok(()) => {}
        Err(RecoverError::Unfinished(_)) => {
            // Half swapped: services must not run on it; the next boot finishes.
            return result.map(|()| outcome);
        }
        Err(_) => {
            // Nothing was changed: take the staging area away again.
            for st in &stage_dirs {
                for sub in ["new", "old", "trash"] {
                    let _ = bak::remove_any(&st.join(sub));
                }
            }
            let _ = fs::remove_file(stages_path(&t.cfgdir));
        }
    }
    if let Some(hooks) = &opts.services {
        if result.is_ok() && outcome.config_restored {
            report.info("Applying the restored host name and accounts");
            outcome.warnings.extend(services::apply_config(hooks));
        }
        report.info("Starting the services");
        let (_, problems) = services::start_all(hooks);
        outcome.warnings.extend(problems);
    }
    result.map(|()| outcome)
}

/// The staging folders: the first takes everything but the store, the
/// last (on the store's file system) the store.
struct Stages<'a> {
    all: &'a [PathBuf],
    default: &'a Path,
    store: &'a Path,
}

impl<'a> Stages<'a> {
    fn new(all: &'a [PathBuf]) -> Stages<'a> {
        let default = all.first().map_or(Path::new(""), PathBuf::as_path);
        Stages {
            all,
            default,
            store: all.last().map_or(default, PathBuf::as_path),
        }
    }

    fn pick(&self, store: bool) -> &'a Path {
        if store { self.store } else { self.default }
    }
}

/// Set path -> where it is staged, for each top-level name staged.
type StagedTop = RefCell<HashMap<String, PathBuf>>;

fn stage_and_swap(
    chain: &Chain,
    opts: &WholeOptions,
    stage_dirs: &[PathBuf],
    report: &mut Reporter,
    outcome: &mut WholeOutcome,
) -> Result<(), RecoverError> {
    let stages = Stages::new(stage_dirs);
    let marker = open_stages(&stages, &opts.targets.cfgdir)?;
    let staged_top = stream_into_stages(chain, opts, &stages, report, outcome)?;
    stage_config_and_secrets(opts, stages.default, &staged_top, report, outcome)?;
    report.info("Writing the restored data to disk");
    for st in stage_dirs {
        if let Ok(d) = fs::File::open(st) {
            let _ = nix::unistd::syncfs(&d);
        }
    }
    let units = plan_units(opts, &stages, staged_top.into_inner());
    prepare_swap(opts, stage_dirs, &units)?;
    let journal = Journal {
        set: chain.newest().name(),
        stages: stage_dirs.to_vec(),
        units,
    };
    commit_and_swap(&journal, opts, report)?;
    for u in journal.units.iter().filter(|u| u.had_old) {
        outcome.replaced.push(u.dest.clone());
        if opts.keep_bak {
            outcome.kept_as_bak.push(u.old.clone());
        }
    }
    report.info("Removing the replaced data");
    clean_stages(stage_dirs, &marker, outcome);
    Ok(())
}

/// Names the staging folders in the marker (so that an interrupted run's
/// are found) and makes their `new/`. Returns the marker's path.
fn open_stages(stages: &Stages, cfgdir: &Path) -> Result<PathBuf, RecoverError> {
    let marker = stages_path(cfgdir);
    let list: String = stages
        .all
        .iter()
        .map(|s| format!("{}\n", s.display()))
        .collect();
    fs::write(&marker, list).map_err(|e| RecoverError::io(&marker, e))?;
    for st in stages.all {
        let new = st.join("new");
        fs::create_dir_all(&new).map_err(|e| RecoverError::io(&new, e))?;
    }
    Ok(marker)
}

/// Streams the chain into the staging folders' `new/`, with the live path
/// a headers-only message keeps the current file of; the appliance's own
/// folders are left out. Returns what was staged, by top-level name.
fn stream_into_stages(
    chain: &Chain,
    opts: &WholeOptions,
    stages: &Stages,
    report: &mut Reporter,
    outcome: &mut WholeOutcome,
) -> Result<StagedTop, RecoverError> {
    let t = &opts.targets;
    let staged_top: StagedTop = RefCell::new(HashMap::new());
    let map = |rel: &str| -> Option<Placement> {
        let top = rel.split('/').next().unwrap_or(rel);
        if is_kept(top, t) && top != "store" {
            return None;
        }
        let root = stages.pick(top == "store").join("new");
        staged_top
            .borrow_mut()
            .entry(top.to_string())
            .or_insert_with(|| root.join(top));
        Some(Placement {
            dest: root.join(rel),
            root,
            current: Some(t.dest(rel)),
        })
    };
    let mut placer = Placer::new(Mode::Fresh);
    outcome.applied = apply::stream_chain(chain, &map, &mut placer, report, &opts.stop)?;
    outcome.placed = placer.finish()?;
    for left in &outcome.applied.left_out {
        report.info(format!(
            "Left out of the restore: {left} (the appliance's own)"
        ));
    }
    Ok(staged_top)
}

/// The staged configuration checked (it must be one this firmware runs)
/// and given the chosen identity and secrets; the secrets file written.
fn stage_config_and_secrets(
    opts: &WholeOptions,
    default_stage: &Path,
    staged_top: &StagedTop,
    report: &mut Reporter,
    outcome: &mut WholeOutcome,
) -> Result<(), RecoverError> {
    // Secrets: the set has none in clear. The unit keeps its own, unless
    // an identity opens the set's encrypted ones.
    let secrets = secrets_for_stage(opts, default_stage, staged_top, report, outcome)?;
    let staged_config = default_stage.join("new/config/appliance.toml");
    let staged_secrets = default_stage.join("new").join(SECRETS_REL);
    if let Ok(text) = fs::read_to_string(&staged_config) {
        let mut restored = appconfig::Config::from_toml(&text, Path::new("config/appliance.toml"))
            .map_err(|e| RecoverError::BadConfig(e.to_string()))?;
        outcome.config_restored = true;
        let new_id = identity_to_keep(opts, &restored)?;
        if new_id.is_some() || appconfig::holds_secrets(&text) {
            // Written again: another identity, or passwords a set from
            // older firmware holds in the file itself (replaced by the
            // chosen ones, which go beside it).
            if let Some(id) = new_id {
                restored.system.unit_id = id;
            }
            restored.set_secrets(secrets.clone());
            restored
                .save(&staged_config)
                .map_err(|e| RecoverError::BadConfig(e.to_string()))?;
            // The writers' lock the save took has no use in the restored tree.
            let _ = fs::remove_file(default_stage.join("new/config/.appliance.toml.lock"));
        }
        outcome.unit_id = restored.system.unit_id.to_string();
    }
    // The secrets file: the chosen secrets, whatever the set had there.
    if secrets.is_empty() {
        match fs::remove_file(&staged_secrets) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RecoverError::io(&staged_secrets, e)),
        }
    } else {
        atomicfile::write_atomically(&staged_secrets, secrets.to_toml().as_bytes(), 0o600)
            .map_err(|e| RecoverError::io(&staged_secrets, e))?;
        staged_top
            .borrow_mut()
            .entry("config".into())
            .or_insert_with(|| default_stage.join("new/config"));
    }
    Ok(())
}

/// The units to swap: every top-level name staged, and every current one
/// that the restored data no longer has.
fn plan_units(
    opts: &WholeOptions,
    stages: &Stages,
    staged_top: HashMap<String, PathBuf>,
) -> Vec<Unit> {
    let t = &opts.targets;
    let dest_of = |top: &str| -> PathBuf {
        if top == "store" {
            t.store.clone()
        } else {
            t.cfgdir.join(top)
        }
    };
    let old_of = |stage: &Path, top: &str, dest: &Path| -> PathBuf {
        if opts.keep_bak {
            bak_path(dest)
        } else {
            stage.join("old").join(top)
        }
    };
    let mut units = Vec::new();
    for (top, staged_path) in staged_top {
        let dest = dest_of(&top);
        units.push(Unit {
            had_old: fs::symlink_metadata(&dest).is_ok(),
            has_new: true,
            old: old_of(stages.pick(top == "store"), &top, &dest),
            dest,
            staged: staged_path,
        });
    }
    let mut current: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(rd) = fs::read_dir(&t.cfgdir) {
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy().into_owned();
            let dest = t.cfgdir.join(e.file_name());
            if dest == t.store {
                continue;
            }
            current.push((name, dest));
        }
    }
    if fs::symlink_metadata(&t.store).is_ok() {
        current.push(("store".into(), t.store.clone()));
    }
    for (name, dest) in current {
        if (is_kept(&name, t) && dest != t.store) || units.iter().any(|u| u.dest == dest) {
            continue;
        }
        let stage = stages.pick(dest == t.store);
        units.push(Unit {
            had_old: true,
            has_new: false,
            old: old_of(stage, &name, &dest),
            dest,
            staged: stage.join("new").join(&name),
        });
    }
    units.sort_by(|a, b| a.dest.cmp(&b.dest));
    units
}

/// Makes room for the swap: old `.BAK`s of the units removed (when kept
/// as `.BAK`), each staging folder's `old/` and `trash/` made.
fn prepare_swap(
    opts: &WholeOptions,
    stage_dirs: &[PathBuf],
    units: &[Unit],
) -> Result<(), RecoverError> {
    if opts.keep_bak {
        for u in units.iter().filter(|u| u.had_old) {
            bak::remove_any(&u.old)?;
        }
    }
    for st in stage_dirs {
        for sub in ["old", "trash"] {
            let p = st.join(sub);
            fs::create_dir_all(&p).map_err(|e| RecoverError::io(&p, e))?;
        }
    }
    Ok(())
}

/// The commit point, then the swap: from the journal's commit on, the new
/// data is what the appliance gets (the next boot finishes a swap cut
/// short).
fn commit_and_swap(
    journal: &Journal,
    opts: &WholeOptions,
    report: &mut Reporter,
) -> Result<(), RecoverError> {
    let cfgdir = &opts.targets.cfgdir;
    if let Some(secs) = test_pause("staged") {
        pause(secs, report);
    }
    if opts.stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(RecoverError::Interrupted);
    }
    let jpath = journal_path(cfgdir);
    journal.commit(&jpath)?;
    log::warn!("restore of {} committed; swapping it in", journal.set);
    report.info("Swapping the restored data in");
    if let Some(secs) = test_pause("swapping") {
        // Half the units swapped, then a pause for the power-cut test.
        let half = Journal {
            units: journal.units[..journal.units.len() / 2].to_vec(),
            ..journal.clone()
        };
        half.roll_forward()?;
        pause(secs, report);
    }
    journal.roll_forward()?;
    fs::remove_file(&jpath)
        .map_err(|e| RecoverError::Unfinished(format!("{}: {e}", jpath.display())))?;
    atomicfile::sync_dir(&recover_dir(cfgdir));
    Ok(())
}

/// The restore is done; what is left is housekeeping (the next run or
/// boot retries it), so a failure here is only a warning.
fn clean_stages(stage_dirs: &[PathBuf], marker: &Path, outcome: &mut WholeOutcome) {
    for st in stage_dirs {
        for sub in ["new", "old", "trash"] {
            if let Err(e) = bak::remove_any(&st.join(sub)) {
                outcome
                    .warnings
                    .push(format!("removing the replaced data: {e}"));
            }
        }
        if st.ends_with(".recover") {
            let _ = fs::remove_dir(st);
        }
    }
    let _ = fs::remove_file(marker);
}

/// Where the secrets file lies, relative to the data partition.
const SECRETS_REL: &str = "config/secrets.toml";

/// Folders whose `*.key` files are TLS private keys (as backupd names them).
const KEY_FOLDERS: [&str; 2] = ["sslcert", "sslca"];

/// Reads an age identity file (age-keygen's output).
fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, RecoverError> {
    let text = fs::read(path).map_err(|e| RecoverError::io(path, e))?;
    age::IdentityFile::from_buffer(std::io::BufReader::new(&text[..]))
        .map_err(|e| RecoverError::io(path, e))?
        .into_identities()
        .map_err(|e| {
            RecoverError::Usage(format!("{}: not an age identity file: {e}", path.display()))
        })
}

/// Decrypts an age file with any of the identities.
fn decrypt(ids: &[Box<dyn age::Identity>], sealed: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let d = age::Decryptor::new(sealed).map_err(|e| e.to_string())?;
    let mut r = d
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The sealed secret files in the stage: the secrets file and TLS keys
/// with `.age` added, relative to the stage's `new/`.
fn sealed_in_stage(new: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if new.join(SECRETS_REL).with_extension("toml.age").is_file() {
        out.push(format!("{SECRETS_REL}.age"));
    }
    for dir in KEY_FOLDERS {
        if let Ok(rd) = fs::read_dir(new.join(dir)) {
            let mut names: Vec<String> = rd
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".key.age"))
                .map(|n| format!("{dir}/{n}"))
                .collect();
            names.sort();
            out.extend(names);
        }
    }
    out
}

/// Decides the secrets of the restored unit and puts its secret files in
/// the stage: with an identity, the set's sealed ones decrypted; else the
/// unit's own (its secrets, and the TLS keys the set left out, each with
/// the certificate beside it so the pair still matches). Returns the
/// secrets for the staged configuration.
fn secrets_for_stage(
    opts: &WholeOptions,
    default_stage: &Path,
    staged_top: &StagedTop,
    report: &mut Reporter,
    outcome: &mut WholeOutcome,
) -> Result<appconfig::Secrets, RecoverError> {
    let new = default_stage.join("new");
    let sealed = sealed_in_stage(&new);
    if let Some(idf) = &opts.secrets_identity {
        let ids = identities(idf)?;
        if sealed.is_empty() {
            report.warn(
                "The set holds no encrypted secrets (it was made without a secrets key): this unit keeps its own",
            );
        } else {
            let mut secrets = None;
            for rel in &sealed {
                let from = new.join(rel);
                let to = new.join(rel.trim_end_matches(".age"));
                let bytes = fs::read(&from).map_err(|e| RecoverError::io(&from, e))?;
                let plain = decrypt(&ids, &bytes).map_err(|e| {
                    RecoverError::BadConfig(format!(
                        "{rel} cannot be decrypted with {}: {e} (is it the secrets key this set was made with?)",
                        idf.display()
                    ))
                })?;
                if rel.starts_with("config/") {
                    let text = String::from_utf8(plain).map_err(|_| {
                        RecoverError::BadConfig(format!("{rel}: the secrets are not UTF-8"))
                    })?;
                    secrets = Some(
                        appconfig::Secrets::from_toml(&text, Path::new(SECRETS_REL))
                            .map_err(|e| RecoverError::BadConfig(e.to_string()))?,
                    );
                } else {
                    atomicfile::write_atomically(&to, &plain, 0o600)
                        .map_err(|e| RecoverError::io(&to, e))?;
                }
                fs::remove_file(&from).map_err(|e| RecoverError::io(&from, e))?;
            }
            report.info(format!(
                "Decrypted the set's secrets ({}) with {}",
                sealed.len(),
                idf.display()
            ));
            outcome.secrets = "the set's (decrypted)".into();
            if let Some(s) = secrets {
                return Ok(s);
            }
        }
    } else {
        for rel in &sealed {
            let p = new.join(rel);
            fs::remove_file(&p).map_err(|e| RecoverError::io(&p, e))?;
        }
        if !sealed.is_empty() {
            report.info(format!(
                "The set's {} encrypted secret files were not opened (no --secrets-identity): this unit keeps its own",
                sealed.len()
            ));
        }
    }
    // The unit's own secrets.
    let t = &opts.targets;
    let live = t.cfgdir.join(crate::apply::APPLIANCE_CONFIG);
    let own = match appconfig::Config::load(&live) {
        Ok(c) => c.secrets(),
        Err(e) => {
            report.warn(format!(
                "this unit's passwords cannot be read ({e}): the restored unit has none (the console asks for a new one)"
            ));
            appconfig::Secrets::default()
        }
    };
    if outcome.secrets.is_empty() {
        outcome.secrets = "this unit's own".into();
    }
    // The unit's TLS keys the stage lacks (with their certificates).
    for dir in KEY_FOLDERS {
        let Ok(rd) = fs::read_dir(t.cfgdir.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".key") else {
                continue;
            };
            if !e.file_type().is_ok_and(|ft| ft.is_file()) || new.join(dir).join(&name).exists() {
                continue;
            }
            let folder = new.join(dir);
            fs::create_dir_all(&folder).map_err(|err| RecoverError::io(&folder, err))?;
            let _ =
                fs::set_permissions(&folder, std::os::unix::fs::PermissionsExt::from_mode(0o700));
            for pair in [name.clone(), format!("{stem}.crt")] {
                let from = t.cfgdir.join(dir).join(&pair);
                if !from.is_file() {
                    continue;
                }
                let to = folder.join(&pair);
                let mode = fs::metadata(&from)
                    .map(|m| m.mode() & 0o777)
                    .unwrap_or(0o600);
                let bytes = fs::read(&from).map_err(|err| RecoverError::io(&from, err))?;
                atomicfile::write_atomically(&to, &bytes, mode)
                    .map_err(|err| RecoverError::io(&to, err))?;
            }
            staged_top
                .borrow_mut()
                .entry(dir.to_string())
                .or_insert_with(|| folder.clone());
            report.info(format!(
                "Kept this unit's own TLS key {dir}/{name} (and its certificate): the set does not carry it in clear"
            ));
        }
    }
    Ok(own)
}

/// The current unit's identity, when it replaces the restored one: asked
/// for, or the set's configuration has none (written before identities).
fn identity_to_keep(
    opts: &WholeOptions,
    restored: &appconfig::Config,
) -> Result<Option<appconfig::UnitId>, RecoverError> {
    if !opts.keep_identity && !restored.system.unit_id.is_empty() {
        return Ok(None);
    }
    let live = opts.targets.cfgdir.join(crate::apply::APPLIANCE_CONFIG);
    let current = match appconfig::Config::load(&live) {
        Ok(c) => c.system.unit_id,
        Err(_) if !opts.keep_identity => return Ok(None),
        Err(e) => {
            return Err(RecoverError::BadConfig(format!(
                "this unit's identity cannot be kept: {e}"
            )));
        }
    };
    if current.is_empty() {
        return if opts.keep_identity {
            Err(RecoverError::BadConfig(
                "this unit has no identity to keep (its configuration has no system.unit_id)"
                    .into(),
            ))
        } else {
            Ok(None)
        };
    }
    Ok(Some(current))
}

/// Fault injection, only in the test image's build (feature
/// `fault-injection`, never enabled for the release image; ci/build-image.sh
/// and ci/check-test-hooks.sh): `RECOVER_TEST_PAUSE=<point>:<seconds>` stops
/// a restore at `staged` (all staged, nothing committed) or `swapping`
/// (committed, half the folders swapped) so the QEMU power-cut test cuts the
/// power there.
#[cfg(feature = "fault-injection")]
fn test_pause(point: &str) -> Option<u64> {
    let v = std::env::var("RECOVER_TEST_PAUSE").ok()?;
    let (p, secs) = v.split_once(':')?;
    (p == point).then(|| secs.parse().ok()).flatten()
}

#[cfg(feature = "fault-injection")]
fn pause(secs: u64, report: &Reporter) {
    report.info(format!("(test) pausing {secs} s"));
    std::thread::sleep(std::time::Duration::from_secs(secs));
}

/// A release build never pauses and reads no test variable.
#[cfg(not(feature = "fault-injection"))]
fn test_pause(_point: &str) -> Option<u64> {
    None
}

#[cfg(not(feature = "fault-injection"))]
fn pause(_secs: u64, _report: &Reporter) {}
