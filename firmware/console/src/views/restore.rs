//! Restore From Backup: the sets in the configured location and in the FTP
//! `restore` folder; choose one, confirm, and hand its location and name to
//! the restore tool (`recover --system --location configured|restore
//! <set>`), which opens the location itself and checks the set's MD5 on the
//! very bytes it restores: no second check here, and no path built here.
//! An encrypted set (`.tar.age`), or a unit that seals its passwords to a
//! secrets key, first asks for the age identities (`keyprompt`); they reach
//! recover as private files that go when it ends.
//!
//! "Selected mail" restores part of a set instead (`selective`): recover's
//! `-d`/`-u`/`-f`/`-m`/`-b` over the same location and name, its listing
//! (`-l`) first if wanted. "Verify" has backupd check a set's volumes
//! against its `.md5` file. The local folder of sets is listed too when the
//! configured location is a share or a drive.

use super::keyprompt::{KeyPrompt, PromptEvent};
use super::screen::{self, Answer, PopupDialog};
use super::selective;
use super::{Nav, View};
use crate::app::{Note, Shared};
use crate::dialog::{Dialog, DialogEvent};
use crate::form::{Form, FormEvent};
use crate::format;
use crate::identity::IdentityFile;
use crate::jobview::JobView;
use crate::pending::Pending;
use crate::picker::{Picker, PickerEvent};
use crate::settings::{MailSelection, RestoreKeys};
use crate::ui;
use control::backupd::{Location, Progress, SetInfo, Status, Verification};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The confirmation's buttons: a replacement unit takes over the identity of
/// the unit that made the set; a second unit keeps its own.
const RESTORE: &str = "Restore";
const KEEP_UNIT: &str = "Restore, keep this unit";
/// After recover refused the keys given (or asked for one).
const OTHER_KEY: &str = "Give the key again";
/// The list's buttons.
const WHOLE: &str = "Whole system";
const MAIL: &str = "Selected mail";
const VERIFY: &str = "Verify";

/// recover's words when a set or its secrets need an identity it lacks.
fn refused_key(line: &str) -> bool {
    line.contains("--identity") || line.contains("cannot be decrypted with")
}

/// backupd's verdict on a set, a line per volume.
fn verdict_lines(v: &Verification) -> Vec<Line<'static>> {
    let mut lines = vec![ui::text_line(
        &if v.ok {
            format!("{}: OK, every volume matches its .md5 file", v.name)
        } else {
            format!("{}: FAILED", v.name)
        },
        if v.ok { ui::good() } else { ui::error() },
    )];
    lines.extend(
        v.details
            .iter()
            .map(|d| ui::text_line(&format!("  {d}"), Style::default())),
    );
    lines
}

/// A selection in words, for the pop-up and the log.
fn describe(s: &MailSelection) -> String {
    let mut parts = Vec::new();
    for (what, v) in [
        ("domain", &s.domain),
        ("user", &s.user),
        ("folder", &s.folder),
        ("parts", &s.mask),
    ] {
        if !v.is_empty() {
            parts.push(format!("{what} {v}"));
        }
    }
    if parts.is_empty() {
        parts.push("everything".into());
    }
    if s.keep_bak {
        parts.push("current data kept as .BAK".into());
    }
    parts.join(", ")
}

/// Whether a set's name says it is encrypted whole.
fn encrypted(name: &str) -> bool {
    name.ends_with(".age")
}

type Listing = Vec<(Location, Result<Vec<SetInfo>, String>)>;

/// What the selective form runs once the set's key is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MailAction {
    List,
    Restore,
}

/// The "Selected mail" form over set `index`, with the identity given for
/// an encrypted set (kept while the form is open, for the listing and the
/// restore alike).
struct Mail {
    index: usize,
    form: Form,
    identity: Option<PathBuf>,
    files: Vec<IdentityFile>,
    /// The action waiting for the key prompt.
    waiting: Option<MailAction>,
}

