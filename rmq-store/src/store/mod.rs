//! The message store: append, dispatch, read, look up, flush, recover, clean.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_remoting::message::{
    decode_record, encode_offset_msg_id, keys, property_value, property_values, record_size,
    store_timestamp_at, sys_flag, tags_code, write_record, RecordView, BLANK_MAGIC_CODE,
    MAGIC_CODE_V1, MAGIC_CODE_V2, MAX_PROPERTIES_LEN,
};
use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, CheckpointFile};
use crate::config::{FlushDiskType, StoreConfig};
use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::error::{Result, StoreError};
use crate::index::IndexService;
use crate::mapped_file::{MappedFile, MappedFileQueue, Readahead, SelectedBuffer};
use crate::types::*;

mod append;
mod clean;
mod flush;
pub mod put_times;
mod queue_admin;
mod read;
mod recovery;
mod replica;

use read::record_head;
use recovery::load_queues;

/// Bytes an end-of-file padding needs (TOTALSIZE + BLANK magic).
const END_FILE_MIN_BLANK_LENGTH: u64 = 8;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 255
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'%' || b == b'|' || b == b'_' || b == b'-')
}

type QueueMap = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

/// State only the writer touches.
struct WriterState {
    /// Per-second append counts, for TPS: (second, count).
    tps: [(i64, u64); 16],
}

struct Inner {
    config: StoreConfig,
    commit_log: MappedFileQueue,
    writer: Mutex<WriterState>,
    queues: RwLock<QueueMap>,
    index: IndexService,
    checkpoint: CheckpointFile,
    flushed_tx: watch::Sender<i64>,
    /// The commit log's written end: the end of the last complete append (`publish_written`).
    written: AtomicI64,
    /// The same, for replication to wake on new data; sent only while someone subscribes.
    written_tx: watch::Sender<i64>,
    flush_request: (Mutex<flush::FlushWanted>, Condvar),
    /// Held by the one SYNC_FLUSH append syncing in place (`flush.rs`, `sync_in_place`).
    sync_leader: Mutex<()>,
    /// One checkpoint writer at a time (the flush thread, `flush()`, shutdown): a sync of the
    /// index started by one must not be taken for the other's, nor an older checkpoint be
    /// written over a newer one. It holds where the index was last synced.
    checkpoint_lock: Mutex<flush::IndexSynced>,
    dispatched: AtomicI64,
    /// Records at or after this physical offset are (re)indexed by dispatch; records before it
    /// are already in the index, so recovery does not add them twice. The newest indexed record is
    /// indexed again (it may have been cut between two of its keys); duplicates are harmless.
    index_from: AtomicI64,
    shutdown: AtomicBool,
    disk_full: AtomicBool,
    /// Set by the first failed sync: from then on every write is refused with this error and
    /// nothing is synced or checkpointed again (see `flush.rs`, `Inner::fail`).
    failed: OnceLock<StoreError>,
    disk_ratio_bits: AtomicU64,
    disk_probe: Arc<dyn DiskUsage>,
    listener: RwLock<Option<Arc<dyn MessageArrivingListener>>>,
    replica: RwLock<Option<Arc<dyn ReplicaAckWaiter>>>,
    put_count: AtomicU64,
    put_bytes: AtomicU64,
    put_times: put_times::PutTimeCounters,
    recovery: RecoveryReport,
    _lock_file: File,
}

/// The message store. Cheap to share behind an `Arc`; all methods take `&self`.
///
/// One writer at a time appends (a mutex, as RocketMQ's put-message lock); the record is encoded
/// straight into a mapped commit-log file and dispatched synchronously into its consume queue and
/// the index, so a read sees a message as soon as `put_message` returns. Background threads flush
/// (group commit in SYNC_FLUSH), write the checkpoint, and clean expired files.
pub struct MessageStore {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl MessageStore {
    /// Opens (creating or recovering) the store at `config.store_path_root_dir`.
    pub fn open(config: StoreConfig) -> Result<Self> {
        Self::open_with_disk_usage(config, Arc::new(StatvfsDiskUsage))
    }

