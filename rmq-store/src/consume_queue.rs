//! Consume queues: per (topic, queue id), a dense array of 20-byte entries
//! (commit-log offset, record size, tag code) indexed by logical offset.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::Result;
use crate::mapped_file::{MappedFile, MappedFileQueue, Readahead};

/// Bytes per entry.
pub(crate) const CQ_ENTRY_SIZE: u64 = 20;

/// One consume-queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    /// Commit-log offset of the record.
    pub phys_offset: i64,
    /// Record size in bytes.
    pub size: i32,
    /// Tag code (Java hash of the tag, 0 when none).
    pub tag_code: i64,
}

impl CqEntry {
    fn decode(b: &[u8]) -> Option<CqEntry> {
        Some(CqEntry {
            phys_offset: i64::from_be_bytes(b.get(0..8)?.try_into().ok()?),
            size: i32::from_be_bytes(b.get(8..12)?.try_into().ok()?),
            tag_code: i64::from_be_bytes(b.get(12..20)?.try_into().ok()?),
        })
    }

    /// A zero entry is a hole (never written).
    pub(crate) fn is_hole(&self) -> bool {
        self.size <= 0
    }
}

/// A consume queue.
pub(crate) struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    files: MappedFileQueue,
    /// Lowest logical offset still readable.
    min_logic: AtomicU64,
}

