//! Compressed sets (`.tar.zst`): the tar stream cut into independent zstd
//! frames of at most [`FRAME`] bytes each, followed by a seek table in
//! zstd's *seekable format* (a skippable frame that stock `zstd -d` passes
//! over). Any zstd tool opens the set as one stream; a reader that knows
//! the table decompresses only the frames a byte range of the tar touches.
//!
//! Everything read from a set is bounded before it is trusted: the table's
//! sizes (no frame larger than [`MAX_FRAME`], sums that match the file),
//! the window a frame may ask for, and every frame must decompress to
//! exactly the size the table gives (so a zstd bomb or a frame that lies
//! about its size stops with an error, never fills memory or a disk).

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

/// The writer's frame size (bytes of tar per frame). Measured on a
/// generated store: 8 MiB frames compress within 2 % of one whole stream
/// at level 3, 2 MiB frames 27 % worse, 1 MiB 53 % worse.
pub const FRAME: usize = 8 << 20;
/// Largest frame (bytes of tar) a reader accepts.
pub const MAX_FRAME: u64 = 16 << 20;
/// Most frames a reader accepts (16 TiB of tar at 16 MiB a frame; the
/// table then takes 16 MiB of memory).
pub const MAX_FRAMES: u32 = 1 << 20;
/// Largest back-reference window (log2) a frame may ask for: 8 MiB, what
/// level 19 uses on a frame of [`FRAME`] bytes.
pub const WINDOW_LOG_MAX: u32 = 23;
/// Levels the writer accepts.
pub const LEVELS: std::ops::RangeInclusive<i32> = 1..=19;

const SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
const FOOTER: u64 = 9;
/// Compressed bytes read from the set at a time.
const IN_CHUNK: usize = 128 << 10;

/// One frame's sizes, as the seek table records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSize {
    pub compressed: u32,
    pub plain: u32,
}

/// The seek table frame for `frames` (no checksums: the `.md5` file and
/// each frame's own XXH64 cover the bytes).
pub fn seek_table(frames: &[FrameSize]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + frames.len() * 8 + FOOTER as usize);
    out.extend_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
    out.extend_from_slice(&((frames.len() * 8) as u32 + FOOTER as u32).to_le_bytes());
    for f in frames {
        out.extend_from_slice(&f.compressed.to_le_bytes());
        out.extend_from_slice(&f.plain.to_le_bytes());
    }
    out.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    out.push(0);
    out.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
    out
}

/// Where every frame starts, compressed and plain (one more entry than
/// there are frames: the ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeekTable {
    compressed: Vec<u64>,
    plain: Vec<u64>,
}

