//! The console as a whole: which screen is open, the configuration as last
//! saved, and the frame around every screen (title, message line, keys).

use crate::dialog::{Dialog, DialogEvent};
use crate::pending::Pending;
use crate::system::System;
use crate::ui;
use crate::views::{self, Dest, Nav, View};
use appconfig::Config;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the alert banner asks backupd, and how long it waits.
const ALERT_POLL: Duration = Duration::from_secs(5);
const ALERT_TIMEOUT: Duration = Duration::from_secs(3);

/// How a line at the bottom reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Bad,
}

/// A one-line message at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub tone: Tone,
}

impl Note {
    pub fn info(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            text: text.into(),
            tone: Tone::Info,
        })
    }
    pub fn good(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            text: text.into(),
            tone: Tone::Good,
        })
    }
    pub fn bad(text: impl Into<String>) -> Option<Note> {
        Some(Note {
            text: text.into(),
            tone: Tone::Bad,
        })
    }

    pub fn style(&self) -> Style {
        match self.tone {
            Tone::Info => Style::default(),
            Tone::Good => ui::good(),
            Tone::Bad => ui::error(),
        }
    }
}

/// What every screen may read and change.
pub struct Shared {
    pub sys: Arc<dyn System>,
    /// The configuration as it is on disk (after the last save).
    pub config: Config,
    /// What the file held when `config` was read or saved: a save based on
    /// it is refused when the other console saved meanwhile.
    pub revision: appconfig::Revision,
    /// Why the file could not be read, when it could not.
    pub config_problem: Option<String>,
    pub note: Option<Note>,
    /// backupd's alert (backups failing or too old), shown as a red line
    /// on every screen; `None`: none, or backupd did not say.
    pub alert: Option<String>,
}

pub struct App {
    shared: Shared,
    view: Box<dyn View>,
    /// "Leave without saving?" over a screen with changes.
    leave: Option<Dialog>,
    quit: bool,
    /// The banner's call to backupd under way, and when the last began.
    alert_call: Option<Pending<Option<String>>>,
    alert_asked: Option<Instant>,
}

impl App {
    /// Loads the configuration and opens the first screen: the password
    /// set-up on a new appliance, the main menu otherwise.
    pub fn new(sys: Arc<dyn System>) -> App {
        let (config, revision, config_problem) = match sys.load_config() {
            Ok((c, r)) => (c, r, None),
            Err(e) => {
                log::error!("console: {e}");
                (
                    Config::default(),
                    appconfig::Revision::default(),
                    Some(e.to_string()),
                )
            }
        };
        let mut shared = Shared {
            sys,
            config,
            revision,
            config_problem,
            note: None,
            alert: None,
        };
        // An unreadable file says nothing about the password: the login
        // already checked it, so do not demand a new one.
        let first = if shared.config.accounts.sysconfig.is_empty()
            && shared.config_problem.is_none()
        {
            Dest::SetPassword
        } else {
            if let Some(p) = &shared.config_problem {
                shared.note = Note::bad(format!("{p} (showing defaults; Save replaces the file)"));
            }
            Dest::Menu
        };
        let view = views::open(first, &mut shared);
        let mut app = App {
            shared,
            view,
            leave: None,
            quit: false,
            alert_call: None,
            alert_asked: None,
        };
        // Right after login: the banner is the first thing the operator sees.
        app.poll_alert();
        app
    }

    /// Asks backupd for its alert now and then (one call at a time, bounded).
    fn poll_alert(&mut self) {
        if let Some(p) = &self.alert_call {
            match p.poll() {
                None => return,
                Some(r) => {
                    self.shared.alert = r.ok().flatten();
                    self.alert_call = None;
                }
            }
        }
        if self.alert_asked.is_some_and(|t| t.elapsed() < ALERT_POLL) {
            return;
        }
        self.alert_asked = Some(Instant::now());
        let sys = self.shared.sys.clone();
        self.alert_call = Some(Pending::spawn(move || {
            let backupd = sys.backupd().with_timeout(ALERT_TIMEOUT);
            backupd.status().ok().and_then(|s| s.alert)
        }));
    }

    /// The alert the banner shows.
    pub fn alert(&self) -> Option<&str> {
        self.shared.alert.as_deref()
    }

