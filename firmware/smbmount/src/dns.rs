//! A small DNS client: an A query over UDP to the appliance's configured
//! servers, each with a time-out. glibc's resolver is not used (the
//! binaries are static, and NSS cannot be loaded there).

use crate::SmbError;
use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, Question, RCODE, TYPE};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Resolver {
    pub servers: Vec<Ipv4Addr>,
    /// 53, except in tests.
    pub port: u16,
    /// How long one server is waited for, per attempt.
    pub timeout: Duration,
    /// Rounds over all servers.
    pub attempts: u32,
}

impl Resolver {
    pub fn new(servers: &[Ipv4Addr]) -> Resolver {
        Resolver {
            servers: servers.to_vec(),
            port: 53,
            timeout: Duration::from_secs(2),
            attempts: 2,
        }
    }

    /// The IPv4 addresses of `name`, following CNAMEs in the answer.
    pub fn resolve(&self, name: &str) -> Result<Vec<Ipv4Addr>, SmbError> {
        // Names are case-insensitive; asking in lower case keeps the
        // answer check simple.
        let name = &name.trim_end_matches('.').to_ascii_lowercase();
        if self.servers.is_empty() {
            return Err(SmbError::NoDnsServer { name: name.into() });
        }
        let mut detail = String::from("no answer");
        for _ in 0..self.attempts.max(1) {
            for &server in &self.servers {
                match self.ask(SocketAddr::from((server, self.port)), name) {
                    Ok(Answer::Addresses(a)) => return Ok(a),
                    Ok(Answer::NoSuchName) => {
                        return Err(SmbError::NameDoesNotResolve { name: name.into() });
                    }
                    Ok(Answer::Failed(why)) | Err(why) => detail = format!("{server}: {why}"),
                }
            }
        }
        Err(SmbError::DnsUnreachable {
            name: name.into(),
            detail,
        })
    }

    fn ask(&self, server: SocketAddr, name: &str) -> Result<Answer, String> {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| e.to_string())?;
        // connect() makes the kernel drop datagrams from anyone else.
        sock.connect(server).map_err(|e| e.to_string())?;
        let id = query_id();
        let query = build_query(id, name).map_err(|e| format!("bad name: {e}"))?;
        sock.send(&query).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + self.timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("timed out".into());
            }
            sock.set_read_timeout(Some(left))
                .map_err(|e| e.to_string())?;
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err("timed out".into());
                }
                // ICMP port unreachable shows as ECONNREFUSED on a connected socket.
                Err(e) => return Err(e.to_string()),
            };
            // Anything that is not the answer to this question is ignored:
            // a late reply to an earlier query, or a forgery.
            if let Some(answer) = read_answer(&buf[..n], id, name) {
                return Ok(answer);
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Addresses(Vec<Ipv4Addr>),
    NoSuchName,
    Failed(String),
}

fn query_id() -> u16 {
    let mut b = [0u8; 2];
    // A guessable id makes spoofing easy; the time is only a fallback.
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = (t as u16 ^ std::process::id() as u16).to_le_bytes();
    }
    u16::from_le_bytes(b)
}

fn build_query(id: u16, name: &str) -> simple_dns::Result<Vec<u8>> {
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(
        Name::new(name)?,
        TYPE::A.into(),
        CLASS::IN.into(),
        false,
    ));
    p.build_bytes_vec()
}