fn bad(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl SeekTable {
    /// Reads the table at the end of a compressed stream and checks it
    /// against the stream's length.
    pub fn read(r: &mut (impl Read + Seek)) -> std::io::Result<SeekTable> {
        let total = r.seek(SeekFrom::End(0))?;
        if total < 8 + FOOTER {
            return Err(bad("too short for a compressed set".into()));
        }
        let mut footer = [0u8; FOOTER as usize];
        r.seek(SeekFrom::Start(total - FOOTER))?;
        r.read_exact(&mut footer)?;
        if le32(&footer[5..9]) != SEEKABLE_MAGIC {
            return Err(bad(
                "no zstd seek table at the end (not a compressed set, or cut short)".into(),
            ));
        }
        let n = le32(&footer[0..4]);
        let descriptor = footer[4];
        if descriptor & 0x7c != 0 {
            return Err(bad("the seek table uses reserved bits".into()));
        }
        let entry: u64 = if descriptor & 0x80 != 0 { 12 } else { 8 };
        if n == 0 || n > MAX_FRAMES {
            return Err(bad(format!(
                "the seek table lists {n} frames (1 to {MAX_FRAMES} allowed)"
            )));
        }
        let table_len = 8 + u64::from(n) * entry + FOOTER;
        if table_len > total {
            return Err(bad("the seek table is larger than the set".into()));
        }
        let data_len = total - table_len;
        r.seek(SeekFrom::Start(data_len))?;
        let mut head = [0u8; 8];
        r.read_exact(&mut head)?;
        if le32(&head[0..4]) != SKIPPABLE_MAGIC || u64::from(le32(&head[4..8])) != table_len - 8 {
            return Err(bad("the seek table's frame header is wrong".into()));
        }
        let mut entries = std::io::BufReader::with_capacity(64 << 10, r.take(table_len - 8));
        let mut table = SeekTable {
            compressed: Vec::with_capacity(n as usize + 1),
            plain: Vec::with_capacity(n as usize + 1),
        };
        let (mut c, mut p) = (0u64, 0u64);
        let mut e = [0u8; 12];
        for k in 0..n {
            entries.read_exact(&mut e[..entry as usize])?;
            let (cs, ps) = (u64::from(le32(&e[0..4])), u64::from(le32(&e[4..8])));
            if cs == 0 || ps == 0 || ps > MAX_FRAME {
                return Err(bad(format!(
                    "frame {k} has {cs} compressed and {ps} plain bytes (1 to {MAX_FRAME} allowed)"
                )));
            }
            if cs > zstd::compress_bound(MAX_FRAME as usize) as u64 {
                return Err(bad(format!("frame {k} is larger than any frame can be")));
            }
            table.compressed.push(c);
            table.plain.push(p);
            c += cs;
            p += ps;
        }
        if c != data_len {
            return Err(bad(format!(
                "the seek table counts {c} compressed bytes but the set holds {data_len}"
            )));
        }
        table.compressed.push(c);
        table.plain.push(p);
        Ok(table)
    }

    /// Bytes of the stream once decompressed.
    pub fn plain_len(&self) -> u64 {
        self.plain.last().copied().unwrap_or(0)
    }

    /// Bytes of compressed frames (without the table).
    pub fn compressed_len(&self) -> u64 {
        self.compressed.last().copied().unwrap_or(0)
    }

    /// Each frame's sizes, in order.
    pub fn sizes(&self) -> Vec<FrameSize> {
        (0..self.frames())
            .map(|k| FrameSize {
                compressed: (self.compressed[k + 1] - self.compressed[k]) as u32,
                plain: (self.plain[k + 1] - self.plain[k]) as u32,
            })
            .collect()
    }

    pub fn frames(&self) -> usize {
        self.plain.len().saturating_sub(1)
    }

    /// The frame that holds plain offset `pos` (`frames()` at or past the end).
    pub fn frame_of(&self, pos: u64) -> usize {
        // The last start not after pos.
        self.plain.partition_point(|&s| s <= pos).saturating_sub(1)
    }

    /// The compressed bytes a reader of the plain range `plain` decompresses:
    /// the frames that range touches.
    pub fn compressed_range(&self, plain: std::ops::Range<u64>) -> std::ops::Range<u64> {
        let first = self.frame_of(plain.start).min(self.frames());
        let last = if plain.end == 0 {
            first
        } else {
            (self.frame_of(plain.end - 1) + 1).min(self.frames())
        };
        self.compressed[first]..self.compressed[last.max(first)]
    }
}

/// Decompresses frames in order from a reader positioned at a frame's
/// start, checking each against the table.
pub struct Frames<R> {
    inner: R,
    table: Arc<SeekTable>,
    frame: usize,
    /// Plain offset of the next byte out.
    pos: u64,
    dctx: Decoder<'static>,
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    /// Compressed bytes of the current frame not yet read from `inner`.
    in_left: u64,
    /// The decoder saw the current frame's end (and its checksum match).
    done: bool,
}

impl<R: Read> Frames<R> {
    /// Reads from frame 0 (`inner` at the stream's start).
    pub fn new(inner: R, table: Arc<SeekTable>) -> std::io::Result<Frames<R>> {
        let mut dctx = Decoder::new()?;
        dctx.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))?;
        let mut f = Frames {
            inner,
            table,
            frame: 0,
            pos: 0,
            dctx,
            input: vec![0u8; IN_CHUNK].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            in_left: 0,
            done: false,
        };
        f.start_frame(0)?;
        Ok(f)
    }

    /// The reader underneath, positioned after what was read of it.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn start_frame(&mut self, k: usize) -> std::io::Result<()> {
        self.dctx.reinit()?;
        self.frame = k;
        self.pos = self.table.plain[k];
        self.in_pos = 0;
        self.in_len = 0;
        self.done = false;
        self.in_left = if k < self.table.frames() {
            self.table.compressed[k + 1] - self.table.compressed[k]
        } else {
            0
        };
        Ok(())
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let want = self.input.len().min(self.in_left as usize);
        let n = loop {
            match self.inner.read(&mut self.input[..want]) {
                Ok(0) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the compressed set is shorter than its seek table says",
                    ));
                }
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.in_pos = 0;
        self.in_len = n;
        self.in_left -= n as u64;
        Ok(())
    }

    /// Runs the decoder once over what input is there into `out`; returns
    /// (bytes out, zstd's hint: 0 once the frame is complete and its
    /// checksum matched).
    fn step(&mut self, out: &mut [u8]) -> std::io::Result<(usize, usize)> {
        if self.in_pos == self.in_len && self.in_left > 0 {
            self.refill()?;
        }
        let mut i = InBuffer::around(&self.input[self.in_pos..self.in_len]);
        let mut o = OutBuffer::around(out);
        let hint = self
            .dctx
            .run(&mut i, &mut o)
            .map_err(|e| bad(format!("frame {}: {e}", self.frame)))?;
        self.in_pos += i.pos();
        self.done = hint == 0;
        Ok((o.pos(), hint))
    }

    fn input_done(&self) -> bool {
        self.in_pos == self.in_len && self.in_left == 0
    }

    /// At a frame's plain end: the frame must end there (checksum
    /// included) and use exactly the compressed bytes the table gives.
    fn end_frame(&mut self) -> std::io::Result<()> {
        let k = self.frame;
        let mut one = [0u8; 1];
        while !self.done {
            let before = (self.in_pos, self.in_left);
            let (n, hint) = self.step(&mut one)?;
            if n > 0 {
                return Err(bad(format!(
                    "frame {k} holds more than the {} bytes its table gives",
                    self.table.plain[k + 1] - self.table.plain[k]
                )));
            }
            if hint != 0 && (self.input_done() || (self.in_pos, self.in_left) == before) {
                return Err(bad(format!("frame {k} is cut short")));
            }
        }
        if !self.input_done() {
            return Err(bad(format!(
                "frame {k} is followed by bytes its table does not count"
            )));
        }
        self.start_frame(k + 1)
    }
}

