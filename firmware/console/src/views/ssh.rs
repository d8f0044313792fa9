//! SSH Access: whether `sysconfig` may log in over SSH (to this menu, never
//! a shell), from which addresses, with which public keys besides the
//! console password, and the appliance's host key fingerprints to compare
//! on the first connection.

use super::{Nav, Notify, View, screen};
use crate::app::Shared;
use crate::dialog::Dialog;
use crate::form::{Field, Form, FormEvent};
use crate::ui;
use appconfig::{AccessList, AuthorizedKey, Config};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::path::Path;

const STATES: &[&str] = &["On", "Off"];

/// The host keys sshgate makes, by the name people know them by.
const HOST_KEYS: [(&str, &str); 2] = [
    ("ED25519", "dropbear_ed25519_host_key.pub"),
    ("ECDSA", "dropbear_ecdsa_host_key.pub"),
];

pub struct SshView {
    form: Form,
    /// The authorized keys as saved (the list shown, numbered from 1).
    keys: Vec<AuthorizedKey>,
    host_keys: Vec<(String, String)>,
    dialog: Option<Dialog>,
}

/// The host keys' fingerprints (`SHA256:...`), or what stands instead.
fn host_fingerprints(dir: &Path) -> Vec<(String, String)> {
    HOST_KEYS
        .iter()
        .map(|(kind, file)| {
            let shown = match std::fs::read_to_string(dir.join(file)) {
                Ok(line) => appconfig::key_fingerprint(&line)
                    .unwrap_or_else(|e| format!("unreadable ({e})")),
                Err(_) => "not made yet (sshgate makes it when it starts)".into(),
            };
            (kind.to_string(), shown)
        })
        .collect()
}

/// The 1-based numbers typed into "Remove keys", each checked against the
/// list's length.
fn parse_numbers(text: &str, count: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in text.split([',', ' ']).filter(|p| !p.is_empty()) {
        match part.parse::<usize>() {
            Ok(n) if (1..=count).contains(&n) => out.push(n),
            _ if count == 0 => return Err("there are no keys to remove".into()),
            _ => {
                return Err(format!("{part:?} is not a key number from 1 to {count}"));
            }
        }
    }
    Ok(out)
}

impl SshView {
    pub fn new(shared: &mut Shared) -> SshView {
        let c = &shared.config.ssh;
        let form = Form::new(vec![
            Field::choice("enabled", "SSH access", STATES, if c.enabled { 0 } else { 1 })
                .with_hint("On: sysconfig may log in over SSH (to this menu) once the console password is set"),
            Field::text("access", "SSH Access List", c.access_list.to_string()).with_hint(
                "Addresses or blocks allowed to connect, e.g. 192.168.1.0/24, 10.0.0.5; empty: nobody",
            ),
            Field::text("add", "Add a key", "").with_hint(
                "Paste a public key line: ssh-ed25519 AAAA... name (also ecdsa-sha2-nistp256/384/521, ssh-rsa)",
            ),
            Field::text("remove", "Remove keys", "")
                .with_hint("Numbers of listed keys to remove, e.g. 2 or 1,3"),
            Field::button("save", "Save"),
            Field::button("cancel", "Cancel"),
        ]);
        SshView {
            form,
            keys: c.authorized_keys.clone(),
            host_keys: host_fingerprints(&shared.sys.settings().ssh_host_keys),
            dialog: None,
        }
    }

    /// The configuration the fields describe, or `None` with the reasons
    /// next to the fields.
    fn build(f: &mut Form, keys: &[AuthorizedKey], shared: &Shared) -> Option<Config> {
        f.clear_errors();
        let mut config = shared.config.clone();
        config.ssh.enabled = f.selected("enabled") == 0;
        match AccessList::parse_list(&f.text("access")) {
            Ok(list) => config.ssh.access_list = list,
            Err(e) => f.set_error("access", e),
        }
        let mut keys = keys.to_vec();
        match parse_numbers(&f.text("remove"), keys.len()) {
            Ok(numbers) => {
                let mut i = 0;
                keys.retain(|_| {
                    i += 1;
                    !numbers.contains(&i)
                });
            }
            Err(e) => f.set_error("remove", e),
        }
        let add = f.text("add");
        if !add.trim().is_empty() {
            match add.parse::<AuthorizedKey>() {
                Ok(k) => keys.push(k),
                Err(e) => f.set_error("add", e),
            }
        }
        config.ssh.authorized_keys = keys;
        if f.refused() {
            return None;
        }
        super::check_into_form(
            &config,
            shared,
            f,
            &[("ssh.authorized_keys", "add"), ("ssh.", "access")],
            "access",
        )
        .then_some(config)
    }

