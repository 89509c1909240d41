//! Flushing: the commit-log flush thread (group commit in SYNC_FLUSH), and the thread that flushes
//! consume queues and the index and then writes the checkpoint.

use super::*;

impl Inner {
    pub(super) fn wake_flusher(&self) {
        let (m, c) = &self.flush_request;
        *lock(m) = true;
        c.notify_one();
    }

    pub(super) fn flush_commit_log(&self) -> Result<()> {
        self.commit_log.flush()?;
        let f = self.commit_log.flushed_offset() as i64;
        self.flushed_tx.send_if_modified(|cur| {
            if f > *cur {
                *cur = f;
                true
            } else {
                false
            }
        });
        Ok(())
    }

    pub(super) fn flush_loop(&self) {
        let (m, c) = &self.flush_request;
        while !self.shutdown.load(Ordering::Acquire) {
            {
                let mut requested = lock(m);
                let wait = match self.config.flush_disk_type {
                    FlushDiskType::SyncFlush => Duration::from_millis(10),
                    FlushDiskType::AsyncFlush => self.config.flush_interval_commit_log,
                };
                let deadline = Instant::now() + wait;
                while !*requested && !self.shutdown.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    requested = c
                        .wait_timeout(requested, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                *requested = false;
            }
            if let Err(e) = self.flush_commit_log() {
                tracing::error!("commit log flush failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    pub(super) fn flush_queues_and_checkpoint(&self) -> Result<()> {
        // Read what is dispatched *before* flushing, so the checkpoint never claims more.
        let dispatched = self.dispatched.load(Ordering::Acquire);
        let queues: Vec<Arc<ConsumeQueue>> = self
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flat_map(|m| m.values().cloned())
            .collect();
        for q in queues {
            q.flush()?;
        }
        self.index.flush()?;
        let safe = dispatched.min(self.commit_log.flushed_offset() as i64);
        let now = now_ms();
        self.checkpoint.write(&Checkpoint {
            physic_msg_timestamp: now,
            logics_msg_timestamp: now,
            index_msg_timestamp: now,
            safe_offset: safe,
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
            if let Err(e) = self.flush_queues_and_checkpoint() {
                tracing::error!("consume queue / index flush failed: {e}");
            }
        }
    }
}
