//! `recover`: restores from the appliance's backup sets, modelled on
//! Kerio's `kmsrecover` (its options, masks and examples).
//!
//! - [`chain`]: a folder means its newest restore point (newest full with
//!   its newest differential, or the newest copy); a file means that set
//!   (and its full, for a differential).
//! - [`listing`]: `-l`, down to every mail folder, from the index alone.
//! - [`selective`]: `-d`/`-u`/`-f`/`-m` read only the index and the byte
//!   ranges of what is chosen; restored files replace current ones.
//! - [`system`]: no selection (or `--system`) restores everything: the
//!   services stop, the sets are streamed with their MD5 checked into a
//!   staging area, and a journal commits the swap so a power cut leaves
//!   old or new data, never a mix ([`journal`]).
//! - [`place`]: the only code that writes restored files; never outside
//!   the target.

pub mod apply;
pub mod bak;
pub mod chain;
mod error;
pub mod index;
pub mod journal;
pub mod listing;
pub mod options;
pub mod parts;
pub mod place;
pub mod report;
pub mod selection;
pub mod selective;
pub mod services;
pub mod source;
pub mod stream;
pub mod system;
pub mod targets;

pub use error::RecoverError;
pub use parts::Part;
pub use report::{ProgressMode, Reporter, Verbosity};
pub use selection::Selection;
pub use targets::Targets;

use index::SetIndex;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `-l`
    List,
    /// A selective restore, or a whole one when the selection is empty.
    Restore,
    /// `--system`: the whole appliance (selection must be empty).
    System,
    /// `--resume`: finish an interrupted whole-system restore (at boot).
    Resume,
}

/// A parsed command line.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: Action,
    /// `<directory>|<file>`, or a location and a set name (unused by `Resume`).
    pub source: source::Source,
    pub selection: Selection,
    pub targets: Targets,
    /// `-b`
    pub keep_bak: bool,
    /// `--keep-identity`: a whole restore keeps this unit's identity.
    pub keep_identity: bool,
    /// `--secrets-identity FILE`: open the set's encrypted secrets.
    pub secrets_identity: Option<std::path::PathBuf>,
    /// `--identity FILE`: the age identity that opens encrypted sets (`.tar.age`).
    pub identity: Option<std::path::PathBuf>,
    /// `--verify`: check the MD5 before a selective restore.
    pub verify: bool,
    pub hooks: services::Hooks,
    pub stop: Arc<AtomicBool>,
}

/// How a run ended, for the last line of output.
#[derive(Debug, Clone)]
pub enum Done {
    Listed(String),
    Selective(selective::SelectiveOutcome),
    Whole(system::WholeOutcome),
    Resumed(Option<String>),
}

fn load_indexes(chain: &chain::Chain) -> Result<Vec<SetIndex>, RecoverError> {
    chain.sets.iter().map(SetIndex::load).collect()
}

/// Runs a request.
pub fn run(req: &Request, report: &mut Reporter) -> Result<Done, RecoverError> {
    let targets = req
        .targets
        .absolute()
        .map_err(|e| RecoverError::io(".", e))?;
    if req.action == Action::Resume {
        return system::resume(&targets.cfgdir, report).map(Done::Resumed);
    }
    req.selection.check()?;
    if req.action == Action::System && !req.selection.is_whole() {
        return Err(RecoverError::Usage(
            "--system restores everything: leave out -d, -u, -f and -m".into(),
        ));
    }
    // A location stays open (a share mounted) while this session lives.
    let (_session, source) = source::open(&req.source, report)?;
    let keys = match &req.identity {
        Some(f) => Some(backupset::crypt::Keys::from_file(f).map_err(RecoverError::Usage)?),
        None => None,
    };
    let chain = chain::resolve(&source, keys.as_ref())?;
    for why in &chain.passed_over {
        report.detail(format!("Passed over {why}"));
    }
    if chain.sets.len() > 1 {
        report.info(format!(
            "Restore point: {} with its full backup {}",
            chain.newest().name(),
            chain.sets[0].name()
        ));
    } else {
        report.info(format!("Restore point: {}", chain.newest().name()));
    }
    match req.action {
        Action::List => {
            let indexes = load_indexes(&chain)?;
            listing::listing(&chain, &indexes, &req.selection).map(Done::Listed)
        }
        _ if req.selection.is_whole() => {
            // The running appliance's own folders: stop and start its services.
            let services =
                (req.action == Action::System || targets.are_default()).then(|| req.hooks.clone());
            let opts = system::WholeOptions {
                targets,
                keep_bak: req.keep_bak,
                keep_identity: req.keep_identity,
                secrets_identity: req.secrets_identity.clone(),
                services,
                stop: req.stop.clone(),
            };
            system::restore_whole(&chain, &opts, report).map(Done::Whole)
        }
        _ => {
            let indexes = load_indexes(&chain)?;
            let refs: Vec<&SetIndex> = indexes.iter().collect();
            let mut missing = Vec::new();
            let chosen = req.selection.targets(&refs, &mut missing)?;
            for m in &missing {
                report.info(format!("Not in the set: {m}"));
            }
            let opts = selective::SelectiveOptions {
                targets,
                keep_bak: req.keep_bak,
                verify: req.verify,
                stop: req.stop.clone(),
            };
            selective::restore_selected(&chain, &indexes, &chosen, &opts, report)
                .map(Done::Selective)
        }
    }
}
