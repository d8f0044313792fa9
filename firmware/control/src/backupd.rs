//! backupd's requests and replies (socket [`SOCKET`]).

use crate::client::ClientError;
use appconfig::{AlertSettings, BackupSettings, BackupType, DestinationKind};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Where backupd listens.
pub const SOCKET: &str = "/run/backupd.sock";

/// The environment variable that moves [`SOCKET`] (host tests), read by
/// [`socket_path`] for every client: `backupctl` and the console alike.
pub const SOCKET_ENV: &str = "BACKUPD_SOCKET";

/// [`SOCKET`], or where [`SOCKET_ENV`] puts it.
pub fn socket_path() -> PathBuf {
    crate::client::socket_path(SOCKET, SOCKET_ENV)
}

/// Listing sets may mount a share first.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(120);
/// Verifying a large set reads all of it.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(3600);
/// Test Connectivity mounts, writes, reads back and deletes a probe.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// A test alert waits for the SMTP relay and the syslog receiver.
pub const TEST_ALERT_TIMEOUT: Duration = Duration::from_secs(90);

/// backupd's side of the protocol, for its typed [`Client`].
#[derive(Debug)]
pub enum Backupd {}

impl crate::client::Service for Backupd {
    const NAME: &'static str = "backupd";
    const SOCKET: &'static str = SOCKET;
    const SOCKET_ENV: &'static str = SOCKET_ENV;
    type Request = Request;
    type Reply = Reply;
}

/// backupd's client: one method per request, each returning its own answer.
pub type Client = crate::client::Client<Backupd>;

impl Client {
    pub fn status(&self) -> Result<Status, ClientError> {
        self.ask(&Request::Status, crate::DEFAULT_TIMEOUT, |r| match r {
            Reply::Status(s) => Ok(s),
            other => Err(Box::new(other)),
        })
    }

    /// Starts a backup; the name of its set once it has started.
    pub fn backup_now(&self, kind: BackupType) -> Result<String, ClientError> {
        let request = Request::BackupNow { kind };
        self.ask(&request, crate::DEFAULT_TIMEOUT, |r| match r {
            Reply::Started { set } => Ok(set),
            other => Err(Box::new(other)),
        })
    }

    pub fn list_sets(&self, location: Location) -> Result<Vec<SetInfo>, ClientError> {
        let request = Request::ListSets { location };
        self.ask(&request, LIST_TIMEOUT, |r| match r {
            Reply::Sets { sets } => Ok(sets),
            other => Err(Box::new(other)),
        })
    }

    pub fn verify_set(&self, location: Location, name: &str) -> Result<Verification, ClientError> {
        let request = Request::VerifySet {
            location,
            name: name.to_string(),
        };
        self.ask(&request, VERIFY_TIMEOUT, |r| match r {
            Reply::Verified(v) => Ok(v),
            other => Err(Box::new(other)),
        })
    }

    /// `settings`: unsaved fields to test, or `None` for the saved ones.
    pub fn test_connectivity(
        &self,
        settings: Option<BackupSettings>,
    ) -> Result<ConnectivityReport, ClientError> {
        let request = Request::TestConnectivity { settings };
        self.ask(&request, TEST_TIMEOUT, |r| match r {
            Reply::Connectivity(c) => Ok(c),
            other => Err(Box::new(other)),
        })
    }

    /// Re-reads the configuration; backupd's words on what it took.
    pub fn reload(&self) -> Result<String, ClientError> {
        self.ask(&Request::Reload, crate::DEFAULT_TIMEOUT, |r| match r {
            Reply::Reloaded { message } => Ok(message),
            other => Err(Box::new(other)),
        })
    }

    /// `settings`: unsaved fields to test, or `None` for the saved ones.
    pub fn send_test_alert(
        &self,
        settings: Option<AlertSettings>,
    ) -> Result<AlertTest, ClientError> {
        let request = Request::SendTestAlert { settings };
        self.ask(&request, TEST_ALERT_TIMEOUT, |r| match r {
            Reply::AlertTested { ok, lines } => Ok(AlertTest { ok, lines }),
            other => Err(Box::new(other)),
        })
    }
}

/// What a test alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTest {
    pub ok: bool,
    /// One line per channel.
    pub lines: Vec<String>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::path::Path;

    /// A backupd on a real socket that answers every request with `answer`.
    fn serve(dir: &Path, answer: Reply) -> Client {
        let path = dir.join("backupd.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let answer = answer.clone();
                let _ = crate::serve_connection(
                    stream,
                    crate::DEFAULT_TIMEOUT,
                    |_: Request| answer.clone(),
                    |message| Reply::Error { message },
                );
            }
        });
        Client::new(path)
    }

    #[test]
    fn each_request_gets_its_own_answer_or_says_what_came() {
        let dir = tempfile::tempdir().expect("tempdir");
        let client = serve(
            dir.path(),
            Reply::Started {
                set: "mx1-F20261122T100000Z.tar".into(),
            },
        );
        assert_eq!(
            client.backup_now(BackupType::Full).expect("started"),
            "mx1-F20261122T100000Z.tar"
        );
        let err = client
            .list_sets(Location::RestoreFolder)
            .expect_err("not a list");
        assert!(matches!(err, ClientError::Unexpected { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "backupd: unexpected answer started to request list_sets"
        );
        let err = client.status().expect_err("not a status");
        assert_eq!(
            err.to_string(),
            "backupd: unexpected answer started to request status"
        );
    }

    #[test]
    fn a_refusal_is_the_services_own_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        let client = serve(
            dir.path(),
            Reply::Error {
                message: "a backup is already running (mx1-F.tar)".into(),
            },
        );
        let err = client.backup_now(BackupType::Copy).expect_err("refused");
        assert!(matches!(err, ClientError::Refused(_)), "{err:?}");
        assert_eq!(err.to_string(), "a backup is already running (mx1-F.tar)");
        assert!(!err.is_not_running());
    }

    #[test]
    fn no_service_is_said_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Client::new(dir.path().join("backupd.sock"))
            .reload()
            .expect_err("nobody there");
        assert!(err.is_not_running(), "{err:?}");
        assert!(
            err.to_string().starts_with("backupd is not running"),
            "{err}"
        );
    }
}
