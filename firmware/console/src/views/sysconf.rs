//! System Configuration: host name, time zone (typed, or chosen from the
//! built-in list) with the time now, NTP servers, the FTP Access List, plain
//! FTP (asked twice) and the passwords of the FTP and console accounts.

use super::screen::{self, Answer};
use super::{Nav, Notify, View};
use crate::app::{Note, Shared};
use crate::dialog::Dialog;
use crate::form::{Field, Form, FormEvent};
use crate::ui;
use crate::zonepick::{ZoneEvent, ZonePicker};
use appconfig::{AccessList, Config, Hostname};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

const PASSWORD_FIELDS: [&str; 5] = ["ftp_pw", "ftp_pw2", "cur_pw", "new_pw", "new_pw2"];
const PLAIN_FTP: &[&str] = &["No (FTPS only)", "Yes"];
/// The confirmation's button for plain FTP.
const ALLOW_PLAIN: &str = "Allow plain FTP";

pub struct SystemView {
    form: Form,
    dialog: Option<Dialog>,
    zones: Option<ZonePicker>,
    /// A save waiting for the operator's yes to plain FTP.
    confirming: Option<Config>,
}

impl SystemView {
    pub fn new(shared: &mut Shared) -> SystemView {
        let c = &shared.config;
        let form = Form::new(vec![
            Field::text("hostname", "Host name", c.system.hostname.to_string())
                .with_hint("Letters, digits and '-', parts separated by dots"),
            Field::text("timezone", "Time zone", c.system.timezone.clone()).with_hint(
                "A zone such as Europe/Prague, a POSIX TZ string, or UTC; or choose below",
            ),
            Field::button("zones", "Choose time zone from the list"),
            Field::text("ntp", "NTP servers", c.system.ntp_server.clone())
                .with_hint("Addresses or names of time servers, comma-separated; empty: none"),
            Field::text("access", "FTP Access List", c.ftp.access_list.to_string())
                .with_hint("Addresses or blocks allowed to use FTP, e.g. 192.168.1.15, 10.0.0.0/8"),
            Field::choice(
                "plain",
                "Allow plain FTP",
                PLAIN_FTP,
                usize::from(c.ftp.allow_plain),
            )
            .with_hint(
                "For Windows ftp.exe and scripts: passwords and sets then cross unencrypted",
            ),
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
        SystemView {
            form,
            dialog: None,
            zones: None,
            confirming: None,
        }
    }

    /// The configuration the fields describe, or `None` with the reasons
    /// next to the fields. A wrong current password is delayed and logged.
    /// `saving` checks the current console password too (only on Save, so
    /// that moving through the fields never counts as a failed try).
    fn build(f: &mut Form, shared: &Shared, saving: bool) -> Option<Config> {
        f.clear_errors();
        let mut config = shared.config.clone();
        match f.text("hostname").trim().parse::<Hostname>() {
            Ok(h) => config.system.hostname = h,
            Err(e) => f.set_error("hostname", e),
        }
        let tz = f.text("timezone").trim().to_string();
        match appconfig::zone(&tz) {
            Err(e) => f.set_error("timezone", e),
            Ok(_) => config.system.timezone = tz,
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
        config.ftp.allow_plain = f.selected("plain") == 1;
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
        if f.refused() {
            return None;
        }
        super::check_into_form(
            &config,
            shared,
            f,
            &[("ftp.", "access"), ("system.timezone", "timezone")],
            "hostname",
        )
        .then_some(config)
    }

    fn save(&mut self, shared: &mut Shared) {
        let Some(config) = Self::build(&mut self.form, shared, true) else {
            shared.note = Note::bad(screen::CORRECT_FIELDS);
            return;
        };
        if config.ftp.allow_plain && !shared.config.ftp.allow_plain {
            self.dialog = Some(Dialog::confirm(
                "Allow plain FTP?",
                vec![
                    Line::from("Plain FTP lets Windows ftp.exe, Explorer and scheduled"),
                    Line::from("scripts such as DailyBackup.bat fetch the backup sets."),
                    Line::styled(
                        "The FTP password and the sets then cross the network",
                        ui::error(),
                    ),
                    Line::styled(
                        "unencrypted: anyone on the path can read them.",
                        ui::error(),
                    ),
                    Line::from("Keep the FTP Access List to the machines that need it."),
                ],
                ALLOW_PLAIN,
            ));
            self.confirming = Some(config);
            return;
        }
        self.commit(shared, config);
    }

    fn commit(&mut self, shared: &mut Shared, config: Config) {
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
        let saved = screen::save_config(shared, &mut self.form, config, &notify);
        if saved.ok {
            for id in PASSWORD_FIELDS {
                self.form.set_text(id, "");
            }
        }
        self.dialog = Some(saved.dialog);
    }
}

/// Why an NTP server list is refused: empty, IPv4 addresses and host
/// names (each with an optional `:port`) pass.
pub fn ntp_problem(servers: &str) -> Option<String> {
    appconfig::parse_ntp_servers(servers).err()
}

/// The time now, in the saved zone and in UTC.
fn time_now(shared: &Shared) -> String {
    let now = jiff::Timestamp::now();
    let utc = now.strftime("%H:%M UTC");
    match shared.config.system.zone() {
        Ok(zone) => format!(
            "Time now: {} ({utc})",
            now.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z")
        ),
        Err(_) => format!("Time now: {}", now.strftime("%Y-%m-%d %H:%M UTC")),
    }
}

impl View for SystemView {
    fn title(&self) -> &'static str {
        "System Configuration"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(time_now(shared)),
                Line::styled(
                    "Empty password fields leave that password unchanged.",
                    ui::dim(),
                ),
            ]),
            Rect::new(area.x + 1, area.y, area.width.saturating_sub(1), 2),
        );
        let form_area = Rect::new(
            area.x,
            area.y + 3,
            area.width,
            area.height.saturating_sub(3),
        );
        ui::render_form(frame, form_area, &self.form, ui::Columns::default());
        if let Some(d) = &self.dialog {
            d.render(frame, area);
        }
        if let Some(z) = &self.zones {
            z.render(frame, area);
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        if let Some(z) = &mut self.zones {
            match z.handle_key(key) {
                ZoneEvent::Chose(zone) => {
                    self.form.set_text("timezone", zone);
                    self.form.dirty = true;
                    self.form.focus_on("timezone");
                    self.zones = None;
                }
                ZoneEvent::Cancel => self.zones = None,
                ZoneEvent::Nothing => {}
            }
            return Nav::Stay;
        }
        match screen::dialog_key(&mut self.dialog, key) {
            Answer::NotOpen => {}
            Answer::Open => return Nav::Stay,
            Answer::Closed(b, _) => {
                match (b, self.confirming.take()) {
                    (ALLOW_PLAIN, Some(config)) => self.commit(shared, config),
                    (_, Some(_)) => shared.note = Note::info("Not saved: plain FTP stays off"),
                    _ => {}
                }
                return Nav::Stay;
            }
        }
        if key.code == KeyCode::Esc {
            return Nav::Back;
        }
        match self.form.handle_key(key) {
            FormEvent::Pressed("save") => self.save(shared),
            FormEvent::Pressed("zones") => {
                self.zones = Some(ZonePicker::new(self.form.text("timezone").trim()))
            }
            FormEvent::Left(id) => self.form.check_left(id, |f| Self::build(f, shared, false)),
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
    fn ntp_servers() {
        assert_eq!(ntp_problem(""), None);
        assert_eq!(ntp_problem("10.0.2.2"), None);
        assert_eq!(ntp_problem("pool.ntp.org"), None);
        assert!(ntp_problem("10.0.2.300").unwrap().contains("not an IPv4"));
        assert!(ntp_problem("bad_host").is_some());
        assert_eq!(ntp_problem("10.0.2.2:12300, pool.ntp.org"), None, "a list");
    }
}
