//! The two stages after the scanner: one thread hashes each volume's bytes
//! (MD5), another writes them to the volume files and hands what is durable
//! to the read-back check ([`super::readback`]). Buffers travel scanner →
//! hasher → writer and back to the scanner through a free list, so memory
//! stays at a fixed number of buffers whatever the store size.

use crate::error::{SetError, io_at};
use crate::publish::WrittenVolume;
use md5::{Digest, Md5};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

/// A buffer of tar bytes; `data` always has its full length, `len` bytes are used.
pub struct Batch {
    pub data: Vec<u8>,
    pub len: usize,
    /// A compressed set's frame ends after this batch (the scanner asks
    /// for it before the set's own files at the end).
    pub cut: bool,
}

/// Splits `[offset, offset + len)` of the stream into per-volume pieces:
/// (volume index, start within `data`, length).
fn pieces(offset: u64, len: usize, volume_size: u64) -> impl Iterator<Item = (u32, usize, usize)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let pos = offset + done as u64;
        let vol = pos / volume_size;
        let room = (volume_size - pos % volume_size).min((len - done) as u64) as usize;
        let piece = (vol as u32, done, room);
        done += room;
        Some(piece)
    })
}

/// Hashes every volume; forwards each batch to the writer. Returns the
/// volumes' digests (at least one, for an empty stream too).
pub fn hasher(rx: Receiver<Batch>, tx: SyncSender<Batch>, volume_size: u64) -> Vec<[u8; 16]> {
    let mut digests = Vec::new();
    let mut current = Md5::new();
    let mut volume = 0u32;
    let mut offset = 0u64;
    for batch in rx {
        for (vol, start, len) in pieces(offset, batch.len, volume_size) {
            while vol > volume {
                digests.push(std::mem::take(&mut current).finalize().into());
                volume += 1;
            }
            current.update(&batch.data[start..start + len]);
        }
        offset += batch.len as u64;
        if tx.send(batch).is_err() {
            break;
        }
    }
    digests.push(current.finalize().into());
    digests
}

/// Encrypts the tar stream to `to` (see [`crate::crypt`]): each batch of
/// plain bytes goes back out holding the encrypted bytes ready so far (age
/// keeps up to one 64 KiB chunk), in the buffer it came in or the spare one
/// this stage keeps, so the pool's size does not change; the last batch
/// holds the final chunk. Buffers it hands on may be longer or shorter
/// than `batch` bytes; the writer gives them back at their full size.
pub fn encrypter(
    rx: Receiver<Batch>,
    tx: SyncSender<Batch>,
    to: &age::x25519::Recipient,
    notes: (Option<&str>, Option<&str>),
    batch: usize,
) -> Result<(), SetError> {
    use std::cell::RefCell;
    use std::rc::Rc;
    /// The encrypted bytes as age writes them.
    struct Out(Rc<RefCell<Vec<u8>>>);
    impl Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let ready = Rc::new(RefCell::new(Vec::with_capacity(batch + (128 << 10))));
    let fail = |e: std::io::Error| SetError::Internal(format!("encrypting the set: {e}"));
    let mut age =
        crate::crypt::encrypting(to, notes.0, notes.1, Out(ready.clone())).map_err(fail)?;
    for mut b in rx {
        age.write_all(&b.data[..b.len]).map_err(fail)?;
        // The plain buffer becomes the next one age writes into.
        b.data.clear();
        std::mem::swap(&mut b.data, &mut *ready.borrow_mut());
        ready.borrow_mut().reserve_exact(batch + (128 << 10));
        b.len = b.data.len();
        if tx.send(b).is_err() {
            // The hasher stopped; the writer's error says why.
            return Ok(());
        }
    }
    age.finish().map_err(fail)?;
    let data = std::mem::take(&mut *ready.borrow_mut());
    let len = data.len();
    let _ = tx.send(Batch {
        data,
        len,
        cut: false,
    });
    Ok(())
}

