//! Deciding and applying a correction: far off is stepped at once (a
//! backup must never be named by a wrong date for hours of slewing), close
//! is slewed so that time never runs backwards in small steps.

use nix::sys::time::TimeSpec;
use nix::time::{ClockId, clock_gettime, clock_settime};

/// Offsets at least this large are stepped; smaller ones slewed.
pub const STEP_THRESHOLD: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjustment {
    /// Set the clock to now + offset.
    Step(f64),
    /// Let the kernel run the clock slightly fast or slow until the offset is gone.
    Slew(f64),
}

pub fn decide(offset: f64) -> Adjustment {
    if offset.abs() >= STEP_THRESHOLD {
        Adjustment::Step(offset)
    } else {
        Adjustment::Slew(offset)
    }
}

/// Applies a correction to the system clock (needs CAP_SYS_TIME).
pub fn adjust(a: Adjustment) -> nix::Result<()> {
    match a {
        Adjustment::Step(offset) => {
            let now = clock_gettime(ClockId::CLOCK_REALTIME)?;
            let nanos = (now.tv_sec() as i128) * 1_000_000_000
                + now.tv_nsec() as i128
                + (offset * 1e9) as i128;
            let ts = TimeSpec::new(
                nanos.div_euclid(1_000_000_000) as i64,
                nanos.rem_euclid(1_000_000_000) as i64,
            );
            clock_settime(ClockId::CLOCK_REALTIME, ts)
        }
        Adjustment::Slew(offset) => {
            let micros = (offset * 1e6) as i64;
            let delta = nix::libc::timeval {
                tv_sec: micros.div_euclid(1_000_000),
                tv_usec: micros.rem_euclid(1_000_000),
            };
            // SAFETY: adjtime reads `delta` and may write the old one, which we do not ask for.
            let r = unsafe { nix::libc::adjtime(&delta, std::ptr::null_mut()) };
            nix::errno::Errno::result(r).map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_or_slew() {
        assert_eq!(decide(86_400.0), Adjustment::Step(86_400.0));
        assert_eq!(decide(-3.0), Adjustment::Step(-3.0));
        assert_eq!(decide(0.2), Adjustment::Slew(0.2));
        assert_eq!(decide(-0.49), Adjustment::Slew(-0.49));
    }
}
