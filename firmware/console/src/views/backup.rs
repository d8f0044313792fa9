//! Backup/Maintenance: where sets go (Local, SMB/Windows, USB, chosen with
//! space), the schedule and retention, Test Connectivity with its full
//! report, Save, Backup Now (copy, full or differential) with live progress
//! and the time left, Eject USB drive, and the last backups.

use super::menu::fetch_status;
use super::{Nav, Notify, View, screen};
use crate::app::{Note, Shared};
use crate::dialog::{Dialog, DialogEvent};
use crate::form::{Field, Form, FormEvent};
use crate::format;
use crate::pending::Pending;
use crate::ui;
use appconfig::{
    BackupSettings, BackupType, Compression, Config, DestinationKind, SmbSettings, TimeOfDay,
    Weekday,
};
use control::backupd::{ConnectivityReport, Progress, SetInfo, Status};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::time::{Duration, Instant};

const LOCATIONS: &[&str] = &["Local", "SMB/Windows", "USB drive"];
/// The choices of `backup.compression`, in the order of `compression_index`.
const COMPRESSIONS: &[&str] = &["zstd (.tar.zst)", "none (.tar)"];
const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const SMB_FIELDS: [&str; 5] = ["host", "share", "path", "user", "password"];
/// The help lines of the two age keys: each must fit the 80-column note line.
/// The operator keeps the identities; without them nothing sealed comes back.
const KEY_HINT_SECRETS: &str =
    "age1 key sealing passwords in sets; keep its identity or they stay sealed";
const KEY_HINT_SETS: &str =
    "age1 key encrypting USB/SMB sets; keep its identity: no restore without it";
/// Backup Now's kinds, the first the default: a copy leaves the restore
/// points alone.
const KINDS: [(&str, BackupType); 3] = [
    ("Copy", BackupType::Copy),
    ("Full", BackupType::Full),
    ("Differential", BackupType::Differential),
];

pub fn location_name(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Local => "Local (fetched over FTP)",
        DestinationKind::Smb => "SMB/Windows share",
        DestinationKind::Usb => "USB drive",
    }
}

fn location_index(kind: DestinationKind) -> usize {
    match kind {
        DestinationKind::Local => 0,
        DestinationKind::Smb => 1,
        DestinationKind::Usb => 2,
    }
}

/// What the pop-up over the screen is doing.
enum Popup {
    /// A report or a question; nothing runs.
    Still(Dialog),
    Testing(Pending<Result<ConnectivityReport, String>>),
    /// Backup Now asks which kind.
    Kind(Dialog),
    /// hotplugd flushes and unmounts the drive.
    Ejecting(Pending<Result<String, String>>),
    /// A backup started from here: its set, and the latest progress seen.
    Progress {
        set: String,
        last: Option<Progress>,
        outcome: Option<Line<'static>>,
        dialog: Dialog,
    },
}

pub struct BackupView {
    form: Form,
    popup: Option<Popup>,
    status: Option<Result<Status, String>>,
    status_call: Option<Pending<Result<Status, String>>>,
    last_poll: Option<Instant>,
}

impl BackupView {
    pub fn new(shared: &mut Shared) -> BackupView {
        let b = &shared.config.backup;
        let on = Weekday::ALL
            .iter()
            .map(|d| b.differential_days.contains(d))
            .collect();
        let mut form = Form::new(vec![
            Field::choice(
                "location",
                "Backup location",
                LOCATIONS,
                location_index(b.destination),
            )
            .with_hint("Left/Right to a location, Space to choose it"),
            Field::text("host", "  Host", b.smb.host.clone())
                .with_hint("IP address (recommended) or full name of the file server"),
            Field::text("share", "  Share", b.smb.share.clone())
                .with_hint("The share's name on the server"),
            Field::text("path", "  Path", b.smb.path.clone())
                .with_hint("Sub-folder inside the share; empty for its top"),
            Field::text("user", "  User name", b.smb.username.clone())
                .with_hint("domain\\user or user@fully.qualified.domain"),
            Field::secret("password", "  Password", b.smb.password.clone())
                .with_hint("Password of that account"),
            Field::text("schedule", "Backup time", b.schedule.to_string())
                .with_hint("Local time of the nightly backup, HH:MM (24-hour)"),
            Field::toggles("diff_days", "Differential on", DAYS, on)
                .with_hint("Days whose backup is a differential; the others are full"),
            Field::text("retention", "Restore points", b.retention.to_string())
                .with_hint("How many nightly restore points to keep, 1 to 1000"),
            Field::text("copies", "Copies kept", b.copies_kept.to_string())
                .with_hint("Backup Now copies kept, counted apart from restore points"),
            Field::text(
                "body_window",
                "Body window (h)",
                b.body_window_hours.to_string(),
            )
            .with_hint("Older messages kept as headers only; 24 as Sendio; 0: keep all bodies"),
            Field::choice(
                "compression",
                "Compression",
                COMPRESSIONS,
                usize::from(b.compression == Compression::None),
            )
            .with_hint("zstd: sets about a third the size, opened with tar --zstd; none: plain"),
            Field::text(
                "secrets_key",
                "Secrets key (age recipient)",
                b.secrets_recipient.clone(),
            )
            .with_hint(KEY_HINT_SECRETS),
            Field::text(
                "encrypt_key",
                "Set encryption key",
                b.encrypt_recipient.clone(),
            )
            .with_hint(KEY_HINT_SETS),
            Field::button("test", "Test Connectivity"),
            Field::button("save", "Save"),
            Field::button("backup_now", "Backup Now"),
            Field::button("eject", "Eject USB drive"),
            Field::button("back", "Back"),
        ]);
        show_smb_fields(&mut form);
        BackupView {
            form,
            popup: None,
            status: None,
            status_call: Some(fetch_status(shared, Duration::from_secs(3))),
            last_poll: None,
        }
    }

