//! The serial console: a thread copies QEMU's stdout into a buffer (and the
//! log file); waits look for text after a cursor.

use std::fs::File;
use std::io::{Read, Write};
use std::process::ChildStdout;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

struct State {
    text: String,
    closed: bool,
    /// The serial terminal as a screen of 80x24 cells.
    screen: vt100::Parser,
}

impl Default for State {
    fn default() -> Self {
        State {
            text: String::new(),
            closed: false,
            screen: vt100::Parser::new(24, 80, 0),
        }
    }
}

/// Everything the appliance printed on its serial line.
#[derive(Clone)]
pub struct Console {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Console {
    pub fn start(mut out: ChildStdout, mut log: File) -> Console {
        let console = Console {
            shared: Arc::new((Mutex::new(State::default()), Condvar::new())),
        };
        let shared = console.shared.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let _ = log.write_all(&buf[..n]);
                let (lock, cv) = &*shared;
                let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
                st.screen.process(&buf[..n]);
                // Carriage returns only get in the way of matching lines.
                st.text
                    .push_str(&String::from_utf8_lossy(&buf[..n]).replace('\r', ""));
                cv.notify_all();
            }
            let (lock, cv) = &*shared;
            lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
            cv.notify_all();
        });
        console
    }

    /// A console with nothing on it, before QEMU starts.
    pub fn start_placeholder() -> Console {
        Console {
            shared: Arc::new((
                Mutex::new(State {
                    closed: true,
                    ..State::default()
                }),
                Condvar::new(),
            )),
        }
    }

    /// Length of the text so far: a cursor for [`Console::wait_for`].
    pub fn cursor(&self) -> usize {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .text
            .len()
    }

    /// Waits until `found` recognises the text after `from`; returns its
    /// result. `Err(true)` on time-out, `Err(false)` when QEMU closed the line.
    pub fn wait_for<T>(
        &self,
        from: usize,
        timeout: Duration,
        mut found: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, bool> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let from = from.min(st.text.len());
            let start = (0..=from)
                .rev()
                .find(|&i| st.text.is_char_boundary(i))
                .unwrap_or(0);
            if let Some(v) = found(&st.text[start..]) {
                return Ok(v);
            }
            if st.closed {
                return Err(false);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(true);
            }
            st = cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// What a terminal showing the serial line would show now.
    pub fn screen(&self) -> String {
        let st = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        st.screen.screen().contents()
    }

    /// Waits until the screen shows `text`.
    pub fn wait_screen(&self, text: &str, timeout: Duration) -> Result<(), bool> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.screen.screen().contents().contains(text) {
                return Ok(());
            }
            if st.closed {
                return Err(false);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(true);
            }
            st = cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The last `lines` lines printed, for error messages.
    pub fn tail(&self, lines: usize) -> String {
        let st = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        let all: Vec<&str> = st.text.lines().collect();
        let from = all.len().saturating_sub(lines);
        all[from..].join("\n")
    }
}