    /// Like [`MessageStore::open`] with an injected disk-usage probe (tests, or multi-path setups).
    pub fn open_with_disk_usage(
        config: StoreConfig,
        disk_probe: Arc<dyn DiskUsage>,
    ) -> Result<Self> {
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
        let lock_path = root.join("lock");
        let lock_file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| StoreError::io(&lock_path, e))?;
        // SAFETY: plain syscall on an open descriptor.
        if unsafe { libc::flock(lock_file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(StoreError::Locked(root));
        }
        let abort_path = root.join("abort");
        let abnormal = abort_path.exists();
        if abnormal {
            tracing::warn!(
                "{}: the previous run did not shut down cleanly (abort file present); recovering",
                root.display()
            );
        }
        write_durably(&abort_path, std::process::id().to_string().as_bytes())?;

        let (checkpoint, cp) = CheckpointFile::open(&root.join("checkpoint"))?;
        // SYNC_FLUSH syncs after every group of appends: its file must not fault in large
        // folios, which each sync would write whole (`Readahead`).
        let readahead = match config.flush_disk_type {
            FlushDiskType::SyncFlush => Readahead::OnlyWritten,
            FlushDiskType::AsyncFlush => Readahead::Everywhere,
        };
        let commit_log = MappedFileQueue::load(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            config.preallocate_files,
            readahead,
        )?;
        let index = IndexService::load(
            &config.index_dir(),
            config.max_hash_slot_num,
            config.max_index_num,
            config.preallocate_files,
            abnormal.then(|| cp.map_or(0, |c| c.index_safe_offset)),
        )?;
        let queues = load_queues(&config)?;
        let (flushed_tx, _) = watch::channel(0i64);
        let (written_tx, _) = watch::channel(0i64);
        let mut inner = Inner {
            config,
            commit_log,
            writer: Mutex::new(WriterState { tps: [(0, 0); 16] }),
            queues: RwLock::new(queues),
            index,
            checkpoint,
            flushed_tx,
            written: AtomicI64::new(0),
            written_tx,
            flush_request: (Mutex::default(), Condvar::new()),
            sync_leader: Mutex::new(()),
            checkpoint_lock: Mutex::default(),
            dispatched: AtomicI64::new(0),
            index_from: AtomicI64::new(0),
            shutdown: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            failed: OnceLock::new(),
            disk_ratio_bits: AtomicU64::new(0f64.to_bits()),
            disk_probe,
            listener: RwLock::new(None),
            replica: RwLock::new(None),
            put_count: AtomicU64::new(0),
            put_bytes: AtomicU64::new(0),
            put_times: put_times::PutTimeCounters::default(),
            recovery: RecoveryReport::default(),
            _lock_file: lock_file,
        };
        let mut report = inner.recover(cp)?;
        report.abnormal = abnormal;
        inner.recovery = report;
        let max = inner.commit_log.max_offset() as i64;
        inner.dispatched.store(max, Ordering::Release);
        inner.publish_written(max);
        // What recovery scanned may still sit in the page cache only (a killed process leaves
        // it there): sync it, and what was re-dispatched, before a checkpoint vouches for it.
        inner.flush_commit_log()?;
        inner.flush_queues_and_checkpoint(true)?;
        let inner = Arc::new(inner);
        inner.check_disk();
        let store = MessageStore {
            inner,
            threads: Mutex::new(Vec::new()),
        };
        store.start_threads()?;
        Ok(store)
    }

