//! Pre-faulting the commit log ahead of the writer (the idea of Apache's
//! `warmMapedFileEnable`), under ASYNC_FLUSH: the first store into each fresh page of a mapped
//! file faults, and ext4 zero-fills the fallocated page and reserves its block on the
//! appending thread, a fifth of an append's CPU there (`rmq-store/README.md`, "The store at
//! the disk's limit"). A background thread keeps the pages after the written end faulted in
//! with `MADV_POPULATE_WRITE`, which maps them writable without reading or writing a byte, so
//! it cannot race the writer's records. Without it (Linux before 5.14, other page sizes) the
//! thread stops and the writer faults the pages itself, as before.

use super::*;

/// How far past the written end pages are kept faulted in: what a 3 GB/s writer eats between
/// two looks of the thread.
const AHEAD: u64 = 32 << 20;
/// Bytes populated per `madvise`, so that shutdown never waits long.
const STEP: u64 = 2 << 20;
/// The thread's pause when it is far enough ahead (or the next file does not exist yet).
const PAUSE: Duration = Duration::from_millis(10);

impl Inner {
    /// The `rmq-store-warm` thread: populates up to [`AHEAD`] past the written end until shutdown.
    pub(super) fn warm_loop(&self) {
        // Stream offset up to which pages were populated.
        let mut warm_to = 0u64;
        while !self.shutdown.load(Ordering::Acquire) {
            let end = self.written.load(Ordering::Acquire).max(0) as u64;
            warm_to = warm_to.max(end);
            let file = self.commit_log.find(warm_to);
            let Some(file) = file.filter(|_| warm_to < end + AHEAD) else {
                std::thread::sleep(PAUSE);
                continue;
            };
            let rel = warm_to - file.start();
            let len = STEP.min(file.size() - rel).min(end + AHEAD - warm_to);
            if let Err(e) = file.populate_write(rel, len) {
                tracing::debug!(
                    "{}: commit-log pages are not pre-faulted ({e}); the writer faults them",
                    file.path().display()
                );
                return;
            }
            warm_to += len;
        }
    }
}
