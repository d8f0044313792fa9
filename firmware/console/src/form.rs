//! A form of labelled fields edited with the keyboard: text and password
//! boxes, a choice of one (space picks), a set of toggles, and buttons.
//! Views own a [`Form`] and read the typed values back when saving.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Longest text a field takes; more is ignored. An SSH public key pasted
/// whole (RSA 4096 is about 750 characters) must fit.
pub const MAX_TEXT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Widget {
    /// Free text; `secret` shows stars instead of the characters.
    Text {
        value: String,
        /// Cursor position in characters.
        cursor: usize,
        secret: bool,
    },
    /// One of several options; arrows move over them, space picks.
    Choice {
        options: &'static [&'static str],
        selected: usize,
        cursor: usize,
    },
    /// Options each on or off; arrows move, space flips.
    Toggles {
        options: &'static [&'static str],
        on: Vec<bool>,
        cursor: usize,
    },
    /// Pressed with Enter or space.
    Button,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: &'static str,
    pub label: &'static str,
    pub widget: Widget,
    /// Why the value is refused, shown next to it.
    pub error: Option<String>,
    /// What the field takes, shown at the bottom while it has the focus.
    pub hint: &'static str,
    /// Not shown and not focusable (SMB fields when SMB is not chosen).
    pub hidden: bool,
    /// Shown dimmed and not focusable (static address fields under DHCP).
    pub disabled: bool,
}

impl Field {
    pub fn text(id: &'static str, label: &'static str, value: impl Into<String>) -> Field {
        let value: String = value.into();
        Field::new(
            id,
            label,
            Widget::Text {
                cursor: value.chars().count(),
                value,
                secret: false,
            },
        )
    }

    pub fn secret(id: &'static str, label: &'static str, value: impl Into<String>) -> Field {
        let mut f = Field::text(id, label, value);
        if let Widget::Text { secret, .. } = &mut f.widget {
            *secret = true;
        }
        f
    }

