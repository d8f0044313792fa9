//! Restore From Backup's question for age identities: the set's, when the
//! set is encrypted (`.tar.age`), and the secrets key's, when its sealed
//! passwords should come back. The operator pastes or types the
//! `AGE-SECRET-KEY-1...` line, or names a key file on the USB drive (listed
//! by the System, read through it). The keys go into a private file under
//! `/run` for `recover` and nowhere else.

use crate::form::{Field, Form, FormEvent, Widget};
use crate::identity::{self, Answer, IdentityFile};
use crate::settings::RestoreKeys;
use crate::system::System;
use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

/// The sealed secrets: of an encrypted set (its key may open them too), of
/// a plain one.
const SECRETS_ENCRYPTED: &[&str] = &["Keep this unit's", "Same key", "Other key"];
const SECRETS_PLAIN: &[&str] = &["Keep this unit's", "Open with a key"];

pub const TITLE: &str = "Keys for the restore";

/// What a key did.
pub enum PromptEvent {
    Nothing,
    Cancel,
    /// Restore with these files (kept until recover ends).
    Go(RestoreKeys, Vec<IdentityFile>),
}

pub struct KeyPrompt {
    /// The set's row, and the operator's choice of identity.
    pub index: usize,
    pub keep_identity: bool,
    encrypted: bool,
    set: String,
    form: Form,
    files: Vec<String>,
    /// recover's refusal of the last try, in its words.
    refused: Option<String>,
}

impl KeyPrompt {
    /// `encrypted`: the set needs its identity. `secrets_default`: the
    /// secrets choice to start from (index into its options).
    pub fn new(
        sys: &dyn System,
        set: &str,
        index: usize,
        keep_identity: bool,
        encrypted: bool,
        secrets_default: usize,
        refused: Option<String>,
    ) -> KeyPrompt {
        let options = if encrypted {
            SECRETS_ENCRYPTED
        } else {
            SECRETS_PLAIN
        };
        let mut form = Form::new(vec![
            Field::text("set_key", "Set key", "")
                .with_hint("The AGE-SECRET-KEY-1... line (shown as stars), or a key file's name"),
            Field::choice("secrets", "Sealed secrets", options, secrets_default).with_hint(
                "The set's sealed passwords: leave them (this unit keeps its own) or open them",
            ),
            Field::text("secrets_key", "  Secrets key", "")
                .with_hint("The secrets key's AGE-SECRET-KEY-1... line, or a key file's name"),
            Field::button("restore", "Restore"),
            Field::button("cancel", "Cancel"),
        ]);
        form.set_hidden("set_key", !encrypted);
        let mut p = KeyPrompt {
            index,
            keep_identity,
            encrypted,
            set: set.to_string(),
            form,
            files: sys.key_files(),
            refused,
        };
        p.show_fields();
        p
    }

    /// The secrets are to be opened with a key of their own.
    fn other_key(&self) -> bool {
        let options = if self.encrypted {
            SECRETS_ENCRYPTED
        } else {
            SECRETS_PLAIN
        };
        self.form.selected("secrets") + 1 == options.len()
    }

    fn show_fields(&mut self) {
        let other = self.other_key();
        self.form.set_hidden("secrets_key", !other);
    }

    /// Only the set's key: a selective restore brings no secrets back.
    pub fn without_secrets(mut self) -> KeyPrompt {
        self.form.set_hidden("secrets", true);
        self.form.set_hidden("secrets_key", true);
        self
    }

    pub fn form(&self) -> &Form {
        &self.form
    }

    pub fn handle_key(&mut self, key: KeyEvent, sys: &dyn System) -> PromptEvent {
        if key.code == KeyCode::Esc {
            return PromptEvent::Cancel;
        }
        match self.form.handle_key(key) {
            FormEvent::Changed("secrets") => self.show_fields(),
            FormEvent::Changed(id @ ("set_key" | "secrets_key")) => mask(&mut self.form, id),
            FormEvent::Pressed("cancel") => return PromptEvent::Cancel,
            FormEvent::Pressed("restore") => {
                if let Some((keys, files)) = self.resolve(sys) {
                    return PromptEvent::Go(keys, files);
                }
            }
            _ => {}
        }
        PromptEvent::Nothing
    }

    /// The identities of a field's answer, or why there are none.
    fn keys_from(&self, id: &str, sys: &dyn System) -> Result<Vec<String>, String> {
        match identity::parse_answer(&self.form.text(id))? {
            Answer::Key(k) => Ok(vec![k]),
            Answer::File(name) => {
                let text = sys.read_key_file(&name)?;
                identity::keys_in(&text).map_err(|e| format!("{name} {e}"))
            }
        }
    }

