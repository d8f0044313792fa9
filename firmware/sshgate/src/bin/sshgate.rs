//! sshgate: SSH access to the console (see the crate's documentation).

use clap::Parser;
use sshgate::service::{Options, Service};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "SSH to the console: the SSH Access List and limits in front of Dropbear"
)]
struct Cli {
    /// Also log to standard error.
    #[arg(long)]
    foreground: bool,
    /// Address and port to listen on.
    #[arg(long, default_value = sshgate::service::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Where the host keys are kept.
    #[arg(long, default_value = sshgate::keys::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// sysconfig's home (its .ssh/authorized_keys is written there).
    #[arg(long, default_value = sshgate::keys::DEFAULT_HOME)]
    home: PathBuf,
    #[arg(long, default_value = sshgate::dropbear::DEFAULT_DROPBEAR)]
    dropbear: PathBuf,
    #[arg(long, default_value = sshgate::dropbear::DEFAULT_DROPBEARKEY)]
    dropbearkey: PathBuf,
    /// The system log file, where Dropbear's failed logins are counted.
    #[arg(long, default_value = sshgate::logtail::DEFAULT_LOG)]
    syslog: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    applog::init_service(c"sshgate", cli.foreground);
    let opts = Options {
        listen: cli.listen,
        config: std::env::var_os("APPLIANCE_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(appconfig::DEFAULT_PATH)),
        state_dir: cli.state_dir,
        home: cli.home,
        dropbear: cli.dropbear,
        dropbearkey: cli.dropbearkey,
        syslog: cli.syslog,
    };
    if let Err(e) = Service::new(opts).and_then(Service::run) {
        log::error!("{e:#}");
        std::process::exit(1);
    }
}