impl<R: Read> Read for Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.frame >= self.table.frames() || buf.is_empty() {
            return Ok(0);
        }
        let end = self.table.plain[self.frame + 1];
        let want = buf
            .len()
            .min((end - self.pos).min(usize::MAX as u64) as usize);
        loop {
            if self.done {
                return Err(bad(format!(
                    "frame {} ends before the {} bytes its table gives",
                    self.frame,
                    end - self.table.plain[self.frame]
                )));
            }
            let before = (self.in_pos, self.in_left);
            let (n, hint) = self.step(&mut buf[..want])?;
            if n > 0 {
                self.pos += n as u64;
                if self.pos == end {
                    self.end_frame()?;
                }
                return Ok(n);
            }
            if hint == 0 {
                continue;
            }
            if self.input_done() || (self.in_pos, self.in_left) == before {
                return Err(bad(format!("frame {} is cut short", self.frame)));
            }
        }
    }
}

/// A compressed stream read with seeking: only the frames a read touches
/// are decompressed (from their start up to what is wanted).
pub struct Unzstd<R> {
    frames: Frames<R>,
    /// Where the next read is.
    pos: u64,
    /// Whether `frames` must be moved before reading at `pos`.
    fresh: bool,
}

impl<R: Read + Seek> Unzstd<R> {
    pub fn new(inner: R, table: Arc<SeekTable>) -> std::io::Result<Unzstd<R>> {
        Ok(Unzstd {
            frames: Frames::new(inner, table)?,
            pos: 0,
            fresh: true,
        })
    }

    pub fn table(&self) -> &SeekTable {
        &self.frames.table
    }

    /// Puts the decoder at `self.pos`: at the start of its frame if it is
    /// behind or in another frame, then decompresses up to it.
    fn position(&mut self) -> std::io::Result<()> {
        let f = &mut self.frames;
        let k = f.table.frame_of(self.pos);
        if self.fresh || f.pos > self.pos || f.frame != k {
            let at = f.table.compressed.get(k).copied().unwrap_or(0);
            f.inner.seek(SeekFrom::Start(at))?;
            f.start_frame(k.min(f.table.frames()))?;
            self.fresh = false;
        }
        let mut scratch = [0u8; 16 << 10];
        while f.pos < self.pos {
            let want = scratch.len().min((self.pos - f.pos) as usize);
            if f.read(&mut scratch[..want])? == 0 {
                break;
            }
        }
        Ok(())
    }
}

