//! What the administrator sees: a progress bar with the time left on a
//! terminal (refreshed a few times a second, which a serial line carries),
//! plain progress lines in logs and pipes, nothing with `-g` or `-q`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bar,
    Lines,
    Off,
}

/// How much is said besides progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors and warnings only.
    Quiet,
    Normal,
    /// Also every file restored.
    Verbose,
}

/// Seconds between progress lines when not on a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct Reporter {
    progress: ProgressMode,
    verbosity: Verbosity,
    bar: Option<ProgressBar>,
    what: String,
    total: u64,
    started: Instant,
    last_line: Instant,
}

impl Reporter {
    pub fn new(progress: ProgressMode, verbosity: Verbosity) -> Reporter {
        let progress = if verbosity == Verbosity::Quiet {
            ProgressMode::Off
        } else {
            progress
        };
        Reporter {
            progress,
            verbosity,
            bar: None,
            what: String::new(),
            total: 0,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    /// Says nothing but warnings and errors (library callers, tests).
    pub fn quiet() -> Reporter {
        Reporter::new(ProgressMode::Off, Verbosity::Quiet)
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    fn print(&self, line: &str) {
        // Lines name files of a set: never let them drive the terminal.
        let line = &*humanfmt::printable(line, false);
        match &self.bar {
            Some(b) => b.println(line),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }

    /// A line of normal output.
    pub fn info(&self, line: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Normal {
            self.print(line.as_ref());
        }
    }

    /// A line only `-v` shows.
    pub fn detail(&self, line: impl AsRef<str>) {
        if self.verbosity >= Verbosity::Verbose {
            self.print(line.as_ref());
        }
    }

    /// A warning: always shown (on standard error), and logged.
    pub fn warn(&self, line: impl AsRef<str>) {
        let line = &*humanfmt::printable(line.as_ref(), false);
        log::warn!("{line}");
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("warning: {line}")),
            None => eprintln!("warning: {line}"),
        }
    }

    /// Starts showing progress of `what` over `total` bytes.
    pub fn start(&mut self, what: &str, total: u64) {
        self.finish();
        self.what = what.to_string();
        self.total = total;
        self.started = Instant::now();
        self.last_line = Instant::now();
        match self.progress {
            ProgressMode::Bar => {
                let b = ProgressBar::new(total);
                b.set_draw_target(ProgressDrawTarget::stdout_with_hz(4));
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                b.set_message(what.to_string());
                self.bar = Some(b);
            }
            ProgressMode::Lines => self.print(&format!("{what}: {}", humanfmt::bytes(total))),
            ProgressMode::Off => {}
        }
    }

    /// Bytes done so far of the current step.
    pub fn advance(&mut self, done: u64) {
        match self.progress {
            ProgressMode::Bar => {
                if let Some(b) = &self.bar {
                    b.set_position(done);
                }
            }
            ProgressMode::Lines if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                let elapsed = self.started.elapsed().as_secs_f64();
                let pct = if self.total > 0 {
                    done as f64 * 100.0 / self.total as f64
                } else {
                    100.0
                };
                let left = if done > 0 && self.total > done {
                    let secs = elapsed * (self.total - done) as f64 / done as f64;
                    format!(", about {} left", humanfmt::clock(secs.round() as u64))
                } else {
                    String::new()
                };
                self.print(&format!(
                    "{}: {pct:.0}% ({} of {}){left}",
                    self.what,
                    humanfmt::bytes(done),
                    humanfmt::bytes(self.total)
                ));
            }
            _ => {}
        }
    }

    /// Ends the current progress display.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What the summary says about messages the set holds with their headers
/// only: how many were restored that way, and how many files already on
/// the disk were kept instead of them.
pub fn headers_only_lines(placed: &crate::place::PlaceStats) -> Vec<String> {
    let mut lines = Vec::new();
    if placed.headers_only > 0 {
        lines.push(if placed.headers_only == 1 {
            "1 message restored as headers only: its body was older than the set's body window"
                .to_string()
        } else {
            format!(
                "{} messages restored as headers only: their bodies were older than the set's \
                 body window",
                placed.headers_only
            )
        });
    }
    if placed.kept_current > 0 {
        lines.push(if placed.kept_current == 1 {
            "1 message already on the disk kept as it is: the set holds only its headers"
                .to_string()
        } else {
            format!(
                "{} messages already on the disk kept as they are: the set holds only their \
                 headers",
                placed.kept_current
            )
        });
    }
    lines
}
