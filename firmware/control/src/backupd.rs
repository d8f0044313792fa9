//! backupd's requests and replies (socket [`SOCKET`]).

use appconfig::{AlertSettings, BackupSettings, BackupType, DestinationKind};
use serde::{Deserialize, Serialize};

/// Where backupd listens.
pub const SOCKET: &str = "/run/backupd.sock";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// What backupd is doing, what it did last, and when it runs next.
    Status,
    /// Start a backup now; the reply comes as soon as it has started.
    BackupNow { kind: BackupType },
    /// Sets at a location.
    ListSets { location: Location },
    /// Check a set's volumes against its `.md5` file.
    VerifySet { location: Location, name: String },
    /// Test a destination; `settings` are the console's unsaved fields, or
    /// the saved configuration when absent.
    TestConnectivity { settings: Option<BackupSettings> },
    /// Re-read `/data/config/appliance.toml` (as SIGHUP does).
    Reload,
    /// Send a test e-mail and a test remote syslog line; `settings` are the
    /// console's unsaved fields, or the saved configuration when absent.
    SendTestAlert { settings: Option<AlertSettings> },
}

/// Which folder of sets a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// The configured backup destination.
    Configured,
    /// The FTP `restore` folder, where administrators drop sets.
    RestoreFolder,
    /// The appliance's own folder of sets (`/data/backup`), whatever the
    /// configured destination: sets written there before the destination
    /// became a share or a drive.
    Local,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Status(Status),
    Started {
        set: String,
    },
    Sets {
        sets: Vec<SetInfo>,
    },
    Verified(Verification),
    Connectivity(ConnectivityReport),
    Reloaded {
        message: String,
    },
    /// What the test alert did, one line per channel.
    AlertTested {
        ok: bool,
        lines: Vec<String>,
    },
    /// The request could not be carried out; `message` says why in plain words.
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub destination: DestinationKind,
    /// Next scheduled run, local time, `YYYY-MM-DD HH:MM`.
    pub next_run: String,
    pub next_kind: BackupType,
    pub running: Option<Progress>,
    /// Most recent first.
    pub recent: Vec<RunResult>,
    /// Sets being checked against their `.md5` files (`VerifySet`), phase
    /// "verifying".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verifying: Vec<Progress>,
    /// Why backups need the administrator now (no verified set for too
    /// long, the last run failed), in one line; `None`: all is well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
}

/// A backup in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub set: String,
    pub kind: BackupType,
    /// "scanning", "writing", "verifying", "publishing", "pruning".
    pub phase: String,
    pub bytes_done: u64,
    /// Estimated total; 0 while unknown.
    pub bytes_total: u64,
    pub files_done: u64,
    pub elapsed_secs: u64,
    /// Estimated seconds left, when known.
    pub eta_secs: Option<u64>,
}

/// How one backup run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub set: String,
    pub kind: BackupType,
    pub destination: DestinationKind,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub started: String,
    pub finished: String,
    pub ok: bool,
    /// "verified, 1234 files, 56 MiB" or the reason it failed.
    pub message: String,
    pub bytes: u64,
    /// Bytes of the tar stream the run produced (what its progress counts;
    /// more than `bytes` when the set is compressed). 0 in older records.
    #[serde(default)]
    pub stream_bytes: u64,
    pub files: u64,
    /// Files that could not be read and were left out.
    pub skipped: u64,
    /// What the administrator should look at although the run went well:
    /// this unit's sets dated in the future (the clock was put back), ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A backup set found at a location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetInfo {
    /// File name of the first volume, `<host>-F20261122T220000Z.tar`.
    pub name: String,
    pub host: String,
    pub kind: BackupType,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub time: String,
    /// Bytes of all volumes.
    pub size: u64,
    pub volumes: u32,
    /// Both the `.tar` volumes and the `.md5` file are present.
    pub complete: bool,
    /// For a differential, the name of the full it depends on.
    pub base: Option<String>,
    /// Whether the set was checked against its `.md5` file since its files
    /// last changed: ftpd checks every set uploaded to the `restore` folder.
    /// `None`: not checked (yet); sets backupd writes are checked as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// Why the set cannot be restored from: what is missing, or what its
    /// check found, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The identity of the unit that wrote it, when the set carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub name: String,
    pub ok: bool,
    /// One line per volume: `name: OK` or what is wrong with it.
    pub details: Vec<String>,
}

/// The result of Test Connectivity: what was checked, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectivityReport {
    pub destination: DestinationKind,
    pub ok: bool,
    /// Plain-words summary: "Connected", or what went wrong.
    pub summary: String,
    /// The steps taken, each `(step, outcome)`: mount, write probe, read back,
    /// delete probe, free space...
    pub steps: Vec<(String, String)>,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub filesystem: Option<String>,
    /// SMB dialect negotiated, e.g. "3.1.1".
    pub dialect: Option<String>,
    /// Sets already present at the destination (Sendio's popup shows them).
    pub sets: Vec<SetInfo>,
}
