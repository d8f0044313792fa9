//! The interface's state as the running system has it (not as configured):
//! addresses from `getifaddrs(3)` (netlink, no NSS), link and MAC from
//! `/sys/class/net`, the default route from `/proc/net/route`, DNS servers
//! from `resolv.conf`.

use ipnet::Ipv4Net;
use std::net::Ipv4Addr;
use std::path::Path;

/// What the Network Configuration screen shows as the current state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveNetwork {
    pub interface: String,
    /// The interface exists on this system.
    pub present: bool,
    /// `up`, `down`, `unknown`... from the kernel.
    pub link: Option<String>,
    pub mac: Option<String>,
    pub addresses: Vec<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
}

/// Reads the state of `interface`; anything unreadable is left empty.
pub fn read(interface: &str, resolv_conf: &Path) -> LiveNetwork {
    let sys = Path::new("/sys/class/net").join(interface);
    let read_sys = |name: &str| {
        std::fs::read_to_string(sys.join(name))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    LiveNetwork {
        interface: interface.to_string(),
        present: sys.exists(),
        link: read_sys("operstate"),
        mac: read_sys("address"),
        addresses: addresses(interface),
        gateway: std::fs::read_to_string("/proc/net/route")
            .ok()
            .and_then(|t| default_gateway(&t, interface)),
        dns: std::fs::read_to_string(resolv_conf)
            .map(|t| nameservers(&t))
            .unwrap_or_default(),
    }
}

fn addresses(interface: &str) -> Vec<Ipv4Net> {
    let Ok(all) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    all.filter(|a| a.interface_name == interface)
        .filter_map(|a| {
            let ip = a.address?.as_sockaddr_in()?.ip();
            let mask = a.netmask?.as_sockaddr_in()?.ip();
            let prefix = appconfig::netmask_prefix(mask)?;
            Ipv4Net::new(ip, prefix).ok()
        })
        .collect()
}

/// The default route's gateway through `interface`, from `/proc/net/route`
/// (addresses there are the raw 32-bit value printed in hexadecimal, so the
/// bytes in memory order are the address).
pub fn default_gateway(route_table: &str, interface: &str) -> Option<Ipv4Addr> {
    route_table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 || cols[0] != interface || cols[1] != "00000000" {
            return None;
        }
        let raw = u32::from_str_radix(cols[2], 16).ok()?;
        Some(Ipv4Addr::from(raw.to_ne_bytes()))
    })
}

/// The `nameserver` lines of a `resolv.conf`.
pub fn nameservers(resolv: &str) -> Vec<Ipv4Addr> {
    resolv
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next()?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_from_route_table() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(
            default_gateway(table, "eth0"),
            Some(Ipv4Addr::new(10, 0, 2, 2))
        );
        assert_eq!(default_gateway(table, "eth1"), None);
    }

    #[test]
    fn dns_servers() {
        let r = "# by appctl\nsearch example.com\nnameserver 10.0.2.3\nnameserver fe80::1\nnameserver 1.1.1.1\n";
        assert_eq!(
            nameservers(r),
            [Ipv4Addr::new(10, 0, 2, 3), Ipv4Addr::new(1, 1, 1, 1)]
        );
    }

    #[test]
    fn loopback_is_read_from_the_system() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = read("lo", &dir.path().join("missing"));
        assert!(live.present);
        assert!(
            live.addresses
                .contains(&"127.0.0.1/8".parse().expect("net")),
            "{live:?}"
        );
        assert!(live.dns.is_empty());
    }
}