    /// How long the session may sit idle before it logs out.
    pub fn idle_logout(&self) -> Option<std::time::Duration> {
        self.shared.sys.settings().idle_logout
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Work the operator is watching is running (see [`View::busy`]).
    pub fn busy(&self) -> bool {
        self.view.busy()
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The screen now open.
    pub fn screen(&self) -> &'static str {
        self.view.title()
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        // On a serial line Esc and the next key can arrive in one read, which
        // reads as Alt+key; nothing here uses Alt, so take it as both keys.
        if key.modifiers.contains(KeyModifiers::ALT) {
            self.handle_key(KeyEvent::from(KeyCode::Esc));
            let mut plain = key;
            plain.modifiers.remove(KeyModifiers::ALT);
            self.handle_key(plain);
            return;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(
                key.code,
                KeyCode::Char('c') | KeyCode::Char('z') | KeyCode::Char('\\')
            )
        {
            self.shared.note =
                Note::info("To leave the console choose Exit/Logout in the main menu");
            return;
        }
        if let Some(dialog) = &mut self.leave {
            match dialog.handle_key(key) {
                DialogEvent::Chosen("Discard") => {
                    self.leave = None;
                    self.shared.note = Note::info("Changes discarded");
                    self.go(Dest::Menu);
                }
                DialogEvent::Chosen(_) => self.leave = None,
                DialogEvent::Nothing => {}
            }
            return;
        }
        // A message answers the last action; the next key starts a new one.
        self.shared.note = None;
        let nav = self.view.handle_key(key, &mut self.shared);
        self.navigate(nav);
    }

    /// Lets running work (backup progress, command output, replies from
    /// backupd) reach the screen; called a few times a second.
    pub fn tick(&mut self) {
        self.poll_alert();
        let nav = self.view.tick(&mut self.shared);
        self.navigate(nav);
    }

    fn navigate(&mut self, nav: Nav) {
        match nav {
            Nav::Stay => {}
            Nav::Back if self.view.dirty() => {
                self.leave = Some(Dialog::confirm(
                    "Unsaved changes",
                    vec![
                        Line::from("The changes on this screen have not been saved."),
                        Line::from("Leave and lose them?"),
                    ],
                    "Discard",
                ));
                if let Some(d) = &mut self.leave {
                    d.buttons[0] = "Keep editing";
                }
            }
            Nav::Back => self.go(Dest::Menu),
            Nav::Go(dest) => self.go(dest),
            Nav::Quit => self.quit = true,
        }
    }

    fn go(&mut self, dest: Dest) {
        self.view = views::open(dest, &mut self.shared);
    }

    pub fn render(&self, frame: &mut Frame) {
        let area = frame.area();
        if area.height < 4 || area.width < 20 {
            return;
        }
        let header = format!(
            " Appliance console  |  {}  |  {}",
            self.shared.config.system.hostname,
            self.view.title()
        );
        frame.render_widget(
            Paragraph::new(format!("{header:<w$}", w = area.width as usize))
                .style(Style::default().add_modifier(Modifier::REVERSED)),
            Rect::new(area.x, area.y, area.width, 1),
        );
        // The alert banner, one red line under the title on every screen.
        let banner = self.shared.alert.as_ref().filter(|_| area.height >= 8);
        if let Some(a) = banner {
            let text = format!(" ALERT: {a}");
            frame.render_widget(
                Paragraph::new(ui::text_line(
                    &format!("{text:<w$}", w = area.width as usize),
                    ui::banner(),
                )),
                Rect::new(area.x, area.y + 1, area.width, 1),
            );
        }
        let top = if banner.is_some() { 2 } else { 1 };
        let body = Rect::new(area.x, area.y + top, area.width, area.height - 2 - top);
        let block = ui::block(self.view.title());
        let inner = block.inner(body);
        frame.render_widget(block, body);
        self.view.render(frame, inner, &self.shared);

        let note_row = Rect::new(area.x, area.y + area.height - 2, area.width, 1);
        // The answer to the last key first (it is cleared by the next one),
        // then the focused field's refusal in full, then what the field takes.
        let note = self
            .shared
            .note
            .clone()
            .or_else(|| self.view.focus_error().and_then(Note::bad))
            .or_else(|| self.view.focus_hint().and_then(Note::info));
        if let Some(note) = note {
            frame.render_widget(
                Paragraph::new(ui::text_line(&format!(" {}", note.text), note.style())),
                note_row,
            );
        }
        let keys_row = Rect::new(area.x, area.y + area.height - 1, area.width, 1);
        frame.render_widget(
            Paragraph::new(format!(" {}", self.view.keys())).style(ui::dim()),
            keys_row,
        );
        if let Some(d) = &self.leave {
            d.render(frame, body);
        }
    }
}