enum Popup {
    Still(Dialog),
    Confirm(Dialog, usize),
    Keys(KeyPrompt),
    Running {
        job: JobView,
        /// The private identity files, removed once recover has ended.
        keys: Vec<IdentityFile>,
        index: usize,
        keep_identity: bool,
    },
    /// recover's listing of the set, or a selective restore, over the form.
    MailJob {
        job: JobView,
        action: MailAction,
    },
    /// backupd checks the set: its name, since when, and its progress
    /// from backupd's status, polled while the check runs.
    Verifying {
        name: String,
        since: Instant,
        call: Pending<Result<Verification, String>>,
        last: Option<Progress>,
        poll: Option<Pending<Result<Status, String>>>,
        polled: Option<Instant>,
    },
}

impl PopupDialog for Popup {
    fn buttons_dialog(&mut self) -> Option<&mut Dialog> {
        match self {
            Popup::Still(d) | Popup::Confirm(d, _) => Some(d),
            _ => None,
        }
    }
}

pub struct RestoreView {
    sets: Vec<(Location, SetInfo)>,
    problems: Vec<String>,
    loading: Option<Pending<Listing>>,
    picker: Picker,
    mail: Option<Mail>,
    popup: Option<Popup>,
}

fn where_name(l: &Location) -> &'static str {
    match l {
        Location::Configured => "location",
        Location::RestoreFolder => "restore",
        Location::Local => "local",
    }
}

fn short_kind(kind: appconfig::BackupType) -> &'static str {
    match kind {
        appconfig::BackupType::Full => "full",
        appconfig::BackupType::Differential => "diff",
        appconfig::BackupType::Copy => "copy",
    }
}

impl RestoreView {
    pub fn new(shared: &mut Shared) -> RestoreView {
        let mut v = RestoreView {
            sets: Vec::new(),
            problems: Vec::new(),
            loading: None,
            picker: Picker::new(vec![WHOLE, MAIL, VERIFY, "Refresh", "Back"]),
            mail: None,
            popup: None,
        };
        v.refresh(shared);
        v
    }

    fn refresh(&mut self, shared: &Shared) {
        let sys = shared.sys.clone();
        let mut locations = vec![Location::Configured, Location::RestoreFolder];
        // Sets written locally before the destination became a share or a
        // drive are still on the appliance.
        if shared.config.backup.destination != appconfig::DestinationKind::Local {
            locations.push(Location::Local);
        }
        self.loading = Some(Pending::spawn(move || {
            locations
                .into_iter()
                .map(|location| {
                    let result = sys
                        .backupd()
                        .list_sets(location.clone())
                        .map_err(|e| e.to_string());
                    (location, result)
                })
                .collect()
        }));
    }

    /// The set chosen, if it can be restored from (else why not, in the
    /// note line).
    fn usable_choice(&self, shared: &mut Shared) -> Option<usize> {
        let Some(i) = self.picker.chosen else {
            shared.note = Note::bad("Choose a set with Space first");
            return None;
        };
        let (_, set) = self.sets.get(i)?;
        if !set.complete {
            shared.note = Note::bad(format!(
                "{} is incomplete (a volume or its .md5 file is missing)",
                set.name
            ));
            return None;
        }
        if set.verified == Some(false) {
            shared.note = Note::bad(format!(
                "{} failed its check: {}",
                set.name,
                set.problem
                    .as_deref()
                    .unwrap_or("it does not match its .md5 file")
            ));
            return None;
        }
        Some(i)
    }

    fn ask(&mut self, shared: &mut Shared) {
        let Some(i) = self.usable_choice(shared) else {
            return;
        };
        let Some((location, set)) = self.sets.get(i) else {
            return;
        };
        let mut lines = vec![
            ui::text_line(
                &format!(
                    "Restore the whole system from {} ({}, {} UTC, {}, {})?",
                    set.name,
                    set.kind,
                    set.time,
                    format::bytes(set.size),
                    where_name(location)
                ),
                Style::default(),
            ),
            Line::from(""),
            Line::styled(
                "The configuration and all data on this appliance are replaced.",
                ui::error(),
            ),
            Line::from(
                "The set is checked against its .md5 file as it is read; one that does not match changes nothing.",
            ),
        ];
        if let Some(base) = &set.base {
            lines.push(ui::text_line(
                &format!("This differential also needs {base}."),
                Style::default(),
            ));
        }
        let mut dialog = Dialog::confirm("Restore From Backup", lines, RESTORE);
        let ours = shared.config.system.unit_id.as_str();
        if let Some(theirs) = set
            .unit
            .as_deref()
            .filter(|u| !ours.is_empty() && *u != ours)
        {
            dialog.append([
                Line::from(""),
                ui::text_line(
                    &format!(
                        "The set was made by another unit ({theirs}). Restore: this unit replaces \
                         it and takes over its identity and its sets. {KEEP_UNIT}: a second unit \
                         made from the set, which keeps its own."
                    ),
                    Style::default(),
                ),
            ]);
            dialog.follow = false;
            dialog.buttons.push(KEEP_UNIT);
        }
        self.popup = Some(Popup::Confirm(dialog, i));
    }

