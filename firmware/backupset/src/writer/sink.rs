//! The two stages after the scanner: one thread hashes each volume's bytes
//! (MD5), another writes them to the volume files. Buffers travel scanner →
//! hasher → writer and back to the scanner through a free list, so memory
//! stays at a fixed number of buffers whatever the store size.

use crate::error::{SetError, io_at};
use md5::{Digest, Md5};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

/// A buffer of tar bytes; `data` always has its full length, `len` bytes are used.
pub struct Batch {
    pub data: Vec<u8>,
    pub len: usize,
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

/// A volume written to its temporary name.
#[derive(Debug, Clone)]
pub struct WrittenVolume {
    pub temp: PathBuf,
    pub size: u64,
}

/// Writes batches into volume files named by `temp_name(index)` in `dir`,
/// fsyncing each as it is completed. Used buffers go back on `free`.
pub struct VolumeWriter {
    dir: PathBuf,
    volume_size: u64,
    temp_name: Box<dyn Fn(u32) -> String + Send>,
    current: Option<(File, PathBuf)>,
    pub written: Vec<WrittenVolume>,
    offset: u64,
}

impl VolumeWriter {
    pub fn new(
        dir: &Path,
        volume_size: u64,
        temp_name: Box<dyn Fn(u32) -> String + Send>,
    ) -> VolumeWriter {
        VolumeWriter {
            dir: dir.to_path_buf(),
            volume_size,
            temp_name,
            current: None,
            written: Vec::new(),
            offset: 0,
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
        self.current = Some((f, path));
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), SetError> {
        if let Some((f, path)) = self.current.take() {
            f.sync_all().map_err(io_at(&path))?;
        }
        Ok(())
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), SetError> {
        for (vol, start, len) in pieces(self.offset, data.len(), self.volume_size) {
            while self.written.len() <= vol as usize {
                self.close_current()?;
                self.open(self.written.len() as u32)?;
            }
            let Some((f, path)) = self.current.as_mut() else {
                return Err(SetError::Internal("no volume open".into()));
            };
            f.write_all(&data[start..start + len])
                .map_err(io_at(path))?;
            if let Some(w) = self.written.last_mut() {
                w.size += len as u64;
            }
        }
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Fsyncs the last volume (creating volume 0 if nothing was written).
    pub fn finish(&mut self) -> Result<(), SetError> {
        if self.written.is_empty() {
            self.open(0)?;
        }
        self.close_current()
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
            return (out, Err(e));
        }
        batch.len = 0;
        // The scanner may have finished and dropped its end of the free list.
        let _ = free.send(batch);
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
