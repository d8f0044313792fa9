use appconfig::{AddressMode, NetworkSettings};
use std::net::Ipv4Addr;
use std::process::Command;

/// Where udhcpc keeps its pid, so `down` can stop it.
pub const UDHCPC_PID: &str = "/run/udhcpc.pid";
const UDHCPC_SCRIPT: &str = "/usr/share/udhcpc/default.script";

/// The commands that bring the interface up as configured, in order.
/// BusyBox's `ip` and `udhcpc` do the work.
pub fn up_commands(net: &NetworkSettings, hostname: &str) -> Vec<Vec<String>> {
    let ifc = net.interface.clone();
    let mut cmds = vec![argv(&["ip", "link", "set", &ifc, "up"])];
    match net.mode {
        AddressMode::Static => {
            if let Some(addr) = net.address {
                cmds.push(argv(&["ip", "-4", "addr", "flush", "dev", &ifc]));
                cmds.push(argv(&[
                    "ip",
                    "-4",
                    "addr",
                    "add",
                    &addr.to_string(),
                    "dev",
                    &ifc,
                ]));
            }
            if let Some(gw) = net.gateway {
                cmds.push(argv(&[
                    "ip",
                    "-4",
                    "route",
                    "replace",
                    "default",
                    "via",
                    &gw.to_string(),
                    "dev",
                    &ifc,
                ]));
            }
        }
        AddressMode::Dhcp => {
            // -b: lease in the background if none comes at once, so boot goes on.
            cmds.push(argv(&[
                "udhcpc",
                "-i",
                &ifc,
                "-b",
                "-S",
                "-t",
                "5",
                "-T",
                "2",
                "-p",
                UDHCPC_PID,
                "-s",
                UDHCPC_SCRIPT,
                "-x",
                &format!("hostname:{hostname}"),
            ]));
        }
    }
    cmds
}

/// The commands that take the interface down.
pub fn down_commands(net: &NetworkSettings) -> Vec<Vec<String>> {
    vec![
        argv(&["ip", "-4", "addr", "flush", "dev", &net.interface]),
        argv(&["ip", "link", "set", &net.interface, "down"]),
    ]
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `/etc/resolv.conf` contents: the configured DNS servers win over the
/// ones a DHCP lease offers.
pub fn resolv_conf(configured: &[Ipv4Addr], dhcp: &[Ipv4Addr], domain: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(d) = domain.filter(|d| !d.is_empty()) {
        out.push_str(&format!("search {d}\n"));
    }
    let servers = if configured.is_empty() {
        dhcp
    } else {
        configured
    };
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    out
}

/// Runs commands in order; stops at the first failure and says which.
pub fn run(cmds: &[Vec<String>]) -> Result<(), String> {
    for cmd in cmds {
        let Some((prog, args)) = cmd.split_first() else {
            continue;
        };
        let out = Command::new(prog)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {prog}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`{}` failed: {}",
                cmd.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_plan() {
        let net = NetworkSettings {
            mode: AddressMode::Static,
            address: Some("192.168.1.10/24".parse().expect("net")),
            gateway: Some("192.168.1.1".parse().expect("ip")),
            ..Default::default()
        };
        let plan: Vec<String> = up_commands(&net, "mx")
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            plan,
            [
                "ip link set eth0 up",
                "ip -4 addr flush dev eth0",
                "ip -4 addr add 192.168.1.10/24 dev eth0",
                "ip -4 route replace default via 192.168.1.1 dev eth0",
            ]
        );
    }

    #[test]
    fn dhcp_plan_sends_hostname() {
        let plan = up_commands(&NetworkSettings::default(), "mx1");
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[1][0], "udhcpc");
        assert!(plan[1].contains(&"hostname:mx1".to_string()));
    }

    #[test]
    fn resolv_prefers_configured() {
        let c = ["10.0.0.53".parse().expect("ip")];
        let d = ["10.0.2.3".parse().expect("ip")];
        assert_eq!(
            resolv_conf(&c, &d, Some("corp")),
            "search corp\nnameserver 10.0.0.53\n"
        );
        assert_eq!(resolv_conf(&[], &d, None), "nameserver 10.0.2.3\n");
    }
}