    fn start_threads(&self) -> Result<()> {
        let mut threads = lock(&self.threads);
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(f)
                .map_err(|e| StoreError::io(PathBuf::from(name), e))
        };
        let inner = self.inner.clone();
        threads.push(spawn(
            "rmq-store-flush",
            Box::new(move || inner.flush_loop()),
        )?);
        let inner = self.inner.clone();
        threads.push(spawn(
            "rmq-store-cq-flush",
            Box::new(move || inner.cq_flush_loop()),
        )?);
        let inner = self.inner.clone();
        threads.push(spawn(
            "rmq-store-clean",
            Box::new(move || inner.clean_loop()),
        )?);
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// What recovery found at open.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// Registers the listener told about every new message (long polling).
    pub fn set_arrival_listener(&self, listener: Arc<dyn MessageArrivingListener>) {
        *self
            .inner
            .listener
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    /// Registers the SYNC_MASTER replica hook; appends that wait then also wait for it.
    pub fn set_replica_waiter(&self, waiter: Option<Arc<dyn ReplicaAckWaiter>>) {
        *self
            .inner
            .replica
            .write()
            .unwrap_or_else(|p| p.into_inner()) = waiter;
    }

    /// Appends one message. In SYNC_FLUSH (and with a replica hook) the future completes once the
    /// record is durable (replicated) or the timeout passed (a successful [`PutStatus`] says which).
    pub async fn put_message(&self, msg: PutMessage) -> Result<PutResult> {
        let wait = msg.wait_store_msg_ok();
        let begin = Instant::now();
        let r = self.inner.append(std::slice::from_ref(&msg))?;
        let result = self.inner.after_append(r, wait).await;
        self.inner.put_times.record(begin.elapsed(), result.is_ok());
        result
    }

    /// Appends a batch (same topic and queue): consecutive queue offsets, one result whose
    /// `msg_id` is the comma-joined offset ids.
    pub async fn put_messages(&self, msgs: Vec<PutMessage>) -> Result<PutResult> {
        let wait = msgs.first().map(|m| m.wait_store_msg_ok()).unwrap_or(false);
        let begin = Instant::now();
        let r = self.inner.append(&msgs)?;
        let result = self.inner.after_append(r, wait).await;
        self.inner.put_times.record(begin.elapsed(), result.is_ok());
        result
    }

    /// Reads up to `max_count` messages / `max_bytes` bytes of `topic`/`queue_id` from queue offset
    /// `offset`, filtered. Records are returned as stored.
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        self.inner
            .get_message(topic, queue_id, offset, max_count, max_bytes, filter)
    }

    /// The record at physical offset `phys` (VIEW_MESSAGE_BY_ID, transaction end).
    pub fn look_message_by_offset(&self, phys: i64) -> Option<SelectedBuffer> {
        self.inner.record_at(phys, None)
    }

    /// Messages indexed under `key` (a KEYS entry or a UNIQ_KEY) for `topic`, stored within
    /// `[begin_ms, end_ms]`, newest first, at most `max`. Every hit is verified against the record.
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<SelectedBuffer> {
        self.inner.query_message(topic, key, max, begin_ms, end_ms)
    }

    /// The message whose UNIQ_KEY is `uniq_key`, searched within `[begin_ms, end_ms]`.
    pub fn query_by_uniq_key(
        &self,
        topic: &str,
        uniq_key: &str,
        begin_ms: i64,
        end_ms: i64,
    ) -> Option<SelectedBuffer> {
        self.inner
            .query_message(topic, uniq_key, 32, begin_ms, end_ms)
            .into_iter()
            .find(|b| {
                decode_record(b.as_slice(), false)
                    .map(|v| property_value(v.properties, keys::UNIQ_KEY) == Some(uniq_key))
                    .unwrap_or(false)
            })
    }

    /// Next queue offset to be written for `topic`/`queue_id` (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .queue(topic, queue_id)
            .map(|q| q.max_offset() as i64)
            .unwrap_or(0)
    }

