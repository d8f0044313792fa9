//! A differential walks beside the state of the last full: an entry the
//! same as there is not stored, an entry there but no longer in the tree is
//! recorded as deleted. A full records the state the next one compares with.

use super::Scanner;
use crate::error::SetError;
use crate::state::{StateEntry, walk_order};
use std::cmp::Ordering;
use std::io::Write;

impl Scanner<'_> {
    pub(super) fn record_state(&mut self, e: &StateEntry) -> Result<(), SetError> {
        if let Some(s) = self.state_out.as_mut() {
            s.push(e)?;
        }
        Ok(())
    }

    pub(super) fn base_peek(&mut self) -> Result<Option<&StateEntry>, SetError> {
        if self.base_next.is_none()
            && let Some(r) = self.base.as_mut()
        {
            self.base_next = r.next_entry()?;
        }
        Ok(self.base_next.as_ref())
    }

    pub(super) fn record_deleted(&mut self, e: &StateEntry) -> Result<(), SetError> {
        if let Some(p) = &self.deleted_prefix
            && e.path.len() > p.len()
            && e.path.starts_with(p.as_str())
            && e.path.as_bytes()[p.len()] == b'/'
        {
            return Ok(());
        }
        writeln!(self.deleted, "{}", crate::escape::escape(&e.path))
            .map_err(|err| SetError::io(&self.opts.state_dir, err))?;
        self.summary.deleted_entries += 1;
        self.deleted_prefix = (e.kind == 'd').then(|| e.path.clone());
        Ok(())
    }

    /// Moves the base state up to `rel`: entries before it are gone from the
    /// tree (recorded as deleted); the entry at `rel`, if any, is returned.
    pub(super) fn base_at(&mut self, rel: &str) -> Result<Option<StateEntry>, SetError> {
        loop {
            let Some(next) = self.base_peek()? else {
                return Ok(None);
            };
            match walk_order(&next.path, rel) {
                Ordering::Less => {
                    let e = self.base_next.take();
                    if let Some(e) = e {
                        self.record_deleted(&e)?;
                    }
                }
                Ordering::Equal => return Ok(self.base_next.take()),
                Ordering::Greater => return Ok(None),
            }
        }
    }

    /// Passes over `rel` and everything under it in the base without
    /// recording deletions (it exists but could not be read).
    pub(super) fn base_skip(&mut self, rel: &str) -> Result<(), SetError> {
        self.base_at(rel)?;
        let prefix = format!("{rel}/");
        while let Some(next) = self.base_peek()? {
            if !next.path.starts_with(&prefix) {
                break;
            }
            self.base_next = None;
        }
        Ok(())
    }

    pub(super) fn differential(&self) -> bool {
        self.base.is_some()
    }
}
