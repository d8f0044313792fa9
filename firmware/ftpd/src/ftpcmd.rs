//! The pieces of the FTP protocol the session's front reads and writes
//! itself ([`crate::front`]): command lines of bounded length, replies
//! (single and multi-line), and the addresses of `PORT`, `EPRT`, `PASV`
//! and `EPSV`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest command line a client may send, CRLF included; a longer one
/// ends the session. vsftpd's limit (`VSFTP_MAX_COMMAND_LINE`) too: every
/// command here is a verb and at most one path in a two-folder tree (a
/// set's name is under 100 bytes), and even a path of Linux's `PATH_MAX`
/// (4096 with its NUL) fits beside the verb only just, so nothing real is
/// cut off, while a client that never sends a newline costs 4 KiB, not
/// whatever it chooses to send.
pub const MAX_LINE: usize = 4096;

/// Bytes read at a time by [`LineBuf`].
const CHUNK: usize = 4096;

/// What [`LineBuf::next`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    /// A whole line, with its line end.
    Line(Vec<u8>),
    /// The line grew past the limit without ending.
    TooLong,
    /// The other side closed its end.
    Eof,
}

/// Lines read from a stream, never more than `max` bytes of one held.
/// [`LineBuf::next`] is cancel-safe: what was read stays here for the
/// next call, so it can race other events in `tokio::select!`.
#[derive(Debug)]
pub struct LineBuf {
    buf: Vec<u8>,
    max: usize,
}

impl LineBuf {
    pub fn new(max: usize) -> LineBuf {
        LineBuf {
            buf: Vec::new(),
            max,
        }
    }

    /// Whether bytes beyond the last line handed out are waiting.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    fn take_line(&mut self) -> Option<Got> {
        match self.buf.iter().position(|b| *b == b'\n') {
            Some(end) if end < self.max => Some(Got::Line(self.buf.drain(..=end).collect())),
            Some(_) => Some(Got::TooLong),
            None if self.buf.len() >= self.max => Some(Got::TooLong),
            None => None,
        }
    }

    pub async fn next<R: AsyncRead + Unpin + ?Sized>(&mut self, io: &mut R) -> io::Result<Got> {
        let mut chunk = [0u8; CHUNK];
        loop {
            if let Some(got) = self.take_line() {
                return Ok(got);
            }
            let room = (self.max + 1 - self.buf.len()).min(CHUNK);
            let n = io.read(&mut chunk[..room]).await?;
            if n == 0 {
                return Ok(Got::Eof);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A command line split into its verb (upper case) and its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub verb: String,
    pub arg: Vec<u8>,
}

impl Command {
    /// Splits a line as a server reads it: Telnet IAC sequences before the
    /// verb (`ABOR` sent as urgent data) are dropped, the line end too.
    pub fn parse(line: &[u8]) -> Command {
        let mut s = line;
        while let [b'\n' | b'\r', rest @ ..] = s {
            s = rest;
        }
        while let [0xff, _, rest @ ..] = s {
            s = rest;
        }
        while let [rest @ .., b'\n' | b'\r'] = s {
            s = rest;
        }
        let (verb, arg) = match s.iter().position(|b| *b == b' ') {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, &[][..]),
        };
        Command {
            verb: String::from_utf8_lossy(verb).to_ascii_uppercase(),
            arg: arg.to_vec(),
        }
    }

    /// The argument as text, trimmed (for the verbs whose argument is ASCII).
    pub fn arg_text(&self) -> String {
        String::from_utf8_lossy(&self.arg).trim().to_string()
    }
}

/// One reply: its code and its raw lines (each with its line end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<Vec<u8>>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: &str) -> Reply {
        Reply {
            code,
            lines: vec![format!("{code} {text}\r\n").into_bytes()],
        }
    }

    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.lines.concat()
    }

    /// The text of a one-line reply, without code and line end.
    pub fn text(&self) -> String {
        let first = self.lines.first().map(Vec::as_slice).unwrap_or_default();
        String::from_utf8_lossy(first.get(4..).unwrap_or_default())
            .trim_end()
            .to_string()
    }

    /// Adds feature lines to a `FEAT` reply (before its last line) that
    /// it does not list yet.
    pub fn add_features(&mut self, features: &[&str]) {
        if self.lines.len() < 2 {
            return;
        }
        let have: Vec<String> = self
            .lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).trim().to_ascii_uppercase())
            .collect();
        let mut at = self.lines.len() - 1;
        for f in features {
            if !have.iter().any(|h| h == &f.to_ascii_uppercase()) {
                self.lines.insert(at, format!(" {f}\r\n").into_bytes());
                at += 1;
            }
        }
    }
}

