//! The session's front: it holds the client's connections and passes the
//! session on to libunftp, which serves it behind the front on loopback in
//! clear (FTP semantics, the account, the storage back-end). The front
//! keeps for itself what libunftp 0.24 gets wrong or lacks:
//!
//! - TLS, on the control connection (`AUTH TLS`, `PBSZ`, `PROT`, `CCC`) and
//!   on every data connection ([`crate::relay`]): a failed handshake ends a
//!   transfer, not the session, and protected data ends with
//!   `close_notify`.
//! - FTPS required (`ftp.allow_plain` off): no `USER` before `AUTH TLS`,
//!   only `PROT P`, and no data connection of any kind (`PASV`, `EPSV`,
//!   `PORT`, `EPRT`) nor data command without it: `521`, before anything
//!   connects.
//! - Data connections: passive ports are the front's (connections from
//!   another address than the client's are refused); `PORT` and `EPRT`
//!   only to the client's own address and ports from 1024 up, connected
//!   when the data command comes (no bouncing, no scanning); libunftp only
//!   ever sees a `PORT` to the front's loopback listener.
//! - Command lines of [`MAX_LINE`] bytes at most; one command at a time.
//! - Uploads refused up front when the partition is at its free-space
//!   floor ([`crate::space`]), with the floor in the `452` reply.

use crate::auth::{Closing, MAX_FAILURES};
use crate::ftpcmd::{self, Command, Got, LineBuf, MAX_LINE, Reply, ReplyBuf, canonical};
use crate::relay::{self, Direction};
use crate::space;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::server::TlsStream;

/// How long libunftp may take to answer an ordinary command.
const ANSWER: Duration = Duration::from_secs(60);
/// How long libunftp may take to answer `PASS` (guessers wait their turn
/// at the supervisor).
const LOGIN_ANSWER: Duration = Duration::from_secs(600);
/// How long a passive data connection is waited for.
const ACCEPT: Duration = Duration::from_secs(30);
/// How long an active data connection may take to connect.
const CONNECT: Duration = Duration::from_secs(10);
/// How long the client gets for the TLS handshake of the control connection.
const HANDSHAKE: Duration = Duration::from_secs(30);
/// Refusals logged per session (the rest are counted).
const LOGGED_REFUSALS: u32 = 10;

pub const REQUIRE_PROT_P: &str = "Data connections must be protected (PROT P)";

/// What the front knows of the session.
pub struct FrontConfig {
    /// The client's address.
    pub peer: IpAddr,
    /// The control connection's local address (passive ports listen there).
    pub local: SocketAddr,
    /// TLS, when a certificate is usable: the control connection's and
    /// the data connections' ([`crate::cert::data_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub data_tls: Option<Arc<rustls::ServerConfig>>,
    /// FTPS required (`ftp.allow_plain` off).
    pub require_tls: bool,
    pub passive_ports: (u16, u16),
    pub passive_address: Option<Ipv4Addr>,
    pub restore_dir: PathBuf,
    pub idle: Duration,
    pub stall: Duration,
    /// Set when the control connection becomes TLS (for the log).
    pub secure: Arc<AtomicBool>,
    /// Set by the account when a login ends the session.
    pub closing: Closing,
}

/// The client's control connection: clear, then TLS after `AUTH TLS`.
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Closed,
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s).poll_read(cx, buf),
            Io::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s).poll_write(cx, buf),
            Io::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s).poll_flush(cx),
            Io::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s).poll_shutdown(cx),
            Io::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// Where the next transfer's data connection comes from.
enum DataPlan {
    Passive(TcpListener),
    Active(SocketAddr),
}

/// Why the session ended, for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Quit,
    ClientLeft,
    Idle,
    LineTooLong,
    TooManyFailures,
    Blocked,
    Handshake(String),
    /// libunftp stopped answering or closed (its reply was passed on).
    Backend(String),
    Io(String),
}

enum Flow {
    Go,
    End(Ended),
}

type Step = Result<Flow, Ended>;

fn io_end(e: io::Error) -> Ended {
    Ended::Io(e.to_string())
}

