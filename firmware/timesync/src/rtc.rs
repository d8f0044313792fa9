//! Writing the hardware clock (what `hwclock -w -u` did), from inside the
//! service: timesyncd runs as its own user with only CAP_SYS_TIME, which
//! `RTC_SET_TIME` needs, so it neither starts a program (which would need
//! the capability passed on as an ambient one) nor needs root's access to
//! the device node. While still root at start, [`share_with`] lets the
//! service's group open the RTC read-only (enough for the ioctl).

use nix::sys::time::TimeValLike;
use nix::time::{ClockId, clock_gettime};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where the kernel's RTC is (devtmpfs makes `rtc0`).
pub const DEVICES: [&str; 2] = ["/dev/rtc0", "/dev/rtc"];

/// The first RTC device present.
pub fn device() -> Option<PathBuf> {
    DEVICES.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Gives `dev` the group `gid` and mode 0640 (run as root).
pub fn share_with(dev: &Path, gid: u32) -> std::io::Result<()> {
    let real = std::fs::canonicalize(dev)?;
    std::os::unix::fs::chown(&real, Some(0), Some(gid))?;
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640))
}

/// `struct rtc_time` of `<linux/rtc.h>`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RtcTime {
    pub tm_sec: i32,
    pub tm_min: i32,
    pub tm_hour: i32,
    pub tm_mday: i32,
    pub tm_mon: i32,
    pub tm_year: i32,
    pub tm_wday: i32,
    pub tm_yday: i32,
    pub tm_isdst: i32,
}

nix::ioctl_write_ptr!(rtc_set_time, b'p', 0x0a, RtcTime);

/// The broken-down UTC time of `secs` after the epoch.
pub fn utc(secs: i64) -> RtcTime {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = BEFORE[(month - 1) as usize] + day - 1 + i64::from(leap && month > 2);
    RtcTime {
        tm_sec: (rem % 60) as i32,
        tm_min: (rem / 60 % 60) as i32,
        tm_hour: (rem / 3600) as i32,
        tm_mday: day as i32,
        tm_mon: (month - 1) as i32,
        tm_year: (year - 1900) as i32,
        tm_wday: (days + 4).rem_euclid(7) as i32,
        tm_yday: yday as i32,
        tm_isdst: 0,
    }
}

/// Sets the RTC at `dev` to the system clock (UTC), on a second's edge.
pub fn write(dev: &Path) -> Result<(), String> {
    let f = std::fs::File::open(dev).map_err(|e| format!("{}: {e}", dev.display()))?;
    let now = clock_gettime(ClockId::CLOCK_REALTIME).map_err(|e| e.to_string())?;
    let into = now.num_nanoseconds().rem_euclid(1_000_000_000);
    std::thread::sleep(std::time::Duration::from_nanos(
        (1_000_000_000 - into) as u64,
    ));
    let t = utc(now.tv_sec() + 1);
    use std::os::fd::AsRawFd;
    // SAFETY: the ioctl reads one struct rtc_time.
    unsafe { rtc_set_time(f.as_raw_fd(), &t) }
        .map(drop)
        .map_err(|e| format!("{}: RTC_SET_TIME: {e}", dev.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_down_like_gmtime() {
        for secs in [
            0i64,
            951_782_400,
            1_709_208_000,
            1_767_225_599,
            4_102_444_800,
            1_234_567_890,
        ] {
            let mut tm: nix::libc::tm = unsafe { std::mem::zeroed() };
            // SAFETY: gmtime_r fills `tm`.
            unsafe { nix::libc::gmtime_r(&secs, &mut tm) };
            let want = RtcTime {
                tm_sec: tm.tm_sec,
                tm_min: tm.tm_min,
                tm_hour: tm.tm_hour,
                tm_mday: tm.tm_mday,
                tm_mon: tm.tm_mon,
                tm_year: tm.tm_year,
                tm_wday: tm.tm_wday,
                tm_yday: tm.tm_yday,
                tm_isdst: 0,
            };
            assert_eq!(utc(secs), want, "{secs}");
        }
    }
}