    fn save(&mut self, shared: &mut Shared) {
        let keys = &self.keys;
        let build = |f: &mut Form, shared: &Shared| Self::build(f, keys, shared);
        let Some(saved) = screen::save_form(shared, &mut self.form, build, &[Notify::Ssh]) else {
            return;
        };
        if saved.ok {
            self.keys = shared.config.ssh.authorized_keys.clone();
            self.form.set_text("add", "");
            self.form.set_text("remove", "");
            self.host_keys = host_fingerprints(&shared.sys.settings().ssh_host_keys);
        }
        self.dialog = Some(saved.dialog);
    }

    fn list_lines(&self, shared: &Shared) -> Vec<Line<'static>> {
        let mut lines = vec![Line::styled("Authorized keys", ui::heading())];
        if self.keys.is_empty() {
            lines.push(ui::text_line(
                "  none: the console password logs in",
                Style::default(),
            ));
        }
        for (i, k) in self.keys.iter().enumerate() {
            lines.push(ui::text_line(
                // No key type: with it the comment would not fit in 80 columns.
                &format!("  {}  {}  {}", i + 1, k.fingerprint(), k.comment),
                Style::default(),
            ));
        }
        lines.push(Line::from(""));
        lines.push(Line::styled(
            "This appliance's host keys (compare when ssh asks)",
            ui::heading(),
        ));
        for (kind, fp) in &self.host_keys {
            lines.push(ui::text_line(&format!("  {kind:<9}{fp}"), Style::default()));
        }
        if !shared.config.ssh.enabled {
            lines.push(Line::from(""));
            lines.push(ui::text_line("SSH is off: port 22 is closed.", ui::dim()));
        }
        lines
    }
}

impl View for SshView {
    fn title(&self) -> &'static str {
        "SSH Access"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "ssh -t sysconfig@<appliance> opens this menu; no shell, commands or file copy.",
                ui::dim(),
            )),
            Rect::new(area.x + 1, area.y, area.width.saturating_sub(1), 1),
        );
        let form_area = Rect::new(
            area.x,
            area.y + 2,
            area.width,
            area.height.saturating_sub(2),
        );
        let used = ui::render_form(frame, form_area, &self.form, ui::Columns::default());
        let top = area.y + 2 + used + 1;
        if top < area.y + area.height {
            frame.render_widget(
                Paragraph::new(self.list_lines(shared)),
                Rect::new(
                    area.x + 1,
                    top,
                    area.width.saturating_sub(1),
                    area.y + area.height - top,
                ),
            );
        }
        if let Some(d) = &self.dialog {
            d.render(frame, area);
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        if screen::dialog_key(&mut self.dialog, key).taken() {
            return Nav::Stay;
        }
        if key.code == KeyCode::Esc {
            return Nav::Back;
        }
        match self.form.handle_key(key) {
            FormEvent::Pressed("save") => self.save(shared),
            FormEvent::Left(id) => {
                let keys = &self.keys;
                self.form.check_left(id, |f| Self::build(f, keys, shared));
            }
            FormEvent::Pressed("cancel") => return Nav::Back,
            _ => {}
        }
        Nav::Stay
    }

    fn form(&self) -> Option<&Form> {
        Some(&self.form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_numbers() {
        assert_eq!(parse_numbers("", 3), Ok(vec![]));
        assert_eq!(parse_numbers("1, 3", 3), Ok(vec![1, 3]));
        assert!(parse_numbers("4", 3).unwrap_err().contains("from 1 to 3"));
        assert!(parse_numbers("x", 3).is_err());
        assert!(parse_numbers("1", 0).unwrap_err().contains("no keys"));
    }
}
