use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// How the appliance's interface gets its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AddressMode {
    #[default]
    Dhcp,
    Static,
}

/// The network interface's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    pub interface: String,
    pub mode: AddressMode,
    /// Address with prefix length, e.g. `192.168.1.10/24` (static mode).
    pub address: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    /// DNS servers, used by the appliance's own resolver (no glibc NSS).
    pub dns: Vec<Ipv4Addr>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            interface: "eth0".into(),
            mode: AddressMode::Dhcp,
            address: None,
            gateway: None,
            dns: Vec::new(),
        }
    }
}

/// DNS servers the resolver asks, at most.
pub const MAX_DNS: usize = 3;

impl NetworkSettings {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.dns.len() > MAX_DNS {
            return Err(format!("network.dns: at most {MAX_DNS} DNS servers"));
        }
        if self.interface.is_empty() || self.interface.len() > 15 || self.interface.contains('/') {
            return Err(format!(
                "network.interface {:?} is not an interface name",
                self.interface
            ));
        }
        if self.mode == AddressMode::Static {
            let Some(addr) = self.address else {
                return Err("network.address is required for a static address".into());
            };
            if addr.prefix_len() == 0 || addr.prefix_len() > 30 {
                return Err(format!(
                    "network.address {addr}: prefix length must be 1 to 30"
                ));
            }
            if addr.addr() == addr.network() || addr.addr() == addr.broadcast() {
                return Err(format!(
                    "network.address {addr}: that is the network's own or broadcast address"
                ));
            }
            if let Some(gw) = self.gateway
                && !addr.contains(&gw)
            {
                return Err(format!("network.gateway {gw} is not inside {addr}"));
            }
        }
        Ok(())
    }
}

/// Turns a dotted netmask such as `255.255.255.0` into a prefix length.
pub fn netmask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_needs_address_and_gateway_inside() {
        let mut n = NetworkSettings {
            mode: AddressMode::Static,
            ..Default::default()
        };
        assert!(n.check().is_err());
        n.address = Some("10.0.2.15/24".parse().expect("net"));
        assert!(n.check().is_ok());
        n.gateway = Some("10.0.3.1".parse().expect("ip"));
        assert!(n.check().unwrap_err().contains("not inside"));
        n.address = Some("10.0.2.0/24".parse().expect("net"));
        n.gateway = None;
        assert!(n.check().unwrap_err().contains("network's own"));
    }

    #[test]
    fn netmasks() {
        assert_eq!(
            netmask_prefix("255.255.255.0".parse().expect("ip")),
            Some(24)
        );
        assert_eq!(netmask_prefix("255.0.255.0".parse().expect("ip")), None);
        assert_eq!(netmask_prefix("0.0.0.0".parse().expect("ip")), Some(0));
    }
}
