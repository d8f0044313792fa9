//! The free-space floor of uploads. `restore` lives on the data partition
//! beside the mail store, so an upload stops before the partition's free
//! space would drop below a floor the mail keeps: 5 % of the partition or
//! 1 GiB, whichever is smaller (a small partition keeps a share, a large one
//! a day or more of mail). Free space is what `df` shows as available (the
//! blocks ext4 reserves for root come on top).

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// The floor as a share of the partition, in percent...
pub const FLOOR_PERCENT: u64 = 5;
/// ...but never more than this.
pub const FLOOR_MAX: u64 = 1 << 30;

/// The floor for a partition of `total` bytes.
pub fn floor_for(total: u64) -> u64 {
    let share = u128::from(total) * u128::from(FLOOR_PERCENT) / 100;
    u64::try_from(share).unwrap_or(u64::MAX).min(FLOOR_MAX)
}

/// The partition holding a folder: its size and what is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub total: u64,
    pub available: u64,
}

impl Space {
    pub fn of(dir: &Path) -> io::Result<Space> {
        let s = nix::sys::statvfs::statvfs(dir).map_err(io::Error::from)?;
        let unit = s.fragment_size() as u64;
        Ok(Space {
            total: (s.blocks() as u64).saturating_mul(unit),
            available: (s.blocks_available() as u64).saturating_mul(unit),
        })
    }

    pub fn floor(&self) -> u64 {
        floor_for(self.total)
    }

    /// Whether `incoming` more bytes keep the floor.
    pub fn keeps_floor(&self, incoming: u64) -> bool {
        self.available >= self.floor().saturating_add(incoming)
    }
}

/// An upload that would go below the floor (carried inside an
/// `io::Error` so it travels through the transfer code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the data partition would go below the {} kept free for the mail store", size(*.floor))]
pub struct FloorReached {
    pub floor: u64,
}

impl FloorReached {
    /// The floor reached, when `e` says that.
    pub fn in_error(e: &io::Error) -> Option<FloorReached> {
        e.get_ref()?.downcast_ref::<FloorReached>().copied()
    }
}

/// A size for people: whole MiB from 1 MiB up, else KiB.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes.div_ceil(1 << 10))
    }
}

/// Whether an upload of `incoming` bytes may start (or go on) in `dir`.
pub fn check(dir: &Path, incoming: u64) -> io::Result<()> {
    let space = Space::of(dir)?;
    if space.keeps_floor(incoming) {
        Ok(())
    } else {
        Err(io::Error::other(FloorReached {
            floor: space.floor(),
        }))
    }
}

/// The `452` reply of an upload refused for space.
pub fn refusal(dir: &Path) -> String {
    let floor = Space::of(dir).map(|s| s.floor()).unwrap_or(FLOOR_MAX);
    format!(
        "Insufficient storage space: the appliance keeps {} free for the mail store",
        size(floor)
    )
}

/// A writer that refuses each write that would take the partition below
/// the floor (checked before every write: `statvfs` is cheap beside the
/// 256 KiB written each time).
#[derive(Debug)]
pub struct Guarded<W> {
    inner: W,
    dir: PathBuf,
}

impl<W> Guarded<W> {
    pub fn new(inner: W, dir: PathBuf) -> Guarded<W> {
        Guarded { inner, dir }
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Guarded<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = check(&self.dir, buf.len() as u64) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor() {
        assert_eq!(floor_for(1 << 20), 52_428);
        assert_eq!(floor_for(10 << 30), 512 << 20);
        assert_eq!(floor_for(100 << 30), FLOOR_MAX);
        let s = Space {
            total: 100 << 20,
            available: 10 << 20,
        };
        assert!(s.keeps_floor(5 << 20));
        assert!(!s.keeps_floor(6 << 20));
        assert_eq!(size(5 << 20), "5 MiB");
        assert_eq!(size(52_428), "52 KiB");
        let e = io::Error::other(FloorReached { floor: 5 << 20 });
        assert_eq!(
            FloorReached::in_error(&e),
            Some(FloorReached { floor: 5 << 20 })
        );
        assert_eq!(
            e.to_string(),
            "the data partition would go below the 5 MiB kept free for the mail store"
        );
        assert!(Space::of(Path::new("/")).expect("statvfs").total > 0);
    }
}