    /// Lowest readable queue offset (0 for an unknown queue).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .queue(topic, queue_id)
            .map(|q| q.min_offset() as i64)
            .unwrap_or(0)
    }

    /// The consume-queue entry at `offset`.
    pub fn consume_queue_entry(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Option<ConsumeQueueEntry> {
        let q = self.inner.queue(topic, queue_id)?;
        if offset < q.min_offset() as i64 {
            return None;
        }
        q.entry(u64::try_from(offset).ok()?)
            .filter(|e| !e.is_hole())
    }

    /// Store timestamp of the message at queue offset `offset`.
    pub fn message_store_timestamp(&self, topic: &str, queue_id: i32, offset: i64) -> Option<i64> {
        let e = self.consume_queue_entry(topic, queue_id, offset)?;
        self.inner.store_time_of(e)
    }

    /// Store time of the oldest readable message of the queue (GET_EARLIEST_MSG_STORETIME).
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Option<i64> {
        self.message_store_timestamp(topic, queue_id, self.min_offset_in_queue(topic, queue_id))
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the smallest queue offset whose store time is ≥ `timestamp`;
    /// the max offset when every message is older; the min offset when the queue is empty.
    pub fn offset_in_queue_by_time(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        let Some(q) = self.inner.queue(topic, queue_id) else {
            return 0;
        };
        let (mut lo, mut hi) = (q.min_offset(), q.max_offset());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let t = q
                .entry(mid)
                .filter(|e| !e.is_hole())
                .and_then(|e| self.inner.store_time_of(e));
            match t {
                Some(t) if t >= timestamp => hi = mid,
                Some(_) => lo = mid + 1,
                // Commit-log data already removed: treat as older.
                None => lo = mid + 1,
            }
        }
        lo as i64
    }

    /// Lowest physical offset still stored.
    pub fn min_phy_offset(&self) -> i64 {
        self.inner.commit_log.min_offset() as i64
    }

    /// Physical offset after the last record.
    pub fn max_phy_offset(&self) -> i64 {
        self.inner.commit_log.max_offset() as i64
    }

    /// Physical offset up to which the commit log is durable.
    pub fn flushed_phy_offset(&self) -> i64 {
        *self.inner.flushed_tx.borrow()
    }

    /// Reads the raw commit-log stream from `from` (a slave's pull): the bytes written so far in the
    /// file holding `from`, at most `max_bytes`. Empty when nothing is there yet; None when `from`
    /// is no longer (or not yet) stored. Bytes of an append still in progress are not included:
    /// an append that fails half way is rolled back, and a slave must never have received it.
    pub fn read_commit_log(&self, from: i64, max_bytes: usize) -> Option<SelectedBuffer> {
        let from = u64::try_from(from).ok()?;
        let f = self.inner.commit_log.find(from)?;
        let rel = from - f.start();
        let wrote = f.wrote();
        if rel > wrote {
            return None;
        }
        let committed = u64::try_from(self.inner.written.load(Ordering::Acquire)).unwrap_or(0);
        let visible = wrote.min(committed.saturating_sub(f.start()));
        let len = visible.saturating_sub(rel).min(max_bytes as u64);
        SelectedBuffer::new(f, rel, len)
    }

    /// Subscribes to the flushed commit-log offset (e.g. for a replication service).
    pub fn subscribe_flushed(&self) -> watch::Receiver<i64> {
        self.inner.flushed_tx.subscribe()
    }

    /// Subscribes to the commit log's written end, which moves with every append (local or
    /// replicated): a master's replication wakes on it to stream new bytes to its slaves.
    pub fn subscribe_written(&self) -> watch::Receiver<i64> {
        // Under the writer lock, so that every later append sees this receiver and sends.
        let _w = lock(&self.inner.writer);
        let rx = self.inner.written_tx.subscribe();
        self.inner
            .written_tx
            .send_replace(self.inner.written.load(Ordering::Acquire));
        rx
    }

    /// Names of the topics that have consume queues.
    pub fn topics(&self) -> Vec<String> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Put times and failures since open (cheap: reads counters only).
    pub fn put_times(&self) -> put_times::PutTimes {
        self.inner.put_times.snapshot()
    }

    /// How long the writer lock has been held now, 0 when free (Apache's
    /// `pageCacheLockTimeMills`).
    pub fn lock_time_ms(&self) -> i64 {
        self.inner.put_times.lock_time_ms(now_ms())
    }

    /// Messages appended since open (cheap, unlike [`MessageStore::stats`]).
    pub fn put_count(&self) -> u64 {
        self.inner.put_count.load(Ordering::Relaxed)
    }

    /// Statistics.
    pub fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    /// Flushes everything now and writes the checkpoint.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_commit_log()?;
        self.inner.flush_queues_and_checkpoint(true)
    }

    /// Runs one retention / disk-guard pass now (what `mqadmin deleteExpiredCommitLog` asks for):
    /// deletes expired commit-log files regardless of `deleteWhen`. Returns files deleted.
    pub fn clean_expired_files_now(&self) -> Result<usize> {
        self.inner.clean_pass(true)
    }

    /// Flushes, writes the checkpoint, removes the `abort` marker and stops the threads.
    pub fn shutdown(&self) -> Result<()> {
        if self.inner.shutdown.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.inner.wake_flusher();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
        // Take the writer lock so no append is half done.
        let _w = lock(&self.inner.writer);
        if self.inner.failure().is_some() {
            // Nothing may be synced or checkpointed after a failed sync; the abort marker stays,
            // so the next open recovers.
            tracing::warn!(
                "{}: store stopped without a final flush after a failed sync; recovery will run at the next start",
                self.inner.config.store_path_root_dir.display()
            );
            return Ok(());
        }
        self.inner.flush_commit_log()?;
        self.inner.flush_queues_and_checkpoint(true)?;
        let abort = self.inner.config.store_path_root_dir.join("abort");
        std::fs::remove_file(&abort).map_err(|e| StoreError::io(&abort, e))?;
        tracing::info!(
            "{}: store shut down cleanly",
            self.inner.config.store_path_root_dir.display()
        );
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
impl MessageStore {
    /// Stops the store the way a power cut does: the threads stop, nothing is flushed, no
    /// checkpoint is written, the `abort` marker stays. With [`crate::fault::FaultHandle`]'s
    /// `crash` (called first) and `power_loss` (after), tests simulate losing the machine.
    pub fn crash(self) {
        self.inner.shutdown.store(true, Ordering::Release);
        self.inner.wake_flusher();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
        // Dropping runs `shutdown`, which returns at once: the flag is already set.
    }
}

/// Writes `data` to `path` and syncs the file and its directory. For the `abort` marker: if a
/// power loss took it (its creation sits in the page cache until something syncs it, and on
/// btrfs a commit-log fdatasync does not carry it), the next open would take the crash for a
/// clean stop and trust the newest index file as it is, torn pages included, so keys of
/// surviving messages could no longer be found.
fn write_durably(path: &std::path::Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let err = |e| StoreError::io(path, e);
    let mut file = File::create(path).map_err(err)?;
    file.write_all(data).map_err(err)?;
    file.sync_all().map_err(err)?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(dir, e))?;
    }
    Ok(())
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!("store shutdown failed: {e}");
        }
    }
}