struct Front {
    cfg: FrontConfig,
    client: Io,
    lines: LineBuf,
    inner: TcpStream,
    replies: ReplyBuf,
    secure: bool,
    protected: bool,
    logged_in: bool,
    epsv_all: bool,
    failures: u32,
    data: Option<DataPlan>,
    refusals: u32,
    /// A command the client sent during a transfer, handled next.
    held: Option<Vec<u8>>,
}

/// Serves the session until it ends: `client` is the client's control
/// connection, `inner` the front's control connection to libunftp.
pub async fn run(cfg: FrontConfig, client: TcpStream, inner: TcpStream) -> Ended {
    let mut f = Front {
        cfg,
        client: Io::Plain(client),
        lines: LineBuf::new(MAX_LINE),
        inner,
        replies: ReplyBuf::default(),
        secure: false,
        protected: false,
        logged_in: false,
        epsv_all: false,
        failures: 0,
        data: None,
        refusals: 0,
        held: None,
    };
    let ended = f.serve().await;
    // TLS's closing message for a client still there, then the end.
    let _ = tokio::time::timeout(Duration::from_secs(2), f.client.shutdown()).await;
    ended
}

impl Front {
    fn who(&self) -> String {
        self.cfg.peer.to_string()
    }

    async fn serve(&mut self) -> Ended {
        // libunftp's greeting.
        match self.answer(ANSWER).await {
            Ok(greeting) => {
                if let Err(e) = self.say(&greeting).await {
                    return e;
                }
            }
            Err(e) => return e,
        }
        loop {
            if let Some(line) = self.held.take() {
                match self.command(line).await {
                    Ok(Flow::Go) => continue,
                    Ok(Flow::End(e)) | Err(e) => return e,
                }
            }
            let got = tokio::select! {
                got = self.lines.next(&mut self.client) => got,
                r = self.replies.next(&mut self.inner) => {
                    // libunftp speaking unasked: it is closing.
                    return match r {
                        Ok(Some(reply)) => {
                            let _ = self.say(&reply).await;
                            Ended::Backend(reply.text())
                        }
                        Ok(None) => Ended::Backend("closed".into()),
                        Err(e) => Ended::Backend(e.to_string()),
                    };
                }
                _ = tokio::time::sleep(self.cfg.idle) => {
                    let _ = self.reply(421, &format!(
                        "No command for {} s: closing the session.", self.cfg.idle.as_secs()
                    )).await;
                    return Ended::Idle;
                }
            };
            let line = match got {
                Ok(Got::Line(l)) => l,
                Ok(Got::Eof) => return Ended::ClientLeft,
                Ok(Got::TooLong) => return self.too_long().await,
                Err(e) => return io_end(e),
            };
            match self.command(line).await {
                Ok(Flow::Go) => {}
                Ok(Flow::End(e)) | Err(e) => return e,
            }
        }
    }

    async fn too_long(&mut self) -> Ended {
        log::warn!(
            "{}: a command line longer than {MAX_LINE} bytes; closing the session",
            self.who()
        );
        let _ = self
            .reply(
                500,
                &format!(
                    "Command line too long (more than {MAX_LINE} bytes): closing the session."
                ),
            )
            .await;
        Ended::LineTooLong
    }

