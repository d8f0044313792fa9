//! Moving a file's bytes between the disk and a data connection, giving up
//! when the other side stops moving (a client that vanished without closing
//! its connection must not pin a session forever).

use crate::space::FloorReached;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use unftp_core::storage::{Error, ErrorKind};

/// Bytes moved per read: large enough for disk and network to stream.
const CHUNK: usize = 256 << 10;

/// Why a transfer stopped early.
#[derive(Debug, thiserror::Error)]
pub enum Stalled {
    #[error("no data moved for {0} s")]
    Timeout(u64),
    #[error("the client hung up before the transfer was confirmed")]
    Abandoned,
    /// Reading the source failed (the client's connection for uploads).
    #[error(transparent)]
    Read(std::io::Error),
    /// Writing the destination failed (the disk for uploads).
    #[error(transparent)]
    Write(std::io::Error),
}

/// Copies `input` to `output` until the end of `input`, then flushes.
/// Returns the bytes copied and how it ended; every read and write must make
/// progress within `stall`.
pub async fn copy<R, W>(
    input: &mut R,
    output: &mut W,
    stall: Duration,
) -> (u64, Result<(), Stalled>)
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let timeout = Stalled::Timeout(stall.as_secs());
    loop {
        let n = match tokio::time::timeout(stall, input.read(&mut buf)).await {
            Err(_) => return (total, Err(timeout)),
            Ok(Err(e)) => return (total, Err(Stalled::Read(e))),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
        };
        match tokio::time::timeout(stall, output.write_all(&buf[..n])).await {
            Err(_) => return (total, Err(timeout)),
            Ok(Err(e)) => return (total, Err(Stalled::Write(e))),
            Ok(Ok(())) => total += n as u64,
        }
    }
    let flushed = match tokio::time::timeout(stall, output.flush()).await {
        Err(_) => Err(timeout),
        Ok(r) => r.map_err(Stalled::Write),
    };
    (total, flushed)
}

/// Most bytes of a refused upload read and dropped before the connection
/// is simply closed.
const DISCARD_LIMIT: u64 = 64 << 20;

/// Reads and drops a refused upload, up to [`DISCARD_LIMIT`].
pub async fn discard<R: AsyncRead + Unpin + ?Sized>(input: &mut R, stall: Duration) {
    let mut sink = tokio::io::sink();
    let mut limited = input.take(DISCARD_LIMIT);
    let _ = copy(&mut limited, &mut sink, stall).await;
}

fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::ENOSPC) | Some(nix::libc::EDQUOT)
    ) || FloorReached::in_error(e).is_some()
}

/// The reason in plain words, for the log.
pub fn describe(e: &Stalled) -> String {
    match e {
        Stalled::Read(io) | Stalled::Write(io) if FloorReached::in_error(io).is_some() => {
            io.to_string()
        }
        Stalled::Read(io) | Stalled::Write(io) if is_disk_full(io) => "the disk is full".into(),
        Stalled::Read(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the connection ended without TLS's end of data (cut off)".into()
        }
        Stalled::Read(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            "the data connection was cut off".into()
        }
        other => other.to_string(),
    }
}

/// The FTP reply class for a failed transfer.
pub fn storage_error(e: Stalled) -> Error {
    match e {
        Stalled::Read(io) | Stalled::Write(io) if is_disk_full(&io) => {
            Error::new(ErrorKind::InsufficientStorageSpaceError, io)
        }
        Stalled::Read(io) | Stalled::Write(io) => Error::new(ErrorKind::LocalError, io),
        Stalled::Timeout(_) | Stalled::Abandoned => Error::new(ErrorKind::ConnectionClosed, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copies_everything() {
        let data: Vec<u8> = (0..(CHUNK * 3 + 17)).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let (n, r) = copy(&mut &data[..], &mut out, Duration::from_secs(5)).await;
        assert!(r.is_ok());
        assert_eq!(n, data.len() as u64);
        assert_eq!(out, data);
    }

    #[tokio::test]
    async fn a_silent_peer_times_out() {
        // The client side stays open and sends nothing.
        let (_client, mut server) = tokio::io::duplex(64);
        let mut out = Vec::new();
        let (n, r) = copy(&mut server, &mut out, Duration::from_millis(50)).await;
        assert_eq!(n, 0);
        assert!(matches!(r, Err(Stalled::Timeout(_))), "{r:?}");
    }

    #[tokio::test]
    async fn a_reader_that_stops_reading_times_out() {
        let data = vec![7u8; 1 << 20];
        let (mut to_client, _client_never_reads) = tokio::io::duplex(1024);
        let (n, r) = copy(&mut &data[..], &mut to_client, Duration::from_millis(50)).await;
        assert!(n < data.len() as u64);
        assert!(matches!(r, Err(Stalled::Timeout(_))), "{r:?}");
    }

    #[test]
    fn disk_full_is_452() {
        let e = storage_error(Stalled::Write(std::io::Error::from_raw_os_error(
            nix::libc::ENOSPC,
        )));
        assert_eq!(e.kind(), ErrorKind::InsufficientStorageSpaceError);
        assert_eq!(
            describe(&Stalled::Write(std::io::Error::from_raw_os_error(
                nix::libc::ENOSPC
            ))),
            "the disk is full"
        );
        let floor = std::io::Error::other(FloorReached { floor: 1 << 20 });
        assert_eq!(
            describe(&Stalled::Write(floor)),
            "the data partition would go below the 1 MiB kept free for the mail store"
        );
        let floor = std::io::Error::other(FloorReached { floor: 1 << 20 });
        assert_eq!(
            storage_error(Stalled::Write(floor)).kind(),
            ErrorKind::InsufficientStorageSpaceError
        );
    }
}
