//! A list to pick one row from (space chooses) with a row of buttons below:
//! the sets of Restore From Backup and the bundles of Firmware Update.

use crate::ui;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

#[derive(Debug, Clone)]
pub struct Picker {
    pub len: usize,
    pub cursor: usize,
    pub chosen: Option<usize>,
    /// The focus is on the list (else on the buttons).
    pub in_list: bool,
    pub buttons: Vec<&'static str>,
    pub button: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerEvent {
    Nothing,
    Chose(usize),
    Pressed(&'static str),
    Back,
}

impl Picker {
    pub fn new(buttons: Vec<&'static str>) -> Picker {
        Picker {
            len: 0,
            cursor: 0,
            chosen: None,
            in_list: true,
            buttons,
            button: 0,
        }
    }

    /// New rows: the choice is dropped (the rows it pointed at may be gone).
    pub fn reset(&mut self, len: usize) {
        self.len = len;
        self.cursor = 0;
        self.chosen = None;
        self.in_list = len > 0;
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> PickerEvent {
        match key.code {
            KeyCode::Esc => return PickerEvent::Back,
            KeyCode::Tab | KeyCode::BackTab => {
                self.in_list = !self.in_list && self.len > 0;
                return PickerEvent::Nothing;
            }
            _ => {}
        }
        if self.in_list {
            match key.code {
                KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
                KeyCode::Down if self.cursor + 1 < self.len => self.cursor += 1,
                KeyCode::Down => self.in_list = false,
                KeyCode::Home => self.cursor = 0,
                KeyCode::End => self.cursor = self.len.saturating_sub(1),
                KeyCode::Char(' ') if self.len > 0 => {
                    self.chosen = Some(self.cursor);
                    return PickerEvent::Chose(self.cursor);
                }
                KeyCode::Enter if self.len > 0 => {
                    // Enter takes the row and goes on to the buttons.
                    self.chosen = Some(self.cursor);
                    self.in_list = false;
                    return PickerEvent::Chose(self.cursor);
                }
                _ => {}
            }
            return PickerEvent::Nothing;
        }
        let n = self.buttons.len().max(1);
        match key.code {
            KeyCode::Left => self.button = (self.button + n - 1) % n,
            KeyCode::Right => self.button = (self.button + 1) % n,
            KeyCode::Up if self.len > 0 => self.in_list = true,
            KeyCode::Enter | KeyCode::Char(' ') => {
                if let Some(b) = self.buttons.get(self.button) {
                    return PickerEvent::Pressed(b);
                }
            }
            _ => {}
        }
        PickerEvent::Nothing
    }

    /// The first row to draw so that the cursor is inside `rows` lines.
    pub fn first_visible(&self, rows: usize) -> usize {
        if rows == 0 {
            return self.cursor;
        }
        self.cursor.saturating_sub(rows - 1)
    }

    /// A row's line: `(*)` for the chosen one, `(!)` for one that cannot be
    /// used, reverse video under the cursor.
    pub fn row(&self, i: usize, text: &str, style: Style, usable: bool) -> Line<'static> {
        let mark = match (self.chosen == Some(i), usable) {
            (true, _) => "(*) ",
            (false, true) => "( ) ",
            (false, false) => "(!) ",
        };
        let line = crate::format::printable(&format!("{mark}{text}"));
        if self.in_list && i == self.cursor {
            Line::from(Span::styled(line, ui::focused()))
        } else {
            Line::from(Span::styled(line, style))
        }
    }

    pub fn buttons_line(&self) -> Line<'static> {
        let mut spans = vec![Span::raw("  ")];
        for (i, b) in self.buttons.iter().enumerate() {
            let style = if !self.in_list && i == self.button {
                ui::focused()
            } else {
                Style::default()
            };
            spans.push(Span::styled(format!("[ {b} ]"), style));
            spans.push(Span::raw("  "));
        }
        Line::from(spans)
    }

    pub fn keys(&self) -> String {
        if self.in_list {
            "Up/Down: move  Space: choose  Tab: buttons  Esc: back".into()
        } else {
            "Left/Right: button  Enter: press  Tab: list  Esc: back".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_then_press() {
        let mut p = Picker::new(vec!["Restore", "Refresh"]);
        p.reset(3);
        p.handle_key(KeyCode::Down.into());
        assert_eq!(
            p.handle_key(KeyCode::Char(' ').into()),
            PickerEvent::Chose(1)
        );
        p.handle_key(KeyCode::Tab.into());
        p.handle_key(KeyCode::Right.into());
        assert_eq!(
            p.handle_key(KeyCode::Enter.into()),
            PickerEvent::Pressed("Refresh")
        );
        assert_eq!(p.handle_key(KeyCode::Esc.into()), PickerEvent::Back);
        p.reset(0);
        assert!(!p.in_list, "an empty list leaves the focus on the buttons");
    }
}
