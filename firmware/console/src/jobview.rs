//! A pop-up that shows a long command's output as it runs (`rauc install`,
//! `recover`) and its verdict at the end.

use crate::commands::Job;
use crate::dialog::Dialog;
use crate::ui;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

/// Lines kept from a command's output.
const MAX_LINES: usize = 2000;

pub struct JobView {
    job: Job,
    pub dialog: Dialog,
    done: Option<bool>,
}

impl JobView {
    pub fn new(title: impl Into<String>, job: Job, first: Vec<Line<'static>>) -> JobView {
        JobView {
            job,
            dialog: Dialog::busy(title, first),
            done: None,
        }
    }

    /// Takes new output; `Some(ok)` on the tick the command is seen ending.
    pub fn tick(&mut self, on_success: &str, on_failure: &str) -> Option<bool> {
        let lines: Vec<Line<'static>> = self
            .job
            .take_lines()
            .into_iter()
            .map(|l| ui::text_line(&l, Style::default()))
            .collect();
        if !lines.is_empty() {
            self.dialog.append(lines);
            let excess = self.dialog.lines.len().saturating_sub(MAX_LINES);
            self.dialog.lines.drain(..excess);
        }
        if self.done.is_some() {
            return None;
        }
        let ok = self.job.finished()?;
        self.done = Some(ok);
        let status = self.job.status().unwrap_or("ended").to_string();
        let verdict = if ok {
            ui::text_line(on_success, ui::good())
        } else {
            ui::text_line(&format!("{on_failure} ({status})"), ui::error())
        };
        self.dialog.append([Line::from(""), verdict]);
        self.dialog.buttons = vec!["Close"];
        self.dialog.cancel = Some(0);
        Some(ok)
    }

    /// The last line of the output shown that `pred` accepts.
    pub fn find_output(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.dialog
            .lines
            .iter()
            .rev()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .find(|t| pred(t))
    }

    pub fn running(&self) -> bool {
        self.done.is_none()
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        self.dialog.render(frame, area);
    }
}