    /// Checks the answers and writes the private files.
    fn resolve(&mut self, sys: &dyn System) -> Option<(RestoreKeys, Vec<IdentityFile>)> {
        self.form.clear_errors();
        let mut set_keys = None;
        if self.encrypted {
            match self.keys_from("set_key", sys) {
                Ok(k) => set_keys = Some(k),
                Err(e) => self.form.set_error("set_key", e),
            }
        }
        let same = self.encrypted && self.form.selected("secrets") == 1;
        let mut secrets_keys = None;
        if self.other_key() {
            match self.keys_from("secrets_key", sys) {
                Ok(k) => secrets_keys = Some(k),
                Err(e) => self.form.set_error("secrets_key", e),
            }
        }
        if self.form.refused() {
            return None;
        }
        let mut keys = RestoreKeys::default();
        let mut files = Vec::new();
        if let Some(k) = set_keys {
            match sys.write_identity(&k) {
                Ok(f) => {
                    keys.identity = Some(f.path().to_path_buf());
                    if same {
                        keys.secrets_identity = keys.identity.clone();
                    }
                    files.push(f);
                }
                Err(e) => {
                    self.form.set_error("set_key", e);
                    return None;
                }
            }
        }
        if let Some(k) = secrets_keys {
            match sys.write_identity(&k) {
                Ok(f) => {
                    keys.secrets_identity = Some(f.path().to_path_buf());
                    files.push(f);
                }
                Err(e) => {
                    self.form.set_error("secrets_key", e);
                    return None;
                }
            }
        }
        Some((keys, files))
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        let plain = Style::default();
        let mut top = Vec::new();
        if self.encrypted {
            top.push(ui::text_line(
                &format!(
                    "{} is encrypted. Give its identity: paste or type the AGE-SECRET-KEY-1... \
                     line, or type the name of a key file on the USB drive.",
                    self.set
                ),
                plain,
            ));
        } else {
            top.push(ui::text_line(
                &format!(
                    "{}: this unit seals its passwords to a secrets key. Open the set's with \
                     that key's identity, or keep this unit's own.",
                    self.set
                ),
                plain,
            ));
        }
        top.push(Line::styled(
            "Used for this restore only: never saved, never logged.",
            ui::dim(),
        ));
        if let Some(r) = &self.refused {
            top.push(ui::text_line(&format!("Refused: {r}"), ui::error()));
        }
        let files = if self.files.is_empty() {
            "No key files (*.txt, *.key) on a USB drive.".to_string()
        } else {
            format!("Key files on the USB drive: {}", self.files.join(", "))
        };
        let bottom = vec![ui::text_line(&files, plain)];
        let width = area.width;
        let inner_w = width.saturating_sub(2).max(1);
        let count = |lines: &Vec<Line<'static>>| {
            let rows = Paragraph::new(lines.clone())
                .wrap(Wrap { trim: false })
                .line_count(inner_w);
            u16::try_from(rows).unwrap_or(u16::MAX)
        };
        let (top_rows, bottom_rows) = (count(&top), count(&bottom));
        let form_rows = ui::form_rows(&self.form);
        let wanted = top_rows + 1 + form_rows + 1 + bottom_rows + 2;
        let outer = ui::centered(area, width, wanted.min(area.height));
        let inner = ui::popup(frame, outer, TITLE);
        let mut y = inner.y;
        let take = |y: &mut u16, rows: u16| {
            let r = Rect::new(
                inner.x,
                *y,
                inner.width,
                rows.min((inner.y + inner.height).saturating_sub(*y)),
            );
            *y += r.height;
            r
        };
        frame.render_widget(
            Paragraph::new(top).wrap(Wrap { trim: false }),
            take(&mut y, top_rows),
        );
        y += 1;
        let form_area = take(&mut y, form_rows);
        ui::render_form(
            frame,
            form_area,
            &self.form,
            ui::Columns {
                label: 18,
                value: 44,
            },
        );
        y += 1;
        frame.render_widget(
            Paragraph::new(bottom).wrap(Wrap { trim: false }),
            take(&mut y, bottom_rows),
        );
    }
}

/// An identity typed into a text field shows as stars; a file name as
/// typed.
fn mask(form: &mut Form, id: &str) {
    let key = form
        .text(id)
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("AGE-");
    if let Some(Widget::Text { secret, .. }) = form.field_mut(id).map(|f| &mut f.widget) {
        *secret = key;
    }
}
