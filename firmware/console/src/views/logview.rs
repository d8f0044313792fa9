//! Log: the last lines of the system log (`Settings::log_path`), newest at
//! the bottom, filtered by the service that wrote them, scrolled with the
//! arrows and pages; R reads the file again.

use super::{Nav, View};
use crate::app::Shared;
use crate::logtail::{self, SERVICES};
use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::cell::Cell;

/// Lines read from the end of the log.
pub const LINES: usize = 2000;

pub struct LogView {
    lines: Vec<String>,
    problem: Option<String>,
    service: usize,
    /// First line shown of the filtered lines; `None`: the newest end.
    top: Option<usize>,
    /// Rows the last drawing had for lines, for paging.
    rows: Cell<usize>,
}

/// A line without its host name and facility: the time, the service and
/// what it said fit the 80 columns better.
fn compact(line: &str) -> String {
    if logtail::tag(line).is_none() || !line.is_char_boundary(15) {
        return line.to_string();
    }
    let time = line.get(..15).unwrap_or(line);
    let rest = line.get(16..).unwrap_or("");
    // Past the host, and the facility.priority when there is one.
    let mut parts = rest.splitn(2, ' ');
    let _host = parts.next();
    let rest = parts.next().unwrap_or("");
    let rest = match rest.split_once(' ') {
        Some((first, after)) if !first.ends_with(':') && first.contains('.') => after,
        _ => rest,
    };
    format!("{time} {rest}")
}

impl LogView {
    pub fn new(shared: &mut Shared) -> LogView {
        let mut v = LogView {
            lines: Vec::new(),
            problem: None,
            service: 0,
            top: None,
            rows: Cell::new(10),
        };
        v.refresh(shared);
        v
    }

    fn refresh(&mut self, shared: &Shared) {
        let path = &shared.sys.settings().log_path;
        match logtail::tail_log(path, LINES) {
            Ok(lines) => {
                self.lines = lines;
                self.problem = None;
            }
            Err(e) => {
                self.lines.clear();
                self.problem = Some(format!("Cannot read {}: {e}", path.display()));
            }
        }
        self.top = None;
    }

    fn shown(&self) -> Vec<&String> {
        self.lines
            .iter()
            .filter(|l| logtail::matches(l, self.service))
            .collect()
    }

    fn scroll(&mut self, by: isize) {
        let n = self.shown().len();
        let rows = self.rows.get().max(1);
        let last_top = n.saturating_sub(rows);
        let top = self.top.unwrap_or(last_top) as isize + by;
        let top = top.clamp(0, last_top as isize) as usize;
        // Back at the end: follow the newest again.
        self.top = (top < last_top).then_some(top);
    }
}

impl View for LogView {
    fn title(&self) -> &'static str {
        "Log"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        // The chosen service between its neighbours' arrows: the nine do
        // not fit an 80-column line side by side.
        let name = SERVICES.get(self.service).map(|s| s.0).unwrap_or("all");
        let spans = vec![
            Span::raw("Service: < "),
            Span::styled(format!(" {name} "), ui::focused()),
            Span::raw(format!(
                " >   ({} of {}, Left/Right for the others)",
                self.service + 1,
                SERVICES.len()
            )),
        ];
        let shown = self.shown();
        let rows = (area.height as usize).saturating_sub(2);
        self.rows.set(rows);
        let last_top = shown.len().saturating_sub(rows);
        let top = self.top.unwrap_or(last_top).min(last_top);
        let mut lines = vec![
            Line::from(spans),
            ui::text_line(
                &format!(
                    "{} lines of {} ({}), {} to {}{}",
                    shown.len(),
                    shared.sys.settings().log_path.display(),
                    SERVICES.get(self.service).map(|s| s.0).unwrap_or("all"),
                    if shown.is_empty() { 0 } else { top + 1 },
                    (top + rows).min(shown.len()),
                    if self.top.is_none() {
                        ", newest at the bottom"
                    } else {
                        ""
                    }
                ),
                ui::heading(),
            ),
        ];
        if let Some(p) = &self.problem {
            lines.push(ui::text_line(p, ui::error()));
        } else if shown.is_empty() {
            lines.push(Line::from("No lines from this service in the log."));
        }
        let width = area.width as usize;
        for l in shown.iter().skip(top).take(rows) {
            let text: String = compact(l).chars().take(width).collect();
            lines.push(Line::styled(text, Style::default()));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        let page = self.rows.get().max(1) as isize;
        match key.code {
            KeyCode::Esc => return Nav::Back,
            KeyCode::Left => {
                self.service = (self.service + SERVICES.len() - 1) % SERVICES.len();
                self.top = None;
            }
            KeyCode::Right | KeyCode::Tab => {
                self.service = (self.service + 1) % SERVICES.len();
                self.top = None;
            }
            KeyCode::Up => self.scroll(-1),
            KeyCode::Down => self.scroll(1),
            KeyCode::PageUp => self.scroll(-page),
            KeyCode::PageDown => self.scroll(page),
            KeyCode::Home => self.top = Some(0),
            KeyCode::End => self.top = None,
            KeyCode::Char('r') | KeyCode::Char('R') | KeyCode::F(5) => self.refresh(shared),
            _ => {}
        }
        Nav::Stay
    }

    fn keys(&self) -> String {
        "Left/Right: service  Up/Down/PgUp/PgDn/Home/End: scroll  R: refresh  Esc: back".into()
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn host_and_facility_are_left_out() {
        assert_eq!(
            compact("Dec  4 04:03:37 mx1 daemon.info backupd[212]: started"),
            "Dec  4 04:03:37 backupd[212]: started"
        );
        assert_eq!(
            compact("Dec 14 04:03:37 mx1 ftpd[3]: login"),
            "Dec 14 04:03:37 ftpd[3]: login"
        );
        assert_eq!(compact("odd line"), "odd line");
    }
}