    /// Asks for the keys when the set or its secrets need them, else
    /// restores at once.
    fn begin(&mut self, shared: &Shared, i: usize, keep_identity: bool) {
        let Some((_, set)) = self.sets.get(i) else {
            return;
        };
        let sealing = !shared.config.backup.secrets_recipient.is_empty();
        if encrypted(&set.name) || sealing {
            self.popup = Some(Popup::Keys(self.prompt(
                shared,
                i,
                keep_identity,
                false,
                None,
            )));
        } else {
            self.restore(shared, i, keep_identity, RestoreKeys::default(), Vec::new());
        }
    }

    /// The key question for set `i`; `needs_key`: recover said the set
    /// needs an identity whatever its name.
    fn prompt(
        &self,
        shared: &Shared,
        i: usize,
        keep_identity: bool,
        needs_key: bool,
        refused: Option<String>,
    ) -> KeyPrompt {
        let name = self
            .sets
            .get(i)
            .map(|(_, s)| s.name.clone())
            .unwrap_or_default();
        let enc = needs_key || encrypted(&name);
        let b = &shared.config.backup;
        // A unit that seals its secrets opens them: with the set's key when
        // it is the same one, else with a key of their own.
        let secrets = match (b.secrets_recipient.is_empty(), enc) {
            (true, _) => 0,
            (false, true) if b.secrets_recipient == b.encrypt_recipient => 1,
            (false, true) => 2,
            (false, false) => 1,
        };
        KeyPrompt::new(
            shared.sys.as_ref(),
            &name,
            i,
            keep_identity,
            enc,
            secrets,
            refused,
        )
    }

    /// Runs the restore tool on the chosen set.
    fn restore(
        &mut self,
        shared: &Shared,
        i: usize,
        keep_identity: bool,
        keys: RestoreKeys,
        files: Vec<IdentityFile>,
    ) {
        let Some((location, set)) = self.sets.get(i) else {
            return;
        };
        let settings = shared.sys.settings();
        let mut lines = Vec::new();
        let program = settings.recover.first().cloned().unwrap_or_default();
        if !shared.sys.available(&program) {
            lines.push(Line::styled(
                "The restore tool is not installed in this firmware: nothing was changed.",
                ui::error(),
            ));
            lines.push(ui::text_line(
                &format!("({program} is missing.) The set stays where it is."),
                Style::default(),
            ));
            self.popup = Some(Popup::Still(Dialog::info("Restore From Backup", lines)));
            return;
        }
        let argv = settings.recover_system(location, &set.name, keep_identity, &keys);
        log::warn!(
            "console: whole-system restore of {} from the {} started by the operator",
            set.name,
            where_name(location)
        );
        self.popup = Some(match shared.sys.start(&argv) {
            Ok(job) => Popup::Running {
                job: JobView::new("Restoring", job, lines),
                keys: files,
                index: i,
                keep_identity,
            },
            Err(e) => {
                lines.push(ui::text_line(
                    &format!("The restore did not start: {}", e.summary()),
                    ui::error(),
                ));
                Popup::Still(Dialog::info("Restore From Backup", lines))
            }
        });
    }

    /// "Selected mail": the form over the chosen set.
    fn open_mail(&mut self, shared: &mut Shared) {
        let Some(index) = self.usable_choice(shared) else {
            return;
        };
        self.mail = Some(Mail {
            index,
            form: selective::form(),
            identity: None,
            files: Vec::new(),
            waiting: None,
        });
    }

