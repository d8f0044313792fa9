//! Firmware Update: `.raucb` bundles on a USB drive or in the FTP `restore`
//! folder; choose one, confirm, and `rauc install` it with its output shown.

use super::screen::{self, Answer, PopupDialog};
use super::{Nav, View};
use crate::app::{Note, Shared};
use crate::bundles::Bundle;
use crate::dialog::Dialog;
use crate::format;
use crate::jobview::JobView;
use crate::picker::{Picker, PickerEvent};
use crate::ui;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

enum Popup {
    Still(Dialog),
    Confirm(Dialog, usize),
    Running(JobView),
}

impl PopupDialog for Popup {
    fn buttons_dialog(&mut self) -> Option<&mut Dialog> {
        match self {
            Popup::Still(d) | Popup::Confirm(d, _) => Some(d),
            // Its buttons come once the installation has ended.
            Popup::Running(j) => (!j.running()).then_some(&mut j.dialog),
        }
    }
}

pub struct FirmwareView {
    bundles: Vec<Bundle>,
    picker: Picker,
    popup: Option<Popup>,
}

impl FirmwareView {
    pub fn new(shared: &mut Shared) -> FirmwareView {
        let mut v = FirmwareView {
            bundles: Vec::new(),
            picker: Picker::new(vec!["Install", "Refresh", "Back"]),
            popup: None,
        };
        v.refresh(shared);
        v
    }

    fn refresh(&mut self, shared: &Shared) {
        self.bundles = shared.sys.bundles();
        self.picker.reset(self.bundles.len());
    }

    fn ask(&mut self, shared: &mut Shared) {
        let Some(i) = self.picker.chosen else {
            shared.note = Note::bad("Choose a bundle with Space first");
            return;
        };
        let Some(b) = self.bundles.get(i) else {
            return;
        };
        let lines = vec![
            ui::text_line(
                &format!(
                    "Install {} ({}) from {}?",
                    b.name(),
                    format::bytes(b.size),
                    b.folder()
                ),
                Style::default(),
            ),
            Line::from(""),
            Line::from("The bundle's signature is checked, then it is written to the other"),
            Line::from("system slot. The running system and /data are not touched; the new"),
            Line::from("firmware starts at the next reboot and falls back if it fails to boot."),
        ];
        self.popup = Some(Popup::Confirm(
            Dialog::confirm("Firmware Update", lines, "Install"),
            i,
        ));
    }

    fn install(&mut self, shared: &Shared, i: usize) {
        let Some(b) = self.bundles.get(i) else {
            return;
        };
        let path = b.path.display().to_string();
        let argv = shared.sys.settings().rauc_install(&path);
        log::warn!("console: firmware update from {path} started by the operator");
        let first = vec![ui::text_line(&format!("$ {}", argv.join(" ")), ui::dim())];
        self.popup = Some(match shared.sys.start(&argv) {
            Ok(job) => Popup::Running(JobView::new("Installing firmware", job, first)),
            Err(e) => Popup::Still(Dialog::info(
                "Firmware Update",
                vec![ui::text_line(
                    &format!("The update did not start: {}", e.summary()),
                    ui::error(),
                )],
            )),
        });
    }
}

impl View for FirmwareView {
    fn title(&self) -> &'static str {
        "Firmware Update"
    }

    fn render(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let restore = shared.sys.settings().restore_dir.display().to_string();
        let mut lines = vec![
            ui::text_line(
                &format!("Update bundles (.raucb) found on the USB drive and in {restore}."),
                Style::default(),
            ),
            Line::styled(
                format!("    {:<40}{:>10}  {}", "Bundle", "Size", "Folder"),
                ui::heading(),
            ),
        ];
        let rows = (area.height as usize).saturating_sub(lines.len() + 2);
        let first = self.picker.first_visible(rows);
        for (i, b) in self.bundles.iter().enumerate().skip(first).take(rows) {
            let text = format!(
                "{:<40}{:>10}  {}",
                b.name(),
                format::bytes(b.size),
                b.folder()
            );
            lines.push(self.picker.row(i, &text, Style::default(), true));
        }
        if self.bundles.is_empty() {
            lines.push(Line::from(""));
            lines.push(Line::from(
                "No bundles found. Plug in a USB drive holding the .raucb file, or upload it \
                 to the FTP restore folder, then choose Refresh.",
            ));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
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
            Some(Popup::Running(j)) => j.render(frame, area),
        }
    }

    fn handle_key(&mut self, key: KeyEvent, shared: &mut Shared) -> Nav {
        match screen::dialog_key(&mut self.popup, key) {
            Answer::NotOpen => {}
            Answer::Closed("Install", Popup::Confirm(_, i)) => {
                self.install(shared, i);
                return Nav::Stay;
            }
            Answer::Closed("Reboot", Popup::Running(_)) => {
                let argv = shared.sys.settings().reboot.clone();
                let outcome = shared.sys.run(&argv);
                shared.note = if outcome.is_ok() {
                    Note::good("Rebooting...")
                } else {
                    Note::bad(format!("Reboot: {}", outcome.summary()))
                };
                return Nav::Stay;
            }
            Answer::Open | Answer::Closed(..) => return Nav::Stay,
        }
        if let Some(Popup::Running(_)) = self.popup {
            shared.note = Note::info("Installing; wait for it to finish");
            return Nav::Stay;
        }
        match self.picker.handle_key(key) {
            PickerEvent::Back | PickerEvent::Pressed("Back") => return Nav::Back,
            PickerEvent::Pressed("Refresh") => self.refresh(shared),
            PickerEvent::Pressed("Install") => self.ask(shared),
            PickerEvent::Chose(i) => {
                if let Some(b) = self.bundles.get(i) {
                    shared.note = Note::info(format!("Chosen: {}", b.name()));
                }
            }
            _ => {}
        }
        Nav::Stay
    }

    fn tick(&mut self, _shared: &mut Shared) -> Nav {
        if let Some(Popup::Running(j)) = &mut self.popup
            && let Some(ok) = j.tick(
                "Installed. Reboot to start the new firmware.",
                "The update failed; the running firmware is unchanged",
            )
        {
            log::warn!("console: firmware update ended, ok={ok}");
            if ok {
                j.dialog.buttons = vec!["Close", "Reboot"];
            }
        }
        Nav::Stay
    }

    fn keys(&self) -> String {
        self.picker.keys()
    }

    fn busy(&self) -> bool {
        matches!(&self.popup, Some(Popup::Running(j)) if j.running())
    }
}
