//! The compressing stage of a `.tar.zst` set (see [`crate::zst`]): cuts the
//! tar stream into frames of at most [`zst::FRAME`] bytes (and where the
//! scanner asks, before the set's own files at the end), compresses
//! frames on several threads at once, hands the compressed bytes on in
//! order, and ends with the seek table.
//!
//! Buffers: a worker turns each consumed input buffer into its next output
//! buffer or sends it on empty, so that every buffer goes back to the free
//! list through the writer alone: when the writer stops, the free list
//! closes and the scanner stops instead of waiting for a buffer forever.

use super::BATCH;
use super::sink::Batch;
use crate::error::SetError;
use crate::zst::{self, FrameSize};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use zstd::stream::raw::{CParameter, Encoder, InBuffer, Operation, OutBuffer};

enum Job {
    Data(Batch),
    /// The frame ends after what was sent.
    End,
}

enum Piece {
    Data(Batch),
    End(FrameSize),
}

fn failed(what: &str, e: impl std::fmt::Display) -> SetError {
    SetError::Internal(format!("compressing the set: {what}: {e}"))
}

/// How many frames are compressed at once: every core but one (the
/// scanner, the hasher and the writer share it), at least one, at most 4.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// Runs the stage: tar batches in from `rx`, compressed batches out to
/// `tx`, at zstd `level` on `workers` threads.
pub fn compressor(
    rx: Receiver<Batch>,
    tx: SyncSender<Batch>,
    level: i32,
    workers: usize,
) -> Result<(), SetError> {
    let workers = workers.max(1);
    std::thread::scope(|s| {
        let mut jobs = Vec::with_capacity(workers);
        let mut outs = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_tx, job_rx) = sync_channel::<Job>(4);
            let (out_tx, out_rx) = sync_channel::<Piece>(4);
            threads.push(s.spawn(move || worker(job_rx, out_tx, level)));
            jobs.push(job_tx);
            outs.push(out_rx);
        }
        let collector = s.spawn(move || collect(outs, tx));
        let (mut frame, mut in_frame) = (0usize, 0usize);
        for b in rx {
            let cut = b.cut;
            in_frame += b.len;
            // An empty batch too: its buffer goes back through the writer.
            if jobs[frame % workers].send(Job::Data(b)).is_err() {
                break;
            }
            if in_frame > 0 && (cut || in_frame >= zst::FRAME) {
                if jobs[frame % workers].send(Job::End).is_err() {
                    break;
                }
                frame += 1;
                in_frame = 0;
            }
        }
        if in_frame > 0 {
            let _ = jobs[frame % workers].send(Job::End);
        }
        drop(jobs);
        let mut result = Ok(());
        for t in threads {
            let r = t
                .join()
                .unwrap_or_else(|_| Err(failed("a worker", "it stopped")));
            if result.is_ok() {
                result = r;
            }
        }
        let collected = collector
            .join()
            .unwrap_or_else(|_| Err(failed("the collector", "it stopped")));
        result.and(collected)
    })
}

fn fresh(spare: &mut Option<Vec<u8>>) -> Batch {
    Batch {
        data: spare.take().unwrap_or_else(|| vec![0; BATCH]),
        len: 0,
        cut: false,
    }
}

/// Compresses the frames it is given, one after the other.
fn worker(jobs: Receiver<Job>, out: SyncSender<Piece>, level: i32) -> Result<(), SetError> {
    let mut enc = Encoder::new(level).map_err(|e| failed("zstd", e))?;
    enc.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(|e| failed("zstd", e))?;
    let mut spare: Option<Vec<u8>> = None;
    let mut cur = fresh(&mut spare);
    let mut size = FrameSize {
        compressed: 0,
        plain: 0,
    };
    // The next stage stopped: its own error says why.
    macro_rules! emit {
        ($piece:expr) => {
            if out.send($piece).is_err() {
                return Ok(());
            }
        };
    }
    for job in jobs {
        match job {
            Job::Data(b) => {
                let mut input = InBuffer::around(&b.data[..b.len]);
                while input.pos() < b.len {
                    let mut o = OutBuffer::around_pos(&mut cur.data[..], cur.len);
                    enc.run(&mut input, &mut o).map_err(|e| failed("zstd", e))?;
                    cur.len = o.pos();
                    if cur.len == cur.data.len() {
                        size.compressed += cur.len as u32;
                        let full = std::mem::replace(&mut cur, fresh(&mut spare));
                        emit!(Piece::Data(full));
                    }
                }
                size.plain += b.len as u32;
                if spare.is_none() {
                    spare = Some(b.data);
                } else {
                    emit!(Piece::Data(Batch {
                        data: b.data,
                        len: 0,
                        cut: false,
                    }));
                }
            }
            Job::End => {
                loop {
                    let mut o = OutBuffer::around_pos(&mut cur.data[..], cur.len);
                    let left = enc.finish(&mut o, true).map_err(|e| failed("zstd", e))?;
                    cur.len = o.pos();
                    if cur.len == cur.data.len() || (left == 0 && cur.len > 0) {
                        size.compressed += cur.len as u32;
                        let full = std::mem::replace(&mut cur, fresh(&mut spare));
                        emit!(Piece::Data(full));
                    }
                    if left == 0 {
                        break;
                    }
                }
                emit!(Piece::End(size));
                size = FrameSize {
                    compressed: 0,
                    plain: 0,
                };
                enc.reinit().map_err(|e| failed("zstd", e))?;
            }
        }
    }
    Ok(())
}

/// Hands the workers' output on in frame order, then the seek table.
fn collect(outs: Vec<Receiver<Piece>>, tx: SyncSender<Batch>) -> Result<(), SetError> {
    let mut sizes = Vec::new();
    let mut k = 0usize;
    loop {
        let mut started = false;
        loop {
            match outs[k % outs.len()].recv() {
                Ok(Piece::Data(b)) => {
                    started |= b.len > 0;
                    if tx.send(b).is_err() {
                        return Ok(());
                    }
                }
                Ok(Piece::End(size)) => {
                    sizes.push(size);
                    break;
                }
                // That worker has no more frames: the stream ended, unless
                // it stopped inside one (its own error says why).
                Err(_) if started => return Err(failed("a frame", "it was left unfinished")),
                Err(_) => {
                    let table = zst::seek_table(&sizes);
                    let _ = tx.send(Batch {
                        len: table.len(),
                        data: table,
                        cut: false,
                    });
                    return Ok(());
                }
            }
        }
        k += 1;
    }
}
