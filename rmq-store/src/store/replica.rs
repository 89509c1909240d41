//! Appends on a slave: commit-log bytes received from the master are written at exactly the
//! offsets they have on the master, then every record they complete is dispatched into its
//! consume queue and the index, as a local append would be (see `docs/replication.md`).
//!
//! The master streams raw bytes in chunks that need not end on a record boundary, so the
//! written end (`max_phy_offset`, what the slave reports back) may lie inside a record while
//! the dispatched end stops before it; the next chunk completes it.

use std::sync::atomic::Ordering;

use rmq_remoting::message::{decode_record, BLANK_MAGIC_CODE, MAGIC_CODE_V1, MAGIC_CODE_V2};

use super::{lock, record_head, Inner, MessageStore};
use crate::error::{Result, StoreError};
use crate::mapped_file::MappedFile;

/// Why dispatching stopped before the written end.
enum Stop {
    /// The next record is not complete yet.
    Partial,
    /// What is there cannot be a record.
    Corrupt(String),
    /// The record is fine but dispatching it failed (I/O); retried with the next chunk.
    Failed(StoreError),
}

impl MessageStore {
    /// Writes `data`, received from the master, at commit-log offset `offset`, and dispatches
    /// every record it completes. Returns the new written end of the commit log.
    ///
    /// `offset` must be this store's end, or, for an empty store, the start of a commit-log file
    /// (a master begins an empty slave at the start of its newest file). Bytes that cannot be a
    /// record are cut off and reported as [`StoreError::ReplicaCorrupt`], so the slave asks for
    /// them again from a consistent end.
    pub fn append_replicated(&self, offset: i64, data: &[u8]) -> Result<i64> {
        self.inner
            .append_replicated(offset, data)
            .map_err(|e| self.inner.fail(e))
    }

    /// Drops the commit log from `offset` on, with the consume-queue entries of the dropped
    /// records; index entries past it are skipped by lookups. A replica calls this before it
    /// follows a new master: what it holds past the last point it shares with that master was
    /// written by a deposed master and never acknowledged under `allAckInSyncStateSet`
    /// (`docs/replication.md`, "Failover"). `offset` must be a record boundary (an epoch's start
    /// or a log end). The checkpoint is rewritten below `offset` before this returns. Returns
    /// how many bytes were dropped.
    pub fn truncate_to(&self, offset: i64) -> Result<i64> {
        self.inner
            .truncate_to(offset)
            .map_err(|e| self.inner.fail(e))
    }

    /// End of the last complete record: on a slave the written end may lie inside a record whose
    /// rest the master has not sent yet. A slave that becomes master cuts there first.
    pub fn dispatched_phy_offset(&self) -> i64 {
        self.inner.dispatched.load(Ordering::Acquire)
    }
}

impl Inner {
    fn append_replicated(&self, offset: i64, data: &[u8]) -> Result<i64> {
        let _w = lock(&self.writer);
        self.check_writable()?;
        let local_end = self.commit_log.max_offset() as i64;
        let empty = self.commit_log.is_empty();
        let start = u64::try_from(offset)
            .ok()
            .filter(|&start| {
                if empty {
                    start % self.commit_log.file_size() == 0
                } else {
                    offset == local_end
                }
            })
            .ok_or(StoreError::ReplicaOffsetMismatch { offset, local_end })?;
        if empty {
            self.dispatched.store(offset, Ordering::Release);
        }
        self.write_raw(start, data)?;
        let end = self.commit_log.max_offset() as i64;
        self.dispatch_replicated()?;
        self.publish_written(end);
        Ok(end)
    }

    fn truncate_to(&self, offset: i64) -> Result<i64> {
        let _w = lock(&self.writer);
        let end = self.commit_log.max_offset() as i64;
        let offset = offset.max(0);
        if offset >= end {
            return Ok(0);
        }
        self.commit_log.truncate(offset as u64)?;
        self.dispatched.fetch_min(offset, Ordering::AcqRel);
        self.index_from.fetch_min(offset, Ordering::AcqRel);
        let mut report = crate::types::RecoveryReport::default();
        self.drop_all_queue_entries_above(offset, &mut report)?;
        self.flushed_tx.send_if_modified(|f| {
            let above = *f > offset;
            *f = (*f).min(offset);
            above
        });
        // The checkpoint on disk may still vouch for the dropped records' end. Until it is
        // rewritten, a power loss would have recovery start there, past the new master's
        // records that will fill the gap, and never dispatch them again: write it now, under
        // the writer lock, so nothing is appended past the cut before it. The index is synced
        // with it, which also brings the index's own offset below the cut.
        self.flush_queues_and_checkpoint(true)?;
        self.publish_written(self.commit_log.max_offset() as i64);
        tracing::warn!(
            "replication: commit log truncated from {end} to {offset} ({} bytes, {} consume-queue entries) to match the master",
            end - offset,
            report.cq_entries_dropped
        );
        Ok(end - offset)
    }

