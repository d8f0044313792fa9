//! One FTP session, in a process of its own: the supervisor accepts a
//! connection, checks the FTP Access List, and starts `ftpd --session` with
//! the connection as standard input and the supervisor's notice pipe
//! ([`crate::notice`]) as standard output. libunftp serves the session; whatever goes
//! wrong in it (libunftp 0.24 panics on some failed TLS data connections,
//! and the image's binaries abort on panic) ends this session only.

use crate::auth::Login;
use crate::notice::Notice;
use crate::settings::SessionSettings;
use crate::storage::{ApplianceFs, SessionLinks};
use libunftp::ServerBuilder;
use libunftp::options::{ActivePassiveMode, FtpsRequired, PassiveHost, SiteMd5};
use slog::Drain;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Exit status of a session closed after too many failed logins; the
/// supervisor then refuses the address for a while.
pub const EXIT_GUESSING: i32 = 3;
/// Exit status of a session that could not start.
pub const EXIT_FAILED: i32 = 1;
/// Exit status of a session ended by a panic (in libunftp or here).
pub const EXIT_PANIC: i32 = 70;

const GREETING_TLS: &str = "Mail appliance backup archive ready; use FTPS (AUTH TLS)";
const GREETING_PLAIN: &str = "Mail appliance backup archive ready (FTPS available: AUTH TLS)";

/// How long the session waits after its last failed login before closing,
/// so the client still reads the refusal.
const CLOSE_AFTER_REFUSAL: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("standard input is not the client's connection: {0}")]
    NoConnection(std::io::Error),
    #[error("cannot start the session: {0}")]
    Runtime(std::io::Error),
    #[error("cannot set up the FTP server: {0}")]
    Server(String),
}

/// libunftp's own errors into the `log` facade. Its warnings repeat what
/// the storage back-end and the authenticator log in plainer words, or
/// report clients hanging up, on every session.
fn libunftp_logger() -> slog::Logger {
    let drain = slog::LevelFilter::new(slog_stdlog::StdLog, slog::Level::Error).fuse();
    slog::Logger::root(drain, slog::o!())
}

/// Serves the connection on standard input; returns the exit status.
pub fn run(settings: SessionSettings) -> i32 {
    match serve(settings) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e}");
            EXIT_FAILED
        }
    }
}

fn serve(settings: SessionSettings) -> Result<i32, SessionError> {
    let control: OwnedFd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(SessionError::NoConnection)?;
    let stream =
        std::net::TcpStream::from(control.try_clone().map_err(SessionError::NoConnection)?);
    let peer = stream.peer_addr().map_err(SessionError::NoConnection)?.ip();
    stream
        .set_nonblocking(true)
        .map_err(SessionError::NoConnection)?;
    let notices = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(|fd| Arc::new(File::from(fd)));
    let links = SessionLinks {
        control: Some(Arc::new(control)),
        notices,
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SessionError::Runtime)?;
    let guessing = Arc::new(AtomicBool::new(false));
    let result = runtime.block_on(session(settings, stream, peer, links, guessing.clone()));
    // Dropping the tasks removes the temporary file of an upload in progress.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result?;
    Ok(if guessing.load(Ordering::Relaxed) {
        EXIT_GUESSING
    } else {
        0
    })
}

async fn session(
    settings: SessionSettings,
    stream: std::net::TcpStream,
    peer: IpAddr,
    links: SessionLinks,
    guessing: Arc<AtomicBool>,
) -> Result<(), SessionError> {
    let stream = tokio::net::TcpStream::from_std(stream).map_err(SessionError::NoConnection)?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(SessionError::Runtime)?;
    let too_many = Arc::new(tokio::sync::Notify::new());
    let notify = too_many.clone();
    let pipe = links.notices.clone();
    let on_too_many = Arc::new(move || {
        guessing.store(true, Ordering::Relaxed);
        if let Some(p) = &pipe {
            Notice::Guessing(peer).send(p);
        }
        let notify = notify.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CLOSE_AFTER_REFUSAL).await;
            notify.notify_one();
        });
    });
    let login = Login::new(settings.password_hash.clone(), peer, on_too_many);
    let server = build(&settings, peer, links, login)?;
    tokio::select! {
        r = server.service(stream) => {
            if let Err(e) = r {
                log::warn!("{peer}: session ended: {e}");
            }
        }
        _ = terminate.recv() => log::info!("{peer}: session closed: ftpd is stopping"),
        _ = too_many.notified() => {}
    }
    Ok(())
}

type Server = libunftp::Server<ApplianceFs, unftp_core::auth::DefaultUser>;

fn build(
    settings: &SessionSettings,
    peer: IpAddr,
    links: SessionLinks,
    login: Login,
) -> Result<Server, SessionError> {
    let (backup, restore) = (settings.backup_dir.clone(), settings.restore_dir.clone());
    let stall = Duration::from_secs(settings.stall_secs);
    let storage = Box::new(move || {
        let mut fs = ApplianceFs::new(backup.clone(), restore.clone(), peer);
        fs.links = links.clone();
        fs.stall = stall;
        fs
    });
    let required = FtpsRequired::from(!settings.allow_plain);
    let mut builder = ServerBuilder::with_authenticator(storage, Arc::new(login))
        .greeting(if settings.allow_plain {
            GREETING_PLAIN
        } else {
            GREETING_TLS
        })
        .passive_ports(settings.passive_ports.0..=settings.passive_ports.1)
        .passive_host(match settings.passive_address {
            Some(ip) => PassiveHost::Ip(ip),
            None => PassiveHost::FromConnection,
        })
        // Windows' ftp.exe (the Sendio guide's scheduled job) only knows PORT.
        .active_passive_mode(ActivePassiveMode::ActiveAndPassive)
        .idle_session_timeout(settings.idle_secs)
        .sitemd5(SiteMd5::None)
        .logger(libunftp_logger())
        .ftps_required(required, required);
    if let Some(tls) = &settings.tls {
        builder = builder.ftps(tls.cert.clone(), tls.key.clone());
    }
    builder
        .build()
        .map_err(|e| SessionError::Server(e.to_string()))
}
