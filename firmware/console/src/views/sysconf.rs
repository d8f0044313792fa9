//! System Configuration: host name, time zone, NTP server, the FTP Access
//! List and the passwords of the FTP and console accounts.

use super::{Nav, Notify, View};
use crate::app::{Note, Shared};
use crate::dialog::{Dialog, DialogEvent};
use crate::form::{Field, Form, FormEvent};
use crate::ui;
use appconfig::{AccessList, Config, Hostname};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

const PASSWORD_FIELDS: [&str; 5] = ["ftp_pw", "ftp_pw2", "cur_pw", "new_pw", "new_pw2"];

pub struct SystemView {
    form: Form,
    dialog: Option<Dialog>,
}

impl SystemView {
    pub fn new(shared: &mut Shared) -> SystemView {
        let c = &shared.config;
        let form = Form::new(vec![
            Field::text("hostname", "Host name", c.system.hostname.to_string())
                .with_hint("Letters, digits and '-', parts separated by dots"),
            Field::text("timezone", "Time zone", c.system.timezone.clone())
                .with_hint("A zone such as Europe/Prague, or UTC"),
            Field::text("ntp", "NTP servers", c.system.ntp_server.clone())
                .with_hint("Addresses or names of time servers, comma-separated; empty: none"),
            Field::text("access", "FTP Access List", c.ftp.access_list.to_string())
                .with_hint("Addresses or blocks allowed to use FTP, e.g. 192.168.1.15, 10.0.0.0/8"),
            Field::secret("ftp_pw", "FTP password", "")
                .with_hint("New password of the FTP account sysarchive; empty: unchanged"),
            Field::secret("ftp_pw2", "Repeat FTP pw.", "").with_hint("The new FTP password again"),
            Field::secret("cur_pw", "Console pw. now", "")
                .with_hint("To change the console password, type the current one first"),
            Field::secret("new_pw", "New console pw.", "")
                .with_hint("New password of the console account sysconfig; empty: unchanged"),
            Field::secret("new_pw2", "Repeat console", "")
                .with_hint("The new console password again"),
            Field::button("save", "Save"),
            Field::button("cancel", "Cancel"),
        ]);
        SystemView { form, dialog: None }
    }

    /// The configuration the fields describe, or `None` with the reasons
    /// next to the fields. A wrong current password is delayed and logged.
    /// `saving` checks the current console password too (only on Save, so
    /// that moving through the fields never counts as a failed try).
    fn build(&mut self, shared: &Shared, saving: bool) -> Option<Config> {
        let f = &mut self.form;
        f.clear_errors();
        let mut config = shared.config.clone();
        match f.text("hostname").trim().parse::<Hostname>() {
            Ok(h) => config.system.hostname = h,
            Err(e) => f.set_error("hostname", e),
        }
        let tz = f.text("timezone").trim().to_string();
        match timezone_problem(&tz) {
            Some(e) => f.set_error("timezone", e),
            None => config.system.timezone = tz,
        }
        let ntp = f.text("ntp").trim().to_string();
        match ntp_problem(&ntp) {
            Some(e) => f.set_error("ntp", e),
            None => config.system.ntp_server = ntp,
        }
        match AccessList::parse_list(&f.text("access")) {
            Ok(list) => config.ftp.access_list = list,
            Err(e) => f.set_error("access", e),
        }
        let (ftp, ftp2) = (f.text("ftp_pw"), f.text("ftp_pw2"));
        if !ftp.is_empty() || !ftp2.is_empty() {
            if let Some(why) = appconfig::password_problem(&ftp) {
                f.set_error("ftp_pw", why);
            } else if ftp != ftp2 {
                f.set_error("ftp_pw2", "the two passwords do not match");
            } else {
                match appconfig::hash_password(&ftp) {
                    Ok(h) => config.accounts.sysarchive = h,
                    Err(e) => f.set_error("ftp_pw", e),
                }
            }
        }
        let (cur, new, new2) = (f.text("cur_pw"), f.text("new_pw"), f.text("new_pw2"));
        if !cur.is_empty() || !new.is_empty() || !new2.is_empty() {
            if let Some(why) = appconfig::password_problem(&new) {
                f.set_error("new_pw", why);
            } else if new != new2 {
                f.set_error("new_pw2", "the two passwords do not match");
            }
            let had = &shared.config.accounts.sysconfig;
            if saving && !had.is_empty() && !appconfig::verify_password(&cur, had) {
                // Slow down guessing; syslog keeps a trace.
                shared.sys.failed_password(appconfig::CONSOLE_USER);
                f.set_error("cur_pw", "wrong password");
            }
            if !f.has_errors() {
                match appconfig::hash_password(&new) {
                    Ok(h) => config.accounts.sysconfig = h,
                    Err(e) => f.set_error("new_pw", e),
                }
            }
        }
        if f.has_errors() {
            f.focus_first_error();
            return None;
        }
        super::check_into_form(
            &config,
            shared,
            &mut self.form,
            &[("ftp.", "access")],
            "hostname",
        )
        .then_some(config)
    }

