//! Network Configuration: DHCP or a static address, mask, gateway and DNS
//! servers, with the interface's current state above; Save applies it.

use super::{Nav, Notify, View, screen};
use crate::app::Shared;
use crate::dialog::Dialog;
use crate::form::{Field, Form, FormEvent};
use crate::livenet::LiveNetwork;
use crate::ui;
use appconfig::{AddressMode, Config, netmask_prefix};
use ipnet::Ipv4Net;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::net::Ipv4Addr;

const MODES: &[&str] = &["DHCP", "Static"];
const STATIC_FIELDS: [&str; 3] = ["address", "mask", "gateway"];

pub struct NetworkView {
    form: Form,
    live: LiveNetwork,
    dialog: Option<Dialog>,
}

impl NetworkView {
    pub fn new(shared: &mut Shared) -> NetworkView {
        let n = &shared.config.network;
        let (address, mask) = match n.address {
            Some(a) => (a.addr().to_string(), a.netmask().to_string()),
            None => (String::new(), String::new()),
        };
        let dns: Vec<String> = n.dns.iter().map(ToString::to_string).collect();
        let mut form = Form::new(vec![
            Field::choice(
                "mode",
                "Address mode",
                MODES,
                usize::from(n.mode == AddressMode::Static),
            ),
            Field::text("address", "IP address", address).with_hint("e.g. 192.168.1.10"),
            Field::text("mask", "Network mask", mask).with_hint("e.g. 255.255.255.0 or /24"),
            Field::text(
                "gateway",
                "Gateway",
                n.gateway.map(|g| g.to_string()).unwrap_or_default(),
            )
            .with_hint("The router's address; empty for none"),
            Field::text("dns", "DNS servers", dns.join(", "))
                .with_hint("Addresses separated by commas; empty: those DHCP gives"),
            Field::button("save", "Save"),
            Field::button("cancel", "Cancel"),
        ]);
        set_static_enabled(&mut form);
        NetworkView {
            form,
            live: shared.sys.live_network(&shared.config.network.interface),
            dialog: None,
        }
    }

    /// The configuration the fields describe, or `None` with the reasons
    /// put next to the fields.
    fn build(f: &mut Form, shared: &Shared) -> Option<Config> {
        f.clear_errors();
        let mut config = shared.config.clone();
        let is_static = f.selected("mode") == 1;
        config.network.mode = if is_static {
            AddressMode::Static
        } else {
            AddressMode::Dhcp
        };
        let address = parse_optional_ip(&f.text("address"));
        let mask = parse_mask(&f.text("mask"));
        let gateway = parse_optional_ip(&f.text("gateway"));
        if is_static {
            match (&address, &mask) {
                (Ok(Some(a)), Ok(Some(p))) => {
                    config.network.address = Ipv4Net::new(*a, *p).ok();
                }
                _ => {
                    match &address {
                        Err(e) => f.set_error("address", e.clone()),
                        Ok(None) => f.set_error("address", "a static address is required"),
                        Ok(Some(_)) => {}
                    }
                    match &mask {
                        Err(e) => f.set_error("mask", e.clone()),
                        Ok(None) => f.set_error("mask", "the network mask is required"),
                        Ok(Some(_)) => {}
                    }
                }
            }
            match gateway {
                Ok(g) => config.network.gateway = g,
                Err(e) => f.set_error("gateway", e),
            }
        }
        // Under DHCP the static fields are kept as they were saved.
        match parse_ip_list(&f.text("dns")) {
            Ok(list) => config.network.dns = list,
            Err(e) => f.set_error("dns", e),
        }
        if f.refused() {
            return None;
        }
        super::check_into_form(
            &config,
            shared,
            f,
            &[
                ("network.address", "address"),
                ("network.gateway", "gateway"),
                ("network.interface", "mode"),
                ("network.dns", "dns"),
            ],
            "mode",
        )
        .then_some(config)
    }