    /// Show contents or Restore from the form: the key first for an
    /// encrypted set, then recover.
    fn mail_action(&mut self, shared: &mut Shared, action: MailAction) {
        let Some(mail) = &mut self.mail else {
            return;
        };
        let Some(selection) = selective::selection(&mut mail.form, action == MailAction::Restore)
        else {
            shared.note = Note::bad("Correct the fields marked with !");
            return;
        };
        let Some((_, set)) = self.sets.get(mail.index) else {
            return;
        };
        if encrypted(&set.name) && mail.identity.is_none() {
            mail.waiting = Some(action);
            let prompt = KeyPrompt::new(
                shared.sys.as_ref(),
                &set.name,
                mail.index,
                false,
                true,
                0,
                None,
            )
            .without_secrets();
            self.popup = Some(Popup::Keys(prompt));
            return;
        }
        self.run_mail(shared, action, &selection);
    }

    /// Runs recover's listing or selective restore over the form's set.
    fn run_mail(&mut self, shared: &Shared, action: MailAction, selection: &MailSelection) {
        let Some(mail) = &self.mail else {
            return;
        };
        let Some((location, set)) = self.sets.get(mail.index) else {
            return;
        };
        let settings = shared.sys.settings();
        let program = settings.recover.first().cloned().unwrap_or_default();
        let title = match action {
            MailAction::List => "Contents of the set",
            MailAction::Restore => "Restoring selected mail",
        };
        if !shared.sys.available(&program) {
            self.popup = Some(Popup::Still(Dialog::info(
                title,
                vec![Line::styled(
                    format!("The restore tool ({program}) is not installed in this firmware."),
                    ui::error(),
                )],
            )));
            return;
        }
        let argv = settings.recover_selected(
            location,
            &set.name,
            selection,
            action == MailAction::List,
            mail.identity.as_deref(),
        );
        if action == MailAction::Restore {
            log::warn!(
                "console: selective restore from {} ({}) started by the operator: {}",
                set.name,
                where_name(location),
                describe(selection)
            );
        }
        let first = vec![ui::text_line(
            &format!("{}: {}", set.name, describe(selection)),
            ui::heading(),
        )];
        self.popup = Some(match shared.sys.start(&argv) {
            Ok(job) => {
                let mut job = JobView::new(title, job, first);
                if action == MailAction::List {
                    // A listing is read from the top.
                    job.dialog.follow = false;
                }
                Popup::MailJob { job, action }
            }
            Err(e) => Popup::Still(Dialog::info(
                title,
                vec![ui::text_line(
                    &format!("recover did not start: {}", e.summary()),
                    ui::error(),
                )],
            )),
        });
    }

    /// "Verify": backupd reads the chosen set against its `.md5` file.
    fn verify(&mut self, shared: &mut Shared) {
        let Some(i) = self.picker.chosen else {
            shared.note = Note::bad("Choose a set with Space first");
            return;
        };
        let Some((location, set)) = self.sets.get(i) else {
            return;
        };
        let (location, name) = (location.clone(), set.name.clone());
        let sys = shared.sys.clone();
        log::info!("console: verify of {} started by the operator", set.name);
        self.popup = Some(Popup::Verifying {
            name: set.name.clone(),
            since: Instant::now(),
            call: Pending::spawn(move || {
                sys.backupd()
                    .verify_set(location, &name)
                    .map_err(|e| e.to_string())
            }),
            last: None,
            poll: None,
            polled: None,
        });
    }
}

