//! The screens. Each owns its form and pop-ups and reports where to go next.

mod alerts;
mod backup;
mod firmware;
mod keyprompt;
mod logview;
mod menu;
mod network;
mod password;
mod restore;
mod screen;
mod selective;
mod ssh;
mod sysconf;

use crate::app::Shared;
use crate::commands::Outcome;
use crate::form::Form;
use crate::ui;
use appconfig::{Config, ConfigError};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

/// Where a key leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Stay,
    /// Esc or Cancel: back to the main menu (asking first if there are changes).
    Back,
    Go(Dest),
    Quit,
}

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    SetPassword,
    Menu,
    Network,
    System,
    Ssh,
    Backup,
    Restore,
    Log,
    Alerts,
    Firmware,
}

pub trait View {
    fn title(&self) -> &'static str;
    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared);
    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav;
    fn tick(&mut self, _shared: &mut Shared) -> Nav {
        Nav::Stay
    }
    /// Work is running that the operator is watching (an install, a
    /// restore): the session must not time out under it.
    fn busy(&self) -> bool {
        false
    }
    /// The view's form, when it is one: the defaults below read it.
    fn form(&self) -> Option<&Form> {
        None
    }
    /// Unsaved changes that leaving would lose.
    fn dirty(&self) -> bool {
        self.form().is_some_and(|f| f.dirty)
    }
    /// The focused field's refusal, in full.
    fn focus_error(&self) -> Option<String> {
        self.form().and_then(focus_error)
    }
    /// What the focused field takes.
    fn focus_hint(&self) -> Option<String> {
        self.form().and_then(focus_hint)
    }
    /// The keys that work here, for the bottom line.
    fn keys(&self) -> String {
        self.form().map(form_keys).unwrap_or_default()
    }
}

pub fn open(dest: Dest, shared: &mut Shared) -> Box<dyn View> {
    match dest {
        Dest::SetPassword => Box::new(password::SetPasswordView::new()),
        Dest::Menu => Box::new(menu::MenuView::new(shared)),
        Dest::Network => Box::new(network::NetworkView::new(shared)),
        Dest::System => Box::new(sysconf::SystemView::new(shared)),
        Dest::Ssh => Box::new(ssh::SshView::new(shared)),
        Dest::Backup => Box::new(backup::BackupView::new(shared)),
        Dest::Restore => Box::new(restore::RestoreView::new(shared)),
        Dest::Log => Box::new(logview::LogView::new(shared)),
        Dest::Alerts => Box::new(alerts::AlertsView::new(shared)),
        Dest::Firmware => Box::new(firmware::FirmwareView::new(shared)),
    }
}

/// The keys line for a form, after what the focused field takes.
fn form_keys(form: &Form) -> String {
    use crate::form::Widget;
    let field = match form.focused().map(|f| &f.widget) {
        Some(Widget::Text { .. }) => "type to edit, Backspace deletes",
        Some(Widget::Choice { .. }) => "Left/Right move, Space chooses",
        Some(Widget::Toggles { .. }) => "Left/Right move, Space switches",
        Some(Widget::Button) => "Enter presses",
        None => "",
    };
    format!("Up/Down/Tab: field  {field}  Esc: back")
}

fn focus_error(form: &Form) -> Option<String> {
    form.focused().and_then(|f| f.error.clone())
}

fn focus_hint(form: &Form) -> Option<String> {
    form.focused()
        .map(|f| f.hint)
        .filter(|h| !h.is_empty())
        .map(String::from)
}

/// Runs the whole-configuration check and puts each refusal next to the
/// field it is about. `fields` maps the check's key prefixes (such as
/// `network.gateway`) to field ids; a refusal no field claims goes to
/// `fallback`.
fn check_into_form(
    config: &Config,
    shared: &Shared,
    form: &mut Form,
    fields: &[(&str, &'static str)],
    fallback: &'static str,
) -> bool {
    match config.check(&shared.sys.settings().config_path) {
        Ok(()) => true,
        Err(ConfigError::Invalid { reason, .. }) => {
            let (id, text) = fields
                .iter()
                .find(|(prefix, _)| reason.starts_with(prefix))
                .map(|(prefix, id)| {
                    let rest = reason[prefix.len()..].trim_start_matches(':').trim();
                    (*id, rest.to_string())
                })
                .unwrap_or((fallback, reason.clone()));
            form.set_error(id, text);
            form.focus_first_error();
            false
        }
        Err(e) => {
            form.set_error(fallback, e.to_string());
            false
        }
    }
}

/// Who should hear of a saved change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Backupd,
    Ftpd,
    Network,
    Accounts,
    Hostname,
    /// The time service re-reads the NTP servers.
    Time,
    /// sshgate re-reads the SSH settings, keys and the console password.
    Ssh,
}

/// Writes `config` and tells the services; the lines say who took it.
/// On a failed write nothing else happens and the error comes back.
fn save_and_notify(
    shared: &mut Shared,
    config: Config,
    notify: &[Notify],
) -> Result<Vec<Line<'static>>, String> {
    let sys = shared.sys.clone();
    let settings = sys.settings();
    match sys.save_config(&config, &shared.revision) {
        Ok(r) => shared.revision = r,
        Err(e @ appconfig::ConfigError::ChangedElsewhere { .. }) => {
            // Show the current file next time; what was typed is not saved.
            if let Ok((c, r)) = sys.load_config() {
                shared.config = c;
                shared.revision = r;
            }
            log::warn!("console: save refused: {e}");
            return Err(e.to_string());
        }
        Err(e) => return Err(e.to_string()),
    }
    log::info!("console: configuration saved");
    shared.config = config;
    shared.config_problem = None;
    let mut lines = vec![ui::text_line(
        &format!("Configuration saved to {}.", settings.config_path.display()),
        ui::good(),
    )];
    let outcome_line = |what: &str, o: &Outcome| {
        ui::text_line(
            &format!("{what}: {}", o.summary()),
            if o.is_ok() { ui::good() } else { ui::error() },
        )
    };
    for n in notify {
        let line = match n {
            Notify::Backupd => match sys.backupd().reload() {
                Ok(message) => ui::text_line(&format!("backupd: {message}"), ui::good()),
                Err(e) if e.is_not_running() => ui::text_line(
                    &format!("backupd: {e}; it reads the file when it starts"),
                    Style::default(),
                ),
                Err(e) => ui::text_line(&format!("backupd: {e}"), ui::error()),
            },
            Notify::Ftpd => outcome_line("ftpd", &sys.run(&settings.ftpd_reload)),
            Notify::Network => outcome_line("network", &sys.run(&settings.network_apply())),
            Notify::Accounts => outcome_line("accounts", &sys.run(&settings.accounts_apply())),
            Notify::Hostname => {
                outcome_line("host name and time", &sys.run(&settings.hostname_apply()))
            }
            Notify::Time => outcome_line("time service", &sys.run(&settings.timesync_reload)),
            Notify::Ssh => outcome_line("SSH", &sys.run(&settings.sshgate_reload)),
        };
        lines.push(line);
    }
    Ok(lines)
}