    fn save(&mut self, shared: &mut Shared) {
        let notify = [Notify::Network];
        let Some(saved) = screen::save_form(shared, &mut self.form, Self::build, &notify) else {
            return;
        };
        if saved.ok {
            self.live = shared.sys.live_network(&shared.config.network.interface);
        }
        self.dialog = Some(saved.dialog);
    }
}

fn set_static_enabled(form: &mut Form) {
    let is_static = form.selected("mode") == 1;
    for id in STATIC_FIELDS {
        form.set_disabled(id, !is_static);
    }
}

fn parse_optional_ip(s: &str) -> Result<Option<Ipv4Addr>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{s:?} is not an IPv4 address"))
}

/// A dotted mask (`255.255.255.0`) or a prefix length (`24`, `/24`).
fn parse_mask(s: &str) -> Result<Option<u8>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{s:?} is not a network mask");
    if let Some(bits) = s.strip_prefix('/').or((!s.contains('.')).then_some(s)) {
        return match bits.parse::<u8>() {
            Ok(p) if (1..=30).contains(&p) => Ok(Some(p)),
            _ => Err(bad()),
        };
    }
    let mask: Ipv4Addr = s.parse().map_err(|_| bad())?;
    match netmask_prefix(mask) {
        Some(p) if (1..=30).contains(&p) => Ok(Some(p)),
        _ => Err(bad()),
    }
}

fn parse_ip_list(s: &str) -> Result<Vec<Ipv4Addr>, String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| format!("{p:?} is not an IPv4 address"))
        })
        .collect()
}

impl View for NetworkView {
    fn title(&self) -> &'static str {
        "Network Configuration"
    }

    fn render(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        let l = &self.live;
        let addresses: Vec<String> = l.addresses.iter().map(ToString::to_string).collect();
        let dns: Vec<String> = l.dns.iter().map(ToString::to_string).collect();
        let none = || "none".to_string();
        let current = vec![
            Line::styled("Current state", ui::heading()),
            ui::text_line(
                &format!(
                    " Interface {}: {}  link {}  MAC {}",
                    l.interface,
                    if l.present { "present" } else { "not found" },
                    l.link.clone().unwrap_or_else(|| "unknown".into()),
                    l.mac.clone().unwrap_or_else(none)
                ),
                Style::default(),
            ),
            ui::text_line(
                &format!(
                    " Address {}  Gateway {}  DNS {}",
                    if addresses.is_empty() {
                        none()
                    } else {
                        addresses.join(", ")
                    },
                    l.gateway.map(|g| g.to_string()).unwrap_or_else(none),
                    if dns.is_empty() {
                        none()
                    } else {
                        dns.join(", ")
                    }
                ),
                Style::default(),
            ),
            Line::from(""),
            Line::styled("Settings", ui::heading()),
        ];
        let head = (current.len() as u16).min(area.height);
        frame.render_widget(
            Paragraph::new(current),
            Rect::new(area.x, area.y, area.width, head),
        );
        let form_area = Rect::new(area.x, area.y + head, area.width, area.height - head);
        ui::render_form(frame, form_area, &self.form, ui::Columns::default());
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
            FormEvent::Changed("mode") => set_static_enabled(&mut self.form),
            FormEvent::Left(id) => self.form.check_left(id, |f| Self::build(f, shared)),
            FormEvent::Pressed("save") => self.save(shared),
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
    fn masks() {
        assert_eq!(parse_mask("255.255.255.0"), Ok(Some(24)));
        assert_eq!(parse_mask("/16"), Ok(Some(16)));
        assert_eq!(parse_mask("8"), Ok(Some(8)));
        assert_eq!(parse_mask(""), Ok(None));
        assert!(parse_mask("255.0.255.0").is_err());
        assert!(parse_mask("/31").is_err());
        assert!(parse_mask("x").is_err());
    }
}