    /// The backup settings the fields describe, reasons next to fields.
    fn build_settings(f: &mut Form, base: &BackupSettings) -> Option<BackupSettings> {
        f.clear_errors();
        let mut b = base.clone();
        b.destination = match f.selected("location") {
            1 => DestinationKind::Smb,
            2 => DestinationKind::Usb,
            _ => DestinationKind::Local,
        };
        b.smb = SmbSettings {
            host: f.text("host").trim().to_string(),
            share: f.text("share").trim().to_string(),
            path: f.text("path").trim().to_string(),
            username: f.text("user").trim().to_string(),
            password: f.text("password"),
            encrypt: base.smb.encrypt,
        };
        if b.destination == DestinationKind::Smb {
            for (field, why) in b.smb.problems() {
                let id = if field == "username" { "user" } else { field };
                f.set_error(id, why);
            }
        }
        match f.text("schedule").trim().parse::<TimeOfDay>() {
            Ok(t) => b.schedule = t,
            Err(e) => f.set_error("schedule", e),
        }
        b.differential_days = Weekday::ALL
            .iter()
            .zip(f.toggled("diff_days"))
            .filter(|(_, on)| *on)
            .map(|(d, _)| *d)
            .collect();
        match number(&f.text("retention"), 1, 1000) {
            Ok(n) => b.retention = n,
            Err(e) => f.set_error("retention", e),
        }
        match number(&f.text("copies"), 1, 1000) {
            Ok(n) => b.copies_kept = n,
            Err(e) => f.set_error("copies", e),
        }
        match number(&f.text("body_window"), 0, 87_600) {
            Ok(n) => b.body_window_hours = n,
            Err(e) => f.set_error("body_window", e),
        }
        b.compression = match f.selected("compression") {
            1 => Compression::None,
            _ => Compression::Zstd,
        };
        b.secrets_recipient = f.text("secrets_key").trim().to_string();
        if let Some(why) = appconfig::recipient_problem(&b.secrets_recipient) {
            f.set_error("secrets_key", why);
        }
        b.encrypt_recipient = f.text("encrypt_key").trim().to_string();
        if let Some(why) = appconfig::recipient_problem(&b.encrypt_recipient) {
            f.set_error("encrypt_key", why);
        }
        (!f.refused()).then_some(b)
    }

    fn build(f: &mut Form, shared: &Shared) -> Option<Config> {
        let mut config = shared.config.clone();
        config.backup = Self::build_settings(f, &shared.config.backup)?;
        super::check_into_form(
            &config,
            shared,
            f,
            &[
                ("backup.smb.host", "host"),
                ("backup.smb.share", "share"),
                ("backup.smb.path", "path"),
                ("backup.smb.username", "user"),
                ("backup.retention", "retention"),
                ("backup.copies_kept", "copies"),
                ("backup.secrets_recipient", "secrets_key"),
                ("backup.encrypt_recipient", "encrypt_key"),
            ],
            "location",
        )
        .then_some(config)
    }