/// Most bytes of one reply kept (a `STAT` of a folder is a listing).
const MAX_REPLY: usize = 1 << 20;

/// Replies read from a stream; cancel-safe like [`LineBuf`].
#[derive(Debug)]
pub struct ReplyBuf {
    lines: LineBuf,
    partial: Option<Reply>,
    size: usize,
}

impl Default for ReplyBuf {
    fn default() -> Self {
        ReplyBuf {
            lines: LineBuf::new(64 << 10),
            partial: None,
            size: 0,
        }
    }
}

fn code_of(line: &[u8]) -> Option<(u16, u8)> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((code, line.get(3).copied().unwrap_or(b' ')))
}

impl ReplyBuf {
    /// The next whole reply; `None` when the stream ended.
    pub async fn next<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        io: &mut R,
    ) -> io::Result<Option<Reply>> {
        loop {
            let line = match self.lines.next(io).await? {
                Got::Line(l) => l,
                Got::Eof => return Ok(None),
                Got::TooLong => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a reply line is too long",
                    ));
                }
            };
            self.size += line.len();
            if self.size > MAX_REPLY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a reply is too long",
                ));
            }
            match self.partial.take() {
                None => {
                    let Some((code, sep)) = code_of(&line) else {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "a reply without a code",
                        ));
                    };
                    let reply = Reply {
                        code,
                        lines: vec![line],
                    };
                    if sep == b'-' {
                        self.partial = Some(reply);
                    } else {
                        self.size = 0;
                        return Ok(Some(reply));
                    }
                }
                Some(mut reply) => {
                    let last = code_of(&line) == Some((reply.code, b' '))
                        || (line.len() <= 5
                            && code_of(&line).is_some_and(|(c, _)| c == reply.code));
                    reply.lines.push(line);
                    if last {
                        self.size = 0;
                        return Ok(Some(reply));
                    }
                    self.partial = Some(reply);
                }
            }
        }
    }
}

/// The same address whether it comes as IPv4 or as IPv4 mapped into IPv6.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// `PORT h1,h2,h3,h4,p1,p2`.
pub fn parse_port(arg: &str) -> Option<SocketAddr> {
    let n: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    let [a, b, c, d, hi, lo] = n.as_slice() else {
        return None;
    };
    let port = u16::from(*hi) << 8 | u16::from(*lo);
    Some(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(*a, *b, *c, *d),
        port,
    )))
}

