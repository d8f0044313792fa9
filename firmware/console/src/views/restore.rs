//! Restore From Backup: the sets in the configured location and in the FTP
//! `restore` folder; choose one, confirm, and hand its location and name to
//! the restore tool (`recover --system --location configured|restore
//! <set>`), which opens the location itself and checks the set's MD5 on the
//! very bytes it restores: no second check here, and no path built here.
//! An encrypted set (`.tar.age`), or a unit that seals its passwords to a
//! secrets key, first asks for the age identities (`keyprompt`); they reach
//! recover as private files that go when it ends.

use super::keyprompt::{KeyPrompt, PromptEvent};
use super::{Nav, View};
use crate::app::{Note, Shared};
use crate::dialog::{Dialog, DialogEvent};
use crate::format;
use crate::identity::IdentityFile;
use crate::jobview::JobView;
use crate::pending::Pending;
use crate::picker::{Picker, PickerEvent};
use crate::settings::RestoreKeys;
use crate::ui;
use control::backupd::{Location, Reply, Request, SetInfo};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::time::Duration;

/// Listing a share mounts it first.
const LIST_TIMEOUT: Duration = Duration::from_secs(120);

/// The confirmation's buttons: a replacement unit takes over the identity of
/// the unit that made the set; a second unit keeps its own.
const RESTORE: &str = "Restore";
const KEEP_UNIT: &str = "Restore, keep this unit";
/// After recover refused the keys given (or asked for one).
const OTHER_KEY: &str = "Give the key again";

/// recover's words when a set or its secrets need an identity it lacks.
fn refused_key(line: &str) -> bool {
    line.contains("--identity") || line.contains("cannot be decrypted with")
}

/// Whether a set's name says it is encrypted whole.
fn encrypted(name: &str) -> bool {
    name.ends_with(".tar.age")
}

type Listing = Vec<(Location, Result<Vec<SetInfo>, String>)>;

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
}

pub struct RestoreView {
    sets: Vec<(Location, SetInfo)>,
    problems: Vec<String>,
    loading: Option<Pending<Listing>>,
    picker: Picker,
    popup: Option<Popup>,
}

fn where_name(l: &Location) -> &'static str {
    match l {
        Location::Configured => "location",
        Location::RestoreFolder => "restore",
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
            picker: Picker::new(vec!["Restore selected", "Refresh", "Back"]),
            popup: None,
        };
        v.refresh(shared);
        v
    }

    fn refresh(&mut self, shared: &Shared) {
        let sys = shared.sys.clone();
        self.loading = Some(Pending::spawn(move || {
            [Location::Configured, Location::RestoreFolder]
                .into_iter()
                .map(|location| {
                    let request = Request::ListSets {
                        location: location.clone(),
                    };
                    let result = match sys.backupd(&request, LIST_TIMEOUT) {
                        Ok(Reply::Sets { sets }) => Ok(sets),
                        Ok(Reply::Error { message }) => Err(message),
                        Ok(other) => Err(format!("unexpected answer from backupd: {other:?}")),
                        Err(e) => Err(e.to_string()),
                    };
                    (location, result)
                })
                .collect()
        }));
    }

    fn ask(&mut self, shared: &mut Shared) {
        let Some(i) = self.picker.chosen else {
            shared.note = Note::bad("Choose a set with Space first");
            return;
        };
        let Some((location, set)) = self.sets.get(i) else {
            return;
        };
        if !set.complete {
            shared.note = Note::bad(format!(
                "{} is incomplete (a volume or its .md5 file is missing)",
                set.name
            ));
            return;
        }
        if set.verified == Some(false) {
            shared.note = Note::bad(format!(
                "{} failed its check: {}",
                set.name,
                set.problem
                    .as_deref()
                    .unwrap_or("it does not match its .md5 file")
            ));
            return;
        }
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
}

impl View for RestoreView {
    fn title(&self) -> &'static str {
        "Restore From Backup"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let mut lines = vec![
            ui::text_line(
                &format!(
                    "Sets at the backup location ({}) and in the FTP restore folder:",
                    super::backup::location_name(shared.config.backup.destination)
                        .split(' ')
                        .next()
                        .unwrap_or(""),
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
        match &self.popup {
            None => {}
            Some(Popup::Still(d)) | Some(Popup::Confirm(d, _)) => d.render(frame, area),
            Some(Popup::Keys(p)) => p.render(frame, area),
            Some(Popup::Running { job, .. }) => job.render(frame, area),
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        match &mut self.popup {
            Some(Popup::Still(d)) => {
                if let DialogEvent::Chosen(_) = d.handle_key(key) {
                    self.popup = None;
                }
                return Nav::Stay;
            }
            Some(Popup::Confirm(d, i)) => {
                let i = *i;
                match d.handle_key(key) {
                    DialogEvent::Chosen(RESTORE) => self.begin(shared, i, false),
                    DialogEvent::Chosen(KEEP_UNIT) => self.begin(shared, i, true),
                    DialogEvent::Chosen(_) => self.popup = None,
                    DialogEvent::Nothing => {}
                }
                return Nav::Stay;
            }
            Some(Popup::Keys(p)) => {
                match p.handle_key(key, shared.sys.as_ref()) {
                    PromptEvent::Nothing => {}
                    PromptEvent::Cancel => {
                        self.popup = None;
                        shared.note = Note::info("Restore cancelled: nothing was changed");
                    }
                    PromptEvent::Go(keys, files) => {
                        let (i, keep) = (p.index, p.keep_identity);
                        self.restore(shared, i, keep, keys, files);
                    }
                }
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
        match self.picker.handle_key(key) {
            PickerEvent::Back | PickerEvent::Pressed("Back") => return Nav::Back,
            PickerEvent::Pressed("Refresh") => self.refresh(shared),
            PickerEvent::Pressed("Restore selected") => self.ask(shared),
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
        Nav::Stay
    }

    fn keys(&self) -> String {
        match &self.popup {
            Some(Popup::Keys(p)) => super::form_keys(p.form()),
            _ => self.picker.keys(),
        }
    }

    fn focus_error(&self) -> Option<String> {
        match &self.popup {
            Some(Popup::Keys(p)) => super::focus_error(p.form()),
            _ => None,
        }
    }

    fn focus_hint(&self) -> Option<String> {
        match &self.popup {
            Some(Popup::Keys(p)) => super::focus_hint(p.form()),
            _ => None,
        }
    }

    fn busy(&self) -> bool {
        matches!(&self.popup, Some(Popup::Running { job, .. }) if job.running())
    }
}
