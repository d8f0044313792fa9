//! Tar entries into the batches the writer threads take: headers, data
//! from memory, files and spool files, padding; a compressed set's frame
//! cuts.

use super::super::sink::Batch;
use super::{Scanner, tar_path};
use crate::error::SetError;
use crate::tarfmt::{EntryHeader, EntryKind, padding, write_header};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering as AtomicOrdering;

/// The header of a file the writer makes itself (the version, the summary,
/// the index, the deleted list): readable by all, owned by root.
fn own_file(path: &str, size: u64, mtime: i64) -> EntryHeader<'_> {
    EntryHeader {
        path,
        kind: EntryKind::File,
        size,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime,
        link: "",
    }
}

impl Scanner<'_> {
    pub(super) fn take_batch(&mut self) -> Result<Batch, SetError> {
        if let Some(b) = self.batch.take() {
            return Ok(b);
        }
        // A free buffer comes back from the writer; if it is gone, it failed.
        let mut b = self
            .free
            .recv()
            .map_err(|_| SetError::Internal("the writer stopped".into()))?;
        b.len = 0;
        b.cut = false;
        Ok(b)
    }

    /// Ends a compressed set's frame here (the bytes so far go on now).
    pub(super) fn cut_frame(&mut self) -> Result<(), SetError> {
        let mut b = self.take_batch()?;
        b.cut = true;
        self.send_batch(b)
    }

    pub(super) fn send_batch(&mut self, b: Batch) -> Result<(), SetError> {
        self.tx
            .send(b)
            .map_err(|_| SetError::Internal("the writer stopped".into()))
    }

    pub(super) fn push(&mut self, mut bytes: &[u8]) -> Result<(), SetError> {
        while !bytes.is_empty() {
            let mut b = self.take_batch()?;
            let n = bytes.len().min(b.data.len() - b.len);
            b.data[b.len..b.len + n].copy_from_slice(&bytes[..n]);
            b.len += n;
            bytes = &bytes[n..];
            self.offset += n as u64;
            self.keep_or_send(b)?;
        }
        Ok(())
    }

    pub(super) fn push_zeros(&mut self, mut n: usize) -> Result<(), SetError> {
        while n > 0 {
            let mut b = self.take_batch()?;
            let k = n.min(b.data.len() - b.len);
            b.data[b.len..b.len + k].fill(0);
            b.len += k;
            n -= k;
            self.offset += k as u64;
            self.keep_or_send(b)?;
        }
        Ok(())
    }

    pub(super) fn keep_or_send(&mut self, b: Batch) -> Result<(), SetError> {
        if b.len == b.data.len() {
            self.progress
                .bytes
                .store(self.offset, AtomicOrdering::Relaxed);
            self.send_batch(b)
        } else {
            self.batch = Some(b);
            Ok(())
        }
    }

    /// Copies exactly `size` bytes of `f` into the stream (zeros past an
    /// early end). Returns whether the file was shorter than announced.
    pub(super) fn push_file(
        &mut self,
        f: &mut File,
        path: &Path,
        size: u64,
    ) -> Result<bool, SetError> {
        let mut left = size;
        let mut short = false;
        while left > 0 {
            let mut b = self.take_batch()?;
            let room = (b.data.len() - b.len).min(left.min(usize::MAX as u64) as usize);
            if room == 0 {
                self.send_batch(b)?;
                continue;
            }
            let n = if short {
                0
            } else {
                loop {
                    match f.read(&mut b.data[b.len..b.len + room]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            self.problem(format!(
                                "{}: read failed part-way, the rest stored as zeros: {e}",
                                path.display()
                            ));
                            break 0;
                        }
                    }
                }
            };
            let n = if n == 0 {
                short = true;
                b.data[b.len..b.len + room].fill(0);
                room
            } else {
                n
            };
            b.len += n;
            left -= n as u64;
            self.offset += n as u64;
            self.keep_or_send(b)?;
        }
        Ok(short)
    }

    pub(super) fn header(&mut self, h: &EntryHeader<'_>) -> Result<(), SetError> {
        let mut hdr = std::mem::take(&mut self.scratch);
        hdr.clear();
        write_header(&mut hdr, h);
        let r = self.push(&hdr);
        self.scratch = hdr;
        r
    }

    /// A small entry written from memory.
    pub(super) fn entry_from_bytes(
        &mut self,
        path: &str,
        data: &[u8],
        mtime: i64,
    ) -> Result<u64, SetError> {
        self.header(&own_file(path, data.len() as u64, mtime))?;
        let data_offset = self.offset;
        self.push(data)?;
        self.push_zeros(padding(data.len() as u64) as usize)?;
        Ok(data_offset)
    }

    /// A file of the data tree stored from memory (sealed, or headers
    /// only) under `rel`, with `md`'s owner and time.
    pub(super) fn file_from_memory(
        &mut self,
        rel: &str,
        md: &fs::Metadata,
        mode: u32,
        data: &[u8],
    ) -> Result<(), SetError> {
        self.header(&EntryHeader {
            path: &tar_path(rel),
            kind: EntryKind::File,
            size: data.len() as u64,
            mode,
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            link: "",
        })?;
        self.push(data)?;
        self.push_zeros(padding(data.len() as u64) as usize)
    }

    /// An entry whose data is a spool file. Returns (data offset, size).
    pub(super) fn entry_from_spool(
        &mut self,
        path: &str,
        spool: BufWriter<File>,
        mtime: i64,
    ) -> Result<(u64, u64), SetError> {
        let mut f = spool
            .into_inner()
            .map_err(|e| SetError::io(&self.opts.state_dir, e.into_error()))?;
        let size = f
            .stream_position()
            .map_err(|e| SetError::io(&self.opts.state_dir, e))?;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| SetError::io(&self.opts.state_dir, e))?;
        self.header(&own_file(path, size, mtime))?;
        let data_offset = self.offset;
        let dir = self.opts.state_dir.clone();
        if self.push_file(&mut f, &dir, size)? {
            return Err(SetError::Internal(format!(
                "a spool file in {} shrank",
                dir.display()
            )));
        }
        self.push_zeros(padding(size) as usize)?;
        Ok((data_offset, size))
    }
}
