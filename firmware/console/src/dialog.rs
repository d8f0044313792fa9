//! Pop-up windows over a screen: reports, confirmations and "please wait".
//! Esc only ever stands for the harmless button.

use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

#[derive(Debug, Clone)]
pub struct Dialog {
    pub title: String,
    pub lines: Vec<Line<'static>>,
    pub buttons: Vec<&'static str>,
    pub focus: usize,
    /// The button Esc stands for; `None` when Esc does nothing here.
    pub cancel: Option<usize>,
    pub scroll: u16,
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
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> DialogEvent {
        let n = self.buttons.len();
        match key.code {
            KeyCode::Left | KeyCode::BackTab if n > 0 => self.focus = (self.focus + n - 1) % n,
            KeyCode::Right | KeyCode::Tab if n > 0 => self.focus = (self.focus + 1) % n,
            KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down => self.scroll = (self.scroll + 1).min(self.max_scroll()),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::PageDown => self.scroll = (self.scroll + 10).min(self.max_scroll()),
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

    fn max_scroll(&self) -> u16 {
        self.lines.len().saturating_sub(1).min(u16::MAX as usize) as u16
    }

    /// Adds lines at the end and keeps the newest in view (command output).
    pub fn append(&mut self, lines: impl IntoIterator<Item = Line<'static>>, visible: u16) {
        self.lines.extend(lines);
        self.scroll = self
            .lines
            .len()
            .saturating_sub(visible as usize)
            .min(u16::MAX as usize) as u16;
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        // The full width of the screen's body: nothing of the form shows beside it.
        let width = area.width;
        // Rows the text takes once wrapped inside the borders.
        let inner_width = usize::from(width.saturating_sub(2)).max(1);
        let text_rows: usize = self
            .lines
            .iter()
            .map(|l| l.width().div_ceil(inner_width).max(1))
            .sum();
        let text_rows = u16::try_from(text_rows).unwrap_or(u16::MAX);
        let wanted = text_rows
            .saturating_add(2)
            .saturating_add(if self.buttons.is_empty() { 0 } else { 2 });
        let popup = ui::centered(
            area,
            width,
            wanted.min(area.height.saturating_sub(1)).max(5),
        );
        frame.render_widget(Clear, popup);
        let block = ui::block(&self.title);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
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
        frame.render_widget(
            Paragraph::new(self.lines.clone())
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0)),
            text_area,
        );
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
