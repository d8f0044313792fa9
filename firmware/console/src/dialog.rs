//! Pop-up windows over a screen: reports, confirmations and "please wait".
//! Esc only ever stands for the harmless button.

use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::cell::Cell;

#[derive(Debug, Clone)]
pub struct Dialog {
    pub title: String,
    pub lines: Vec<Line<'static>>,
    pub buttons: Vec<&'static str>,
    pub focus: usize,
    /// The button Esc stands for; `None` when Esc does nothing here.
    pub cancel: Option<usize>,
    /// First text row shown (rows after wrapping), when not following.
    pub scroll: u16,
    /// Keep the newest output in view (command output) until the operator
    /// scrolls back.
    pub follow: bool,
    /// What the last drawing showed: its first row and how many rows the
    /// wrapped text has, so scrolling starts from what is on the screen.
    shown: Cell<(u16, u16)>,
}

/// What a key did in a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogEvent {
    Nothing,
    Chosen(&'static str),
}

impl Dialog {
    /// A report with a Close button.
    pub fn info(title: impl Into<String>, lines: Vec<Line<'static>>) -> Dialog {
        Dialog {
            title: title.into(),
            lines,
            buttons: vec!["Close"],
            focus: 0,
            cancel: Some(0),
            scroll: 0,
            follow: false,
            shown: Cell::new((0, 0)),
        }
    }

    /// A question whose default, and Esc, is Cancel.
    pub fn confirm(
        title: impl Into<String>,
        lines: Vec<Line<'static>>,
        yes: &'static str,
    ) -> Dialog {
        Dialog {
            title: title.into(),
            lines,
            buttons: vec!["Cancel", yes],
            focus: 0,
            cancel: Some(0),
            scroll: 0,
            follow: false,
            shown: Cell::new((0, 0)),
        }
    }

    /// Work under way: no buttons until it ends.
    pub fn busy(title: impl Into<String>, lines: Vec<Line<'static>>) -> Dialog {
        Dialog {
            title: title.into(),
            lines,
            buttons: Vec::new(),
            focus: 0,
            cancel: None,
            scroll: 0,
            follow: false,
            shown: Cell::new((0, 0)),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> DialogEvent {
        let n = self.buttons.len();
        match key.code {
            KeyCode::Left | KeyCode::BackTab if n > 0 => self.focus = (self.focus + n - 1) % n,
            KeyCode::Right | KeyCode::Tab if n > 0 => self.focus = (self.focus + 1) % n,
            KeyCode::Up => self.scroll_to(self.shown.get().0.saturating_sub(1)),
            KeyCode::Down => self.scroll_to(self.shown.get().0.saturating_add(1)),
            KeyCode::PageUp => self.scroll_to(self.shown.get().0.saturating_sub(10)),
            KeyCode::PageDown => self.scroll_to(self.shown.get().0.saturating_add(10)),
            KeyCode::Enter | KeyCode::Char(' ') => {
                if let Some(b) = self.buttons.get(self.focus) {
                    return DialogEvent::Chosen(b);
                }
            }
            KeyCode::Esc => {
                if let Some(b) = self.cancel.and_then(|i| self.buttons.get(i)) {
                    return DialogEvent::Chosen(b);
                }
            }
            _ => {}
        }
        DialogEvent::Nothing
    }

    /// Scrolls by hand: the view stops following new output.
    fn scroll_to(&mut self, row: u16) {
        let rows = self.shown.get().1;
        self.scroll = row.min(rows.saturating_sub(1));
        self.follow = false;
    }

    /// Adds lines at the end and keeps the newest in view (command output).
    pub fn append(&mut self, lines: impl IntoIterator<Item = Line<'static>>) {
        self.lines.extend(lines);
        self.follow = true;
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        // The full width of the screen's body: nothing of the form shows beside it.
        let width = area.width;
        // Rows the text takes once wrapped inside the borders, counted by
        // the same word wrapping that draws it.
        let text = Paragraph::new(self.lines.clone()).wrap(Wrap { trim: false });
        let text_rows = text.line_count(width.saturating_sub(2).max(1));
        let text_rows = u16::try_from(text_rows).unwrap_or(u16::MAX);
        let wanted = text_rows
            .saturating_add(2)
            .saturating_add(if self.buttons.is_empty() { 0 } else { 2 });
        let popup = ui::centered(
            area,
            width,
            wanted.min(area.height.saturating_sub(1)).max(5),
        );
        let inner = ui::popup(frame, popup, &self.title);
        let (text_area, button_row) = if self.buttons.is_empty() {
            (inner, None)
        } else {
            (
                Rect::new(
                    inner.x,
                    inner.y,
                    inner.width,
                    inner.height.saturating_sub(2),
                ),
                Some(Rect::new(
                    inner.x,
                    inner.y + inner.height.saturating_sub(1),
                    inner.width,
                    1,
                )),
            )
        };
        // Following: the last rows of the wrapped text fill the area.
        let scroll = if self.follow {
            text_rows.saturating_sub(text_area.height)
        } else {
            self.scroll
        };
        self.shown.set((scroll, text_rows));
        frame.render_widget(text.scroll((scroll, 0)), text_area);
        if let Some(row) = button_row {
            let mut spans = Vec::new();
            for (i, b) in self.buttons.iter().enumerate() {
                let style = if i == self.focus {
                    ui::focused()
                } else {
                    Style::default()
                };
                spans.push(Span::styled(format!("[ {b} ]"), style));
                spans.push(Span::raw("  "));
            }
            frame.render_widget(Paragraph::new(Line::from(spans)).centered(), row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn draw(d: &Dialog) -> String {
        let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        t.draw(|f| d.render(f, f.area())).expect("draw");
        let buf = t.backend().buffer();
        (0..24)
            .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Long output lines wrap; the newest line stays in view all the same,
    /// and scrolling back by hand stops the following.
    #[test]
    fn output_follows_the_newest_line_even_when_lines_wrap() {
        let mut d = Dialog::busy("Restore", vec![]);
        for i in 0..40 {
            d.append([Line::from(format!("line {i:02} {}", "x".repeat(100)))]);
        }
        d.append([Line::from("Restore finished")]);
        let screen = draw(&d);
        assert!(screen.contains("Restore finished"), "{screen}");
        d.handle_key(KeyCode::PageUp.into());
        let screen = draw(&d);
        assert!(!screen.contains("Restore finished"), "{screen}");
        assert!(!d.follow);
    }

    #[test]
    fn esc_is_cancel_and_enter_takes_the_focused_button() {
        let mut d = Dialog::confirm("Restore", vec![], "Restore");
        assert_eq!(
            d.handle_key(KeyCode::Enter.into()),
            DialogEvent::Chosen("Cancel")
        );
        d.handle_key(KeyCode::Right.into());
        assert_eq!(
            d.handle_key(KeyCode::Esc.into()),
            DialogEvent::Chosen("Cancel")
        );
        assert_eq!(
            d.handle_key(KeyCode::Enter.into()),
            DialogEvent::Chosen("Restore")
        );
        let mut busy = Dialog::busy("Wait", vec![]);
        assert_eq!(busy.handle_key(KeyCode::Esc.into()), DialogEvent::Nothing);
        assert_eq!(busy.handle_key(KeyCode::Enter.into()), DialogEvent::Nothing);
    }
}
