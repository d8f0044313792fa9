//! `console`: the sysconfig account's login shell. Its settings come from
//! the environment (see `console::Settings`). `login` and Dropbear start
//! it as `-console` with no argument; anything else is refused.

use anyhow::Context;
use console::{App, RealSystem, Settings};
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    applog::init(
        c"console",
        applog::Options {
            // Logins and passwords: the authorisation log.
            facility: nix::syslog::Facility::LOG_AUTH,
            // Standard error is the screen the console draws on.
            echo_stderr: false,
            ..applog::Options::default()
        },
    );
    // `ssh host command`, scp and sftp run the login shell as
    // `console -c <command>`: this account runs the menu and nothing else.
    if let Some(refusal) = console::refuse_invocation(std::env::args_os().skip(1), || {
        nix::unistd::isatty(std::io::stdin()).unwrap_or(false)
    }) {
        log::warn!("console: refused: {refusal}");
        eprintln!("{refusal}");
        std::process::exit(1);
    }
    let settings = Settings::from_env();
    log::info!("console: started");
    let mut app = App::new(Arc::new(RealSystem::new(settings)));
    console::terminal::run(&mut app).context("the terminal failed")?;
    log::info!("console: logged out");
    Ok(())
}
