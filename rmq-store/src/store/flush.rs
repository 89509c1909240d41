//! Flushing: the commit-log flush thread (group commit in SYNC_FLUSH), and the thread that flushes
//! consume queues and the index and then writes the checkpoint.

use super::*;

/// The index is synced once this many bytes of commit log were dispatched since its last sync
/// (and at every clean stop and explicit flush), not with every checkpoint as the consume
/// queues are. Its hash slots are scattered writes: a sync each second rewrote most of their
/// pages each second, more bytes than the commit log itself at 37 MB/s of appends, and faulted
/// them in again as writable afterwards. After a crash, recovery indexes again what came after
/// the index's own offset in the checkpoint, at most this much commit log (rmq-store/README.md,
/// "Checkpoint").
const INDEX_SYNC_BYTES: i64 = 256 << 20;

/// The index's last sync: the commit-log offset below which it is durable, and when. Held under
/// the checkpoint lock, so that only one checkpoint writer at a time reads and moves it.
#[derive(Debug, Default)]
pub(super) struct IndexSynced {
    pub(super) safe_offset: i64,
    at_ms: i64,
}

/// What the flush thread was asked to do.
#[derive(Default)]
pub(super) struct FlushWanted {
    /// Sync now (a SYNC_FLUSH append waits, or the store shuts down).
    sync: bool,
    /// Start the writeback of what was written since the last start (ASYNC_FLUSH).
    writeback: bool,
}

impl Inner {
    pub(super) fn wake_flusher(&self) {
        let (m, c) = &self.flush_request;
        lock(m).sync = true;
        c.notify_one();
    }

    /// Called by an ASYNC_FLUSH append that moved the written end from `before` to `after`:
    /// asks the flush thread to start the writeback when a multiple of `commitLogWritebackBytes`
    /// was crossed, so the disk writes while the appends go on instead of all at the next
    /// periodic flush or at the kernel's dirty-page thresholds (rmq-store/README.md, "Early
    /// writeback").
    pub(super) fn maybe_request_writeback(&self, before: u64, after: u64) {
        let chunk = self.config.commit_log_writeback_bytes;
        if self.config.flush_disk_type != FlushDiskType::AsyncFlush
            || chunk == 0
            || before / chunk == after / chunk
        {
            return;
        }
        let (m, c) = &self.flush_request;
        lock(m).writeback = true;
        c.notify_one();
    }

    /// Publishes the commit log's written end (the end of the last complete append); the
    /// caller holds the writer lock. `subscribe_written` receivers are woken only when there
    /// are any: tokio's `watch` takes eight mutexes per send even with no receiver, a tenth of
    /// an ASYNC_FLUSH append's CPU (rmq-store/README.md, "The store at the disk's limit").
    /// A receiver subscribing meanwhile cannot miss an append: it subscribes under the writer
    /// lock and is sent the value then (`MessageStore::subscribe_written`).
    pub(super) fn publish_written(&self, end: i64) {
        self.written.store(end, Ordering::Release);
        if self.written_tx.receiver_count() > 0 {
            self.written_tx.send_replace(end);
        }
    }

    /// Puts the store in the failed state when `e` is a failed sync (logging it, once, and
    /// waking SYNC_FLUSH waiters so they answer with the error); returns `e`.
    pub(super) fn fail(&self, e: StoreError) -> StoreError {
        if let Some(copy) = e.sync_failure_copy() {
            if self.failed.set(copy).is_ok() {
                tracing::error!("{e}");
                self.flushed_tx.send_modify(|_| {});
            }
        }
        e
    }

    /// The failed state's error, if a sync failed.
    pub(super) fn failure(&self) -> Option<StoreError> {
        self.failed.get().and_then(StoreError::sync_failure_copy)
    }