impl View for RestoreView {
    fn title(&self) -> &'static str {
        "Restore From Backup"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let mut lines = vec![
            ui::text_line(
                &format!(
                    "Sets at the backup location ({}){}:",
                    super::backup::location_name(shared.config.backup.destination)
                        .split(' ')
                        .next()
                        .unwrap_or(""),
                    if shared.config.backup.destination == appconfig::DestinationKind::Local {
                        " and in the FTP restore folder"
                    } else {
                        ", the FTP restore folder and local"
                    }
                ),
                Style::default(),
            ),
            Line::styled(
                format!(
                    "    {:<9}{:<5}{:<17}{:>10}  {}",
                    "Where", "Type", "Date (UTC)", "Size", "Name"
                ),
                ui::heading(),
            ),
        ];
        let problems: Vec<Line> = self
            .problems
            .iter()
            .map(|p| ui::text_line(p, ui::error()))
            .collect();
        // One row below the list names the set under the cursor in full:
        // with the unit's own host name a set's name is wider than its column.
        let list_rows = (area.height as usize).saturating_sub(lines.len() + problems.len() + 4);
        if self.loading.is_some() {
            lines.push(Line::from("    Asking backupd for the sets..."));
        } else if self.sets.is_empty() {
            lines.push(Line::from("    No backup sets found."));
        }
        let first = self.picker.first_visible(list_rows);
        for (i, (location, s)) in self.sets.iter().enumerate().skip(first).take(list_rows) {
            let text = format!(
                "{:<9}{:<5}{:<17}{:>10}  {}",
                where_name(location),
                short_kind(s.kind),
                s.time.get(..16).unwrap_or(&s.time),
                format::bytes(s.size),
                s.name,
            );
            // A set ftpd found not matching its .md5 is not offered.
            let usable = s.complete && s.verified != Some(false);
            let style = if usable {
                Style::default()
            } else {
                ui::error()
            };
            lines.push(self.picker.row(i, &text, style, usable));
        }
        if let Some((_, s)) = self.sets.get(self.picker.cursor) {
            let mut text = format!("Set: {}", s.name);
            if s.volumes > 1 {
                text.push_str(&format!(" ({} volumes)", s.volumes));
            }
            lines.push(ui::text_line(&text, ui::heading()));
        }
        if self.sets.iter().any(|(_, s)| !s.complete) {
            lines.push(Line::styled(
                "(!) incomplete: a volume or the .md5 file is missing",
                ui::error(),
            ));
        }
        if self.sets.iter().any(|(_, s)| s.verified == Some(false)) {
            lines.push(Line::styled(
                "(!) failed its check: it does not match its .md5 file",
                ui::error(),
            ));
        }
        lines.extend(problems);
        frame.render_widget(Paragraph::new(lines), area);
        let buttons = Rect::new(
            area.x,
            area.y + area.height.saturating_sub(1),
            area.width,
            1,
        );
        frame.render_widget(Paragraph::new(self.picker.buttons_line()), buttons);
        if let Some(m) = &self.mail
            && let Some((location, set)) = self.sets.get(m.index)
        {
            selective::render(frame, area, &m.form, &set.name, where_name(location));
        }
        match &self.popup {
            None => {}
            Some(Popup::Still(d)) | Some(Popup::Confirm(d, _)) => d.render(frame, area),
            Some(Popup::Keys(p)) => p.render(frame, area),
            Some(Popup::Running { job, .. }) | Some(Popup::MailJob { job, .. }) => {
                job.render(frame, area)
            }
            Some(Popup::Verifying {
                name, since, last, ..
            }) => {
                let mut lines = vec![
                    ui::text_line(
                        &format!("Checking {name} against its .md5 file..."),
                        Style::default(),
                    ),
                    Line::from("Every byte of every volume is read."),
                ];
                let left = match last {
                    Some(p) if p.bytes_total > 0 => {
                        lines.push(Line::from(format::bar(p.bytes_done, p.bytes_total, 40)));
                        lines.push(Line::from(format!(
                            "{} of {}",
                            format::bytes(p.bytes_done),
                            format::bytes(p.bytes_total)
                        )));
                        p.eta_secs
                            .map(format::duration)
                            .unwrap_or_else(|| "estimating...".into())
                    }
                    _ => "estimating...".into(),
                };
                lines.push(Line::from(format!(
                    "Elapsed {}   Time left {left}",
                    format::duration(since.elapsed().as_secs())
                )));
                Dialog::busy("Verify", lines).render(frame, area)
            }
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        match screen::dialog_key(&mut self.popup, key) {
            Answer::NotOpen => {}
            Answer::Closed(b @ (RESTORE | KEEP_UNIT), Popup::Confirm(_, i)) => {
                self.begin(shared, i, b == KEEP_UNIT);
                return Nav::Stay;
            }
            Answer::Open | Answer::Closed(..) => return Nav::Stay,
        }
        match &mut self.popup {
            Some(Popup::Still(_)) | Some(Popup::Confirm(..)) => {}
            Some(Popup::Keys(p)) => {
                match p.handle_key(key, shared.sys.as_ref()) {
                    PromptEvent::Nothing => {}
                    PromptEvent::Cancel => {
                        self.popup = None;
                        if let Some(m) = &mut self.mail {
                            m.waiting = None;
                        }
                        shared.note = Note::info("Restore cancelled: nothing was changed");
                    }
                    PromptEvent::Go(keys, files) => {
                        if let Some(m) = &mut self.mail {
                            // The selective form's set: its key stays for
                            // the form's next runs.
                            m.identity = keys.identity;
                            m.files = files;
                            self.popup = None;
                            if let Some(action) = m.waiting.take() {
                                self.mail_action(shared, action);
                            }
                        } else {
                            let (i, keep) = (p.index, p.keep_identity);
                            self.restore(shared, i, keep, keys, files);
                        }
                    }
                }
                return Nav::Stay;
            }
            Some(Popup::MailJob { job, action }) => {
                if job.running() {
                    if *action == MailAction::Restore {
                        shared.note =
                            Note::info("The restore is running; it cannot be interrupted here");
                    } else {
                        // Scrolling works while the listing comes in.
                        let _ = job.dialog.handle_key(key);
                    }
                } else {
                    match job.dialog.handle_key(key) {
                        DialogEvent::Chosen(OTHER_KEY) => {
                            let refusal = job.find_output(refused_key);
                            let action = *action;
                            if let Some(m) = &mut self.mail {
                                m.identity = None;
                                m.files.clear();
                                m.waiting = Some(action);
                                let name = self
                                    .sets
                                    .get(m.index)
                                    .map(|(_, s)| s.name.clone())
                                    .unwrap_or_default();
                                let p = KeyPrompt::new(
                                    shared.sys.as_ref(),
                                    &name,
                                    m.index,
                                    false,
                                    true,
                                    0,
                                    refusal,
                                )
                                .without_secrets();
                                self.popup = Some(Popup::Keys(p));
                            }
                        }
                        DialogEvent::Chosen(_) => self.popup = None,
                        DialogEvent::Nothing => {}
                    }
                }
                return Nav::Stay;
            }
            Some(Popup::Verifying { .. }) => {
                shared.note = Note::info("Verifying... please wait for the verdict");
                return Nav::Stay;
            }
            Some(Popup::Running {
                job,
                index,
                keep_identity,
                ..
            }) => {
                if job.running() {
                    shared.note =
                        Note::info("The restore is running; it cannot be interrupted here");
                } else {
                    match job.dialog.handle_key(key) {
                        DialogEvent::Chosen(OTHER_KEY) => {
                            let refusal = job.find_output(refused_key);
                            let needs_key =
                                refusal.as_deref().is_some_and(|l| l.contains("--identity"));
                            let (i, keep) = (*index, *keep_identity);
                            let p = self.prompt(shared, i, keep, needs_key, refusal);
                            self.popup = Some(Popup::Keys(p));
                        }
                        DialogEvent::Chosen(_) => self.popup = None,
                        DialogEvent::Nothing => {}
                    }
                }
                return Nav::Stay;
            }
            None => {}
        }
        if let Some(m) = &mut self.mail {
            if key.code == ratatui::crossterm::event::KeyCode::Esc {
                self.mail = None;
                return Nav::Stay;
            }
            match m.form.handle_key(key) {
                FormEvent::Pressed("cancel") => self.mail = None,
                FormEvent::Pressed("list") => self.mail_action(shared, MailAction::List),
                FormEvent::Pressed("restore") => self.mail_action(shared, MailAction::Restore),
                _ => {}
            }
            return Nav::Stay;
        }
        match self.picker.handle_key(key) {
            PickerEvent::Back | PickerEvent::Pressed("Back") => return Nav::Back,
            PickerEvent::Pressed("Refresh") => self.refresh(shared),
            PickerEvent::Pressed(WHOLE) => self.ask(shared),
            PickerEvent::Pressed(MAIL) => self.open_mail(shared),
            PickerEvent::Pressed(VERIFY) => self.verify(shared),
            PickerEvent::Chose(i) => {
                if let Some((_, s)) = self.sets.get(i) {
                    shared.note = Note::info(format!("Chosen: {}", s.name));
                }
            }
            _ => {}
        }
        Nav::Stay
    }

