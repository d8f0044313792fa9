//! One FTP session, in a process of its own: the supervisor accepts a
//! connection, checks the FTP Access List, and starts `ftpd --session`
//! with the connection as standard input and its end of the session's link
//! ([`crate::channel`]) as standard output. The session loads the TLS
//! certificate, gives up root ([`crate::privs`]) and only then reads from
//! the client. The front ([`crate::front`]) holds the client's connections;
//! libunftp serves the session behind it on loopback.

use crate::auth::{Closing, Login};
use crate::channel::Link;
use crate::front::{self, Ended, FrontConfig};
use crate::settings::SessionSettings;
use crate::storage::{ApplianceFs, SessionLinks};
use libunftp::ServerBuilder;
use libunftp::options::{ActivePassiveMode, FtpsRequired, SiteMd5};
use slog::Drain;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Exit status of a session that could not start.
pub const EXIT_FAILED: i32 = 1;
/// Exit status of a session ended by a panic.
pub const EXIT_PANIC: i32 = 70;

const GREETING_TLS: &str = "Mail appliance backup archive ready; use FTPS (AUTH TLS)";
const GREETING_PLAIN: &str = "Mail appliance backup archive ready (FTPS available: AUTH TLS)";

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("standard input is not the client's connection: {0}")]
    NoConnection(std::io::Error),
    #[error("cannot start the session: {0}")]
    Runtime(std::io::Error),
    #[error("cannot set up the FTP server: {0}")]
    Server(String),
    #[error("refusing to serve: {0}")]
    Privileges(#[from] crate::privs::PrivError),
}

/// libunftp's own errors into the `log` facade. Its warnings repeat what
/// the storage back-end and the account log in plainer words.
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
    let local = stream.local_addr().map_err(SessionError::NoConnection)?;
    stream
        .set_nonblocking(true)
        .map_err(SessionError::NoConnection)?;
    let link = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(std::os::unix::net::UnixStream::from);
    // The key is root's: read before root goes.
    let tls = settings.tls.as_ref().and_then(|files| {
        crate::cert::server_config(files)
            .map_err(|e| log::error!("FTPS is off for this session: {e}"))
            .ok()
    });
    crate::privs::drop_privileges()?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SessionError::Runtime)?;
    let result = runtime.block_on(session(settings, stream, peer, local, tls, control, link));
    // Dropping the tasks removes the temporary file of an upload in progress.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result.map(|()| 0)
}

#[allow(clippy::too_many_arguments)]
async fn session(
    settings: SessionSettings,
    stream: std::net::TcpStream,
    peer: IpAddr,
    local: std::net::SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    control: OwnedFd,
    link: Option<std::os::unix::net::UnixStream>,
) -> Result<(), SessionError> {
    let client = tokio::net::TcpStream::from_std(stream).map_err(SessionError::NoConnection)?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(SessionError::Runtime)?;
    let link = match link.map(Link::new).transpose() {
        Ok(l) => l.map(Arc::new),
        Err(e) => {
            log::error!("{peer}: no link to the supervisor: {e}");
            None
        }
    };
    let links = SessionLinks {
        control: Some(Arc::new(control)),
        link: link.clone(),
    };
    let secure = Arc::new(AtomicBool::new(false));
    let closing = Closing::default();
    let login = Login::new(link, peer, secure.clone(), closing.clone());
    let server = build(&settings, peer, links, login)?;

    // libunftp's control connection: loopback, from the front.
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(SessionError::Runtime)?;
    let addr = listener.local_addr().map_err(SessionError::Runtime)?;
    let ours = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(SessionError::Runtime)?;
    let theirs = loop {
        let (s, from) = listener.accept().await.map_err(SessionError::Runtime)?;
        if Some(from) == ours.local_addr().ok() {
            break s;
        }
    };
    drop(listener);
    let backend = tokio::spawn(server.service(theirs));

    let data_tls = tls.as_ref().map(crate::cert::data_config);
    let config = FrontConfig {
        peer,
        local,
        tls,
        data_tls,
        require_tls: !settings.allow_plain,
        passive_ports: settings.passive_ports,
        passive_address: settings.passive_address,
        restore_dir: settings.restore_dir.clone(),
        idle: Duration::from_secs(settings.idle_secs),
        stall: Duration::from_secs(settings.stall_secs),
        secure,
        closing,
    };
    tokio::select! {
        ended = front::run(config, client, ours) => match ended {
            Ended::Quit | Ended::ClientLeft | Ended::TooManyFailures | Ended::Blocked
            | Ended::LineTooLong => {}
            Ended::Idle => log::info!("{peer}: session closed: idle"),
            Ended::Handshake(e) => log::info!("{peer}: session closed: {e}"),
            Ended::Backend(e) => log::warn!("{peer}: session closed by the FTP back-end: {e}"),
            Ended::Io(e) => log::info!("{peer}: session ended: {e}"),
        },
        _ = terminate.recv() => log::info!("{peer}: session closed: ftpd is stopping"),
    }
    // The front's end is gone: libunftp sees its control connection close.
    let _ = tokio::time::timeout(Duration::from_secs(2), backend).await;
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
    ServerBuilder::with_authenticator(storage, Arc::new(login))
        .greeting(if settings.allow_plain {
            GREETING_PLAIN
        } else {
            GREETING_TLS
        })
        // The front owns every data connection the client sees; libunftp
        // only connects to the front's loopback listener.
        .active_passive_mode(ActivePassiveMode::ActiveOnly)
        // The front's idle limit ends the session first.
        .idle_session_timeout(settings.idle_secs + 60)
        .sitemd5(SiteMd5::None)
        .logger(libunftp_logger())
        .ftps_required(FtpsRequired::None, FtpsRequired::None)
        .build()
        .map_err(|e| SessionError::Server(e.to_string()))
}