    pub fn choice(
        id: &'static str,
        label: &'static str,
        options: &'static [&'static str],
        selected: usize,
    ) -> Field {
        let selected = selected.min(options.len().saturating_sub(1));
        Field::new(
            id,
            label,
            Widget::Choice {
                options,
                selected,
                cursor: selected,
            },
        )
    }

    pub fn toggles(
        id: &'static str,
        label: &'static str,
        options: &'static [&'static str],
        on: Vec<bool>,
    ) -> Field {
        let mut on = on;
        on.resize(options.len(), false);
        Field::new(
            id,
            label,
            Widget::Toggles {
                options,
                on,
                cursor: 0,
            },
        )
    }

    pub fn button(id: &'static str, label: &'static str) -> Field {
        Field::new(id, label, Widget::Button)
    }

    fn new(id: &'static str, label: &'static str, widget: Widget) -> Field {
        Field {
            id,
            label,
            widget,
            error: None,
            hint: "",
            hidden: false,
            disabled: false,
        }
    }

    pub fn with_hint(mut self, hint: &'static str) -> Field {
        self.hint = hint;
        self
    }

    pub fn focusable(&self) -> bool {
        !self.hidden && !self.disabled
    }

    pub fn is_button(&self) -> bool {
        matches!(self.widget, Widget::Button)
    }
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormEvent {
    /// Nothing the view needs to know.
    Nothing,
    /// A field's value changed.
    Changed(&'static str),
    /// The focus left this field (a chance to check it).
    Left(&'static str),
    /// A button was pressed.
    Pressed(&'static str),
    /// The key means nothing to the form (Esc, function keys...).
    Ignored,
}

#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Some value was changed since the form was filled.
    pub dirty: bool,
}

impl Form {
    pub fn new(fields: Vec<Field>) -> Form {
        let mut f = Form {
            fields,
            focus: 0,
            dirty: false,
        };
        f.fix_focus();
        f
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.id == id)
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn field_mut(&mut self, id: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.id == id)
    }

    pub fn focused(&self) -> Option<&Field> {
        self.fields.get(self.focus)
    }

    pub fn focused_id(&self) -> &'static str {
        self.focused().map(|f| f.id).unwrap_or("")
    }

    /// The text of a text field ("" for other kinds).
    pub fn text(&self, id: &str) -> String {
        match self.field(id).map(|f| &f.widget) {
            Some(Widget::Text { value, .. }) => value.clone(),
            _ => String::new(),
        }
    }

    pub fn set_text(&mut self, id: &str, text: &str) {
        if let Some(Widget::Text { value, cursor, .. }) = self.field_mut(id).map(|f| &mut f.widget)
        {
            *value = text.to_string();
            *cursor = value.chars().count();
        }
    }

    /// The chosen option of a choice field.
    pub fn selected(&self, id: &str) -> usize {
        match self.field(id).map(|f| &f.widget) {
            Some(Widget::Choice { selected, .. }) => *selected,
            _ => 0,
        }
    }

    /// The states of a toggles field.
    pub fn toggled(&self, id: &str) -> Vec<bool> {
        match self.field(id).map(|f| &f.widget) {
            Some(Widget::Toggles { on, .. }) => on.clone(),
            _ => Vec::new(),
        }
    }

    pub fn set_error(&mut self, id: &str, error: impl Into<String>) {
        if let Some(f) = self.field_mut(id) {
            f.error = Some(error.into());
        }
    }

    pub fn error(&self, id: &str) -> Option<&str> {
        self.field(id).and_then(|f| f.error.as_deref())
    }

    pub fn clear_errors(&mut self) {
        for f in &mut self.fields {
            f.error = None;
        }
    }

    pub fn has_errors(&self) -> bool {
        self.fields.iter().any(|f| f.error.is_some() && !f.hidden)
    }

    /// Whether some visible field has a reason after a check; if so the
    /// focus goes to the first of them.
    pub fn refused(&mut self) -> bool {
        let refused = self.has_errors();
        if refused {
            self.focus_first_error();
        }
        refused
    }

    /// Moves the focus to the first visible field with an error.
    pub fn focus_first_error(&mut self) {
        if let Some(i) = self
            .fields
            .iter()
            .position(|f| f.error.is_some() && f.focusable())
        {
            self.focus = i;
        }
    }

    /// Leaving field `id` runs the whole-form `check`, but only that field
    /// gets a new verdict: the other fields' reasons and the focus stay.
    pub fn check_left<T>(&mut self, id: &str, check: impl FnOnce(&mut Form) -> T) {
        let before = self.snapshot();
        let _ = check(self);
        self.restore_except(before, id);
    }

    /// The focus and every field's reason, to put back after a trial check.
    pub fn snapshot(&self) -> (usize, Vec<Option<String>>) {
        (
            self.focus,
            self.fields.iter().map(|f| f.error.clone()).collect(),
        )
    }

    /// Puts back a [`Form::snapshot`] except the reason of field `id`: after
    /// a whole-form check only the field just left gets a new verdict.
    pub fn restore_except(&mut self, snapshot: (usize, Vec<Option<String>>), id: &str) {
        let (focus, errors) = snapshot;
        self.focus = focus;
        for (field, error) in self.fields.iter_mut().zip(errors) {
            if field.id != id {
                field.error = error;
            }
        }
    }

    pub fn focus_on(&mut self, id: &str) {
        if let Some(i) = self.index(id)
            && self.fields[i].focusable()
        {
            self.focus = i;
        }
    }

    pub fn set_hidden(&mut self, id: &str, hidden: bool) {
        if let Some(f) = self.field_mut(id) {
            f.hidden = hidden;
        }
        self.fix_focus();
    }

    pub fn set_disabled(&mut self, id: &str, disabled: bool) {
        if let Some(f) = self.field_mut(id) {
            f.disabled = disabled;
        }
        self.fix_focus();
    }

    /// Keeps the focus on a focusable field after fields were hidden.
    fn fix_focus(&mut self) {
        if self.fields.get(self.focus).is_some_and(Field::focusable) {
            return;
        }
        if let Some(i) = self.fields.iter().position(Field::focusable) {
            self.focus = i;
        }
    }

    fn step(&mut self, forward: bool) -> FormEvent {
        let n = self.fields.len();
        if n == 0 {
            return FormEvent::Nothing;
        }
        let left = self.focused_id();
        let mut i = self.focus;
        for _ in 0..n {
            i = if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            if self.fields[i].focusable() {
                self.focus = i;
                return FormEvent::Left(left);
            }
        }
        FormEvent::Nothing
    }

    /// Applies a key to the focused field or moves the focus.
    pub fn handle_key(&mut self, key: KeyEvent) -> FormEvent {
        match key.code {
            KeyCode::Tab | KeyCode::Down => return self.step(true),
            KeyCode::BackTab | KeyCode::Up => return self.step(false),
            _ => {}
        }
        let Some(field) = self.fields.get_mut(self.focus) else {
            return FormEvent::Ignored;
        };
        let id = field.id;
        let keyed = match &mut field.widget {
            Widget::Button => button_key(id, key),
            Widget::Choice {
                options,
                selected,
                cursor,
            } => choice_key(id, key, options.len(), selected, cursor),
            Widget::Toggles {
                options,
                on,
                cursor,
            } => toggles_key(id, key, options.len(), on, cursor),
            Widget::Text { value, cursor, .. } => text_key(id, key, value, cursor),
        };
        match keyed {
            Keyed::Step(forward) => self.step(forward),
            Keyed::Event(event) => {
                self.note(&event);
                event
            }
        }
    }

    /// A changed value makes the form dirty and clears that field's
    /// refusal: the old reason would mislead.
    fn note(&mut self, event: &FormEvent) {
        if let FormEvent::Changed(id) = *event {
            self.dirty = true;
            if let Some(f) = self.field_mut(id) {
                f.error = None;
            }
        }
    }
}

