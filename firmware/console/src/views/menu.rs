//! The main menu, with the appliance's state beside it.

use super::{Dest, Nav, View};
use crate::app::{Note, Shared};
use crate::format;
use crate::livenet::LiveNetwork;
use crate::pending::Pending;
use crate::ui;
use control::backupd::Status;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use std::time::Duration;

const ITEMS: [(&str, Option<Dest>); 9] = [
    ("Network Configuration", Some(Dest::Network)),
    ("System Configuration", Some(Dest::System)),
    ("SSH Access", Some(Dest::Ssh)),
    ("Backup/Maintenance", Some(Dest::Backup)),
    ("Restore From Backup", Some(Dest::Restore)),
    ("Alerts", Some(Dest::Alerts)),
    ("Log", Some(Dest::Log)),
    ("Firmware Update", Some(Dest::Firmware)),
    ("Exit/Logout", None),
];

pub struct MenuView {
    selected: usize,
    live: LiveNetwork,
    status: Option<Result<Status, String>>,
    pending: Option<Pending<Result<Status, String>>>,
}

/// backupd's status in one call, its failure in words.
pub fn fetch_status(shared: &Shared, timeout: Duration) -> Pending<Result<Status, String>> {
    let sys = shared.sys.clone();
    Pending::spawn(move || {
        sys.backupd()
            .with_timeout(timeout)
            .status()
            .map_err(|e| e.to_string())
    })
}

impl MenuView {
    pub fn new(shared: &mut Shared) -> MenuView {
        MenuView {
            selected: 0,
            live: shared.sys.live_network(&shared.config.network.interface),
            status: None,
            pending: Some(fetch_status(shared, Duration::from_secs(3))),
        }
    }

    fn status_lines(&self, shared: &Shared) -> Vec<Line<'static>> {
        let c = &shared.config;
        let row = |label: &str, value: String| {
            ui::text_line(&format!("{label:<16}{value}"), Style::default())
        };
        let mut lines = vec![
            row("Host name", c.system.hostname.to_string()),
            row(
                "Address",
                match self.live.addresses.first() {
                    Some(a) => format!("{a} on {}", self.live.interface),
                    None if self.live.present => format!("none on {}", self.live.interface),
                    None => format!("{} not found", self.live.interface),
                },
            ),
            row(
                "Address mode",
                match c.network.mode {
                    appconfig::AddressMode::Dhcp => "DHCP".into(),
                    appconfig::AddressMode::Static => "static".into(),
                },
            ),
            row(
                "Backup location",
                match c.backup.destination {
                    appconfig::DestinationKind::Smb => {
                        format!("SMB //{}/{}", c.backup.smb.host, c.backup.smb.share)
                    }
                    other => super::backup::location_name(other).into(),
                },
            ),
            row("Backup time", format!("{} daily", c.backup.schedule)),
            row(
                "FTP access",
                if c.ftp.access_list.is_empty() {
                    "nobody (empty list)".into()
                } else {
                    c.ftp.access_list.to_string()
                },
            ),
        ];
        match &self.status {
            None => lines.push(row("Backups", "asking backupd...".into())),
            Some(Err(e)) => {
                lines.push(ui::text_line(&format!("{:<16}{e}", "Backups"), ui::error()))
            }
            Some(Ok(s)) => {
                let now = match &s.running {
                    Some(p) => format!("running ({}, {})", p.phase, format::bytes(p.bytes_done)),
                    None => "idle".into(),
                };
                lines.push(row("Backup now", now));
                lines.push(row(
                    "Next backup",
                    format!("{} ({})", s.next_run, s.next_kind),
                ));
                match s.recent.first() {
                    Some(r) => lines.push(ui::text_line(
                        &format!(
                            "{:<16}{} {}: {}",
                            "Last backup",
                            r.started,
                            if r.ok { "OK" } else { "FAILED" },
                            r.message
                        ),
                        if r.ok { ui::good() } else { ui::error() },
                    )),
                    None => lines.push(row("Last backup", "none yet".into())),
                }
                for w in s
                    .recent
                    .first()
                    .map(|r| r.warnings.as_slice())
                    .unwrap_or(&[])
                {
                    lines.push(ui::text_line(&format!("{:<16}{w}", "Warning"), ui::error()));
                }
            }
        }
        lines
    }
}

impl View for MenuView {
    fn title(&self) -> &'static str {
        "Main menu"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let menu_width = 28.min(area.width);
        let menu = ui::block("Choose");
        let menu_area = Rect::new(
            area.x + 1,
            area.y,
            menu_width,
            (ITEMS.len() as u16 + 2).min(area.height),
        );
        let inner = menu.inner(menu_area);
        frame.render_widget(menu, menu_area);
        let items: Vec<Line> = ITEMS
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                let text = format!("{} {}", i + 1, name);
                if i == self.selected {
                    Line::styled(
                        format!("{text:<w$}", w = inner.width as usize),
                        ui::focused(),
                    )
                } else {
                    Line::from(text)
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(items), inner);

        let x = area.x + menu_width + 3;
        let state_area = Rect::new(
            x,
            area.y,
            area.width.saturating_sub(x - area.x),
            area.height,
        );
        let mut lines = vec![Line::styled("This appliance", ui::heading())];
        lines.extend(self.status_lines(shared));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), state_area);
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        let choose = |i: usize| match ITEMS.get(i) {
            Some((_, Some(dest))) => Nav::Go(*dest),
            Some((_, None)) => Nav::Quit,
            None => Nav::Stay,
        };
        match key.code {
            KeyCode::Up | KeyCode::BackTab => {
                self.selected = (self.selected + ITEMS.len() - 1) % ITEMS.len()
            }
            KeyCode::Down | KeyCode::Tab => self.selected = (self.selected + 1) % ITEMS.len(),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = ITEMS.len() - 1,
            KeyCode::Enter => return choose(self.selected),
            KeyCode::Char(c @ '1'..='9') if (c as usize - '1' as usize) < ITEMS.len() => {
                self.selected = c as usize - '1' as usize;
                return choose(self.selected);
            }
            KeyCode::Esc => shared.note = Note::info("Choose Exit/Logout to leave the console"),
            _ => {}
        }
        Nav::Stay
    }

    fn tick(&mut self, _shared: &mut Shared) -> Nav {
        if let Some(p) = &self.pending
            && let Some(result) = p.poll()
        {
            self.status = Some(result.and_then(|r| r));
            self.pending = None;
        }
        Nav::Stay
    }

    fn keys(&self) -> String {
        format!(
            "Up/Down: choose  Enter: open  1-{}: open directly",
            ITEMS.len()
        )
    }
}