/// A range of a volume that is on the storage and out of the page cache,
/// ready to be read back.
pub struct ReadBack {
    pub volume: u32,
    pub path: PathBuf,
    pub start: u64,
    pub len: u64,
}

/// Writeback is started every this many bytes, and the read-back check
/// follows a few segments behind the writer, so writing, flushing, reading
/// back and hashing overlap instead of running one after the other.
const SEGMENT: u64 = 16 << 20;
/// Segments in flight to the storage before the oldest is waited for.
const LAG: usize = 2;

/// Starts (`wait == false`) or completes (`wait == true`) writeback of a
/// range. Waiting reports a write the storage failed (the kernel keeps the
/// error for the file): the set cannot be whole, so the writer stops there
/// instead of writing on into the page cache of a dead share.
fn sync_range(f: &File, start: u64, len: u64, wait: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let flags = if wait {
        nix::libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | nix::libc::SYNC_FILE_RANGE_WRITE
            | nix::libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        nix::libc::SYNC_FILE_RANGE_WRITE
    };
    // SAFETY: a plain system call on a file descriptor `f` keeps open; no memory is passed.
    let r = unsafe { nix::libc::sync_file_range(f.as_raw_fd(), start as i64, len as i64, flags) };
    match r {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

fn drop_cache(f: &File, start: u64, len: u64) {
    let _ = nix::fcntl::posix_fadvise(
        f,
        start as i64,
        len as i64,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
}

struct Current {
    file: File,
    path: PathBuf,
    index: u32,
    /// End of the last segment cut.
    cut: u64,
    /// Segments whose writeback was started but not yet handed to the check.
    pending: std::collections::VecDeque<(u64, u64)>,
}

/// Writes batches into volume files named by `temp_name(index)` in `dir`,
/// fsyncing each as it is completed. With a read-back channel, hands every
/// range to the checker once it is durable and dropped from the cache.
pub struct VolumeWriter {
    dir: PathBuf,
    volume_size: u64,
    temp_name: Box<dyn Fn(u32) -> String + Send>,
    current: Option<Current>,
    pub written: Vec<WrittenVolume>,
    offset: u64,
    read_back: Option<std::sync::mpsc::Sender<ReadBack>>,
}

impl VolumeWriter {
    pub fn new(
        dir: &Path,
        volume_size: u64,
        temp_name: Box<dyn Fn(u32) -> String + Send>,
        read_back: Option<std::sync::mpsc::Sender<ReadBack>>,
    ) -> VolumeWriter {
        VolumeWriter {
            dir: dir.to_path_buf(),
            volume_size,
            temp_name,
            current: None,
            written: Vec::new(),
            offset: 0,
            read_back,
        }
    }

    fn open(&mut self, index: u32) -> Result<(), SetError> {
        if index >= crate::name::MAX_VOLUMES {
            return Err(SetError::Internal(format!(
                "more than {} volumes: choose a larger volume size",
                crate::name::MAX_VOLUMES - 1
            )));
        }
        let path = self.dir.join((self.temp_name)(index));
        let open = || OpenOptions::new().write(true).create_new(true).open(&path);
        let f = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A leftover of an interrupted run with the same name.
                std::fs::remove_file(&path).map_err(io_at(&path))?;
                open()
            }
            r => r,
        }
        .map_err(io_at(&path))?;
        self.written.push(WrittenVolume {
            temp: path.clone(),
            size: 0,
        });
        self.current = Some(Current {
            file: f,
            path,
            index,
            cut: 0,
            pending: Default::default(),
        });
        Ok(())
    }

    fn send(&mut self, volume: u32, path: &Path, start: u64, len: u64) {
        if let Some(tx) = &self.read_back
            && tx
                .send(ReadBack {
                    volume,
                    path: path.to_path_buf(),
                    start,
                    len,
                })
                .is_err()
        {
            // The checker stopped (it failed); the error shows when it is joined.
            self.read_back = None;
        }
    }

    /// Cuts a segment at the current end, starts its writeback, and hands
    /// older durable segments to the check.
    fn segment(&mut self, size: u64) -> Result<(), SetError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(());
        };
        if size - cur.cut < SEGMENT {
            return Ok(());
        }
        let (start, len) = (cur.cut, size - cur.cut);
        cur.cut = size;
        // Only a start: a failure shows when the range is waited for.
        let _ = sync_range(&cur.file, start, len, false);
        cur.pending.push_back((start, len));
        self.segment_more()
    }

    /// Waits for the oldest segments beyond the lag to be durable, drops
    /// them from the cache and hands them to the check. Dropped with or
    /// without the check: a nightly set is not read again soon, and left
    /// cached it would push the mail store's own pages out (and the page
    /// reclaim that follows costs the writer as much system time as MD5).
    fn segment_more(&mut self) -> Result<(), SetError> {
        loop {
            let Some(cur) = self.current.as_mut() else {
                return Ok(());
            };
            if cur.pending.len() <= LAG {
                return Ok(());
            }
            let Some(&(s, l)) = cur.pending.front() else {
                return Ok(());
            };
            sync_range(&cur.file, s, l, true).map_err(io_at(&cur.path))?;
            cur.pending.pop_front();
            drop_cache(&cur.file, s, l);
            let (index, path) = (cur.index, cur.path.clone());
            self.send(index, &path, s, l);
        }
    }

    fn close_current(&mut self) -> Result<(), SetError> {
        let Some(mut cur) = self.current.take() else {
            return Ok(());
        };
        let size = self.written.last().map(|w| w.size).unwrap_or(0);
        cur.file.sync_all().map_err(io_at(&cur.path))?;
        // Everything is durable now: the rest goes to the check.
        if size > cur.cut {
            cur.pending.push_back((cur.cut, size - cur.cut));
        }
        while let Some((s, l)) = cur.pending.pop_front() {
            drop_cache(&cur.file, s, l);
            self.send(cur.index, &cur.path, s, l);
        }
        Ok(())
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), SetError> {
        for (vol, start, len) in pieces(self.offset, data.len(), self.volume_size) {
            while self.written.len() <= vol as usize {
                self.close_current()?;
                self.open(self.written.len() as u32)?;
            }
            let Some(cur) = self.current.as_mut() else {
                return Err(SetError::Internal("no volume open".into()));
            };
            cur.file
                .write_all(&data[start..start + len])
                .map_err(io_at(&cur.path))?;
            let size = match self.written.last_mut() {
                Some(w) => {
                    w.size += len as u64;
                    w.size
                }
                None => 0,
            };
            self.segment(size)?;
        }
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Fsyncs the last volume (creating volume 0 if nothing was written)
    /// and closes the read-back channel.
    pub fn finish(&mut self) -> Result<(), SetError> {
        if self.written.is_empty() {
            self.open(0)?;
        }
        let r = self.close_current();
        self.read_back = None;
        r
    }
}

/// The writer thread's loop.
pub fn writer(
    rx: Receiver<Batch>,
    free: SyncSender<Batch>,
    mut out: VolumeWriter,
) -> (VolumeWriter, Result<(), SetError>) {
    for mut batch in rx {
        if let Err(e) = out.write(&batch.data[..batch.len]) {
            // Let the read-back check end too.
            out.read_back = None;
            return (out, Err(e));
        }
        batch.len = 0;
        // The encrypting stage hands on buffers of other lengths.
        if batch.data.len() < super::BATCH {
            batch.data.resize(super::BATCH, 0);
        }
        // The scanner may have finished and dropped its end of the free
        // list, or the list is full (the compressing stage makes buffers
        // of its own): then the buffer is dropped.
        let _ = free.try_send(batch);
    }
    let r = out.finish();
    (out, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_at_volume_boundaries() {
        let v: Vec<_> = pieces(90, 30, 100).collect();
        assert_eq!(v, [(0, 0, 10), (1, 10, 20)]);
        let v: Vec<_> = pieces(0, 250, 100).collect();
        assert_eq!(v, [(0, 0, 100), (1, 100, 100), (2, 200, 50)]);
    }
}