    fn tick(&mut self, shared: &mut Shared) -> Nav {
        if let Some(p) = &self.loading
            && let Some(r) = p.poll()
        {
            self.loading = None;
            self.sets.clear();
            self.problems.clear();
            match r {
                Ok(listing) => {
                    for (location, result) in listing {
                        match result {
                            Ok(sets) => self
                                .sets
                                .extend(sets.into_iter().map(|s| (location.clone(), s))),
                            Err(e) => self.problems.push(format!(
                                "{}: {e}",
                                match location {
                                    Location::Configured => "Backup location",
                                    Location::RestoreFolder => "Restore folder",
                                    Location::Local => "Local folder",
                                }
                            )),
                        }
                    }
                }
                Err(e) => self.problems.push(e),
            }
            // Newest first, whichever folder a set is in.
            self.sets.sort_by(|a, b| b.1.time.cmp(&a.1.time));
            self.picker.reset(self.sets.len());
        }
        if let Some(Popup::Running { job, keys, .. }) = &mut self.popup
            && let Some(ok) = job.tick(
                "Restore finished. Choose Exit/Logout and log in again; the restored network address takes effect when the interface restarts.",
                "The restore failed",
            )
        {
            log::warn!("console: whole-system restore ended, ok={ok}");
            // recover has read them: the private key files go now.
            keys.clear();
            if !ok && job.find_output(refused_key).is_some() {
                job.dialog.buttons = vec!["Close", OTHER_KEY];
            }
            // The configuration on disk is now the restored one.
            if let Ok((c, r)) = shared.sys.load_config() {
                shared.config = c;
                shared.revision = r;
            }
        }
        if let Some(Popup::MailJob { job, action }) = &mut self.popup {
            let (good, bad) = match action {
                MailAction::List => ("End of the listing.", "The set could not be listed"),
                MailAction::Restore => ("Restore finished.", "The restore failed"),
            };
            if let Some(ok) = job.tick(good, bad) {
                if *action == MailAction::Restore {
                    log::warn!("console: selective restore ended, ok={ok}");
                    // `-m system` restores the configuration file itself.
                    if let Ok((c, r)) = shared.sys.load_config() {
                        shared.config = c;
                        shared.revision = r;
                    }
                }
                if !ok && job.find_output(refused_key).is_some() {
                    job.dialog.buttons = vec!["Close", OTHER_KEY];
                }
            }
        }
        if let Some(Popup::Verifying {
            name,
            last,
            poll,
            polled,
            ..
        }) = &mut self.popup
        {
            if let Some(r) = poll.as_ref().and_then(|p| p.poll()) {
                *poll = None;
                if let Ok(Ok(s)) = r
                    && let Some(p) = s.verifying.into_iter().find(|p| &p.set == name)
                {
                    *last = Some(p);
                }
            }
            let due = polled.is_none_or(|t| t.elapsed() >= shared.sys.settings().poll_interval);
            if poll.is_none() && due {
                *polled = Some(Instant::now());
                *poll = Some(super::menu::fetch_status(shared, Duration::from_secs(3)));
            }
        }
        if let Some(Popup::Verifying { name, call, .. }) = &self.popup
            && let Some(r) = call.poll()
        {
            let lines = match r.and_then(|r| r) {
                Ok(v) => verdict_lines(&v),
                Err(e) => vec![ui::text_line(
                    &format!("{name} could not be verified: {e}"),
                    ui::error(),
                )],
            };
            self.popup = Some(Popup::Still(Dialog::info("Verify", lines)));
            // A failed check shows in the list from now on.
            self.refresh(shared);
        }
        Nav::Stay
    }

    fn keys(&self) -> String {
        match (&self.popup, &self.mail) {
            (Some(Popup::Keys(p)), _) => super::form_keys(p.form()),
            (None, Some(m)) => super::form_keys(&m.form),
            _ => self.picker.keys(),
        }
    }

    fn focus_error(&self) -> Option<String> {
        match (&self.popup, &self.mail) {
            (Some(Popup::Keys(p)), _) => super::focus_error(p.form()),
            (None, Some(m)) => super::focus_error(&m.form),
            _ => None,
        }
    }

    fn focus_hint(&self) -> Option<String> {
        match (&self.popup, &self.mail) {
            (Some(Popup::Keys(p)), _) => super::focus_hint(p.form()),
            (None, Some(m)) => super::focus_hint(&m.form),
            _ => None,
        }
    }

    fn busy(&self) -> bool {
        match &self.popup {
            Some(Popup::Running { job, .. }) | Some(Popup::MailJob { job, .. }) => job.running(),
            Some(Popup::Verifying { .. }) => true,
            _ => false,
        }
    }
}