/// Reads a reply; `None` when it is not the reply to query `id` for `name`.
fn read_answer(bytes: &[u8], id: u16, name: &str) -> Option<Answer> {
    let p = Packet::parse(bytes).ok()?;
    if p.id() != id || !p.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    let want = name.trim_end_matches('.').to_ascii_lowercase();
    let asked = p.questions.first()?.qname.to_string().to_ascii_lowercase();
    if asked.trim_end_matches('.') != want {
        return None;
    }
    match p.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Some(Answer::NoSuchName),
        other => return Some(Answer::Failed(format!("the server answered {other:?}"))),
    }
    // Follow the CNAME chain within the answer section.
    let mut names = vec![want];
    let mut addrs = Vec::new();
    loop {
        let before = names.len();
        for rr in &p.answers {
            let owner = rr.name.to_string().to_ascii_lowercase();
            if !names.contains(&owner.trim_end_matches('.').to_string()) {
                continue;
            }
            match &rr.rdata {
                RData::CNAME(c) => {
                    let target = c.0.to_string().to_ascii_lowercase();
                    let target = target.trim_end_matches('.').to_string();
                    if !names.contains(&target) {
                        names.push(target);
                    }
                }
                RData::A(a) => {
                    let ip = Ipv4Addr::from(a.address);
                    if !addrs.contains(&ip) {
                        addrs.push(ip);
                    }
                }
                _ => {}
            }
        }
        if names.len() == before {
            break;
        }
    }
    Some(if addrs.is_empty() {
        // The name exists but has no IPv4 address.
        Answer::NoSuchName
    } else {
        Answer::Addresses(addrs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::ResourceRecord;
    use simple_dns::rdata::{A, CNAME};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone, Copy)]
    enum Behaviour {
        Answer,
        NxDomain,
        Silent,
        ServFail,
        /// A reply with the wrong id first, then the real one.
        WrongIdFirst,
    }

    /// A tiny DNS server on loopback answering every query as told:
    /// `mail.example.com` is a CNAME for `fs1.example.com` = 10.1.2.3.
    fn responder(b: Behaviour) -> (u16, Arc<AtomicUsize>) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                seen.fetch_add(1, Ordering::SeqCst);
                let Ok(q) = Packet::parse(&buf[..n]) else {
                    continue;
                };
                let mut r = Packet::new_reply(q.id());
                r.questions = q.questions.clone();
                let qname = q.questions[0].qname.to_string();
                match b {
                    Behaviour::Silent => continue,
                    Behaviour::NxDomain => *r.rcode_mut() = RCODE::NameError,
                    Behaviour::ServFail => *r.rcode_mut() = RCODE::ServerFailure,
                    Behaviour::Answer | Behaviour::WrongIdFirst => {
                        let n = |s: &'static str| Name::new_unchecked(s);
                        if qname == "mail.example.com" {
                            r.answers.push(ResourceRecord::new(
                                n("mail.example.com"),
                                CLASS::IN,
                                60,
                                RData::CNAME(CNAME(n("fs1.example.com"))),
                            ));
                        }
                        if qname == "mail.example.com" || qname == "fs1.example.com" {
                            r.answers.push(ResourceRecord::new(
                                n("fs1.example.com"),
                                CLASS::IN,
                                60,
                                RData::A(A {
                                    address: u32::from(Ipv4Addr::new(10, 1, 2, 3)),
                                }),
                            ));
                        }
                        if qname == "noaddr.example.com" {
                            // exists, no A record: empty answer
                        }
                    }
                }
                if matches!(b, Behaviour::WrongIdFirst) {
                    let mut fake = r.clone();
                    fake.set_id(q.id().wrapping_add(1));
                    let _ = sock.send_to(&fake.build_bytes_vec().expect("build"), from);
                }
                let _ = sock.send_to(&r.build_bytes_vec().expect("build"), from);
            }
        });
        (port, count)
    }

    fn resolver(port: u16) -> Resolver {
        Resolver {
            servers: vec![Ipv4Addr::LOCALHOST],
            port,
            timeout: Duration::from_millis(300),
            attempts: 2,
        }
    }

    #[test]
    fn answers_and_cnames() {
        let (port, _) = responder(Behaviour::Answer);
        let r = resolver(port);
        assert_eq!(
            r.resolve("fs1.example.com"),
            Ok(vec![Ipv4Addr::new(10, 1, 2, 3)])
        );
        assert_eq!(
            r.resolve("MAIL.example.com"),
            Ok(vec![Ipv4Addr::new(10, 1, 2, 3)])
        );
        assert_eq!(
            r.resolve("noaddr.example.com"),
            Err(SmbError::NameDoesNotResolve {
                name: "noaddr.example.com".into()
            })
        );
    }

    #[test]
    fn nxdomain_is_final() {
        let (port, count) = responder(Behaviour::NxDomain);
        let err = resolver(port).resolve("nope.example.com").expect_err("nx");
        assert!(matches!(err, SmbError::NameDoesNotResolve { .. }));
        assert_eq!(count.load(Ordering::SeqCst), 1, "no retry after NXDOMAIN");
        assert!(err.to_string().contains("does not resolve"));
    }

    #[test]
    fn silent_and_failing_servers_are_skipped() {
        let (silent, _) = responder(Behaviour::Silent);
        let (fail, _) = responder(Behaviour::ServFail);
        let (good, _) = responder(Behaviour::Answer);
        // Different ports on one address stand for different servers: the
        // servers list takes addresses, so query each port in turn.
        for port in [silent, fail] {
            let err = resolver(port)
                .resolve("fs1.example.com")
                .expect_err("fails");
            assert!(matches!(err, SmbError::DnsUnreachable { .. }), "{err:?}");
        }
        assert!(resolver(good).resolve("fs1.example.com").is_ok());
    }

    #[test]
    fn replies_with_another_id_are_ignored() {
        let (port, _) = responder(Behaviour::WrongIdFirst);
        assert_eq!(
            resolver(port).resolve("fs1.example.com"),
            Ok(vec![Ipv4Addr::new(10, 1, 2, 3)])
        );
    }

    #[test]
    fn no_server_configured() {
        let err = Resolver::new(&[])
            .resolve("fs1.example.com")
            .expect_err("none");
        assert!(
            err.to_string().contains("no DNS server is configured"),
            "{err}"
        );
    }

    #[test]
    fn nothing_listening() {
        // A closed loopback port answers with ICMP: fails at once, not hangs.
        let port = UdpSocket::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let err = resolver(port)
            .resolve("fs1.example.com")
            .expect_err("closed");
        assert!(matches!(err, SmbError::DnsUnreachable { .. }), "{err:?}");
    }
}
