//! Remote syslog: RFC 5424 messages over UDP (RFC 5426) or TCP with
//! octet-counting framing (RFC 6587).

use crate::AlertError;
use appconfig::SyslogTransport;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

/// Facility `daemon`.
const FACILITY: u8 = 3;

/// RFC 5424 severities used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning = 4,
    Notice = 5,
    Info = 6,
}

/// One message's fields.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub severity: Severity,
    /// Unix time with fraction.
    pub time: jiff::Timestamp,
    pub hostname: &'a str,
    pub app: &'a str,
    pub pid: u32,
    /// `ALERT`, `OK`, `TEST`.
    pub msgid: &'a str,
    pub text: &'a str,
}

/// A header field: printable US-ASCII without spaces, at most `max`
/// characters, `-` when empty (RFC 5424, 6).
fn field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() { "-".into() } else { f }
}

/// The message as RFC 5424 text (without framing).
pub fn format(m: &Message) -> String {
    let pri = FACILITY * 8 + m.severity as u8;
    let time = m.time.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let text = crate::eval::one_line(m.text);
    // MSG is UTF-8 with a BOM (RFC 5424, 6.4) unless it is plain ASCII.
    let bom = if text.is_ascii() { "" } else { "\u{feff}" };
    format!(
        "<{pri}>1 {time} {} {} {} {} - {bom}{text}",
        field(m.hostname, 255),
        field(m.app, 48),
        m.pid,
        field(m.msgid, 32),
    )
}

/// Sends one message; `timeout` bounds the connection and the write.
pub fn send(
    to: SocketAddr,
    transport: SyslogTransport,
    m: &Message,
    timeout: Duration,
) -> Result<(), AlertError> {
    let text = format(m);
    let fail = |e: std::io::Error| AlertError::Syslog {
        to: format!("{to} ({transport})"),
        detail: e.to_string(),
    };
    match transport {
        SyslogTransport::Udp => {
            let sock = UdpSocket::bind(("0.0.0.0", 0)).map_err(fail)?;
            // A datagram may be cut at 2048 octets by a receiver (RFC 5426, 3.2).
            let bytes = text.as_bytes();
            let n = bytes.len().min(2048);
            sock.send_to(&bytes[..n], to).map_err(fail)?;
        }
        SyslogTransport::Tcp => {
            let mut s = TcpStream::connect_timeout(&to, timeout).map_err(fail)?;
            s.set_write_timeout(Some(timeout)).map_err(fail)?;
            let framed = format!("{} {text}", text.len());
            s.write_all(framed.as_bytes()).map_err(fail)?;
            s.flush().map_err(fail)?;
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn msg(text: &str) -> Message<'_> {
        Message {
            severity: Severity::Warning,
            time: jiff::Timestamp::from_millisecond(1_796_342_400_123).expect("time"),
            hostname: "mx1",
            app: "backupd",
            pid: 42,
            msgid: "ALERT",
            text,
        }
    }

    #[test]
    fn formats_as_rfc_5424() {
        assert_eq!(
            format(&msg("No verified backup for 27 h\n")),
            "<28>1 2026-12-04T00:00:00.123000Z mx1 backupd 42 ALERT - No verified backup for 27 h"
        );
        let mut m = msg("Sicherung fehlgeschlagen: Zugriff verweigert für Ü");
        m.severity = Severity::Notice;
        m.hostname = "";
        m.app = "back upd";
        let t = format(&m);
        assert!(
            t.starts_with("<29>1 2026-12-04T00:00:00.123000Z - backupd 42 ALERT - \u{feff}Sich"),
            "{t}"
        );
    }

    #[test]
    fn udp_and_tcp_deliver_one_message_each() {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
        udp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        send(
            udp.local_addr().expect("addr"),
            SyslogTransport::Udp,
            &msg("over udp"),
            Duration::from_secs(5),
        )
        .expect("udp send");
        let mut buf = [0u8; 4096];
        let n = udp.recv(&mut buf).expect("datagram");
        assert!(
            std::str::from_utf8(&buf[..n])
                .expect("utf8")
                .ends_with("ALERT - over udp")
        );

        let tcp = TcpListener::bind("127.0.0.1:0").expect("tcp");
        let to = tcp.local_addr().expect("addr");
        let reader = std::thread::spawn(move || {
            let (mut s, _) = tcp.accept().expect("accept");
            let mut all = String::new();
            s.read_to_string(&mut all).expect("read");
            all
        });
        send(
            to,
            SyslogTransport::Tcp,
            &msg("over tcp"),
            Duration::from_secs(5),
        )
        .expect("tcp");
        let all = reader.join().expect("reader");
        let (len, rest) = all.split_once(' ').expect("octet count");
        assert_eq!(len.parse::<usize>().expect("number"), rest.len(), "{all}");
        assert!(
            rest.starts_with("<28>1 ") && rest.ends_with("over tcp"),
            "{all}"
        );
    }

    #[test]
    fn a_dead_tcp_listener_is_reported_in_words() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let err = send(
            port,
            SyslogTransport::Tcp,
            &msg("x"),
            Duration::from_secs(2),
        )
        .expect_err("nobody listens");
        let text = err.to_string();
        assert!(
            text.contains(&port.to_string()) && text.contains("refused"),
            "{text}"
        );
    }
}