    /// Copies `data` into the commit log from `at`, starting new files at file boundaries.
    /// Written with pwrite, not through the mapping: see `MappedFile::write_at`.
    fn write_raw(&self, mut at: u64, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let file = self.commit_log.file_for_write(at)?;
            let rel = at - file.start();
            let n = (data.len() as u64).min(file.size() - rel);
            // The writer lock is held and `rel` is the file's published end (`at` is the log's
            // end), so no reader looks at these bytes yet.
            file.write_at(rel, &data[..n as usize])?;
            file.set_wrote(rel + n);
            at += n;
            data = &data[n as usize..];
        }
        Ok(())
    }

    /// Dispatches the complete records between the dispatched and the written end. A corrupt
    /// record cuts the commit log where it starts.
    fn dispatch_replicated(&self) -> Result<()> {
        let mut at = self.dispatched.load(Ordering::Acquire) as u64;
        let stop = loop {
            let Some(file) = self.commit_log.find(at) else {
                break Stop::Partial;
            };
            match self.dispatch_one(&file, at - file.start()) {
                Ok(next) => {
                    at = next;
                    self.dispatched.store(at as i64, Ordering::Release);
                }
                Err(stop) => break stop,
            }
        };
        match stop {
            Stop::Partial => Ok(()),
            Stop::Failed(e) => Err(e),
            Stop::Corrupt(reason) => {
                self.commit_log.truncate(at)?;
                tracing::error!(
                    "replication: commit log cut at offset {at}: {reason}; fetching it again from the master"
                );
                Err(StoreError::ReplicaCorrupt {
                    offset: at as i64,
                    reason,
                })
            }
        }
    }

    /// Dispatches the record at `pos` of `file`; returns the stream offset after it.
    fn dispatch_one(&self, file: &MappedFile, pos: u64) -> Result<u64, Stop> {
        let wrote = file.wrote();
        let size = file.size();
        let Some((total, magic)) = record_head(file, pos).filter(|_| pos + 8 <= wrote) else {
            return Err(Stop::Partial);
        };
        if magic == BLANK_MAGIC_CODE {
            if total as u64 != size - pos {
                return Err(Stop::Corrupt(format!(
                    "end-of-file padding of {total} bytes at {pos} does not reach the file end"
                )));
            }
            return if wrote == size {
                Ok(file.start() + size)
            } else {
                Err(Stop::Partial)
            };
        }
        if magic != MAGIC_CODE_V1 && magic != MAGIC_CODE_V2 {
            return Err(Stop::Corrupt(format!("bad magic code {magic:#x}")));
        }
        if total <= 0 || total as u64 > size - pos {
            return Err(Stop::Corrupt(format!("impossible record size {total}")));
        }
        if pos + total as u64 > wrote {
            return Err(Stop::Partial);
        }
        let bytes = file.bytes(pos, total as u64).unwrap_or(&[]);
        let phys = (file.start() + pos) as i64;
        let view = decode_record(bytes, false).map_err(|e| Stop::Corrupt(e.to_string()))?;
        if view.physical_offset != phys {
            return Err(Stop::Corrupt(format!(
                "record claims physical offset {}",
                view.physical_offset
            )));
        }
        let tag_code = self
            .dispatch(&view, phys, total, None)
            .map_err(Stop::Failed)?;
        self.notify_arrival(view.topic, view.queue_id, tag_code, view.store_timestamp);
        Ok(file.start() + pos + total as u64)
    }

    /// Wakes long-polling pulls of the record's queue, as a local append does.
    fn notify_arrival(&self, topic: &str, queue_id: i32, tag_code: i64, store_timestamp: i64) {
        let listener = self
            .listener
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let (Some(l), Some(q)) = (listener, self.queue(topic, queue_id)) {
            l.arriving(
                topic,
                queue_id,
                q.max_offset() as i64,
                tag_code,
                store_timestamp,
            );
        }
    }
}
