//! Alerts: when backups count as stopped, where the e-mail goes (through
//! which SMTP relay, trusted how), the remote syslog host, and "Send test
//! e-mail" with what the relay answered.

use super::screen::{self, PopupDialog};
use super::{Nav, Notify, View};
use crate::app::{Note, Shared};
use crate::dialog::Dialog;
use crate::form::{Field, Form, FormEvent};
use crate::pending::Pending;
use crate::ui;
use appconfig::{AlertSettings, Config, SmtpSecurity, SyslogTransport};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

const SECURITY: &[&str] = &["STARTTLS", "TLS (465)", "none (plain)"];
const TRANSPORT: &[&str] = &["UDP", "TCP"];

enum Popup {
    Still(Dialog),
    Testing(Pending<Result<(bool, Vec<String>), String>>),
}

impl PopupDialog for Popup {
    fn buttons_dialog(&mut self) -> Option<&mut Dialog> {
        match self {
            Popup::Still(d) => Some(d),
            Popup::Testing(_) => None,
        }
    }
}

pub struct AlertsView {
    form: Form,
    popup: Option<Popup>,
}

fn security_index(s: SmtpSecurity) -> usize {
    SmtpSecurity::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

fn transport_index(t: SyslogTransport) -> usize {
    SyslogTransport::ALL
        .iter()
        .position(|x| *x == t)
        .unwrap_or(0)
}

impl AlertsView {
    pub fn new(shared: &mut Shared) -> AlertsView {
        let a = &shared.config.alerts;
        let form = Form::new(vec![
            Field::text("stale", "Alert after (h)", a.stale_after_hours.to_string())
                .with_hint("Alert when no verified backup was written for this many hours"),
            Field::text("email_to", "E-mail to", a.email_to.clone())
                .with_hint("Who gets alert e-mail, e.g. admin@example.com; empty: no e-mail"),
            Field::text("smtp_host", "  SMTP relay", a.smtp.host.clone())
                .with_hint("IP address or name of the mail relay"),
            Field::text("smtp_port", "  Relay port", a.smtp.port.to_string())
                .with_hint("587 for STARTTLS, 465 for TLS"),
            Field::choice(
                "security",
                "  Security",
                SECURITY,
                security_index(a.smtp.security),
            )
            .with_hint("STARTTLS is required unless chosen otherwise; none sends no password"),
            Field::text("smtp_user", "  Relay user", a.smtp.username.clone())
                .with_hint("Account on the relay; empty: the relay takes mail without login"),
            Field::secret("smtp_pw", "  Relay password", a.smtp.password.clone())
                .with_hint("Password of that account (kept in the secrets file)"),
            Field::text("from", "  Sender", a.smtp.from.clone())
                .with_hint("From address; empty: backup@<host name>"),
            Field::text("pin", "  Relay cert pin", a.smtp.pin_sha256.clone()).with_hint(
                "SHA-256 of a private relay's certificate; empty: public CAs and the name",
            ),
            Field::text("syslog_host", "Syslog host", a.syslog.host.clone())
                .with_hint("Remote syslog server (RFC 5424); empty: none"),
            Field::text("syslog_port", "  Syslog port", a.syslog.port.to_string())
                .with_hint("514 as a rule"),
            Field::choice(
                "transport",
                "  Transport",
                TRANSPORT,
                transport_index(a.syslog.transport),
            )
            .with_hint("UDP, or TCP with octet counting (RFC 6587)"),
            Field::button("save", "Save"),
            Field::button("test", "Send test e-mail"),
            Field::button("cancel", "Cancel"),
        ]);
        AlertsView { form, popup: None }
    }

    /// The settings the fields describe, or `None` with the reasons beside them.
    fn build_settings(f: &mut Form, base: &AlertSettings) -> Option<AlertSettings> {
        f.clear_errors();
        let mut a = base.clone();
        match f.text("stale").trim().parse::<u32>() {
            Ok(h) => a.stale_after_hours = h,
            Err(_) => f.set_error("stale", "a whole number of hours, 1 to 2160"),
        }
        a.email_to = f.text("email_to").trim().to_string();
        a.smtp.host = f.text("smtp_host").trim().to_string();
        match f.text("smtp_port").trim().parse::<u16>() {
            Ok(p) => a.smtp.port = p,
            Err(_) => f.set_error("smtp_port", "a port is 1 to 65535"),
        }
        a.smtp.security = SmtpSecurity::ALL[f.selected("security").min(2)];
        a.smtp.username = f.text("smtp_user").trim().to_string();
        a.smtp.password = f.text("smtp_pw");
        a.smtp.from = f.text("from").trim().to_string();
        a.smtp.pin_sha256 = f.text("pin").trim().to_string();
        a.syslog.host = f.text("syslog_host").trim().to_string();
        match f.text("syslog_port").trim().parse::<u16>() {
            Ok(p) => a.syslog.port = p,
            Err(_) => f.set_error("syslog_port", "a port is 1 to 65535"),
        }
        a.syslog.transport = SyslogTransport::ALL[f.selected("transport").min(1)];
        let field_of = |k: &str| match k {
            "stale_after_hours" => "stale",
            "email_to" => "email_to",
            "smtp.host" => "smtp_host",
            "smtp.port" => "smtp_port",
            "smtp.security" => "security",
            "smtp.username" => "smtp_user",
            "smtp.password" => "smtp_pw",
            "smtp.from" => "from",
            "smtp.pin_sha256" => "pin",
            "syslog.host" => "syslog_host",
            _ => "syslog_port",
        };
        for (k, why) in a.problems() {
            let id = field_of(k);
            if f.error(id).is_none() {
                f.set_error(id, why);
            }
        }
        if let Some(why) = a.smtp.password_problem() {
            f.set_error("smtp_pw", why);
        }
        (!f.refused()).then_some(a)
    }

    fn build(f: &mut Form, shared: &Shared) -> Option<Config> {
        let mut config = shared.config.clone();
        config.alerts = Self::build_settings(f, &shared.config.alerts)?;
        super::check_into_form(&config, shared, f, &[], "stale").then_some(config)
    }

    fn save(&mut self, shared: &mut Shared) {
        let notify = [Notify::Backupd];
        if let Some(saved) = screen::save_form(shared, &mut self.form, Self::build, &notify) {
            self.popup = Some(Popup::Still(saved.dialog));
        }
    }

    fn test(&mut self, shared: &mut Shared) {
        let Some(settings) = Self::build_settings(&mut self.form, &shared.config.alerts) else {
            shared.note = Note::bad("Correct the fields marked with ! before testing");
            return;
        };
        if settings.email_to.is_empty() {
            self.form
                .set_error("email_to", "give an address to send the test to");
            self.form.focus_first_error();
            return;
        }
        let sys = shared.sys.clone();
        self.popup = Some(Popup::Testing(Pending::spawn(move || {
            sys.backupd()
                .send_test_alert(Some(settings))
                .map(|t| (t.ok, t.lines))
                .map_err(|e| e.to_string())
        })));
    }
}

impl View for AlertsView {
    fn title(&self) -> &'static str {
        "Alerts"
    }

    fn render(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Alert when backups fail or get old: console banner, syslog, e-mail.",
                ui::dim(),
            )),
            Rect::new(area.x + 1, area.y, area.width.saturating_sub(1), 1),
        );
        let form_area = Rect::new(
            area.x,
            area.y + 1,
            area.width,
            area.height.saturating_sub(1),
        );
        ui::render_form(frame, form_area, &self.form, ui::Columns::default());
        match &self.popup {
            None => {}
            Some(Popup::Still(d)) => d.render(frame, area),
            Some(Popup::Testing(_)) => Dialog::busy(
                "Send test e-mail",
                vec![
                    Line::from("Sending a test e-mail (and a remote syslog line)..."),
                    Line::from("This can take a minute when the relay does not answer."),
                ],
            )
            .render(frame, area),
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        if screen::dialog_key(&mut self.popup, key).taken() {
            return Nav::Stay;
        }
        if let Some(Popup::Testing(_)) = self.popup {
            shared.note = Note::info("Sending... please wait for the answer");
            return Nav::Stay;
        }
        if key.code == KeyCode::Esc {
            return Nav::Back;
        }
        match self.form.handle_key(key) {
            FormEvent::Pressed("save") => self.save(shared),
            FormEvent::Pressed("test") => self.test(shared),
            FormEvent::Pressed("cancel") => return Nav::Back,
            FormEvent::Left(id) => self
                .form
                .check_left(id, |f| Self::build_settings(f, &shared.config.alerts)),
            _ => {}
        }
        Nav::Stay
    }

    fn tick(&mut self, _shared: &mut Shared) -> Nav {
        if let Some(Popup::Testing(p)) = &self.popup
            && let Some(r) = p.poll()
        {
            let lines = match r.and_then(|r| r) {
                Ok((ok, lines)) => {
                    let mut out = vec![if ok {
                        ui::text_line("Test sent.", ui::good())
                    } else {
                        ui::text_line("Test FAILED:", ui::error())
                    }];
                    out.extend(lines.iter().map(|l| {
                        let bad = l.contains("FAILED");
                        ui::text_line(l, if bad { ui::error() } else { ui::good() })
                    }));
                    out
                }
                Err(e) => vec![ui::text_line(&format!("FAILED: {e}"), ui::error())],
            };
            self.popup = Some(Popup::Still(Dialog::info("Send test e-mail", lines)));
        }
        Nav::Stay
    }

    fn busy(&self) -> bool {
        matches!(self.popup, Some(Popup::Testing(_)))
    }

    fn form(&self) -> Option<&Form> {
        Some(&self.form)
    }
}