fn byte_offset(s: &str, chars: usize) -> usize {
    s.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}

fn remove_char(s: &mut String, chars: usize) {
    let at = byte_offset(s, chars);
    if at < s.len() {
        s.remove(at);
    }
}

/// What a key did to the focused widget: an event for the view, or a move
/// to the next or previous field.
enum Keyed {
    Event(FormEvent),
    Step(bool),
}

fn button_key(id: &'static str, key: KeyEvent) -> Keyed {
    match key.code {
        KeyCode::Enter | KeyCode::Char(' ') => Keyed::Event(FormEvent::Pressed(id)),
        KeyCode::Left => Keyed::Step(false),
        KeyCode::Right => Keyed::Step(true),
        _ => Keyed::Event(FormEvent::Ignored),
    }
}

/// Left and Right move a cursor over `len` options; Enter goes on to the
/// next field. `None`: another key.
fn option_cursor_key(key: KeyEvent, len: usize, cursor: &mut usize) -> Option<Keyed> {
    match key.code {
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(len.saturating_sub(1)),
        KeyCode::Enter => return Some(Keyed::Step(true)),
        _ => return None,
    }
    Some(Keyed::Event(FormEvent::Nothing))
}

fn choice_key(
    id: &'static str,
    key: KeyEvent,
    len: usize,
    selected: &mut usize,
    cursor: &mut usize,
) -> Keyed {
    if let Some(k) = option_cursor_key(key, len, cursor) {
        return k;
    }
    Keyed::Event(match key.code {
        KeyCode::Char(' ') if *selected != *cursor => {
            *selected = *cursor;
            FormEvent::Changed(id)
        }
        KeyCode::Char(' ') => FormEvent::Nothing,
        _ => FormEvent::Ignored,
    })
}

fn toggles_key(
    id: &'static str,
    key: KeyEvent,
    len: usize,
    on: &mut [bool],
    cursor: &mut usize,
) -> Keyed {
    if let Some(k) = option_cursor_key(key, len, cursor) {
        return k;
    }
    Keyed::Event(match key.code {
        KeyCode::Char(' ') => {
            if let Some(v) = on.get_mut(*cursor) {
                *v = !*v;
            }
            FormEvent::Changed(id)
        }
        _ => FormEvent::Ignored,
    })
}

fn text_key(id: &'static str, key: KeyEvent, value: &mut String, cursor: &mut usize) -> Keyed {
    if key.code == KeyCode::Enter {
        return Keyed::Step(true);
    }
    if text_cursor_key(key, value, cursor) {
        return Keyed::Event(FormEvent::Nothing);
    }
    Keyed::Event(match text_edit_key(key, value, cursor) {
        Some(true) => FormEvent::Changed(id),
        Some(false) => FormEvent::Nothing,
        None => FormEvent::Ignored,
    })
}