impl ConsumeQueue {
    /// Opens (or creates the directory of) the queue, positions unknown until [`Self::recover`].
    pub(crate) fn open(
        root: &Path,
        topic: &str,
        queue_id: i32,
        file_size: u64,
        preallocate: bool,
    ) -> Result<Self> {
        let dir = root.join(topic).join(queue_id.to_string());
        let files = MappedFileQueue::load(&dir, file_size, preallocate, Readahead::OnlyWritten)?;
        Ok(ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            files,
            min_logic: AtomicU64::new(0),
        })
    }

    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    pub(crate) fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Finds the last non-empty entry and sets positions accordingly.
    pub(crate) fn recover(&self) -> Result<()> {
        let files = self.files.files();
        let mut end_byte: Option<u64> = None;
        for f in files.iter().rev() {
            let n = f.size() / CQ_ENTRY_SIZE;
            for i in (0..n).rev() {
                let Some(bytes) = f.bytes(i * CQ_ENTRY_SIZE, CQ_ENTRY_SIZE) else {
                    continue;
                };
                if bytes.iter().any(|b| *b != 0) {
                    end_byte = Some(f.start() + (i + 1) * CQ_ENTRY_SIZE);
                    break;
                }
            }
            if end_byte.is_some() {
                break;
            }
        }
        let end = end_byte.unwrap_or_else(|| self.files.min_offset());
        for f in &files {
            let wrote = end.saturating_sub(f.start()).min(f.size());
            // Entries a killed process left may be in the page cache only: the first flush
            // syncs them all before a checkpoint vouches for them.
            f.set_wrote(wrote);
            f.set_flushed(0);
        }
        self.files.truncate(end)?;
        self.min_logic
            .store(self.files.min_offset() / CQ_ENTRY_SIZE, Ordering::Release);
        Ok(())
    }

    /// Drops tail entries that point at or past `commit_log_end` (or are holes), as a crash may
    /// leave them. Returns how many were dropped.
    pub(crate) fn truncate_dirty(&self, commit_log_end: i64) -> Result<u64> {
        let mut max = self.max_offset();
        let min = self.min_offset();
        let mut dropped = 0;
        while max > min {
            match self.entry(max - 1) {
                Some(e) if !e.is_hole() && e.phys_offset + i64::from(e.size) <= commit_log_end => {
                    break
                }
                _ => {
                    max -= 1;
                    dropped += 1;
                }
            }
        }
        if dropped > 0 {
            self.files.truncate(max * CQ_ENTRY_SIZE)?;
        }
        Ok(dropped)
    }

    /// Writes the entry for logical offset `logic` (idempotent: re-dispatch rewrites the same bytes).
    /// Only the store's writer calls this.
    pub(crate) fn put(&self, logic: u64, e: CqEntry) -> Result<()> {
        let byte = logic * CQ_ENTRY_SIZE;
        if byte < self.files.min_offset() && !self.files.is_empty() {
            return Ok(()); // already expired
        }
        let f = self.files.file_for_write(byte)?;
        let rel = byte - f.start();
        let mut buf = [0u8; 20];
        buf[0..8].copy_from_slice(&e.phys_offset.to_be_bytes());
        buf[8..12].copy_from_slice(&e.size.to_be_bytes());
        buf[12..20].copy_from_slice(&e.tag_code.to_be_bytes());
        if rel > f.wrote() {
            tracing::warn!(
                "consume queue {}/{}: hole before logical offset {} (wrote up to {})",
                self.topic,
                self.queue_id,
                logic,
                (f.start() + f.wrote()) / CQ_ENTRY_SIZE
            );
        }
        // SAFETY: single writer; readers only look below `wrote`, and a re-dispatch of an existing
        // entry (recovery only, before readers exist) writes identical bytes.
        if let Some(dst) = unsafe { f.bytes_mut(rel, CQ_ENTRY_SIZE) } {
            dst.copy_from_slice(&buf);
        }
        if rel + CQ_ENTRY_SIZE > f.wrote() {
            f.set_wrote(rel + CQ_ENTRY_SIZE);
        }
        Ok(())
    }

    /// Drops every entry at or after logical offset `max` (an append that failed half way).
    pub(crate) fn cut(&self, max: u64) -> Result<()> {
        if max < self.max_offset() {
            self.files.truncate(max * CQ_ENTRY_SIZE)?;
        }
        Ok(())
    }

    /// Next logical offset to be written (number of entries ever written).
    pub(crate) fn max_offset(&self) -> u64 {
        self.files.max_offset() / CQ_ENTRY_SIZE
    }

    /// Lowest readable logical offset.
    pub(crate) fn min_offset(&self) -> u64 {
        self.min_logic
            .load(Ordering::Acquire)
            .max(self.files.min_offset() / CQ_ENTRY_SIZE)
    }

    /// The entry at `logic`, if written.
    pub(crate) fn entry(&self, logic: u64) -> Option<CqEntry> {
        let byte = logic.checked_mul(CQ_ENTRY_SIZE)?;
        let f = self.files.find(byte)?;
        let rel = byte - f.start();
        if rel + CQ_ENTRY_SIZE > f.wrote() {
            return None;
        }
        CqEntry::decode(f.bytes(rel, CQ_ENTRY_SIZE)?)
    }

    /// Flushes written entries.
    pub(crate) fn flush(&self) -> Result<()> {
        self.files.flush()
    }

    /// Deletes files whose entries all point below `min_phys` (never the last file), then moves
    /// the minimum logical offset to the first entry at or above `min_phys`.
    pub(crate) fn delete_expired(&self, min_phys: i64) -> Result<usize> {
        let mut deleted = 0;
        loop {
            let files = self.files.files();
            if files.len() <= 1 {
                break;
            }
            let first: &Arc<MappedFile> = &files[0];
            let last_entry = first
                .bytes(first.size() - CQ_ENTRY_SIZE, CQ_ENTRY_SIZE)
                .and_then(CqEntry::decode);
            match last_entry {
                Some(e) if e.phys_offset < min_phys => {
                    self.files.remove_first()?;
                    deleted += 1;
                }
                _ => break,
            }
        }
        self.correct_min_offset(min_phys);
        Ok(deleted)
    }

    /// Moves the minimum logical offset to the first entry pointing at or above `min_phys`.
    pub(crate) fn correct_min_offset(&self, min_phys: i64) {
        let mut lo = self.files.min_offset() / CQ_ENTRY_SIZE;
        let mut hi = self.max_offset();
        // Entries are ordered by physical offset: binary search.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid) {
                Some(e) if !e.is_hole() && e.phys_offset >= min_phys => hi = mid,
                _ => lo = mid + 1,
            }
        }
        self.min_logic.store(lo, Ordering::Release);
    }

    /// Bytes on disk.
    pub(crate) fn disk_bytes(&self) -> u64 {
        self.files.disk_bytes()
    }

    /// Deletes all files.
    pub(crate) fn destroy(&self) -> Result<()> {
        self.files.destroy()
    }
}
