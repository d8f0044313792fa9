//! ftpd: the FTP pull service (`backup` read-only, `restore` for uploads).

use anyhow::Context;
use clap::Parser;
use ftpd::settings::{DEFAULT_LISTEN, Paths, SESSION_ENV, SessionSettings};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "The FTP pull service: the backup folder and the restore drop folder over FTP(S)"
)]
struct Cli {
    /// Also log to standard error.
    #[arg(long)]
    foreground: bool,
    /// Address and port to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Data partition holding backup/, restore/, sslcert/, state/ and
    /// config/appliance.toml (APPLIANCE_CONFIG still names the configuration).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Seconds a transfer may go without moving data before it is dropped.
    #[arg(long, default_value_t = ftpd::storage::DEFAULT_STALL.as_secs(), hide = true)]
    stall_secs: u64,
    /// Serve one session on standard input (started by ftpd itself).
    #[arg(long, hide = true)]
    session: bool,
}

fn main() {
    let cli = Cli::parse();
    if cli.session {
        std::process::exit(session());
    }
    init_log(cli.foreground);
    if let Err(e) = serve(cli) {
        log::error!("{e:#}");
        std::process::exit(1);
    }
}

/// rustls warns about every client that sends an address as its TLS server
/// name (lftp, curl to an IP): not worth a syslog line each time.
fn init_log(foreground: bool) {
    applog::init(
        c"ftpd",
        applog::Options {
            echo_stderr: foreground,
            quiet_targets: &["rustls"],
            ..Default::default()
        },
    );
}

fn session() -> i32 {
    let settings = std::env::var(SESSION_ENV)
        .context("ftpd --session is started by ftpd itself")
        .and_then(|t| SessionSettings::from_env(&t).context("bad session settings"));
    let echo = settings.as_ref().is_ok_and(|s| s.echo_stderr);
    init_log(echo);
    // The same end whether the build unwinds or aborts: the session goes,
    // the supervisor logs it and removes its unfinished upload.
    std::panic::set_hook(Box::new(|info| {
        log::error!("session ended by an internal error: {info}");
        std::process::exit(ftpd::session::EXIT_PANIC);
    }));
    match settings {
        Ok(s) => ftpd::session::run(s),
        Err(e) => {
            log::error!("{e:#}");
            ftpd::session::EXIT_FAILED
        }
    }
}

fn serve(cli: Cli) -> anyhow::Result<()> {
    let mut paths = match cli.data_root {
        Some(root) => Paths::under(root),
        None => Paths::default(),
    };
    if let Some(config) = std::env::var_os("APPLIANCE_CONFIG") {
        paths.config = config.into();
    }
    let program = std::env::current_exe().context("finding ftpd's own program")?;
    let opts = ftpd::supervisor::Options {
        listen: cli.listen,
        paths,
        foreground: cli.foreground,
        program,
        stall_secs: cli.stall_secs,
    };
    ftpd::supervisor::Supervisor::new(opts)?.run()
}