    fn save(&mut self, shared: &mut Shared) {
        let notify = [Notify::Backupd];
        let Some(saved) = screen::save_form(shared, &mut self.form, Self::build, &notify) else {
            return;
        };
        if saved.ok {
            self.status_call = Some(fetch_status(shared, Duration::from_secs(3)));
        }
        self.popup = Some(Popup::Still(saved.dialog));
    }

    fn test(&mut self, shared: &mut Shared) {
        let Some(settings) = Self::build_settings(&mut self.form, &shared.config.backup) else {
            shared.note = Note::bad("Correct the fields marked with ! before testing");
            return;
        };
        let sys = shared.sys.clone();
        self.popup = Some(Popup::Testing(Pending::spawn(move || {
            sys.backupd()
                .test_connectivity(Some(settings))
                .map_err(|e| e.to_string())
        })));
    }

    /// Backup Now: which kind.
    fn ask_kind(&mut self, shared: &mut Shared) {
        if self.form.dirty {
            shared.note = Note::bad("Save the changes first: Backup Now uses the saved settings");
            return;
        }
        let mut dialog = Dialog::info(
            "Backup Now",
            vec![
                Line::from("Which backup, to the saved location?"),
                Line::from(""),
                Line::from("Copy: a set of its own, kept apart from the restore points."),
                Line::from("Full: a new restore point, as the nightly full backup."),
                Line::from("Differential: what changed since the last full backup."),
            ],
        );
        dialog.buttons = KINDS.iter().map(|(name, _)| *name).collect();
        dialog.buttons.push("Cancel");
        dialog.cancel = Some(KINDS.len());
        self.popup = Some(Popup::Kind(dialog));
    }

    fn eject(&mut self, shared: &Shared) {
        let sys = shared.sys.clone();
        log::info!("console: USB drive eject asked by the operator");
        self.popup = Some(Popup::Ejecting(Pending::spawn(move || {
            sys.hotplugd().eject().map_err(|e| e.to_string())
        })));
    }

    fn backup_now(&mut self, shared: &mut Shared, kind: BackupType) {
        let reply = shared.sys.backupd().backup_now(kind);
        let failed = |text: String| {
            Popup::Still(Dialog::info(
                "Backup Now",
                vec![ui::text_line(
                    &format!("The backup did not start: {text}"),
                    ui::error(),
                )],
            ))
        };
        self.popup = Some(match reply {
            Ok(set) => {
                log::info!("console: backup {set} started by the operator");
                self.last_poll = None;
                let mut dialog = Dialog::busy("Backup Now", Vec::new());
                dialog.buttons = vec!["Hide"];
                dialog.cancel = Some(0);
                Popup::Progress {
                    dialog,
                    set,
                    last: None,
                    outcome: None,
                }
            }
            Err(e) => failed(e.to_string()),
        });
        self.status_call = None;
    }

    /// Progress lines from the newest status.
    fn progress_lines(
        set: &str,
        p: Option<&Progress>,
        outcome: Option<&Line<'static>>,
    ) -> Vec<Line<'static>> {
        let mut lines = vec![ui::text_line(&format!("Set: {set}"), Style::default())];
        if let Some(done) = outcome {
            lines.push(done.clone());
            return lines;
        }
        match p {
            None => lines.push(Line::from("Starting...")),
            Some(p) => {
                lines.push(ui::text_line(
                    &format!("Phase: {}", p.phase),
                    Style::default(),
                ));
                // Without a total a bar would sit at 0%: say so instead.
                lines.push(Line::from(if p.bytes_total > 0 {
                    format::bar(p.bytes_done, p.bytes_total, 40)
                } else {
                    "(total size not known yet)".to_string()
                }));
                let total = if p.bytes_total > 0 {
                    format!(" of {}", format::bytes(p.bytes_total))
                } else {
                    " so far".to_string()
                };
                lines.push(Line::from(format!(
                    "{}{total}, {} files",
                    format::bytes(p.bytes_done),
                    p.files_done
                )));
                lines.push(Line::from(format!(
                    "Elapsed {}   Time left {}",
                    format::duration(p.elapsed_secs),
                    p.eta_secs
                        .map(format::duration)
                        .unwrap_or_else(|| "estimating...".into())
                )));
            }
        }
        lines.push(Line::from(""));
        lines.push(Line::styled(
            "Hide leaves it running in the background.",
            ui::dim(),
        ));
        lines
    }

    fn recent_lines(&self, width: u16) -> Vec<Line<'static>> {
        let mut lines = vec![Line::styled("Backups", ui::heading())];
        match &self.status {
            None => lines.push(Line::from(" asking backupd...")),
            Some(Err(e)) => lines.push(ui::text_line(&format!(" {e}"), ui::error())),
            Some(Ok(s)) => {
                let now = match &s.running {
                    Some(p) if p.bytes_total > 0 => format!(
                        "running {} ({}, {})",
                        p.set,
                        p.phase,
                        format::bar(p.bytes_done, p.bytes_total, 10)
                    ),
                    Some(p) => format!(
                        "running {} ({}, {})",
                        p.set,
                        p.phase,
                        format::bytes(p.bytes_done)
                    ),
                    None => "idle".into(),
                };
                lines.push(ui::text_line(
                    &format!(" Now: {now}   Next: {} ({})", s.next_run, s.next_kind),
                    Style::default(),
                ));
                if s.recent.is_empty() {
                    lines.push(Line::from(" No backups yet."));
                }
                for r in &s.recent {
                    let text = format!(
                        " {} {:<12} {:<6} {}",
                        r.started,
                        r.kind.to_string(),
                        if r.ok { "OK" } else { "FAILED" },
                        r.message
                    );
                    let text: String = text.chars().take(width as usize).collect();
                    lines.push(ui::text_line(
                        &text,
                        if r.ok { ui::good() } else { ui::error() },
                    ));
                }
            }
        }
        lines
    }
}