    /// Syncs the commit log up to its written end and publishes the new flushed offset. After a
    /// failed sync nothing is synced again: the error is returned instead (see `fail`).
    pub(super) fn flush_commit_log(&self) -> Result<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        // Only what complete appends wrote: a batch in progress may still be rolled back.
        let committed = u64::try_from(self.written.load(Ordering::Acquire)).unwrap_or(0);
        self.commit_log
            .flush_upto(committed)
            .map_err(|e| self.fail(e))?;
        self.flushed_tx.send_if_modified(|cur| {
            // Read under the channel's lock: `truncate_to` lowers the files' flushed positions,
            // then this value under the same lock, so a value read before a truncation cannot
            // be published after it.
            let f = self.commit_log.flushed_offset() as i64;
            if f > *cur {
                *cur = f;
                true
            } else {
                false
            }
        });
        Ok(())
    }

    /// SYNC_FLUSH: syncs the commit log on the calling task's own thread when no other
    /// append's task is doing so, sparing a waiter two thread switches (to the flush thread and
    /// back), a large part of one writer's wait on a fast disk (`benches/disk_limit.rs`). The
    /// thread is lent to the sync with `block_in_place`, so the runtime's other tasks move on;
    /// that needs a multi-thread runtime (the broker's). Returns false when it did not sync:
    /// another task is syncing (the caller then asks the flush thread, which groups every
    /// append made meanwhile into its next sync), or the runtime is single-threaded. What
    /// counts as durable is unchanged: the flushed offset moves only after a successful sync.
    /// The calling task is blocked for the sync, so it must be a task of its own, not a future
    /// polled inside a loop that serves others (`wait_flushed` yields once first for that).
    pub(super) fn sync_in_place(&self) -> bool {
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if !multi_thread {
            return false;
        }
        let Ok(_only_one) = self.sync_leader.try_lock() else {
            return false;
        };
        // A failure was logged once by `fail`, which also wakes the waiters.
        let _ = tokio::task::block_in_place(|| self.flush_commit_log());
        true
    }

    /// The flush thread: syncs the commit log every `flushIntervalCommitLog` (ASYNC_FLUSH) or
    /// 10 ms (SYNC_FLUSH), at once when asked to, and in between starts the writeback of new
    /// data when an ASYNC_FLUSH append asks for it.
    pub(super) fn flush_loop(&self) {
        let interval = match self.config.flush_disk_type {
            FlushDiskType::SyncFlush => Duration::from_millis(10),
            FlushDiskType::AsyncFlush => self.config.flush_interval_commit_log,
        };
        let mut next_sync = Instant::now() + interval;
        // Page-aligned stream offset up to which writeback was started; what recovery found is
        // not this thread's to write back.
        let mut written_back = self.written_pages_end();
        while !self.shutdown.load(Ordering::Acquire) {
            let wanted = self.wait_for_flush_request(next_sync);
            if !wanted.sync && Instant::now() < next_sync {
                if wanted.writeback {
                    written_back = self.start_writeback(written_back);
                }
                continue;
            }
            next_sync = Instant::now() + interval;
            // One sync at a time with an append syncing in place: a second sync racing it
            // would cover next to nothing, while one after it covers every append made
            // meanwhile (group commit; racing syncs halved 8 senders' rate, rmq-store/README.md).
            let synced = {
                let _one_at_a_time = lock(&self.sync_leader);
                self.flush_commit_log()
            };
            // A failure was logged once by `fail`; the store refuses writes from then on.
            if synced.is_err() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Waits until a request arrives, `deadline` passes or the store shuts down; returns (and
    /// clears) the requests.
    fn wait_for_flush_request(&self, deadline: Instant) -> FlushWanted {
        let (m, c) = &self.flush_request;
        let mut wanted = lock(m);
        while !wanted.sync && !wanted.writeback && !self.shutdown.load(Ordering::Acquire) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            wanted = c
                .wait_timeout(wanted, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        std::mem::take(&mut *wanted)
    }

    /// Starts the writeback of the whole pages written since `from` (a page-aligned stream
    /// offset) and returns the new such offset. The page holding the written end is left out:
    /// the next append writes into it again. After a truncation below `from`, starts over there.
    fn start_writeback(&self, from: u64) -> u64 {
        let to = self.written_pages_end();
        if to > from {
            self.commit_log.start_writeback(from, to);
        }
        to
    }

    /// The written end rounded down to a page boundary.
    fn written_pages_end(&self) -> u64 {
        const PAGE: u64 = 4096;
        u64::try_from(self.written.load(Ordering::Acquire)).unwrap_or(0) / PAGE * PAGE
    }

    /// Syncs consume queues (and the index when it is due or `force_index`), then writes the
    /// checkpoint. Never after a failed sync: a checkpoint must not vouch for pages the kernel
    /// may have dropped.
    pub(super) fn flush_queues_and_checkpoint(&self, force_index: bool) -> Result<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        self.sync_queues_and_checkpoint(force_index)
            .map_err(|e| self.fail(e))
    }

    fn sync_queues_and_checkpoint(&self, force_index: bool) -> Result<()> {
        let mut index_synced = lock(&self.checkpoint_lock);
        // Read what is dispatched *before* flushing, so the checkpoint never claims more.
        let dispatched = self.dispatched.load(Ordering::Acquire);
        for q in self.all_queues() {
            q.flush()?;
        }
        let safe = dispatched.min(self.commit_log.flushed_offset() as i64);
        let now = now_ms();
        let due = safe - index_synced.safe_offset >= INDEX_SYNC_BYTES;
        if force_index || due || !self.config.message_index_enable {
            self.index.flush()?;
            *index_synced = IndexSynced {
                safe_offset: safe,
                at_ms: now,
            };
        }
        self.checkpoint.write(&Checkpoint {
            physic_msg_timestamp: now,
            logics_msg_timestamp: now,
            index_msg_timestamp: index_synced.at_ms,
            safe_offset: safe,
            index_safe_offset: index_synced.safe_offset.min(safe),
        })
    }

    pub(super) fn sleep_unless_shutdown(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            if self.shutdown.load(Ordering::Acquire) {
                return false;
            }
            std::thread::sleep(
                Duration::from_millis(20).min(deadline.saturating_duration_since(Instant::now())),
            );
        }
        !self.shutdown.load(Ordering::Acquire)
    }

    pub(super) fn cq_flush_loop(&self) {
        while self.sleep_unless_shutdown(self.config.flush_interval_consume_queue) {
            // A failure was logged once by `fail`.
            let _ = self.flush_queues_and_checkpoint(false);
        }
    }
}
