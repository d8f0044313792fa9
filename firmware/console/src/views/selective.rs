//! Restore From Backup's "Selected mail": the form for recover's selective
//! options (`-d` domain, `-u` user, `-f` folder, `-m` parts, `-b` keep as
//! .BAK) over the set chosen. What the set holds is shown by recover's own
//! listing (`-l`); the restore runs recover with these options. Nothing
//! here builds a path: recover opens the location and the destination.

use crate::form::{Field, Form};
use crate::settings::MailSelection;
use crate::ui;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

/// recover's part names (`-m`), as `recover -h` lists them.
pub const PARTS: &[&str] = &[
    "cfg",
    "license",
    "sslca",
    "sslcert",
    "mail",
    "lists",
    "public",
    "spamassassin",
    "contacts",
    "queue",
    "system",
];

pub fn form() -> Form {
    Form::new(vec![
        Field::text("domain", "Domain", "")
            .with_hint("The mail domain, e.g. company.com; empty: every domain"),
        Field::text("user", "User", "")
            .with_hint("A user of the domain, e.g. smith; empty: every user"),
        Field::text("folder", "Folder", "")
            .with_hint("One mail folder of the user, e.g. Sent Items (sub-folders with /)"),
        Field::text("mask", "Parts", "")
            .with_hint("Comma-separated: mail, public, lists, contacts, cfg...; empty: implied"),
        Field::choice("bak", "Keep as .BAK", &["No", "Yes"], 0)
            .with_hint("Yes: the data replaced is kept as <name>.BAK first (needs the space)"),
        Field::button("list", "Show contents"),
        Field::button("restore", "Restore"),
        Field::button("cancel", "Cancel"),
    ])
}

/// A single name (`-d`, `-u`): no folder separators, nothing unprintable.
fn name_problem(text: &str) -> Option<String> {
    if text.contains('/') || text == "." || text == ".." {
        Some(format!("{text:?}: one name, without /"))
    } else if text.chars().any(char::is_control) {
        Some("no control characters".into())
    } else {
        None
    }
}

/// The selection the fields give, reasons beside the fields; `restoring`:
/// an empty selection is refused (recover would restore the whole set over
/// the current data).
pub fn selection(form: &mut Form, restoring: bool) -> Option<MailSelection> {
    form.clear_errors();
    let s = MailSelection {
        domain: form.text("domain").trim().to_string(),
        user: form.text("user").trim().to_string(),
        folder: form.text("folder").trim().trim_matches('/').to_string(),
        mask: form
            .text("mask")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join(","),
        keep_bak: form.selected("bak") == 1,
    };
    for (id, text) in [("domain", &s.domain), ("user", &s.user)] {
        if let Some(why) = name_problem(text) {
            form.set_error(id, why);
        }
    }
    if !s.folder.is_empty() {
        if s.domain.is_empty() || s.user.is_empty() {
            form.set_error("folder", "a folder needs its domain and user");
        } else if s.folder.chars().any(char::is_control)
            || s.folder.split('/').any(|p| p == ".." || p == ".")
        {
            form.set_error("folder", "a folder's name, without . or .. parts");
        }
    }
    if let Some(bad) = s
        .mask
        .split(',')
        .find(|p| !p.is_empty() && !PARTS.contains(p))
    {
        form.set_error(
            "mask",
            format!("{bad:?} is not a part: {}", PARTS.join(", ")),
        );
    }
    let nothing = s.domain.is_empty() && s.user.is_empty() && s.folder.is_empty();
    if restoring && !form.has_errors() && nothing && s.mask.is_empty() {
        form.set_error(
            "domain",
            "choose a domain, user, folder or parts (Whole system restores all)",
        );
    }
    (!form.refused()).then_some(s)
}

/// The form in a pop-up, the set it restores from above it.
pub fn render(frame: &mut Frame, area: Rect, form: &Form, set: &str, place: &str) {
    let top = vec![
        ui::text_line(
            &format!("From {set} ({place}), into this appliance's data."),
            Style::default(),
        ),
        Line::styled(
            "Restored files replace the current ones; the rest stays.",
            ui::dim(),
        ),
    ];
    let rows = ui::form_rows(form);
    let outer = ui::centered(area, area.width, rows + 4 + 2 + 1);
    let inner = ui::popup(frame, outer, "Restore selected mail");
    let head = Rect::new(inner.x, inner.y, inner.width, 3.min(inner.height));
    frame.render_widget(Paragraph::new(top).wrap(Wrap { trim: false }), head);
    let body = Rect::new(
        inner.x,
        inner.y + head.height,
        inner.width,
        inner.height.saturating_sub(head.height),
    );
    ui::render_form(frame, body, form, ui::Columns::default());
}