    /// Sends a reply to the client.
    async fn say(&mut self, reply: &Reply) -> Result<(), Ended> {
        let bytes = reply.bytes();
        let write = async {
            self.client.write_all(&bytes).await?;
            self.client.flush().await
        };
        match tokio::time::timeout(self.cfg.stall, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_end(e)),
            Err(_) => Err(Ended::Io("the client does not read its replies".into())),
        }
    }

    async fn reply(&mut self, code: u16, text: &str) -> Step {
        self.say(&Reply::new(code, text)).await?;
        Ok(Flow::Go)
    }

    /// libunftp's next reply.
    async fn answer(&mut self, within: Duration) -> Result<Reply, Ended> {
        match tokio::time::timeout(within, self.replies.next(&mut self.inner)).await {
            Ok(Ok(Some(r))) => Ok(r),
            Ok(Ok(None)) => Err(Ended::Backend("closed".into())),
            Ok(Err(e)) => Err(Ended::Backend(e.to_string())),
            Err(_) => {
                let _ = self
                    .say(&Reply::new(421, "Internal time-out: closing the session."))
                    .await;
                Err(Ended::Backend("no answer".into()))
            }
        }
    }

    /// Passes a line to libunftp and returns its reply.
    async fn ask(&mut self, line: &[u8], within: Duration) -> Result<Reply, Ended> {
        let mut l = line.to_vec();
        if !l.ends_with(b"\n") {
            l.extend_from_slice(b"\r\n");
        }
        self.inner
            .write_all(&l)
            .await
            .map_err(|e| Ended::Backend(e.to_string()))?;
        self.answer(within).await
    }

    /// Passes a line on and its reply back.
    async fn pass(&mut self, line: &[u8]) -> Step {
        let r = self.ask(line, ANSWER).await?;
        self.say(&r).await?;
        Ok(Flow::Go)
    }

    /// Logs a refused command, the first few of a session.
    fn refused(&mut self, what: &str) {
        self.refusals += 1;
        if self.refusals <= LOGGED_REFUSALS {
            log::warn!("{}: refused {what}", self.who());
        } else if self.refusals == LOGGED_REFUSALS + 1 {
            log::warn!(
                "{}: more refusals in this session are not logged",
                self.who()
            );
        }
    }

    async fn command(&mut self, line: Vec<u8>) -> Step {
        let cmd = Command::parse(&line);
        match cmd.verb.as_str() {
            "AUTH" => self.auth(&cmd).await,
            "PBSZ" if !self.secure => self.reply(503, "PBSZ needs AUTH TLS first.").await,
            "PBSZ" => self.reply(200, "PBSZ=0").await,
            "PROT" => self.prot(&cmd).await,
            "CCC" => {
                self.reply(534, "The control connection stays encrypted.")
                    .await
            }
            "USER" | "PASS" if self.cfg.require_tls && !self.secure => {
                self.reply(534, "This server requires FTPS: send AUTH TLS first.")
                    .await
            }
            "USER" => {
                self.logged_in = false;
                self.pass(&line).await
            }
            "PASS" => self.login(&line).await,
            "PASV" | "EPSV" => self.passive(&cmd).await,
            "PORT" | "EPRT" => self.active(&cmd).await,
            "RETR" | "LIST" | "NLST" | "MLSD" => {
                self.transfer(&cmd, &line, Direction::ToClient).await
            }
            "STOR" | "APPE" | "STOU" => self.transfer(&cmd, &line, Direction::FromClient).await,
            "LPRT" | "LPSV" => self.reply(502, "Use EPRT or EPSV.").await,
            // libunftp's own status speaks of its side of the loopback.
            "STAT" if cmd.arg.is_empty() => self.status().await,
            "REIN" => self.reply(502, "REIN is not supported.").await,
            "FEAT" => {
                let mut r = self.ask(&line, ANSWER).await?;
                if self.cfg.tls.is_some() {
                    r.add_features(&["AUTH TLS", "PBSZ", "PROT"]);
                }
                r.add_features(&["EPRT"]);
                self.say(&r).await?;
                Ok(Flow::Go)
            }
            "QUIT" => {
                let r = self.ask(&line, ANSWER).await?;
                self.say(&r).await?;
                Ok(Flow::End(Ended::Quit))
            }
            _ => self.pass(&line).await,
        }
    }

    async fn status(&mut self) -> Step {
        let lines = [
            format!("Connected from {}", self.cfg.peer),
            if self.logged_in {
                format!("Logged in as {}", appconfig::FTP_USER)
            } else {
                "Not logged in".to_string()
            },
            format!(
                "Control connection {}",
                if self.secure { "in TLS" } else { "in clear" }
            ),
            format!(
                "Data connections {}",
                if self.protected {
                    "in TLS (PROT P)"
                } else {
                    "in clear"
                }
            ),
        ];
        let mut text = String::from("211-Status:\r\n");
        for l in lines {
            text.push_str(&format!(" {l}\r\n"));
        }
        text.push_str("211 End of status.\r\n");
        let r = Reply {
            code: 211,
            lines: vec![text.into_bytes()],
        };
        self.say(&r).await?;
        Ok(Flow::Go)
    }

    async fn auth(&mut self, cmd: &Command) -> Step {
        let Some(config) = self.cfg.tls.clone() else {
            return self.reply(534, "TLS is not available.").await;
        };
        if self.secure {
            return self.reply(503, "TLS is already on.").await;
        }
        let mech = cmd.arg_text().to_ascii_uppercase();
        if !matches!(mech.as_str(), "TLS" | "TLS-C" | "SSL" | "TLS-P") {
            return self.reply(504, "Use AUTH TLS.").await;
        }
        if self.logged_in {
            return self.reply(503, "AUTH TLS comes before the login.").await;
        }
        if self.lines.has_pending() {
            // Commands sent in clear behind AUTH must not count as sent
            // over TLS (the STARTTLS command injection).
            log::warn!(
                "{}: commands sent behind AUTH TLS before the handshake; closing the session",
                self.who()
            );
            return Ok(Flow::End(Ended::Handshake("commands behind AUTH".into())));
        }
        self.reply(234, "AUTH TLS OK.").await?;
        let Io::Plain(tcp) = std::mem::replace(&mut self.client, Io::Closed) else {
            return Ok(Flow::End(Ended::Handshake("not a plain connection".into())));
        };
        let accept = tokio_rustls::TlsAcceptor::from(config).accept(tcp);
        match tokio::time::timeout(HANDSHAKE, accept).await {
            Ok(Ok(tls)) => {
                self.client = Io::Tls(Box::new(tls));
                self.secure = true;
                self.cfg.secure.store(true, Ordering::Relaxed);
                if mech == "TLS-P" {
                    self.protected = true;
                }
                Ok(Flow::Go)
            }
            Ok(Err(e)) => {
                log::info!(
                    "{}: TLS handshake on the control connection failed: {e}",
                    self.who()
                );
                Ok(Flow::End(Ended::Handshake(e.to_string())))
            }
            Err(_) => Ok(Flow::End(Ended::Handshake("timed out".into()))),
        }
    }

    async fn prot(&mut self, cmd: &Command) -> Step {
        if !self.secure {
            return self.reply(503, "PROT needs AUTH TLS first.").await;
        }
        match cmd.arg_text().to_ascii_uppercase().as_str() {
            "P" => {
                self.protected = true;
                self.reply(200, "Protection level set to P (Private).")
                    .await
            }
            "C" if self.cfg.require_tls => {
                self.refused("PROT C: FTPS is required");
                self.reply(534, &format!("{REQUIRE_PROT_P}: PROT C is refused."))
                    .await
            }
            "C" => {
                self.protected = false;
                self.reply(200, "Protection level set to C (Clear).").await
            }
            _ => self.reply(536, "Only PROT P (or C) is supported.").await,
        }
    }

    /// The checks every data connection and data command passes first.
    async fn may_move_data(&mut self, verb: &str) -> Result<bool, Ended> {
        if !self.logged_in {
            self.reply(530, "Please log in with USER and PASS first.")
                .await?;
            return Ok(false);
        }
        if self.cfg.require_tls && !self.protected {
            self.refused(&format!("{verb} without PROT P: FTPS is required"));
            self.reply(521, &format!("{REQUIRE_PROT_P}.")).await?;
            // Anything prepared before is dropped too.
            self.data = None;
            return Ok(false);
        }
        Ok(true)
    }

    async fn login(&mut self, line: &[u8]) -> Step {
        let r = self.ask(line, LOGIN_ANSWER).await?;
        if r.code == 230 {
            self.logged_in = true;
            self.failures = 0;
            self.say(&r).await?;
            return Ok(Flow::Go);
        }
        let closing = self.cfg.closing.lock().ok().and_then(|mut c| c.take());
        if let Some(text) = closing {
            let (code, text) = text.split_at(3.min(text.len()));
            let code = code.parse().unwrap_or(421);
            self.say(&Reply::new(code, text.trim_start())).await?;
            return Ok(Flow::End(Ended::Blocked));
        }
        self.say(&r).await?;
        if r.code == 530 {
            self.failures += 1;
            if self.failures >= MAX_FAILURES {
                log::warn!(
                    "{}: {} failed logins; closing the session",
                    self.who(),
                    self.failures
                );
                return Ok(Flow::End(Ended::TooManyFailures));
            }
        }
        Ok(Flow::Go)
    }

    async fn passive(&mut self, cmd: &Command) -> Step {
        if !self.may_move_data(&cmd.verb).await? {
            return Ok(Flow::Go);
        }
        let arg = cmd.arg_text();
        if cmd.verb == "EPSV" && arg.eq_ignore_ascii_case("ALL") {
            self.epsv_all = true;
            return self.reply(200, "EPSV ALL: only EPSV from now on.").await;
        }
        if cmd.verb == "PASV" && self.epsv_all {
            return self.reply(503, "EPSV ALL was sent: use EPSV.").await;
        }
        let local = canonical(self.cfg.local.ip());
        match arg.as_str() {
            "" => {}
            "1" if local.is_ipv4() => {}
            "2" if local.is_ipv6() => {}
            _ => {
                let proto = if local.is_ipv4() { 1 } else { 2 };
                return self
                    .reply(522, &format!("Use network protocol {proto}: ({proto})."))
                    .await;
            }
        }
        let announced = match (cmd.verb.as_str(), local) {
            ("PASV", IpAddr::V4(ip)) => Some(self.cfg.passive_address.unwrap_or(ip)),
            ("PASV", IpAddr::V6(_)) => {
                return self.reply(522, "PASV is for IPv4: use EPSV.").await;
            }
            _ => None,
        };
        self.data = None;
        let listener = match bind_passive(local, self.cfg.passive_ports) {
            Ok(l) => l,
            Err(e) => {
                log::error!(
                    "{}: no passive port free in {}-{}: {e}",
                    self.who(),
                    self.cfg.passive_ports.0,
                    self.cfg.passive_ports.1
                );
                return self
                    .reply(425, "No passive port is free; try again later.")
                    .await;
            }
        };
        let port = listener.local_addr().map_err(io_end)?.port();
        self.data = Some(DataPlan::Passive(listener));
        let r = match announced {
            Some(ip) => ftpcmd::pasv_reply(ip, port),
            None => ftpcmd::epsv_reply(port),
        };
        self.say(&r).await?;
        Ok(Flow::Go)
    }

    async fn active(&mut self, cmd: &Command) -> Step {
        if !self.may_move_data(&cmd.verb).await? {
            return Ok(Flow::Go);
        }
        if self.epsv_all {
            return self.reply(503, "EPSV ALL was sent: use EPSV.").await;
        }
        let arg = cmd.arg_text();
        let parsed = if cmd.verb == "PORT" {
            ftpcmd::parse_port(&arg)
        } else {
            ftpcmd::parse_eprt(&arg)
        };
        let Some(addr) = parsed else {
            return self
                .reply(501, &format!("Syntax error in the {} argument.", cmd.verb))
                .await;
        };
        let peer = canonical(self.cfg.peer);
        if canonical(addr.ip()) != peer || addr.port() < 1024 {
            self.refused(&format!(
                "{} to {addr}: only the client's own address and ports from 1024 up",
                cmd.verb
            ));
            self.data = None;
            return self
                .reply(
                    501,
                    &format!(
                        "{} is refused: data connections go only to your own address ({peer}), port 1024 or above.",
                        cmd.verb
                    ),
                )
                .await;
        }
        self.data = Some(DataPlan::Active(SocketAddr::new(peer, addr.port())));
        self.reply(200, &format!("{} command successful.", cmd.verb))
            .await
    }

    /// A data command: the client's data connection, libunftp's, the relay
    /// between them, and the replies.
    async fn transfer(&mut self, cmd: &Command, line: &[u8], direction: Direction) -> Step {
        if !self.may_move_data(&cmd.verb).await? {
            return Ok(Flow::Go);
        }
        let Some(plan) = self.data.take() else {
            return self.reply(425, "Use PORT, EPRT, PASV or EPSV first.").await;
        };
        let restore = self.cfg.restore_dir.clone();
        if direction == Direction::FromClient && space::check(&restore, 0).is_err() {
            log::warn!(
                "{}: refused {} {}: {}",
                self.who(),
                cmd.verb,
                String::from_utf8_lossy(&cmd.arg),
                space::refusal(&restore)
            );
            return self.reply(452, &space::refusal(&restore)).await;
        }
        let client_data = match plan {
            DataPlan::Passive(l) => self.accept_data(l).await,
            DataPlan::Active(addr) => self.connect_data(addr).await,
        };
        let Some(client_data) = client_data else {
            return self.reply(425, "Cannot open the data connection.").await;
        };
        let inner_data = match self.inner_data().await {
            Ok(s) => s,
            Err(Ok(text)) => {
                log::error!("{}: cannot reach the FTP back-end: {text}", self.who());
                return self.reply(425, "Cannot open the data connection.").await;
            }
            Err(Err(end)) => return Err(end),
        };
        let first = self.ask(line, ANSWER).await?;
        if !first.is_preliminary() {
            // Refused at once: the data connections just close.
            self.say(&first).await?;
            return Ok(Flow::Go);
        }
        let tls = if self.protected {
            self.cfg.data_tls.clone()
        } else {
            None
        };
        let cancel = Arc::new(Notify::new());
        let mut relay = tokio::spawn(relay::run(
            client_data,
            inner_data,
            tls,
            direction,
            // Longer than libunftp's: a stall is reported by the storage.
            self.cfg.stall + Duration::from_secs(5),
            cancel.clone(),
        ));
        self.say(&first).await?;

        // Until libunftp's final reply: the client may abort, hang up, or
        // send one command, answered after this one.
        let mut aborted = false;
        let mut client_gone = false;
        let mut held: Option<Vec<u8>> = None;
        let last = loop {
            tokio::select! {
                r = self.replies.next(&mut self.inner) => match r {
                    Ok(Some(r)) if r.is_preliminary() => self.say(&r).await?,
                    Ok(Some(r)) => break r,
                    Ok(None) => return Err(Ended::Backend("closed".into())),
                    Err(e) => return Err(Ended::Backend(e.to_string())),
                },
                got = self.lines.next(&mut self.client), if held.is_none() && !client_gone => match got {
                    Ok(Got::Line(l)) if Command::parse(&l).verb == "ABOR" => {
                        aborted = true;
                        cancel.notify_one();
                        held = Some(l);
                    }
                    Ok(Got::Line(l)) => held = Some(l),
                    Ok(Got::TooLong) => {
                        cancel.notify_one();
                        return Ok(Flow::End(self.too_long().await));
                    }
                    Ok(Got::Eof) | Err(_) => {
                        client_gone = true;
                        cancel.notify_one();
                    }
                },
            }
        };
        // A download may still be on its way to the client; an upload is
        // done when libunftp has answered.
        let joined = match direction {
            Direction::FromClient => {
                match tokio::time::timeout(Duration::from_secs(1), &mut relay).await {
                    Ok(j) => j,
                    Err(_) => {
                        cancel.notify_one();
                        relay.await
                    }
                }
            }
            Direction::ToClient => relay.await,
        };
        let relayed = joined.unwrap_or_else(|e| {
            Err(relay::RelayError::Transfer(crate::transfer::Stalled::Read(
                io::Error::other(e.to_string()),
            )))
        });
        if client_gone {
            return Ok(Flow::End(Ended::ClientLeft));
        }
        let last = if aborted {
            Reply::new(426, "Transfer aborted; the data connection is closed.")
        } else {
            match &relayed {
                _ if last.code == 452 && direction == Direction::FromClient => {
                    Reply::new(452, &space::refusal(&restore))
                }
                // libunftp only saw its side fail: the reason is here.
                Err(e) if last.code < 500 => {
                    log::warn!("{}: {} failed: {e}", self.who(), cmd.verb);
                    Reply::new(426, &format!("Data connection closed: {e}."))
                }
                _ => last,
            }
        };
        self.say(&last).await?;
        if aborted {
            self.reply(226, "ABOR command successful.").await?;
        } else {
            self.held = held;
        }
        Ok(Flow::Go)
    }

    /// The client's passive data connection, from its own address.
    async fn accept_data(&mut self, listener: TcpListener) -> Option<TcpStream> {
        let peer = canonical(self.cfg.peer);
        let deadline = tokio::time::Instant::now() + ACCEPT;
        loop {
            match tokio::time::timeout_at(deadline, listener.accept()).await {
                Ok(Ok((s, from))) if canonical(from.ip()) == peer => return Some(s),
                Ok(Ok((_, from))) => {
                    self.refused(&format!(
                        "a data connection from {from}: not the client's address"
                    ));
                }
                Ok(Err(e)) => {
                    log::warn!("{}: data connection failed: {e}", self.who());
                    return None;
                }
                Err(_) => {
                    log::info!(
                        "{}: the client did not open its data connection in {} s",
                        self.who(),
                        ACCEPT.as_secs()
                    );
                    return None;
                }
            }
        }
    }

    /// An active data connection to the client (from the address it reached).
    async fn connect_data(&mut self, addr: SocketAddr) -> Option<TcpStream> {
        let local = canonical(self.cfg.local.ip());
        let socket = match local {
            IpAddr::V4(_) if addr.is_ipv4() => TcpSocket::new_v4(),
            IpAddr::V6(_) if addr.is_ipv6() => TcpSocket::new_v6(),
            _ => return None,
        };
        let connect = async {
            let s = socket?;
            s.bind(SocketAddr::new(local, 0))?;
            s.connect(addr).await
        };
        match tokio::time::timeout(CONNECT, connect).await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                log::info!("{}: cannot connect to {addr} for data: {e}", self.who());
                None
            }
            Err(_) => {
                log::info!(
                    "{}: cannot connect to {addr} for data: timed out",
                    self.who()
                );
                None
            }
        }
    }

    /// A data connection from libunftp: a `PORT` to a loopback listener
    /// of the front's. `Err(Ok(why))` when libunftp refuses.
    async fn inner_data(&mut self) -> Result<TcpStream, Result<String, Ended>> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| Ok(e.to_string()))?;
        let SocketAddr::V4(addr) = listener.local_addr().map_err(|e| Ok(e.to_string()))? else {
            return Err(Ok("not IPv4".into()));
        };
        let line = format!(
            "PORT {}\r\n",
            ftpcmd::port_arg(SocketAddrV4::new(Ipv4Addr::LOCALHOST, addr.port()))
        );
        let r = self.ask(line.as_bytes(), ANSWER).await.map_err(Err)?;
        if r.code != 200 {
            return Err(Ok(format!("PORT: {}", r.text())));
        }
        match tokio::time::timeout(Duration::from_secs(5), listener.accept()).await {
            Ok(Ok((s, from))) if from.ip().is_loopback() => Ok(s),
            Ok(Ok((_, from))) => Err(Ok(format!("a connection from {from}"))),
            Ok(Err(e)) => Err(Ok(e.to_string())),
            Err(_) => Err(Ok("no connection".into())),
        }
    }
}

/// A listener on a free port of the passive range: random tries first
/// (ports are not predictable), then every port in turn.
fn bind_passive(ip: IpAddr, (first, last): (u16, u16)) -> io::Result<TcpListener> {
    let (first, last) = (first.min(last), first.max(last));
    let span = u32::from(last - first) + 1;
    let bind = |port: u16| -> io::Result<TcpListener> {
        let s = if ip.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // A data connection the front closed first leaves its port in
        // TIME_WAIT for a minute; without this a client moving many files
        // runs through a small range and gets 425 (seen with 6 ports and
        // ftplib's storbinary). A port another socket listens on stays taken.
        s.set_reuseaddr(true)?;
        s.bind(SocketAddr::new(ip, port))?;
        s.listen(4)
    };
    let mut seed = [0u8; 4];
    let start = match std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
    {
        Ok(()) => u32::from_ne_bytes(seed) % span,
        Err(_) => std::process::id() % span,
    };
    let mut last_err = io::Error::new(io::ErrorKind::AddrInUse, "every passive port is taken");
    for i in 0..span {
        let port = first + ((start + i) % span) as u16;
        match bind(port) {
            Ok(l) => return Ok(l),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}