    fn save(&mut self, shared: &mut Shared) {
        let Some(config) = self.build(shared, true) else {
            shared.note = Note::bad("Not saved: correct the fields marked with !");
            return;
        };
        let old = shared.config.clone();
        let mut notify = vec![Notify::Backupd, Notify::Ftpd];
        if config.accounts != old.accounts {
            notify.push(Notify::Accounts);
        }
        if config.accounts.sysconfig != old.accounts.sysconfig {
            // SSH starts with the first console password.
            notify.push(Notify::Ssh);
        }
        if config.system != old.system {
            notify.push(Notify::Hostname);
        }
        if config.system.ntp_server != old.system.ntp_server {
            notify.push(Notify::Time);
        }
        match super::save_and_notify(shared, config, &notify) {
            Ok(lines) => {
                for id in PASSWORD_FIELDS {
                    self.form.set_text(id, "");
                }
                self.form.dirty = false;
                self.dialog = Some(Dialog::info("Saved", lines));
            }
            Err(e) => {
                self.dialog = Some(Dialog::info(
                    "Not saved",
                    vec![ui::text_line(&e, ui::error())],
                ))
            }
        }
    }
}

/// Why a time zone is refused: a zone name (`Europe/Prague`) or a POSIX TZ
/// value (`CET-1CEST,M3.5.0,M10.5.0/3`) passes.
pub fn timezone_problem(tz: &str) -> Option<String> {
    if tz.is_empty() {
        return Some("the time zone is empty (UTC is the default)".into());
    }
    if tz.len() > 64
        || tz.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        || !tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-:,.<>".contains(c))
    {
        return Some(format!("{tz:?} is not a time zone such as Europe/Prague"));
    }
    None
}

/// Why an NTP server list is refused: empty, IPv4 addresses and host
/// names (each with an optional `:port`) pass.
pub fn ntp_problem(servers: &str) -> Option<String> {
    appconfig::parse_ntp_servers(servers).err()
}

impl View for SystemView {
    fn title(&self) -> &'static str {
        "System Configuration"
    }

    fn render(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Empty password fields leave that password unchanged.",
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
        ui::render_form(frame, form_area, &self.form, ui::Columns::default());
        if let Some(d) = &self.dialog {
            d.render(frame, area);
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        if let Some(d) = &mut self.dialog {
            if let DialogEvent::Chosen(_) = d.handle_key(key) {
                self.dialog = None;
            }
            return Nav::Stay;
        }
        if key.code == KeyCode::Esc {
            return Nav::Back;
        }
        match self.form.handle_key(key) {
            FormEvent::Pressed("save") => self.save(shared),
            FormEvent::Left(id) => {
                let before = self.form.snapshot();
                let _ = self.build(shared, false);
                self.form.restore_except(before, id);
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
    fn time_zones() {
        assert_eq!(timezone_problem("Europe/Prague"), None);
        assert_eq!(timezone_problem("CET-1CEST,M3.5.0,M10.5.0/3"), None);
        assert!(timezone_problem("").is_some());
        assert!(timezone_problem("../etc/passwd").is_some());
        assert!(timezone_problem("Mars Base").is_some());
    }

    #[test]
    fn ntp_servers() {
        assert_eq!(ntp_problem(""), None);
        assert_eq!(ntp_problem("10.0.2.2"), None);
        assert_eq!(ntp_problem("pool.ntp.org"), None);
        assert!(ntp_problem("10.0.2.300").unwrap().contains("not an IPv4"));
        assert!(ntp_problem("bad_host").is_some());
        assert_eq!(ntp_problem("10.0.2.2:12300, pool.ntp.org"), None, "a list");
    }
}
