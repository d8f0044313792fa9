//! First login on a new appliance: the administrator chooses the console
//! password before anything else.

use super::{Dest, Nav, View};
use crate::app::{Note, Shared};
use crate::form::{Field, Form, FormEvent};
use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

pub struct SetPasswordView {
    form: Form,
}

impl SetPasswordView {
    pub fn new() -> SetPasswordView {
        SetPasswordView {
            form: Form::new(vec![
                Field::secret("new", "New password", "")
                    .with_hint("At least 8 characters: letters and digits or symbols"),
                Field::secret("repeat", "Repeat password", "").with_hint("The same password again"),
                Field::button("set", "Set password"),
                Field::button("logout", "Log out"),
            ]),
        }
    }

    fn submit(&mut self, shared: &mut Shared) -> Nav {
        self.form.clear_errors();
        let new = self.form.text("new");
        let repeat = self.form.text("repeat");
        if let Some(why) = appconfig::password_problem(&new) {
            self.form.set_error("new", why);
        } else if new != repeat {
            self.form
                .set_error("repeat", "the two passwords do not match");
        }
        if self.form.refused() {
            return Nav::Stay;
        }
        let hash = match appconfig::hash_password(&new) {
            Ok(h) => h,
            Err(e) => {
                shared.note = Note::bad(e);
                return Nav::Stay;
            }
        };
        // Read afresh, so the other console's changes are kept.
        let sys = shared.sys.clone();
        let saved = sys.load_config().and_then(|(mut config, base)| {
            config.accounts.sysconfig = hash;
            sys.save_config(&config, &base).map(|r| (config, r))
        });
        match saved {
            Ok((config, r)) => {
                shared.config = config;
                shared.revision = r;
            }
            Err(e) => {
                shared.note = Note::bad(format!("The password was not saved: {e}"));
                return Nav::Stay;
            }
        }
        log::info!("console: sysconfig password set on first login");
        let accounts = sys.run(&sys.settings().accounts_apply());
        // SSH starts with the first console password (when it is on).
        let ssh = sys.run(&sys.settings().sshgate_reload);
        if !ssh.is_ok() {
            log::warn!("console: sshgate not told: {}", ssh.summary());
        }
        shared.note = if accounts.is_ok() {
            Note::good("Password set. The login uses it from now on.")
        } else {
            Note::bad(format!(
                "Password saved, login not updated: {}",
                accounts.summary()
            ))
        };
        Nav::Go(Dest::Menu)
    }
}

impl View for SetPasswordView {
    fn title(&self) -> &'static str {
        "Set the console password"
    }

    fn render(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        let intro = vec![
            Line::styled(
                "Welcome. This appliance has no console password yet.",
                ui::heading(),
            ),
            Line::from(""),
            Line::from(
                "Choose the password for the 'sysconfig' account before anything else. \
                 It is needed for every later login on this console.",
            ),
            Line::from(""),
        ];
        let height = 5.min(area.height);
        frame.render_widget(
            Paragraph::new(intro).wrap(Wrap { trim: true }),
            Rect::new(area.x + 1, area.y, area.width.saturating_sub(2), height),
        );
        let rest = Rect::new(
            area.x,
            area.y + height + 1,
            area.width,
            area.height.saturating_sub(height + 1),
        );
        ui::render_form(frame, rest, &self.form, ui::Columns::default());
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        if key.code == KeyCode::Esc {
            shared.note = Note::info("Set a password first, or choose Log out");
            return Nav::Stay;
        }
        match self.form.handle_key(key) {
            FormEvent::Pressed("set") => self.submit(shared),
            FormEvent::Pressed("logout") => Nav::Quit,
            FormEvent::Left("new") => {
                let problem = appconfig::password_problem(&self.form.text("new"));
                if let (Some(why), false) = (problem, self.form.text("new").is_empty()) {
                    self.form.set_error("new", why);
                }
                Nav::Stay
            }
            _ => Nav::Stay,
        }
    }

    fn form(&self) -> Option<&Form> {
        Some(&self.form)
    }

    /// Leaving is logging out: nothing to keep.
    fn dirty(&self) -> bool {
        false
    }

    fn keys(&self) -> String {
        "Up/Down/Tab: field  type the password  Enter: next / press".into()
    }
}