fn number(s: &str, min: u32, max: u32) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{:?}: a number from {min} to {max}", s.trim())),
    }
}

fn show_smb_fields(form: &mut Form) {
    let smb = form.selected("location") == 1;
    for id in SMB_FIELDS {
        form.set_hidden(id, !smb);
    }
}

/// The Test Connectivity pop-up: verdict, each step, space, and the sets found.
pub fn report_lines(r: &ConnectivityReport) -> Vec<Line<'static>> {
    let plain = Style::default();
    let mut lines = vec![
        ui::text_line(
            &format!("{}: {}", if r.ok { "SUCCESS" } else { "FAILED" }, r.summary),
            if r.ok { ui::good() } else { ui::error() },
        ),
        ui::text_line(
            &format!("Location: {}", location_name(r.destination)),
            plain,
        ),
    ];
    for (step, outcome) in &r.steps {
        lines.push(ui::text_line(&format!("  {step}: {outcome}"), plain));
    }
    let mut facts = Vec::new();
    if let Some(fs) = &r.filesystem {
        facts.push(format!("file system {fs}"));
    }
    if let Some(d) = &r.dialect {
        facts.push(format!("SMB {d}"));
    }
    match (r.free_bytes, r.total_bytes) {
        (Some(free), Some(total)) => facts.push(format!(
            "{} free of {}",
            format::bytes(free),
            format::bytes(total)
        )),
        (Some(free), None) => facts.push(format!("{} free", format::bytes(free))),
        _ => {}
    }
    if !facts.is_empty() {
        lines.push(ui::text_line(&facts.join(", "), plain));
    }
    if r.sets.is_empty() {
        lines.push(Line::from("No backup sets found at this location."));
    } else {
        lines.push(Line::styled(
            format!("Backup sets found ({}):", r.sets.len()),
            ui::heading(),
        ));
        for s in &r.sets {
            lines.push(set_line(s));
        }
    }
    lines
}

pub fn set_line(s: &SetInfo) -> Line<'static> {
    ui::text_line(
        &format!(
            "  {}  {}  {}  {}{}",
            s.name,
            s.kind,
            s.time,
            format::bytes(s.size),
            if s.complete { "" } else { "  INCOMPLETE" }
        ),
        if s.complete {
            Style::default()
        } else {
            ui::error()
        },
    )
}