/// `EPRT |1|132.235.1.2|6275|` or `EPRT |2|::1|6275|` (RFC 2428; the
/// delimiter is whatever printable character comes first).
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let arg = arg.trim();
    let delim = arg.chars().next().filter(|c| ('!'..='~').contains(c))?;
    let parts: Vec<&str> = arg.split(delim).collect();
    let ["", proto, addr, port, ""] = parts.as_slice() else {
        return None;
    };
    let port: u16 = port.parse().ok()?;
    let ip: IpAddr = match *proto {
        "1" => IpAddr::V4(addr.parse::<Ipv4Addr>().ok()?),
        "2" => IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The argument of `PORT` naming a local IPv4 address.
pub fn port_arg(addr: SocketAddrV4) -> String {
    let [a, b, c, d] = addr.ip().octets();
    let p = addr.port();
    format!("{a},{b},{c},{d},{},{}", p >> 8, p & 0xff)
}

/// The reply to `PASV`.
pub fn pasv_reply(ip: Ipv4Addr, port: u16) -> Reply {
    let [a, b, c, d] = ip.octets();
    Reply::new(
        227,
        &format!(
            "Entering Passive Mode ({a},{b},{c},{d},{},{}).",
            port >> 8,
            port & 0xff
        ),
    )
}

/// The reply to `EPSV`.
pub fn epsv_reply(port: u16) -> Reply {
    Reply::new(229, &format!("Entering Extended Passive Mode (|||{port}|)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded() {
        let mut input: &[u8] = b"USER sysarchive\r\nNOOP\nPA";
        let mut lb = LineBuf::new(32);
        assert_eq!(
            lb.next(&mut input).await.expect("read"),
            Got::Line(b"USER sysarchive\r\n".to_vec())
        );
        assert_eq!(
            lb.next(&mut input).await.expect("read"),
            Got::Line(b"NOOP\n".to_vec())
        );
        assert_eq!(lb.next(&mut input).await.expect("read"), Got::Eof);
        assert!(lb.has_pending());

        let long = vec![b'A'; 1 << 20];
        let mut input: &[u8] = &long;
        let mut lb = LineBuf::new(MAX_LINE);
        assert_eq!(lb.next(&mut input).await.expect("read"), Got::TooLong);
        assert!(
            input.len() >= long.len() - MAX_LINE - 1,
            "read only up to the limit"
        );
        // Exactly at the limit is a line; one more byte is not.
        let mut line = vec![b'A'; MAX_LINE - 2];
        line.extend_from_slice(b"\r\n");
        let mut input: &[u8] = &line;
        assert_eq!(
            LineBuf::new(MAX_LINE).next(&mut input).await.expect("read"),
            Got::Line(line.clone())
        );
        let mut longer = vec![b'A'; MAX_LINE - 1];
        longer.extend_from_slice(b"\r\n");
        let mut input: &[u8] = &longer;
        assert_eq!(
            LineBuf::new(MAX_LINE).next(&mut input).await.expect("read"),
            Got::TooLong
        );
    }

    #[test]
    fn commands_split() {
        assert_eq!(
            Command::parse(b"retr /backup/a b.tar\r\n"),
            Command {
                verb: "RETR".into(),
                arg: b"/backup/a b.tar".to_vec()
            }
        );
        assert_eq!(Command::parse(b"\xff\xf4\xff\xf2ABOR\r\n").verb, "ABOR");
        assert_eq!(Command::parse(b"PROT  P \n").arg_text(), "P");
        assert_eq!(Command::parse(b"FEAT").arg, b"");
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_port("127,0,0,1,195,80"),
            Some("127.0.0.1:50000".parse().expect("addr"))
        );
        assert_eq!(parse_port("127,0,0,1,195"), None);
        assert_eq!(parse_port("127,0,0,1,195,800"), None);
        assert_eq!(
            parse_eprt("|1|10.0.2.2|6275|"),
            Some("10.0.2.2:6275".parse().expect("addr"))
        );
        assert_eq!(
            parse_eprt("!2!::1!6275!"),
            Some("[::1]:6275".parse().expect("addr"))
        );
        assert_eq!(parse_eprt("|1|::1|6275|"), None);
        assert_eq!(parse_eprt("|3|10.0.2.2|6275|"), None);
        assert_eq!(parse_eprt("|1|10.0.2.2|70000|"), None);
        assert_eq!(
            port_arg("127.0.0.1:50000".parse().expect("addr")),
            "127,0,0,1,195,80"
        );
        assert_eq!(
            pasv_reply(Ipv4Addr::new(10, 0, 2, 15), 50001).bytes(),
            b"227 Entering Passive Mode (10,0,2,15,195,81).\r\n"
        );
        assert_eq!(
            canonical("::ffff:10.0.2.2".parse().expect("ip")),
            "10.0.2.2".parse::<IpAddr>().expect("ip")
        );
    }

    #[tokio::test]
    async fn replies_single_and_multi_line() {
        let mut input: &[u8] =
            b"220 ready\r\n211-Extensions supported:\r\n EPSV\r\n SIZE\r\n211 END\r\n331\r\n";
        let mut rb = ReplyBuf::default();
        let r = rb.next(&mut input).await.expect("read").expect("reply");
        assert_eq!((r.code, r.text()), (220, "ready".to_string()));
        let mut feat = rb.next(&mut input).await.expect("read").expect("reply");
        assert_eq!(feat.code, 211);
        assert_eq!(feat.lines.len(), 4);
        feat.add_features(&["AUTH TLS", "EPSV", "PROT"]);
        assert_eq!(
            String::from_utf8_lossy(&feat.bytes()),
            "211-Extensions supported:\r\n EPSV\r\n SIZE\r\n AUTH TLS\r\n PROT\r\n211 END\r\n"
        );
        let r = rb.next(&mut input).await.expect("read").expect("reply");
        assert_eq!(r.code, 331);
        assert_eq!(rb.next(&mut input).await.expect("read"), None);
    }
}
