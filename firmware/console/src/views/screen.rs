//! What the screens share around their forms: keys for a pop-up dialog
//! and Save with the dialog that reports it.

use super::Notify;
use crate::app::{Note, Shared};
use crate::dialog::{Dialog, DialogEvent};
use crate::form::Form;
use crate::ui;
use appconfig::Config;
use ratatui::crossterm::event::KeyEvent;

/// A screen's pop-up, as the shared key handling sees it.
pub trait PopupDialog {
    /// The dialog when its buttons are all the pop-up answers to (a
    /// report, a question); `None` while work runs under it.
    fn buttons_dialog(&mut self) -> Option<&mut Dialog>;
}

/// A screen whose only pop-up is a dialog.
impl PopupDialog for Dialog {
    fn buttons_dialog(&mut self) -> Option<&mut Dialog> {
        Some(self)
    }
}

/// What a key did to a screen's pop-up dialog.
pub enum Answer<P> {
    /// No such dialog is open: the key is for the screen (or a pop-up
    /// that runs work).
    NotOpen,
    /// The dialog took the key and stays open.
    Open,
    /// A button closed the dialog: which one, and the pop-up it was.
    Closed(&'static str, P),
}

impl<P> Answer<P> {
    /// The dialog took the key, whatever it did with it.
    pub fn taken(&self) -> bool {
        !matches!(self, Answer::NotOpen)
    }
}

/// Gives `key` to the open pop-up dialog, if there is one: any button
/// closes it, and the caller acts on the buttons that do more than close.
pub fn dialog_key<P: PopupDialog>(popup: &mut Option<P>, key: KeyEvent) -> Answer<P> {
    let Some(dialog) = popup.as_mut().and_then(P::buttons_dialog) else {
        return Answer::NotOpen;
    };
    let DialogEvent::Chosen(button) = dialog.handle_key(key) else {
        return Answer::Open;
    };
    match popup.take() {
        Some(closed) => Answer::Closed(button, closed),
        // Not reached: the dialog came from the pop-up.
        None => Answer::NotOpen,
    }
}

/// Save's note when some field was refused.
pub const CORRECT_FIELDS: &str = "Not saved: correct the fields marked with !";

/// How Save went on a settings screen.
pub struct Saved {
    /// The file was written (what the services said is in the dialog).
    pub ok: bool,
    /// "Saved" with who took the change, or "Not saved" with why.
    pub dialog: Dialog,
}

/// Save on a settings screen: `build` makes the configuration from the
/// fields; when a field is refused a note says so and nothing is saved,
/// else as [`save_config`].
pub fn save_form(
    shared: &mut Shared,
    form: &mut Form,
    build: impl FnOnce(&mut Form, &Shared) -> Option<Config>,
    notify: &[Notify],
) -> Option<Saved> {
    let Some(config) = build(form, shared) else {
        shared.note = Note::bad(CORRECT_FIELDS);
        return None;
    };
    Some(save_config(shared, form, config, notify))
}

/// Writes `config`, tells the services in `notify`, and on success marks
/// the form as having no unsaved changes.
pub fn save_config(
    shared: &mut Shared,
    form: &mut Form,
    config: Config,
    notify: &[Notify],
) -> Saved {
    match super::save_and_notify(shared, config, notify) {
        Ok(lines) => {
            form.dirty = false;
            Saved {
                ok: true,
                dialog: Dialog::info("Saved", lines),
            }
        }
        Err(e) => Saved {
            ok: false,
            dialog: Dialog::info("Not saved", vec![ui::text_line(&e, ui::error())]),
        },
    }
}
