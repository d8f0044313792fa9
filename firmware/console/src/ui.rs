//! Drawing shared by every screen: ASCII borders, the 16-colour palette,
//! forms laid out one field a line with the reason for a refusal beside it.

use crate::form::{Field, Form, Widget};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// Borders a VT100 draws everywhere (no line-drawing characters).
pub const ASCII: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Focus is shown by reverse video, which a monochrome terminal has too.
pub fn focused() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

pub fn error() -> Style {
    Style::default()
        .fg(Color::LightRed)
        .add_modifier(Modifier::BOLD)
}

/// The alert banner: white on red, bold (reverse video where there is no colour).
pub fn banner() -> Style {
    Style::default()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD)
}

pub fn good() -> Style {
    Style::default().fg(Color::LightGreen)
}

pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn heading() -> Style {
    Style::default()
        .fg(Color::LightCyan)
        .add_modifier(Modifier::BOLD)
}

pub fn block(title: &str) -> Block<'static> {
    Block::bordered()
        .border_set(ASCII)
        .title(format!(" {title} "))
}

/// A pop-up's frame: clears `outer`, draws the titled border there and
/// returns the inside.
pub fn popup(frame: &mut Frame, outer: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, outer);
    let block = block(title);
    let inner = block.inner(outer);
    frame.render_widget(block, outer);
    inner
}

/// The rows a form in a pop-up asks for: one a field, two for a field with
/// its reason (it may not fit beside the value), and one for the buttons.
pub fn form_rows(form: &Form) -> u16 {
    form.fields
        .iter()
        .filter(|f| !f.hidden && !f.is_button())
        .map(|f| if f.error.is_some() { 2 } else { 1 })
        .sum::<u16>()
        + 1
}

/// Widths of a form's columns.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    pub label: u16,
    pub value: u16,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            label: 20,
            value: 24,
        }
    }
}

/// Draws `form` from the top of `area`, one line per visible field, buttons
/// side by side on one line; returns the number of lines used. The focused
/// text field gets the terminal's cursor.
pub fn render_form(frame: &mut Frame, area: Rect, form: &Form, cols: Columns) -> u16 {
    let mut y = area.y;
    let bottom = area.y + area.height;
    let mut i = 0;
    while i < form.fields.len() && y < bottom {
        let field = &form.fields[i];
        if field.hidden {
            i += 1;
            continue;
        }
        if field.is_button() {
            let indent = Span::raw(" ".repeat(cols.label as usize));
            let mut spans = vec![indent.clone()];
            let mut width = cols.label as usize;
            while i < form.fields.len() && (form.fields[i].is_button() || form.fields[i].hidden) {
                let b = &form.fields[i];
                if !b.hidden {
                    let style = if i == form.focus {
                        focused()
                    } else {
                        Style::default()
                    };
                    let text = format!("[ {} ]", b.label);
                    // Buttons that do not fit the row go on the next one.
                    if spans.len() > 1 && width + text.len() > area.width as usize && y + 1 < bottom
                    {
                        frame.render_widget(
                            Paragraph::new(Line::from(std::mem::take(&mut spans))),
                            row(area, y),
                        );
                        y += 1;
                        spans.push(indent.clone());
                        width = cols.label as usize;
                    }
                    width += text.len() + 2;
                    spans.push(Span::styled(text, style));
                    spans.push(Span::raw("  "));
                }
                i += 1;
            }
            frame.render_widget(Paragraph::new(Line::from(spans)), row(area, y));
            y += 1;
            continue;
        }
        let is_focus = i == form.focus;
        let (mut line, cursor_x) = field_line(field, is_focus, cols);
        // The reason goes beside the value when it fits, else on the line below.
        let reason = field
            .error
            .as_ref()
            .filter(|_| !field.disabled)
            .map(|r| format!("! {}", crate::format::printable(r)));
        let mut below = None;
        if let Some(reason) = reason {
            if line.width() + 1 + reason.len() <= area.width as usize {
                line.spans.push(Span::raw(" "));
                line.spans.push(Span::styled(reason, error()));
            } else {
                below = Some(Line::from(vec![
                    Span::raw(" ".repeat(cols.label as usize)),
                    Span::styled(reason, error()),
                ]));
            }
        }
        frame.render_widget(Paragraph::new(line), row(area, y));
        if let Some(x) = cursor_x {
            frame.set_cursor_position(Position::new(area.x + x, y));
        }
        y += 1;
        if let Some(below) = below
            && y < bottom
        {
            frame.render_widget(Paragraph::new(below), row(area, y));
            y += 1;
        }
        i += 1;
    }
    y - area.y
}

fn row(area: Rect, y: u16) -> Rect {
    Rect::new(area.x, y, area.width, 1)
}

/// One field's line and, for a focused text box, the cursor's column.
fn field_line(field: &Field, is_focus: bool, cols: Columns) -> (Line<'static>, Option<u16>) {
    let label_style = if field.disabled {
        dim()
    } else if is_focus {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let marker = if is_focus { ">" } else { " " };
    let label = format!("{marker}{:<w$}", field.label, w = cols.label as usize - 1);
    let mut spans = vec![Span::styled(label, label_style)];
    let mut cursor = None;
    match &field.widget {
        Widget::Text {
            value,
            cursor: at,
            secret,
        } => {
            let shown: String = if *secret {
                "*".repeat(value.chars().count())
            } else {
                value.clone()
            };
            let width = cols.value as usize - 2;
            // Scroll long values so the cursor stays inside the box.
            let skip = at.saturating_sub(width.saturating_sub(1));
            let visible: String = shown.chars().skip(skip).take(width).collect();
            let style = if field.disabled {
                dim()
            } else if is_focus {
                focused()
            } else {
                Style::default().add_modifier(Modifier::UNDERLINED)
            };
            spans.push(Span::raw("["));
            spans.push(Span::styled(format!("{visible:<width$}"), style));
            spans.push(Span::raw("]"));
            if is_focus {
                cursor = Some(cols.label + 1 + (at - skip) as u16);
            }
        }
        Widget::Choice {
            options,
            selected,
            cursor: at,
        } => {
            for (k, option) in options.iter().enumerate() {
                let mark = if k == *selected { "(*)" } else { "( )" };
                let style = if is_focus && k == *at {
                    focused()
                } else if field.disabled {
                    dim()
                } else {
                    Style::default()
                };
                spans.push(Span::styled(format!("{mark} {option}"), style));
                spans.push(Span::raw("  "));
            }
        }
        Widget::Toggles {
            options,
            on,
            cursor: at,
        } => {
            for (k, option) in options.iter().enumerate() {
                let mark = if on.get(k).copied().unwrap_or(false) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let style = if is_focus && k == *at {
                    focused()
                } else {
                    Style::default()
                };
                spans.push(Span::styled(format!("{mark}{option}"), style));
                spans.push(Span::raw(" "));
            }
        }
        Widget::Button => {}
    }
    (Line::from(spans), cursor)
}

/// Plain lines of text, safe for anything that came from outside.
pub fn text_line(text: &str, style: Style) -> Line<'static> {
    Line::styled(crate::format::printable(text), style)
}

/// A rectangle of `width` x `height` centred in `area`, clipped to it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
