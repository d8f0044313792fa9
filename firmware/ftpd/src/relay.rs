//! One data connection, relayed between the client and libunftp (which
//! serves the session behind the front on loopback, in clear). The relay
//! ends TLS itself: a handshake that fails ends this transfer only, and a
//! protected connection is closed the way TLS wants, with `close_notify`
//! both ways (Python's ftplib checks for it). A transfer that fails or is
//! aborted resets libunftp's side, so a cut-off upload is never taken for
//! a complete one.

use crate::transfer::{self, Stalled};
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// How long a client gets for the TLS handshake of a data connection.
const HANDSHAKE: Duration = Duration::from_secs(30);
/// How long the other end gets to close after the transfer.
const LINGER: Duration = Duration::from_secs(2);

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `RETR`, `LIST`, `NLST`, `MLSD`.
    ToClient,
    /// `STOR`, `APPE`, `STOU`.
    FromClient,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("the TLS handshake on the data connection failed: {0}")]
    Handshake(io::Error),
    #[error("{}", transfer::describe(.0))]
    Transfer(Stalled),
    #[error("aborted")]
    Aborted,
}

/// Relays one transfer until it is done, fails, or `cancel` is notified.
pub async fn run(
    client: TcpStream,
    inner: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    direction: Direction,
    stall: Duration,
    cancel: Arc<Notify>,
) -> Result<u64, RelayError> {
    let mut inner = inner;
    let result = tokio::select! {
        r = relay(client, &mut inner, tls, direction, stall) => r,
        _ = cancel.notified() => Err(RelayError::Aborted),
    };
    if result.is_err() {
        reset(&inner);
    }
    result
}

/// Closes with a reset rather than an end of data.
pub fn reset(stream: &TcpStream) {
    let _ = nix::sys::socket::setsockopt(
        &stream.as_fd(),
        nix::sys::socket::sockopt::Linger,
        &nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    );
}

async fn relay(
    client: TcpStream,
    inner: &mut TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    direction: Direction,
    stall: Duration,
) -> Result<u64, RelayError> {
    match tls {
        Some(config) => {
            let accept = tokio_rustls::TlsAcceptor::from(config).accept(client);
            let tls = match tokio::time::timeout(HANDSHAKE.min(stall), accept).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(RelayError::Handshake(e)),
                Err(_) => {
                    return Err(RelayError::Handshake(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no handshake",
                    )));
                }
            };
            pass(tls, inner, direction, stall).await
        }
        None => pass(client, inner, direction, stall).await,
    }
}

async fn pass<C: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut client: C,
    inner: &mut TcpStream,
    direction: Direction,
    stall: Duration,
) -> Result<u64, RelayError> {
    let n = match direction {
        Direction::ToClient => {
            let (n, r) = transfer::copy(inner, &mut client, stall).await;
            r.map_err(RelayError::Transfer)?;
            // TLS's close_notify (for TLS) and the end of data.
            close(&mut client, stall).await?;
            n
        }
        Direction::FromClient => {
            // Ends at the client's close_notify; a connection cut off
            // without one is an error (tokio-rustls reports it).
            let (n, r) = transfer::copy(&mut client, inner, stall).await;
            r.map_err(RelayError::Transfer)?;
            close(inner, stall).await?;
            close(&mut client, stall).await?;
            n
        }
    };
    // The transfer is done. Let the client close first, so its last bytes
    // (its own close_notify) do not meet a reset; nobody waits for that.
    tokio::spawn(async move {
        let mut sink = [0u8; 512];
        let _ = tokio::time::timeout(LINGER, async {
            while matches!(client.read(&mut sink).await, Ok(k) if k > 0) {}
        })
        .await;
    });
    Ok(n)
}

async fn close<W: AsyncWrite + Unpin + ?Sized>(
    w: &mut W,
    stall: Duration,
) -> Result<(), RelayError> {
    match tokio::time::timeout(stall, w.shutdown()).await {
        Ok(Ok(())) => Ok(()),
        // Every byte is out; the other end may be gone already (clients
        // that know the size, or that closed after their close_notify).
        Ok(Err(e))
            if matches!(
                e.kind(),
                io::ErrorKind::NotConnected
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
            ) =>
        {
            Ok(())
        }
        Ok(Err(e)) => Err(RelayError::Transfer(Stalled::Write(e))),
        Err(_) => Err(RelayError::Transfer(Stalled::Timeout(stall.as_secs()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = TcpStream::connect(l.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (b, _) = l.accept().await.expect("accept");
        (a, b)
    }

    #[tokio::test]
    async fn plain_relay_both_ways_and_aborts_reset() {
        let (mut client, client_srv) = pair().await;
        let (inner_srv, mut inner) = pair().await;
        let cancel = Arc::new(Notify::new());
        let relay = tokio::spawn(run(
            client_srv,
            inner_srv,
            None,
            Direction::ToClient,
            Duration::from_secs(5),
            cancel.clone(),
        ));
        inner.write_all(b"listing\r\n").await.expect("write");
        inner.shutdown().await.expect("eof");
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, b"listing\r\n");
        drop(client);
        assert_eq!(relay.await.expect("join").expect("relayed"), 9);

        // An upload aborted half-way: libunftp's side sees a reset, not an end.
        let (mut client, client_srv) = pair().await;
        let (inner_srv, mut inner) = pair().await;
        let relay = tokio::spawn(run(
            client_srv,
            inner_srv,
            None,
            Direction::FromClient,
            Duration::from_secs(5),
            cancel.clone(),
        ));
        client.write_all(b"half").await.expect("write");
        let mut buf = [0u8; 4];
        inner.read_exact(&mut buf).await.expect("read");
        cancel.notify_one();
        assert!(matches!(
            relay.await.expect("join"),
            Err(RelayError::Aborted)
        ));
        let mut rest = Vec::new();
        let e = inner.read_to_end(&mut rest).await.expect_err("reset");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }
}
