//! `console`: the sysconfig account's login shell. Its settings come from
//! the environment (see `console::Settings`); arguments are ignored, since
//! `login` starts a shell as `-console`.

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
    let settings = Settings::from_env();
    log::info!("console: started");
    let mut app = App::new(Arc::new(RealSystem::new(settings)));
    console::terminal::run(&mut app).context("the terminal failed")?;
    log::info!("console: logged out");
    Ok(())
}