/// Moves the cursor in a text field (arrows, Home/End, ^A/^E); whether the
/// key was one of those.
fn text_cursor_key(key: KeyEvent, value: &str, cursor: &mut usize) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let end = value.chars().count();
    match key.code {
        KeyCode::Left => *cursor = cursor.saturating_sub(1),
        KeyCode::Right => *cursor = (*cursor + 1).min(end),
        KeyCode::Home => *cursor = 0,
        KeyCode::Char('a') if ctrl => *cursor = 0,
        KeyCode::End => *cursor = end,
        KeyCode::Char('e') if ctrl => *cursor = end,
        _ => return false,
    }
    true
}

/// Edits a text field: `Some(changed)` for an editing key, `None` for
/// any other.
fn text_edit_key(key: KeyEvent, value: &mut String, cursor: &mut usize) -> Option<bool> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let len = value.chars().count();
    Some(match key.code {
        // Serial terminals send ^H or DEL for the backspace key.
        KeyCode::Backspace | KeyCode::Char('h') if key.code == KeyCode::Backspace || ctrl => {
            let changed = *cursor > 0;
            if changed {
                remove_char(value, *cursor - 1);
                *cursor -= 1;
            }
            changed
        }
        KeyCode::Delete => {
            let changed = *cursor < len;
            if changed {
                remove_char(value, *cursor);
            }
            changed
        }
        KeyCode::Char('u') if ctrl => {
            value.clear();
            *cursor = 0;
            true
        }
        KeyCode::Char(c)
            if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) && !c.is_control() =>
        {
            let room = len < MAX_TEXT;
            if room {
                value.insert(byte_offset(value, *cursor), c);
                *cursor += 1;
            }
            room
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::from(code)
    }

    fn sample() -> Form {
        let mut f = Form::new(vec![
            Field::choice("mode", "Mode", &["DHCP", "Static"], 0),
            Field::text("addr", "Address", "10.0.0.1"),
            Field::toggles("days", "Days", &["Mon", "Tue"], vec![false, true]),
            Field::button("save", "Save"),
            Field::button("cancel", "Cancel"),
        ]);
        f.set_hidden("days", false);
        f
    }

    #[test]
    fn navigation_skips_hidden_and_wraps() {
        let mut f = sample();
        f.set_disabled("addr", true);
        assert_eq!(f.handle_key(key(KeyCode::Tab)), FormEvent::Left("mode"));
        assert_eq!(f.focused_id(), "days");
        f.handle_key(key(KeyCode::Down));
        f.handle_key(key(KeyCode::Right));
        assert_eq!(f.focused_id(), "cancel");
        f.handle_key(key(KeyCode::Tab));
        assert_eq!(f.focused_id(), "mode");
        f.handle_key(key(KeyCode::Up));
        assert_eq!(f.focused_id(), "cancel");
    }

    #[test]
    fn choice_needs_space() {
        let mut f = sample();
        f.handle_key(key(KeyCode::Right));
        assert_eq!(f.selected("mode"), 0, "moving is not choosing");
        assert_eq!(
            f.handle_key(key(KeyCode::Char(' '))),
            FormEvent::Changed("mode")
        );
        assert_eq!(f.selected("mode"), 1);
        assert!(f.dirty);
    }

    #[test]
    fn editing_text() {
        let mut f = sample();
        f.focus_on("addr");
        f.set_error("addr", "bad");
        for _ in 0..2 {
            f.handle_key(key(KeyCode::Backspace));
        }
        f.handle_key(key(KeyCode::Char('9')));
        f.handle_key(key(KeyCode::Home));
        f.handle_key(key(KeyCode::Delete));
        assert_eq!(f.text("addr"), "0.0.09");
        assert_eq!(f.error("addr"), None, "editing clears the old reason");
        f.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(f.text("addr"), "");
        f.handle_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL));
        assert_eq!(f.text("addr"), "", "control keys are not typed");
    }

    #[test]
    fn toggles_and_buttons() {
        let mut f = sample();
        f.focus_on("days");
        f.handle_key(key(KeyCode::Char(' ')));
        assert_eq!(f.toggled("days"), [true, true]);
        f.focus_on("save");
        assert_eq!(
            f.handle_key(key(KeyCode::Enter)),
            FormEvent::Pressed("save")
        );
        assert_eq!(f.handle_key(key(KeyCode::Esc)), FormEvent::Ignored);
    }
}