impl<R: Read + Seek> Read for Unzstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.frames.table.plain_len() {
            return Ok(0);
        }
        if self.fresh || self.frames.pos != self.pos {
            self.position()?;
        }
        let n = self.frames.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Unzstd<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let new = crate::seekpos::target(to, self.pos, self.frames.table.plain_len())?;
        self.pos = new;
        Ok(new)
    }
}

/// The plain start of a compressed stream read front to back without its
/// table (a first volume whose set was never finished): at most `max`
/// bytes, through a decoder with the same window bound.
pub fn head(inner: impl Read, max: usize) -> std::io::Result<Vec<u8>> {
    let mut d = zstd::stream::read::Decoder::new(inner)?;
    d.window_log_max(WINDOW_LOG_MAX)?;
    let mut out = vec![0u8; max];
    let mut got = 0;
    while got < max {
        match d.read(&mut out[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A first volume may end inside a frame: what came before counts.
            Err(_) if got > 0 => break,
            Err(e) => return Err(e),
        }
    }
    out.truncate(got);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// `data` compressed as the writer does: frames of `frame` bytes, then the table.
    fn compress(data: &[u8], frame: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut sizes = Vec::new();
        for chunk in data.chunks(frame) {
            let mut e = zstd::bulk::Compressor::new(3).expect("cctx");
            e.include_checksum(true).expect("checksum");
            let c = e.compress(chunk).expect("compresses");
            sizes.push(FrameSize {
                compressed: c.len() as u32,
                plain: chunk.len() as u32,
            });
            out.extend(c);
        }
        out.extend(seek_table(&sizes));
        out
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] % 7 + b'a')
            .collect()
    }

    fn open(z: &[u8]) -> std::io::Result<Unzstd<Cursor<&[u8]>>> {
        let mut c = Cursor::new(z);
        let t = SeekTable::read(&mut c)?;
        Unzstd::new(c, Arc::new(t))
    }

    #[test]
    fn reads_whole_and_at_any_offset_and_the_zstd_tool_agrees() {
        let data = sample(300_000);
        let z = compress(&data, 64 << 10);
        let mut u = open(&z).expect("opens");
        assert_eq!(u.table().frames(), 5);
        assert_eq!(u.table().plain_len(), data.len() as u64);
        let mut all = Vec::new();
        u.read_to_end(&mut all).expect("reads");
        assert_eq!(all, data);
        for at in [0u64, 1, 65_535, 65_536, 65_537, 200_000, 299_999] {
            u.seek(SeekFrom::Start(at)).expect("seeks");
            let mut b = vec![0u8; 70_000.min(data.len() - at as usize)];
            u.read_exact(&mut b).expect("reads");
            assert_eq!(b, data[at as usize..at as usize + b.len()], "at {at}");
        }
        // Backwards, then forwards within one frame.
        u.seek(SeekFrom::Start(100)).expect("seeks");
        let mut b = [0u8; 10];
        u.read_exact(&mut b).expect("reads");
        assert_eq!(b, data[100..110]);
        // The stock tool reads the frames and skips the table.
        let tool = std::process::Command::new("zstd")
            .args(["-dc", "-q"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn();
        if let Ok(mut child) = tool {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            let zz = z.clone();
            let t = std::thread::spawn(move || stdin.write_all(&zz));
            let out = child.wait_with_output().expect("zstd runs");
            t.join().expect("joins").expect("written");
            assert!(out.status.success());
            assert_eq!(out.stdout, data);
        } else {
            panic!("the zstd program is needed for this test (Debian package zstd)");
        }
    }

    #[test]
    fn the_sequential_reader_checks_every_frame() {
        let data = sample(200_000);
        let z = compress(&data, 50_000);
        let t = Arc::new(SeekTable::read(&mut Cursor::new(&z[..])).expect("table"));
        let mut f = Frames::new(&z[..], t).expect("frames");
        let mut all = Vec::new();
        f.read_to_end(&mut all).expect("reads");
        assert_eq!(all, data);
    }

    fn read_all(z: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut all = Vec::new();
        open(z)?.read_to_end(&mut all)?;
        Ok(all)
    }

    fn table_with(z: &[u8], frames: usize, f: impl Fn(&mut [FrameSize])) -> Vec<u8> {
        let t = SeekTable::read(&mut Cursor::new(z)).expect("table");
        let mut sizes: Vec<FrameSize> = (0..frames)
            .map(|k| FrameSize {
                compressed: (t.compressed[k + 1] - t.compressed[k]) as u32,
                plain: (t.plain[k + 1] - t.plain[k]) as u32,
            })
            .collect();
        f(&mut sizes);
        let mut out = z[..t.compressed_len() as usize].to_vec();
        out.extend(seek_table(&sizes));
        out
    }

    #[test]
    fn a_zstd_bomb_is_refused_before_it_grows() {
        // One frame of 1 GiB of zeros (a few KiB compressed) that the
        // table calls 1 MiB: decompression stops at the table's size.
        let zeros = vec![0u8; 16 << 20];
        let mut frame = Vec::new();
        {
            let mut w = zstd::stream::write::Encoder::new(&mut frame, 3).expect("enc");
            for _ in 0..64 {
                std::io::Write::write_all(&mut w, &zeros).expect("writes");
            }
            w.finish().expect("ends");
        }
        let mut z = frame.clone();
        z.extend(seek_table(&[FrameSize {
            compressed: frame.len() as u32,
            plain: 1 << 20,
        }]));
        let err = read_all(&z).expect_err("refused");
        assert!(err.to_string().contains("holds more than"), "{err}");
        // A table that tells the truth is refused for the frame's size.
        let mut z = frame.clone();
        z.extend(seek_table(&[FrameSize {
            compressed: frame.len() as u32,
            plain: u32::MAX,
        }]));
        let err = read_all(&z).expect_err("refused");
        assert!(err.to_string().contains("allowed"), "{err}");
    }

    #[test]
    fn a_frame_that_lies_about_its_size_is_refused() {
        let data = sample(100_000);
        let z = compress(&data, 40_000);
        // Says fewer plain bytes than it holds.
        let lie = table_with(&z, 3, |s| s[1].plain -= 1);
        assert!(
            read_all(&lie)
                .expect_err("refused")
                .to_string()
                .contains("holds more")
        );
        // Says more.
        let lie = table_with(&z, 3, |s| s[1].plain += 1);
        assert!(
            read_all(&lie)
                .expect_err("refused")
                .to_string()
                .contains("ends before")
        );
        // Compressed sizes shifted between two frames.
        let lie = table_with(&z, 3, |s| {
            s[0].compressed += 1;
            s[1].compressed -= 1;
        });
        assert!(read_all(&lie).is_err());
        // Sums that do not match the file.
        let lie = table_with(&z, 3, |s| s[2].compressed += 1);
        let err = read_all(&lie).expect_err("refused").to_string();
        assert!(err.contains("counts"), "{err}");
    }

    #[test]
    fn damage_is_found_by_the_frame_checksum_and_junk_is_refused() {
        let data = sample(100_000);
        let mut z = compress(&data, 40_000);
        z[60] ^= 0x55;
        assert!(read_all(&z).is_err());
        for junk in [&b""[..], b"short", &[0u8; 64], &data[..4096]] {
            assert!(open(junk).is_err());
        }
        // A cut-short set has no table.
        let z = compress(&data, 40_000);
        let err = open(&z[..z.len() - 5]).err().expect("refused").to_string();
        assert!(err.contains("no zstd seek table"), "{err}");
    }

    #[test]
    fn compressed_ranges_cover_the_frames_touched() {
        let data = sample(100_000);
        let z = compress(&data, 40_000);
        let t = SeekTable::read(&mut Cursor::new(&z[..])).expect("table");
        assert_eq!(t.frame_of(0), 0);
        assert_eq!(t.frame_of(39_999), 0);
        assert_eq!(t.frame_of(40_000), 1);
        assert_eq!(t.frame_of(100_000), 3);
        let r = t.compressed_range(40_000..40_001);
        assert_eq!(r, t.compressed[1]..t.compressed[2]);
        let r = t.compressed_range(0..100_000);
        assert_eq!(r, 0..t.compressed_len());
    }

    #[test]
    fn head_reads_the_start_without_a_table() {
        let data = sample(100_000);
        let z = compress(&data, 40_000);
        let h = head(&z[..50], 10);
        assert!(h.is_err() || h.as_ref().is_ok_and(|h| h.len() <= 10));
        assert_eq!(head(&z[..], 1000).expect("reads"), data[..1000]);
    }
}
