//! Where a seek lands in a stream of known length that is read through
//! pieces (volumes, compressed frames).

use std::io::{Error, ErrorKind, SeekFrom};

/// The position `to` asks for, from `pos` in a stream of `len` bytes; a
/// position before the start is refused (one past the end is allowed, as
/// for files).
pub(crate) fn target(to: SeekFrom, pos: u64, len: u64) -> std::io::Result<u64> {
    match to {
        SeekFrom::Start(p) => Some(p),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
    }
    .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "seek before the start"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_each_end() {
        assert_eq!(target(SeekFrom::Start(7), 3, 10).ok(), Some(7));
        assert_eq!(target(SeekFrom::End(-2), 3, 10).ok(), Some(8));
        assert_eq!(target(SeekFrom::Current(4), 3, 10).ok(), Some(7));
        assert_eq!(target(SeekFrom::End(5), 3, 10).ok(), Some(15));
        let err = target(SeekFrom::Current(-4), 3, 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
