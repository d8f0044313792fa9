//! A whole set read front to back with its MD5 checked in the same pass:
//! a thread reads the volumes in large chunks and hashes them while the
//! caller unpacks the chunks before (two cores: hashing costs no time as
//! long as unpacking is the slower half). Buffers go round a fixed pool,
//! so memory stays at `BUFFERS * CHUNK` whatever the set's size.

use crate::error::RecoverError;
use backupset::reader::Volume;
use md5::{Digest, Md5};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

const CHUNK: usize = 1 << 20;
const BUFFERS: usize = 8;

/// How one volume compared with its `.md5` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeResult {
    pub name: String,
    /// `None` when it matched, else what was wrong.
    pub problem: Option<String>,
}

struct Chunk {
    buf: Vec<u8>,
    len: usize,
}

/// The set's bytes as one stream; [`VerifiedStream::finish`] says whether
/// every volume matched its MD5.
pub struct VerifiedStream {
    chunks: Option<Receiver<Result<Chunk, (PathBuf, String)>>>,
    pool: Option<SyncSender<Vec<u8>>>,
    current: Option<Chunk>,
    at: usize,
    hasher: Option<JoinHandle<Vec<VolumeResult>>>,
    failed: Option<(PathBuf, String)>,
    /// Bytes handed to the caller (progress: what is unpacked, not read ahead).
    consumed: Arc<AtomicU64>,
}

/// Reads and hashes `volumes` on a thread; `consumed` counts the bytes
/// the caller has taken.
pub fn open(
    volumes: Vec<Volume>,
    consumed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> VerifiedStream {
    let (chunk_tx, chunk_rx) = sync_channel::<Result<Chunk, (PathBuf, String)>>(BUFFERS);
    let (pool_tx, pool_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        let _ = pool_tx.send(vec![0u8; CHUNK]);
    }
    let hasher = std::thread::spawn(move || hash_volumes(volumes, chunk_tx, pool_rx, stop));
    VerifiedStream {
        chunks: Some(chunk_rx),
        pool: Some(pool_tx),
        current: None,
        at: 0,
        hasher: Some(hasher),
        failed: None,
        consumed,
    }
}

fn hash_volumes(
    volumes: Vec<Volume>,
    out: SyncSender<Result<Chunk, (PathBuf, String)>>,
    pool: Receiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
) -> Vec<VolumeResult> {
    let mut results = Vec::new();
    for v in volumes {
        // The descriptor opened with the set: the bytes hashed here are the
        // bytes restored, whatever happens to the file's name meanwhile.
        let mut f = v.reader();
        let mut md5 = Md5::new();
        let mut total = 0u64;
        loop {
            if stop.load(Ordering::Relaxed) {
                return results;
            }
            let Ok(mut buf) = pool.recv() else {
                return results;
            };
            let mut len = 0;
            // Fill the whole chunk: fewer, larger hand-overs.
            while len < buf.len() {
                match f.read(&mut buf[len..]) {
                    Ok(0) => break,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = out.send(Err((v.path.clone(), e.to_string())));
                        return results;
                    }
                }
            }
            if len == 0 {
                break;
            }
            md5.update(&buf[..len]);
            total += len as u64;
            if out.send(Ok(Chunk { buf, len })).is_err() {
                return results;
            }
        }
        let digest: [u8; 16] = md5.finalize().into();
        let problem = if total != v.size {
            Some(format!(
                "{} changed size while it was read ({} bytes, {} before)",
                v.name, total, v.size
            ))
        } else if digest != v.md5 {
            Some(format!(
                "{}: MD5 {} expected, {} found",
                v.name,
                humanfmt::hex(&v.md5),
                humanfmt::hex(&digest)
            ))
        } else {
            None
        };
        results.push(VolumeResult {
            name: v.name,
            problem,
        });
    }
    results
}

impl Read for VerifiedStream {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(c) = &self.current {
                if self.at < c.len {
                    let n = out.len().min(c.len - self.at);
                    out[..n].copy_from_slice(&c.buf[self.at..self.at + n]);
                    self.at += n;
                    self.consumed.fetch_add(n as u64, Ordering::Relaxed);
                    return Ok(n);
                }
                if let (Some(c), Some(pool)) = (self.current.take(), &self.pool) {
                    let _ = pool.send(c.buf);
                }
            }
            let Some(rx) = &self.chunks else {
                return Ok(0);
            };
            match rx.recv() {
                Ok(Ok(c)) => {
                    self.current = Some(c);
                    self.at = 0;
                }
                Ok(Err((path, why))) => {
                    let text = format!("{}: {why}", path.display());
                    self.failed = Some((path, why));
                    self.chunks = None;
                    return Err(std::io::Error::other(text));
                }
                Err(_) => {
                    self.chunks = None;
                    return Ok(0);
                }
            }
        }
    }
}

impl VerifiedStream {
    /// Reads what the caller left (the end-of-archive blocks), waits for
    /// the hasher and returns each volume's result. Every byte of every
    /// volume has then been hashed.
    pub fn finish(mut self) -> Result<Vec<VolumeResult>, RecoverError> {
        let mut sink = vec![0u8; 64 << 10];
        while let Ok(n) = self.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        if let Some((path, reason)) = self.failed.take() {
            return Err(RecoverError::Source { path, reason });
        }
        let results = self
            .hasher
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        Ok(results)
    }
}

impl Drop for VerifiedStream {
    fn drop(&mut self) {
        // Closing both channels stops the hasher wherever it waits.
        self.chunks = None;
        self.pool = None;
        if let Some(h) = self.hasher.take() {
            let _ = h.join();
        }
    }
}
