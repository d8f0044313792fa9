//! Running the console on a real terminal: raw mode, the alternate screen,
//! the window size (a serial line reports 0x0, so the size is probed with a
//! cursor-position report, else taken as 80x24), and the key loop.

use crate::app::App;
use ratatui::Terminal;
use ratatui::TerminalOptions;
use ratatui::Viewport;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::layout::Rect;
use std::io::{self, Stdout, Write};
use std::time::{Duration, Instant};

/// What a VT100 has when it says nothing.
pub const FALLBACK_SIZE: (u16, u16) = (80, 24);

/// How often running work is looked at while no key comes.
const TICK: Duration = Duration::from_millis(200);

/// Puts the terminal back as it was, whatever way the console ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    let mut out = io::stdout();
    let _ = execute!(out, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = terminal::disable_raw_mode();
    let _ = out.flush();
}

/// The size the kernel knows, or one probed from the terminal itself.
fn window_size(out: &mut Stdout) -> (u16, u16) {
    if let Ok((w, h)) = terminal::size()
        && w > 0
        && h > 0
    {
        return (w, h);
    }
    probe_size(out).unwrap_or(FALLBACK_SIZE)
}

/// Moves the cursor as far right and down as it goes and asks where it is;
/// a terminal that does not answer gets the fallback.
fn probe_size(out: &mut Stdout) -> Option<(u16, u16)> {
    execute!(out, cursor::MoveTo(998, 998)).ok()?;
    let (col, row) = cursor::position().ok()?;
    let _ = execute!(out, cursor::MoveTo(0, 0));
    (col >= 19 && row >= 3).then_some((col + 1, row + 1))
}

/// Runs `app` on the process's terminal until the operator logs out.
pub fn run(app: &mut App) -> io::Result<()> {
    terminal::enable_raw_mode()?;
    let _restore = Restore;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        default_hook(info);
    }));
    let mut out = io::stdout();
    execute!(out, terminal::EnterAlternateScreen)?;
    let (w, h) = window_size(&mut out);
    let mut term = Terminal::with_options(
        CrosstermBackend::new(out),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    )?;
    // Not `clear()`: it asks the terminal where the cursor is, and a serial
    // line may never answer. `resize` clears the viewport without asking.
    let area = Rect::new(0, 0, w, h);
    term.resize(area)?;
    let mut last_key = Instant::now();
    loop {
        term.draw(|f| app.render(f))?;
        if app.should_quit() {
            return Ok(());
        }
        if let Some(limit) = app.idle_logout()
            && last_key.elapsed() >= limit
            && !app.busy()
        {
            // A console left logged in on a serial line is an open door.
            log::info!(
                "console: logged out after {} s without a key",
                limit.as_secs()
            );
            return Ok(());
        }
        if event::poll(TICK)? {
            last_key = Instant::now();
            match event::read()? {
                Event::Key(key)
                    if key.code == KeyCode::Char('l')
                        && key.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    // Redraw everything: line noise on a serial console.
                    let area = term.get_frame().area();
                    term.resize(area)?;
                }
                Event::Key(key) => app.handle_key(key),
                Event::Resize(w, h) if w > 0 && h > 0 => {
                    term.resize(Rect::new(0, 0, w, h))?;
                }
                _ => {}
            }
        }
        app.tick();
    }
}
