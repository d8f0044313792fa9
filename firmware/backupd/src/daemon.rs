//! The service loop: the control socket, signals and the schedule.

use crate::config;
use crate::paths::Paths;
use crate::service::Service;
use anyhow::{Context, Result, anyhow};
use control::backupd::Reply;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;
use svcsignals::Request;

/// Connections served at once; more are turned away.
const MAX_CLIENTS: usize = 16;
/// How long a connection may stay idle; verify replies can take longer to make.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds the socket, replacing a stale one but never a live service's.
fn bind(path: &Path) -> Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(anyhow!(
                "another backupd is already listening on {}",
                path.display()
            ));
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    // Only root (the console runs as root) may start backups.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    Ok(listener)
}

fn serve(listener: UnixListener, svc: Arc<Service>) {
    let slots = control::Slots::new(MAX_CLIENTS);
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let Some(slot) = slots.take() else {
            log::warn!("too many control connections; one turned away");
            continue;
        };
        let svc = Arc::clone(&svc);
        let spawned = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                let _ = control::serve_connection(
                    stream,
                    CLIENT_TIMEOUT,
                    |req| svc.handle(req),
                    |message| Reply::Error { message },
                );
                drop(slot);
            });
        if spawned.is_err() {
            log::error!("cannot start a thread for a control connection");
        }
    }
}

/// What backupd keeps (docs/security.md). It stays root, the owner of
/// `/data` and of what it writes (`/data/backup`, its state, the SMB and
/// USB mounts, which give root the files), with:
/// - CAP_SYS_ADMIN: mount(2) and umount2(2) of SMB shares (kernel cifs);
/// - CAP_DAC_READ_SEARCH: read the whole store whoever owns a file (the
///   mail service's files, sets the `ftp` user uploaded into `restore`);
/// - CAP_SYSLOG: read `/dev/kmsg` for cifs's reasons when a mount fails.
///
/// It starts no program, so nothing it could start needs more.
pub const PRIVILEGES: privs::Plan = privs::Plan {
    service: "backupd",
    user: None,
    keep: &[
        privs::Cap::SYS_ADMIN,
        privs::Cap::DAC_READ_SEARCH,
        privs::Cap::SYSLOG,
    ],
};

/// Runs the service until SIGTERM, with [`PRIVILEGES`] only (given up
/// first, for the whole process). An invalid configuration at start-up
/// is an error (with file, line and reason); later ones are logged and the
/// last good one kept.
pub fn run(paths: Paths) -> Result<()> {
    privs::enter(&PRIVILEGES)?;
    let loaded = config::load(&paths.config).map_err(|e| anyhow!("{e}"))?;
    std::fs::create_dir_all(&paths.state_dir)
        .with_context(|| format!("creating {}", paths.state_dir.display()))?;
    let svc = Service::new(paths.clone(), loaded);
    {
        let (wake, woken) = mpsc::channel();
        svc.set_alert_wake(wake);
        let svc = Arc::clone(&svc);
        std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || crate::alerting::run(svc, woken))
            .context("starting the alert thread")?;
    }
    let listener = bind(&paths.socket)?;
    let (tx, rx) = mpsc::channel::<Request>();
    svcsignals::forward(tx).context("installing signal handlers")?;
    {
        let svc = Arc::clone(&svc);
        std::thread::Builder::new()
            .name("accept".into())
            .spawn(move || serve(listener, svc))
            .context("starting the control socket")?;
    }
    let next_after = |from| svc.next_run_after(from);
    let mut plan = crate::schedule::Plan::new(jiff::Timestamp::now(), svc.reloads(), next_after);
    log::info!(
        "started; next backup {} ({}); control socket {}",
        crate::schedule::local_text(plan.at, &svc.loaded().zone),
        plan.kind,
        paths.socket.display()
    );
    loop {
        let now = jiff::Timestamp::now();
        if let Some(kind) = plan.due(now, svc.reloads(), next_after) {
            if svc.is_running() {
                log::warn!("the scheduled {kind} backup is skipped: a backup is still running");
            } else if let Err(e) = svc.start_backup(kind) {
                log::error!("the scheduled backup could not start: {e}");
            }
            continue;
        }
        // Wake at least every 30 s so a changed clock or configuration is
        // noticed.
        let wait = plan
            .at
            .duration_since(now)
            .unsigned_abs()
            .min(Duration::from_secs(30));
        match rx.recv_timeout(wait) {
            Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Request::Reload) => {
                let _ = svc.reload();
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    log::info!("stopping");
    svc.shutdown();
    let _ = std::fs::remove_file(&paths.socket);
    Ok(())
}
