//! The body window: a message older than the window is stored as its
//! header section only (see [`crate::window`]), so a set stays small while
//! recent mail is whole.

use super::Scanner;
use crate::error::SetError;
use crate::state::StateEntry;
use crate::window;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

impl Scanner<'_> {
    /// An old message outside the body window: stored as its headers
    /// only. Returns whether it was; if not, `f` is back at its start.
    pub(super) fn stored_headers_only(
        &mut self,
        f: &mut File,
        abs: &Path,
        rel: &str,
        md: &fs::Metadata,
        entry: &StateEntry,
    ) -> Result<bool, SetError> {
        let window = u64::from(self.opts.body_window_hours) * 3600;
        if window == 0
            || md.mtime() >= self.opts.started - window as i64
            || !window::is_windowed_message(rel)
        {
            return Ok(false);
        }
        if let Some(stored) = self.read_headers(f, abs, md.len())? {
            self.record_state(entry)?;
            self.open_pending_dirs()?;
            self.file_from_memory(rel, md, md.mode(), &stored)?;
            self.count_file(stored.len() as u64, true);
            return Ok(true);
        }
        f.seek(SeekFrom::Start(0))
            .map_err(|e| SetError::io(abs, e))?;
        Ok(false)
    }

    /// Reads the header section of an old message and returns its stored
    /// form, or `None` if it has no header section to keep (stored whole).
    pub(super) fn read_headers(
        &mut self,
        f: &mut File,
        abs: &Path,
        size: u64,
    ) -> Result<Option<Vec<u8>>, SetError> {
        let mut head = Vec::with_capacity(16 << 10);
        let mut chunk = [0u8; 16 << 10];
        loop {
            let n = match f.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SetError::io(abs, e)),
            };
            if n == 0 {
                return Ok(None);
            }
            let from = head.len().saturating_sub(3);
            head.extend_from_slice(&chunk[..n]);
            if let Some(len) = window::header_len(&head[from..]) {
                let len = from + len;
                if len as u64 >= size {
                    // Nothing after the headers: nothing to leave out.
                    return Ok(None);
                }
                return Ok(Some(window::headers_only(
                    &head[..len],
                    size,
                    self.opts.body_window_hours,
                )));
            }
            if head.len() >= window::MAX_HEADER {
                return Ok(None);
            }
        }
    }
}
