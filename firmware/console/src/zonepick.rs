//! The time zone list of System Configuration: every zone of the database
//! built into the binaries, narrowed by what the operator types
//! ("prag", "new york"), chosen with Enter.

use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

pub struct ZonePicker {
    all: Vec<&'static str>,
    filter: String,
    shown: Vec<&'static str>,
    cursor: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneEvent {
    Nothing,
    Chose(&'static str),
    Cancel,
}

/// Rows a page key moves.
const PAGE: usize = 10;

impl ZonePicker {
    /// The whole list, the cursor on `current` when it is a listed zone.
    pub fn new(current: &str) -> ZonePicker {
        let mut p = ZonePicker {
            all: appconfig::zone_names(),
            filter: String::new(),
            shown: Vec::new(),
            cursor: 0,
        };
        p.narrow();
        if let Some(i) = p.shown.iter().position(|z| z.eq_ignore_ascii_case(current)) {
            p.cursor = i;
        }
        p
    }

    /// Zones whose name holds the filter; a space stands for '_' and '/'.
    fn narrow(&mut self) {
        let words: Vec<String> = self
            .filter
            .to_ascii_lowercase()
            .split([' ', '_', '/'])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        self.shown = self
            .all
            .iter()
            .copied()
            .filter(|z| {
                let z = z.to_ascii_lowercase();
                words.iter().all(|w| z.contains(w.as_str()))
            })
            .collect();
        self.cursor = self.cursor.min(self.shown.len().saturating_sub(1));
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> ZoneEvent {
        let last = self.shown.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc => return ZoneEvent::Cancel,
            KeyCode::Enter => {
                return match self.shown.get(self.cursor) {
                    Some(z) => ZoneEvent::Chose(z),
                    None => ZoneEvent::Nothing,
                };
            }
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down => self.cursor = (self.cursor + 1).min(last),
            KeyCode::PageUp => self.cursor = self.cursor.saturating_sub(PAGE),
            KeyCode::PageDown => self.cursor = (self.cursor + PAGE).min(last),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = last,
            // Serial terminals send ^H or DEL for the backspace key.
            KeyCode::Backspace | KeyCode::Delete => {
                self.filter.pop();
                self.cursor = 0;
                self.narrow();
            }
            KeyCode::Char(c)
                if self.filter.len() < 40 && (c.is_ascii_alphanumeric() || " _/-+".contains(c)) =>
            {
                self.filter.push(c);
                self.cursor = 0;
                self.narrow();
            }
            _ => {}
        }
        ZoneEvent::Nothing
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        let outer = ui::centered(area, 46, area.height.min(18));
        let inner = ui::popup(frame, outer, "Time zone");
        let rows = inner.height.saturating_sub(3) as usize;
        let mut lines = vec![
            Line::styled(format!("Find: {}_", self.filter), ui::heading()),
            Line::styled(
                format!("{} of {} zones", self.shown.len(), self.all.len()),
                ui::dim(),
            ),
        ];
        // Keep the cursor's row in view.
        let first = self.cursor.saturating_sub(rows.saturating_sub(1));
        for (i, z) in self.shown.iter().enumerate().skip(first).take(rows) {
            let text = format!(" {z:<w$}", w = inner.width.saturating_sub(1) as usize);
            lines.push(if i == self.cursor {
                Line::styled(text, ui::focused())
            } else {
                Line::from(text)
            });
        }
        if self.shown.is_empty() {
            lines.push(Line::styled(" no zone has that name", ui::error()));
        }
        lines.push(Line::styled(
            "Type to find  Enter: choose  Esc: cancel",
            ui::dim(),
        ));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(p: &mut ZonePicker, code: KeyCode) -> ZoneEvent {
        p.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn typed(p: &mut ZonePicker, text: &str) {
        for c in text.chars() {
            key(p, KeyCode::Char(c));
        }
    }

    #[test]
    fn typing_narrows_and_enter_chooses() {
        let mut p = ZonePicker::new("UTC");
        assert_eq!(p.shown[p.cursor], "UTC", "starts on the current zone");
        typed(&mut p, "prag");
        assert_eq!(
            key(&mut p, KeyCode::Enter),
            ZoneEvent::Chose("Europe/Prague")
        );
        let mut p = ZonePicker::new("UTC");
        typed(&mut p, "new york");
        assert_eq!(
            key(&mut p, KeyCode::Enter),
            ZoneEvent::Chose("America/New_York")
        );
    }

    #[test]
    fn nothing_found_chooses_nothing_and_backspace_widens() {
        let mut p = ZonePicker::new("UTC");
        typed(&mut p, "atlantis");
        assert!(p.shown.is_empty());
        assert_eq!(key(&mut p, KeyCode::Enter), ZoneEvent::Nothing);
        for _ in 0.."atlantis".len() {
            key(&mut p, KeyCode::Backspace);
        }
        assert_eq!(p.shown.len(), p.all.len());
        assert_eq!(key(&mut p, KeyCode::End), ZoneEvent::Nothing);
        assert_eq!(p.cursor, p.shown.len() - 1);
        assert_eq!(key(&mut p, KeyCode::Esc), ZoneEvent::Cancel);
    }
}