impl Inner {
    fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)?
            .get(&queue_id)
            .cloned()
    }

    fn queue_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>> {
        if let Some(q) = self.queue(topic, queue_id) {
            return Ok(q);
        }
        let mut map = self.queues.write().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = map.get(topic).and_then(|m| m.get(&queue_id)) {
            return Ok(q.clone());
        }
        let cq = Arc::new(ConsumeQueue::open(
            &self.config.consume_queue_dir(),
            topic,
            queue_id,
            self.config.consume_queue_file_size(),
            self.config.preallocate_files,
        )?);
        map.entry(topic.to_owned())
            .or_default()
            .insert(queue_id, cq.clone());
        Ok(cq)
    }

    pub(super) fn all_queues(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    fn stats(&self) -> StoreStats {
        let queues = self.queues.read().unwrap_or_else(|p| p.into_inner());
        let (count, cq_bytes) = queues
            .values()
            .flat_map(|m| m.values())
            .fold((0usize, 0u64), |(n, b), q| (n + 1, b + q.disk_bytes()));
        drop(queues);
        let now_sec = now_ms() / 1000;
        let w = lock(&self.writer);
        let recent: u64 = w
            .tps
            .iter()
            .filter(|(s, _)| *s < now_sec && *s >= now_sec - 10)
            .map(|(_, c)| *c)
            .sum();
        drop(w);
        StoreStats {
            commit_log_min_offset: self.commit_log.min_offset() as i64,
            commit_log_max_offset: self.commit_log.max_offset() as i64,
            commit_log_flushed_offset: *self.flushed_tx.borrow(),
            commit_log_disk_bytes: self.commit_log.disk_bytes(),
            consume_queue_disk_bytes: cq_bytes,
            index_disk_bytes: self.index.disk_bytes(),
            consume_queue_count: count,
            put_message_count: self.put_count.load(Ordering::Relaxed),
            put_message_bytes: self.put_bytes.load(Ordering::Relaxed),
            put_tps: recent as f64 / 10.0,
            disk_used_ratio: f64::from_bits(self.disk_ratio_bits.load(Ordering::Acquire)),
            disk_full: self.disk_full.load(Ordering::Acquire),
        }
    }
}