impl View for BackupView {
    fn title(&self) -> &'static str {
        "Backup/Maintenance"
    }

    fn render(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        let used = ui::render_form(frame, area, &self.form, ui::Columns::default());
        let rest = Rect::new(
            area.x,
            area.y + used + 1,
            area.width,
            area.height.saturating_sub(used + 1),
        );
        frame.render_widget(Paragraph::new(self.recent_lines(area.width)), rest);
        match &self.popup {
            None => {}
            Some(Popup::Still(d)) => d.render(frame, area),
            Some(Popup::Kind(d)) => d.render(frame, area),
            Some(Popup::Ejecting(_)) => Dialog::busy(
                "Eject USB drive",
                vec![Line::from(
                    "Writing out what is cached and unmounting the drive...",
                )],
            )
            .render(frame, area),
            Some(Popup::Testing(_)) => Dialog::busy(
                "Test Connectivity",
                vec![
                    Line::from("Testing the location: mount, write, read back, delete..."),
                    Line::from("This can take up to two minutes when a server does not answer."),
                ],
            )
            .render(frame, area),
            Some(Popup::Progress {
                set,
                last,
                outcome,
                dialog,
            }) => {
                let mut d = dialog.clone();
                d.lines = Self::progress_lines(set, last.as_ref(), outcome.as_ref());
                d.render(frame, area);
            }
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        match &mut self.popup {
            Some(Popup::Still(d)) | Some(Popup::Progress { dialog: d, .. }) => {
                if let DialogEvent::Chosen(_) = d.handle_key(key) {
                    self.popup = None;
                    self.status_call = Some(fetch_status(shared, Duration::from_secs(3)));
                }
                return Nav::Stay;
            }
            Some(Popup::Testing(_)) | Some(Popup::Ejecting(_)) => {
                shared.note = Note::info("Please wait for the answer");
                return Nav::Stay;
            }
            Some(Popup::Kind(d)) => {
                if let DialogEvent::Chosen(name) = d.handle_key(key) {
                    self.popup = None;
                    if let Some((_, kind)) = KINDS.iter().find(|(n, _)| *n == name) {
                        self.backup_now(shared, *kind);
                    }
                }
                return Nav::Stay;
            }
            None => {}
        }
        if key.code == KeyCode::Esc {
            return Nav::Back;
        }
        match self.form.handle_key(key) {
            FormEvent::Changed("location") => show_smb_fields(&mut self.form),
            FormEvent::Left(id) => self.form.check_left(id, |f| Self::build(f, shared)),
            FormEvent::Pressed("test") => self.test(shared),
            FormEvent::Pressed("save") => self.save(shared),
            FormEvent::Pressed("backup_now") => self.ask_kind(shared),
            FormEvent::Pressed("eject") => self.eject(shared),
            FormEvent::Pressed("back") => return Nav::Back,
            _ => {}
        }
        Nav::Stay
    }

    fn tick(&mut self, shared: &mut Shared) -> Nav {
        if let Some(p) = &self.status_call
            && let Some(r) = p.poll()
        {
            let status = r.and_then(|s| s);
            self.status_call = None;
            if let Some(Popup::Progress {
                set,
                last,
                outcome,
                dialog,
            }) = &mut self.popup
            {
                match &status {
                    Ok(s) => match &s.running {
                        Some(p) if &p.set == set => *last = Some(p.clone()),
                        _ => {
                            let result = s.recent.iter().find(|r| &r.set == set);
                            *outcome = Some(match result {
                                Some(r) if r.ok => {
                                    ui::text_line(&format!("Finished: {}", r.message), ui::good())
                                }
                                Some(r) => {
                                    ui::text_line(&format!("FAILED: {}", r.message), ui::error())
                                }
                                None => Line::from("Finished; see the list of backups."),
                            });
                            dialog.buttons = vec!["Close"];
                        }
                    },
                    Err(e) => {
                        *outcome = Some(ui::text_line(
                            &format!("Lost track of the backup: {e}"),
                            ui::error(),
                        ))
                    }
                }
            }
            self.status = Some(status);
        }
        if let Some(Popup::Testing(p)) = &self.popup
            && let Some(r) = p.poll()
        {
            let lines = match r.and_then(|r| r) {
                Ok(report) => report_lines(&report),
                Err(e) => vec![ui::text_line(&format!("FAILED: {e}"), ui::error())],
            };
            self.popup = Some(Popup::Still(Dialog::info("Test Connectivity", lines)));
        }
        if let Some(Popup::Ejecting(p)) = &self.popup
            && let Some(r) = p.poll()
        {
            let line = match r.and_then(|r| r) {
                Ok(message) => ui::text_line(&message, ui::good()),
                Err(e) => ui::text_line(&format!("Not ejected: {e}"), ui::error()),
            };
            self.popup = Some(Popup::Still(Dialog::info("Eject USB drive", vec![line])));
        }
        let polling = matches!(&self.popup, Some(Popup::Progress { outcome: None, .. }));
        let due = self
            .last_poll
            .is_none_or(|t| t.elapsed() >= shared.sys.settings().poll_interval);
        if polling && due && self.status_call.is_none() {
            self.last_poll = Some(Instant::now());
            self.status_call = Some(fetch_status(shared, Duration::from_secs(3)));
        }
        Nav::Stay
    }

    fn form(&self) -> Option<&Form> {
        Some(&self.form)
    }
}
