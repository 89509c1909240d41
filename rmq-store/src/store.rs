//! The message store: append, dispatch, read, look up, flush, recover, clean.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
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
use crate::mapped_file::{MappedFile, MappedFileQueue, SelectedBuffer};
use crate::types::*;

mod replica;

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
    /// The commit log's written end, for replication to wake on new data.
    written_tx: watch::Sender<i64>,
    flush_request: (Mutex<bool>, Condvar),
    dispatched: AtomicI64,
    /// Records at or after this physical offset are (re)indexed by dispatch; records before it
    /// are already in the index, so recovery does not add them twice. The newest indexed record is
    /// indexed again (it may have been cut between two of its keys); duplicates are harmless.
    index_from: AtomicI64,
    shutdown: AtomicBool,
    disk_full: AtomicBool,
    disk_ratio_bits: AtomicU64,
    disk_probe: Arc<dyn DiskUsage>,
    listener: RwLock<Option<Arc<dyn MessageArrivingListener>>>,
    replica: RwLock<Option<Arc<dyn ReplicaAckWaiter>>>,
    put_count: AtomicU64,
    put_bytes: AtomicU64,
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
        std::fs::write(&abort_path, std::process::id().to_string())
            .map_err(|e| StoreError::io(&abort_path, e))?;

        let (checkpoint, cp) = CheckpointFile::open(&root.join("checkpoint"))?;
        let commit_log = MappedFileQueue::load(
            &config.commit_log_dir(),
            config.mapped_file_size_commit_log,
            config.preallocate_files,
        )?;
        let index = IndexService::load(
            &config.index_dir(),
            config.max_hash_slot_num,
            config.max_index_num,
            config.preallocate_files,
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
            written_tx,
            flush_request: (Mutex::new(false), Condvar::new()),
            dispatched: AtomicI64::new(0),
            index_from: AtomicI64::new(0),
            shutdown: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            disk_ratio_bits: AtomicU64::new(0f64.to_bits()),
            disk_probe,
            listener: RwLock::new(None),
            replica: RwLock::new(None),
            put_count: AtomicU64::new(0),
            put_bytes: AtomicU64::new(0),
            recovery: RecoveryReport::default(),
            _lock_file: lock_file,
        };
        let mut report = inner.recover(cp)?;
        report.abnormal = abnormal;
        inner.recovery = report;
        let max = inner.commit_log.max_offset() as i64;
        inner.dispatched.store(max, Ordering::Release);
        inner.written_tx.send_replace(max);
        inner
            .flushed_tx
            .send_replace(inner.commit_log.flushed_offset() as i64);
        // What recovery re-dispatched must be on disk before a checkpoint says so.
        inner.flush_queues_and_checkpoint()?;
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
        let r = self.inner.append(std::slice::from_ref(&msg))?;
        self.inner.after_append(r, wait).await
    }

    /// Appends a batch (same topic and queue): consecutive queue offsets, one result whose
    /// `msg_id` is the comma-joined offset ids.
    pub async fn put_messages(&self, msgs: Vec<PutMessage>) -> Result<PutResult> {
        let wait = msgs.first().map(|m| m.wait_store_msg_ok()).unwrap_or(false);
        let r = self.inner.append(&msgs)?;
        self.inner.after_append(r, wait).await
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
    /// is no longer (or not yet) stored.
    pub fn read_commit_log(&self, from: i64, max_bytes: usize) -> Option<SelectedBuffer> {
        let from = u64::try_from(from).ok()?;
        let f = self.inner.commit_log.find(from)?;
        let rel = from - f.start();
        let wrote = f.wrote();
        if rel > wrote {
            return None;
        }
        let len = (wrote - rel).min(max_bytes as u64);
        SelectedBuffer::new(f, rel, len)
    }

    /// Subscribes to the flushed commit-log offset (e.g. for a replication service).
    pub fn subscribe_flushed(&self) -> watch::Receiver<i64> {
        self.inner.flushed_tx.subscribe()
    }

    /// Subscribes to the commit log's written end, which moves with every append (local or
    /// replicated): a master's replication wakes on it to stream new bytes to its slaves.
    pub fn subscribe_written(&self) -> watch::Receiver<i64> {
        self.inner.written_tx.subscribe()
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

    /// Statistics.
    pub fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    /// Flushes everything now and writes the checkpoint.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_commit_log()?;
        self.inner.flush_queues_and_checkpoint()
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
        self.inner.flush_commit_log()?;
        self.inner.flush_queues_and_checkpoint()?;
        let abort = self.inner.config.store_path_root_dir.join("abort");
        std::fs::remove_file(&abort).map_err(|e| StoreError::io(&abort, e))?;
        tracing::info!(
            "{}: store shut down cleanly",
            self.inner.config.store_path_root_dir.display()
        );
        Ok(())
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!("store shutdown failed: {e}");
        }
    }
}

fn load_queues(config: &StoreConfig) -> Result<QueueMap> {
    let root = config.consume_queue_dir();
    std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
    let mut map: QueueMap = HashMap::new();
    for topic in std::fs::read_dir(&root).map_err(|e| StoreError::io(&root, e))? {
        let topic = topic.map_err(|e| StoreError::io(&root, e))?;
        let Some(name) = topic.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !valid_topic(&name) || !topic.path().is_dir() {
            continue;
        }
        for q in std::fs::read_dir(topic.path()).map_err(|e| StoreError::io(topic.path(), e))? {
            let q = q.map_err(|e| StoreError::io(topic.path(), e))?;
            let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let cq = ConsumeQueue::open(
                &root,
                &name,
                qid,
                config.consume_queue_file_size(),
                config.preallocate_files,
            )?;
            cq.recover()?;
            map.entry(name.clone())
                .or_default()
                .insert(qid, Arc::new(cq));
        }
    }
    Ok(map)
}

struct Appended {
    result: PutResult,
    topic: String,
    queue_id: i32,
    last_tag_code: i64,
    dispatched: bool,
    /// The queue's max offset after the append (what long polling is told).
    queue_max: i64,
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

    fn validate(&self, m: &PutMessage) -> Result<()> {
        if !valid_topic(&m.topic) {
            return Err(StoreError::MessageIllegal(format!(
                "topic {:?} is empty, longer than 255 bytes or has characters outside [A-Za-z0-9%|_-]",
                m.topic
            )));
        }
        if m.queue_id < 0 {
            return Err(StoreError::MessageIllegal(format!(
                "queue id {} is negative",
                m.queue_id
            )));
        }
        if m.body.len() > self.config.max_message_size {
            return Err(StoreError::MessageIllegal(format!(
                "body is {} bytes, more than maxMessageSize={}",
                m.body.len(),
                self.config.max_message_size
            )));
        }
        if m.properties.len() > MAX_PROPERTIES_LEN {
            return Err(StoreError::PropertiesSizeExceeded(m.properties.len()));
        }
        let size = record_size(
            host_flags(m),
            m.topic.len(),
            m.body.len(),
            m.properties.len(),
        ) as u64;
        if size + END_FILE_MIN_BLANK_LENGTH > self.config.mapped_file_size_commit_log {
            return Err(StoreError::MessageIllegal(format!(
                "record of {size} bytes does not fit in a commit-log file of mappedFileSizeCommitLog={} bytes",
                self.config.mapped_file_size_commit_log
            )));
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        if self.shutdown.load(Ordering::Acquire) {
            return Err(StoreError::NotAvailable("message store has been shut down"));
        }
        if self.disk_full.load(Ordering::Acquire) {
            return Err(self.disk_full_error());
        }
        Ok(())
    }

    fn disk_full_error(&self) -> StoreError {
        StoreError::DiskFull {
            used_pct: f64::from_bits(self.disk_ratio_bits.load(Ordering::Acquire)) * 100.0,
            limit_pct: self.config.disk_space_warning_level_ratio,
            resume_pct: self.config.disk_space_clean_forcibly_ratio,
            reserved_hours: self.config.file_reserved_time_hours,
            path: self.config.store_path_root_dir.clone(),
        }
    }

    /// Appends records under the writer lock and dispatches them.
    fn append(&self, msgs: &[PutMessage]) -> Result<Appended> {
        let first = msgs
            .first()
            .ok_or_else(|| StoreError::MessageIllegal("empty batch".into()))?;
        for m in msgs {
            self.validate(m)?;
            if m.topic != first.topic || m.queue_id != first.queue_id {
                return Err(StoreError::MessageIllegal(
                    "a batch must target one topic and queue".into(),
                ));
            }
        }
        let mut w = lock(&self.writer);
        self.check_writable()?;
        let cq = self.queue_or_create(&first.topic, first.queue_id)?;
        let store_ts = now_ms();
        let mut next_queue_offset = cq.max_offset() as i64;
        let mut phys_first = -1i64;
        let mut wrote_bytes = 0i64;
        let mut queue_offset_first = -1i64;
        let mut msg_ids = String::new();
        let mut last_tag_code = 0;
        let mut dispatched = false;
        for m in msgs {
            let tx = sys_flag::transaction_type(m.sys_flag);
            let dispatchable =
                tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT;
            let queue_offset = if dispatchable { next_queue_offset } else { 0 };
            let sys = host_flags(m);
            let size = record_size(sys, m.topic.len(), m.body.len(), m.properties.len()) as u64;
            let (file, pos) = loop {
                let next = self.commit_log.max_offset();
                let file = self.commit_log.file_for_write(next)?;
                let pos = file.wrote();
                let remaining = file.size() - pos;
                if size + END_FILE_MIN_BLANK_LENGTH <= remaining {
                    break (file, pos);
                }
                // Pad the rest of the file; the record goes to the next one.
                // SAFETY: single writer, region above the published position.
                if let Some(b) = unsafe { file.bytes_mut(pos, END_FILE_MIN_BLANK_LENGTH) } {
                    b[0..4].copy_from_slice(&(remaining as i32).to_be_bytes());
                    b[4..8].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
                }
                file.set_wrote(file.size());
                wrote_bytes += remaining as i64;
            };
            let phys = (file.start() + pos) as i64;
            let view = RecordView {
                total_size: size as i32,
                magic: if m.topic.len() > 127 {
                    MAGIC_CODE_V2
                } else {
                    MAGIC_CODE_V1
                },
                body_crc: rmq_remoting::message::body_crc32(&m.body),
                queue_id: m.queue_id,
                flag: m.flag,
                queue_offset,
                physical_offset: phys,
                sys_flag: sys,
                born_timestamp: m.born_timestamp,
                born_host: m.born_host,
                store_timestamp: store_ts,
                store_host: m.store_host,
                reconsume_times: m.reconsume_times,
                prepared_transaction_offset: m.prepared_transaction_offset,
                body: &m.body,
                topic: &m.topic,
                properties: &m.properties,
            };
            // SAFETY: single writer (lock held), region above the published position.
            let dst = unsafe { file.bytes_mut(pos, size) }.ok_or(StoreError::NotAvailable(
                "record does not fit the mapped file",
            ))?;
            write_record(&view, dst).map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            file.set_wrote(pos + size);
            last_tag_code = self.dispatch(&view, phys, size as i32, Some(&cq))?;
            dispatched |= dispatchable;
            if dispatchable {
                next_queue_offset += 1;
            }
            if phys_first < 0 {
                phys_first = phys;
                queue_offset_first = queue_offset;
            }
            if !msg_ids.is_empty() {
                msg_ids.push(',');
            }
            msg_ids.push_str(&encode_offset_msg_id(m.store_host, phys));
            wrote_bytes += size as i64;
        }
        let end = self.commit_log.max_offset() as i64;
        self.dispatched.store(end, Ordering::Release);
        self.written_tx.send_replace(end);
        let sec = store_ts / 1000;
        let slot = &mut w.tps[(sec as usize) % 16];
        if slot.0 != sec {
            *slot = (sec, 0);
        }
        slot.1 += msgs.len() as u64;
        drop(w);
        self.put_count
            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
        self.put_bytes
            .fetch_add(wrote_bytes as u64, Ordering::Relaxed);
        Ok(Appended {
            result: PutResult {
                status: PutStatus::PutOk,
                phys_offset: phys_first,
                wrote_bytes,
                msg_id: msg_ids,
                queue_offset: queue_offset_first,
                store_timestamp: store_ts,
                msg_num: msgs.len(),
                end_offset: end,
            },
            topic: first.topic.clone(),
            queue_id: first.queue_id,
            last_tag_code,
            dispatched,
            queue_max: cq.max_offset() as i64,
        })
    }

    /// Builds the consume-queue entry and the index entries of one record. Used by append (which
    /// passes the record's queue, already looked up) and by recovery (idempotent). Returns the
    /// tag code.
    fn dispatch(
        &self,
        v: &RecordView<'_>,
        phys: i64,
        size: i32,
        queue: Option<&Arc<ConsumeQueue>>,
    ) -> Result<i64> {
        let tx = sys_flag::transaction_type(v.sys_flag);
        let [tags, message_keys, uniq_key] =
            property_values(v.properties, [keys::TAGS, keys::KEYS, keys::UNIQ_KEY]);
        let tag_code = crate::delay::delivery_tag_code(
            v.topic,
            v.properties,
            v.store_timestamp,
            &self.config.message_delay_level,
        )
        .unwrap_or_else(|| tags_code(tags));
        if tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT {
            let cq = match queue {
                Some(cq) => cq.clone(),
                None => self.queue_or_create(v.topic, v.queue_id)?,
            };
            cq.put(
                v.queue_offset as u64,
                CqEntry {
                    phys_offset: phys,
                    size,
                    tag_code,
                },
            )?;
        }
        if self.config.message_index_enable
            && tx != sys_flag::TRANSACTION_ROLLBACK
            && phys >= self.index_from.load(Ordering::Acquire)
        {
            let mut ks: Vec<&str> = Vec::new();
            if let Some(k) = message_keys {
                ks.extend(k.split(' ').filter(|s| !s.is_empty()));
            }
            if let Some(u) = uniq_key {
                ks.push(u);
            }
            if !ks.is_empty() {
                self.index.put(v.topic, &ks, phys, v.store_timestamp)?;
            }
        }
        Ok(tag_code)
    }

    async fn after_append(&self, a: Appended, wait: bool) -> Result<PutResult> {
        if a.dispatched {
            let listener = self
                .listener
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(l) = listener {
                l.arriving(
                    &a.topic,
                    a.queue_id,
                    a.queue_max,
                    a.last_tag_code,
                    a.result.store_timestamp,
                );
            }
        }
        let mut result = a.result;
        if !wait {
            return Ok(result);
        }
        // As RocketMQ, the disk flush and the slave wait run side by side; a replica status
        // (the later one in Java's combination) wins over a flush status.
        let end = result.end_offset;
        let (flushed, replicated) = tokio::join!(self.wait_flushed(end), self.wait_replicated(end));
        if let Some(status) = replicated.or(flushed) {
            result.status = status;
        }
        Ok(result)
    }

    /// In SYNC_FLUSH, waits until the commit log is durable up to `end`; `Some` on timeout.
    async fn wait_flushed(&self, end: i64) -> Option<PutStatus> {
        if self.config.flush_disk_type != FlushDiskType::SyncFlush {
            return None;
        }
        let mut rx = self.flushed_tx.subscribe();
        if *rx.borrow() >= end {
            return None;
        }
        self.wake_flusher();
        let waited =
            tokio::time::timeout(self.config.sync_flush_timeout, rx.wait_for(|f| *f >= end)).await;
        if matches!(waited, Ok(Ok(_))) {
            return None;
        }
        tracing::warn!("sync flush of offset {end} did not finish within syncFlushTimeout");
        Some(PutStatus::FlushDiskTimeout)
    }

    /// With a replica hook (SYNC_MASTER), waits until a slave holds the commit log up to `end`;
    /// `Some` when it did not within `syncFlushTimeout` or no slave is in sync.
    async fn wait_replicated(&self, end: i64) -> Option<PutStatus> {
        let replica = self
            .replica
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        match replica.wait_for(end, self.config.sync_flush_timeout).await {
            ReplicaAck::Acked => None,
            ReplicaAck::Timeout => Some(PutStatus::FlushSlaveTimeout),
            ReplicaAck::NotAvailable => Some(PutStatus::SlaveNotAvailable),
        }
    }

    fn wake_flusher(&self) {
        let (m, c) = &self.flush_request;
        *lock(m) = true;
        c.notify_one();
    }

    fn flush_commit_log(&self) -> Result<()> {
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

    fn flush_loop(&self) {
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

    fn flush_queues_and_checkpoint(&self) -> Result<()> {
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

    fn sleep_unless_shutdown(&self, d: Duration) -> bool {
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

    fn cq_flush_loop(&self) {
        while self.sleep_unless_shutdown(self.config.flush_interval_consume_queue) {
            if let Err(e) = self.flush_queues_and_checkpoint() {
                tracing::error!("consume queue / index flush failed: {e}");
            }
        }
    }

    fn clean_loop(&self) {
        while self.sleep_unless_shutdown(self.config.clean_resource_interval) {
            if let Err(e) = self.clean_pass(false) {
                tracing::error!("clean-up pass failed: {e}");
            }
        }
    }

    fn measure_disk(&self) -> f64 {
        let mut worst: f64 = 0.0;
        for dir in [
            self.config.commit_log_dir(),
            self.config.consume_queue_dir(),
            self.config.index_dir(),
        ] {
            match self.disk_probe.used_ratio(&dir) {
                Ok(r) => worst = worst.max(r),
                Err(e) => tracing::warn!("cannot measure disk usage of {}: {e}", dir.display()),
            }
        }
        self.disk_ratio_bits
            .store(worst.to_bits(), Ordering::Release);
        worst
    }

    /// Updates the disk-full flag from the current usage (set above the warning level, cleared
    /// below the clean-forcibly level, as RocketMQ).
    fn check_disk(&self) -> f64 {
        let ratio = self.measure_disk();
        let warn = f64::from(self.config.disk_space_warning_level_ratio) / 100.0;
        let resume = f64::from(self.config.disk_space_clean_forcibly_ratio) / 100.0;
        if ratio > warn {
            if !self.disk_full.swap(true, Ordering::AcqRel) {
                tracing::error!("{}", self.disk_full_error());
            }
        } else if ratio < resume && self.disk_full.swap(false, Ordering::AcqRel) {
            tracing::info!(
                "disk usage {:.1}% is back under {}%: writes accepted again",
                ratio * 100.0,
                self.config.disk_space_clean_forcibly_ratio
            );
        }
        ratio
    }

    fn clean_pass(&self, manual: bool) -> Result<usize> {
        let ratio = self.measure_disk();
        let hour = local_hour();
        let time_trigger = self.config.delete_hours().contains(&hour);
        let space_trigger = ratio > self.config.disk_max_used_ratio();
        let forcibly = self.config.clean_file_forcibly_enable
            && ratio > f64::from(self.config.disk_space_clean_forcibly_ratio) / 100.0;
        let mut deleted = 0;
        if manual || time_trigger || space_trigger || forcibly {
            let reserved = Duration::from_secs(self.config.file_reserved_time_hours * 3600);
            let now = SystemTime::now();
            while deleted < self.config.delete_file_batch_max {
                let files = self.commit_log.files();
                if files.len() <= 1 {
                    break;
                }
                let first = &files[0];
                let expired = first
                    .modified()
                    .map(|m| now.duration_since(m).unwrap_or_default() >= reserved)
                    .unwrap_or(false);
                if !(expired || forcibly) {
                    break;
                }
                if let Some(f) = self.commit_log.remove_first()? {
                    tracing::info!(
                        "deleted commit-log file {} ({}; disk {:.1}% used)",
                        f.path().display(),
                        if expired {
                            "expired"
                        } else {
                            "disk pressure, not yet expired"
                        },
                        ratio * 100.0
                    );
                    deleted += 1;
                }
            }
            if deleted > 0 {
                let min = self.commit_log.min_offset() as i64;
                let queues: Vec<Arc<ConsumeQueue>> = self
                    .queues
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .flat_map(|m| m.values().cloned())
                    .collect();
                for q in queues {
                    q.delete_expired(min)?;
                }
                self.index.delete_expired(min)?;
            }
        }
        self.check_disk();
        Ok(deleted)
    }

    fn record_at(&self, phys: i64, size: Option<i32>) -> Option<SelectedBuffer> {
        let p = u64::try_from(phys).ok()?;
        let f = self.commit_log.find(p)?;
        let rel = p - f.start();
        let wrote = f.wrote();
        let head = f.bytes(rel, 8)?;
        if rel + 8 > wrote {
            return None;
        }
        let total = i32::from_be_bytes(head[0..4].try_into().ok()?);
        let magic = u32::from_be_bytes(head[4..8].try_into().ok()?);
        if magic != MAGIC_CODE_V1 && magic != MAGIC_CODE_V2 {
            return None;
        }
        if let Some(s) = size {
            if s != total {
                return None;
            }
        }
        if total <= 0 || rel + total as u64 > wrote {
            return None;
        }
        SelectedBuffer::new(f, rel, total as u64)
    }

    fn store_time_of(&self, e: CqEntry) -> Option<i64> {
        let b = self.record_at(e.phys_offset, Some(e.size))?;
        store_timestamp_at(b.as_slice())
    }

    fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        let mut r = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
        };
        let Some(q) = self.queue(topic, queue_id) else {
            r.next_begin_offset = offset.max(0);
            return r;
        };
        let (min, max) = (q.min_offset() as i64, q.max_offset() as i64);
        r.min_offset = min;
        r.max_offset = max;
        if max == 0 {
            r.status = GetMessageStatus::NoMessageInQueue;
            return r;
        }
        if offset < min {
            r.status = GetMessageStatus::OffsetTooSmall;
            r.next_begin_offset = min;
            return r;
        }
        if offset == max {
            r.status = GetMessageStatus::OffsetOverflowOne;
            r.next_begin_offset = offset;
            return r;
        }
        if offset > max {
            r.status = GetMessageStatus::OffsetOverflowBadly;
            r.next_begin_offset = if min == 0 { min } else { max };
            return r;
        }
        let max_count = max_count.max(1);
        let scan_limit = (max_count * 20).max(800) as i64;
        let mut next = offset;
        let mut bytes = 0usize;
        let mut removed = false;
        let mut missing = false;
        let mut cur = offset;
        let commit_min = self.commit_log.min_offset() as i64;
        while cur < max && cur < offset + scan_limit && r.messages.len() < max_count {
            let Some(e) = q.entry(cur as u64) else {
                missing = true;
                break;
            };
            next = cur + 1;
            if e.is_hole() {
                cur += 1;
                continue;
            }
            if e.phys_offset < commit_min {
                removed = true;
                cur += 1;
                continue;
            }
            if !r.messages.is_empty() && bytes + e.size as usize > max_bytes {
                next = cur;
                break;
            }
            if !filter.matches_tag_code(e.tag_code) {
                cur += 1;
                continue;
            }
            let Some(buf) = self.record_at(e.phys_offset, Some(e.size)) else {
                removed = true;
                cur += 1;
                continue;
            };
            if !filter.matches_record(buf.as_slice()) {
                cur += 1;
                continue;
            }
            bytes += buf.len();
            r.messages.push(buf);
            r.queue_offsets.push(cur);
            cur += 1;
        }
        r.next_begin_offset = next;
        r.status = if !r.messages.is_empty() {
            GetMessageStatus::Found
        } else if removed {
            GetMessageStatus::MessageWasRemoving
        } else if missing && next == offset {
            GetMessageStatus::OffsetFoundNull
        } else {
            GetMessageStatus::NoMatchedMessage
        };
        r
    }

    fn query_message(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<SelectedBuffer> {
        let mut offsets =
            self.index
                .query(topic, key, max.saturating_mul(4).max(max), begin_ms, end_ms);
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        offsets.dedup();
        let mut out = Vec::new();
        for phys in offsets {
            if out.len() >= max {
                break;
            }
            let Some(buf) = self.record_at(phys, None) else {
                continue;
            };
            let Ok(v) = decode_record(buf.as_slice(), false) else {
                continue;
            };
            if v.topic != topic || v.physical_offset != phys {
                continue;
            }
            let has_key = property_value(v.properties, keys::UNIQ_KEY) == Some(key)
                || property_value(v.properties, keys::KEYS)
                    .is_some_and(|k| k.split(' ').any(|x| x == key));
            if has_key && v.store_timestamp >= begin_ms - 1000 && v.store_timestamp <= end_ms {
                out.push(buf);
            }
        }
        out
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

    /// Scans the commit log from the checkpoint, re-dispatches, truncates the torn tail.
    fn recover(&self, cp: Option<Checkpoint>) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        let files = self.commit_log.files();
        if files.is_empty() {
            // Nothing stored: consume queues and index cannot point anywhere.
            self.drop_all_queue_entries_above(0, &mut report)?;
            return Ok(report);
        }
        self.index_from
            .store(self.index.max_indexed_phys().max(0), Ordering::Release);
        let no_queues = self
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        let safe = match cp {
            Some(cp) if !no_queues => cp.safe_offset.max(0) as u64,
            Some(_) => 0,
            None => {
                tracing::warn!("checkpoint missing or torn: scanning the whole commit log");
                0
            }
        };
        let size = self.commit_log.file_size();
        let start_idx = files.iter().rposition(|f| f.start() <= safe).unwrap_or(0);
        for f in &files[..start_idx] {
            f.set_wrote(size);
            f.set_flushed(size);
        }
        let verify = self.config.check_crc_on_recover;
        // Everything below `safe` is on disk and dispatched, its queues and index flushed before
        // the checkpoint was written: after a clean stop and after a crash alike, the scan
        // starts at `safe` itself when a record (or the end of the data) begins there, so a
        // restart costs the same whatever the size of the store. A torn tail always lies above
        // `safe`: nothing there was acknowledged as flushed.
        let first = &files[start_idx];
        let mut pos = safe.saturating_sub(first.start());
        if pos > 0 && self.config.message_index_enable && self.index.max_indexed_phys() < 0 {
            // The index files are gone: index at least that file again.
            pos = 0;
        } else if pos > 0 && !Self::record_boundary(first, pos, size, verify) {
            tracing::warn!(
                "recovery: checkpoint offset {safe} is not a record boundary; scanning {} from its start",
                first.path().display()
            );
            pos = 0;
        }
        first.set_wrote(pos);
        first.set_flushed(pos);
        report.scanned_from = (first.start() + pos) as i64;
        let mut valid_end = first.start() + pos;
        let mut stop: Option<String> = None;
        'files: for f in &files[start_idx..] {
            if f.start() + pos != valid_end {
                break;
            }
            loop {
                if pos + END_FILE_MIN_BLANK_LENGTH > size {
                    // Records always leave room for a padding: the file ends here.
                    stop = Some(format!(
                        "file {} ends without padding at {pos}",
                        f.path().display()
                    ));
                    break 'files;
                }
                let Some((total, magic)) = record_head(f, pos) else {
                    break 'files;
                };
                if total == 0 && magic == 0 {
                    break 'files; // end of data
                }
                if magic == BLANK_MAGIC_CODE {
                    if total as u64 == size - pos {
                        f.set_wrote(size);
                        f.set_flushed(size);
                        valid_end = f.start() + size;
                        pos = 0;
                        continue 'files;
                    }
                    stop = Some(format!(
                        "end-of-file padding of {total} bytes at {pos} does not reach the file end"
                    ));
                    break 'files;
                }
                let rest = f.bytes(pos, size - pos).unwrap_or(&[]);
                let v = match decode_record(rest, verify) {
                    Ok(v) => v,
                    Err(e) => {
                        stop = Some(e.to_string());
                        break 'files;
                    }
                };
                let phys = f.start() + pos;
                if v.physical_offset != phys as i64 {
                    stop = Some(format!(
                        "record claims physical offset {} (stale data)",
                        v.physical_offset
                    ));
                    break 'files;
                }
                let tx = sys_flag::transaction_type(v.sys_flag);
                if tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT {
                    let qmax = self
                        .queue(v.topic, v.queue_id)
                        .map(|q| q.max_offset() as i64)
                        .unwrap_or(0);
                    // A slave that started from the master's newest file has queues that
                    // begin far above 0: the bound applies once a queue has entries.
                    if v.queue_offset < 0 || (qmax > 0 && v.queue_offset > qmax + 1_000_000) {
                        stop = Some(format!(
                            "implausible queue offset {} (queue max {qmax})",
                            v.queue_offset
                        ));
                        break 'files;
                    }
                }
                if (v.total_size as u64) + END_FILE_MIN_BLANK_LENGTH > size - pos {
                    stop = Some("record leaves no room for the end-of-file padding".into());
                    break 'files;
                }
                self.dispatch(&v, phys as i64, v.total_size, None)?;
                report.records_redispatched += 1;
                pos += v.total_size as u64;
                f.set_wrote(pos);
                f.set_flushed(pos);
                valid_end = phys + v.total_size as u64;
            }
        }
        report.valid_end = valid_end as i64;
        if let Some(reason) = stop {
            tracing::warn!(
                "recovery: commit log truncated at physical offset {valid_end}: {reason}; the bytes after it (a torn or \
                 corrupt tail, never acknowledged in SYNC_FLUSH) are discarded"
            );
            report.truncated = Some((valid_end as i64, reason));
        }
        self.commit_log.truncate(valid_end)?;
        // Index entries at or past the cut are stale (lookups verify and skip them); everything
        // appended from here on must be indexed.
        let from = self
            .index_from
            .load(Ordering::Acquire)
            .min(valid_end as i64);
        self.index_from.store(from, Ordering::Release);
        self.drop_all_queue_entries_above(valid_end as i64, &mut report)?;
        let min = self.commit_log.min_offset() as i64;
        for q in self.all_queues() {
            q.correct_min_offset(min);
        }
        tracing::info!(
            "recovery: scanned commit log from {} to {}, re-dispatched {} records, dropped {} consume-queue entries",
            report.scanned_from,
            report.valid_end,
            report.records_redispatched,
            report.cq_entries_dropped
        );
        Ok(report)
    }

    /// Whether the end of the data, an end-of-file padding or a valid record whose stored
    /// physical offset matches starts at `pos` of `f`.
    fn record_boundary(f: &MappedFile, pos: u64, size: u64, verify: bool) -> bool {
        let Some((total, magic)) = record_head(f, pos) else {
            return false;
        };
        if total == 0 && magic == 0 || magic == BLANK_MAGIC_CODE && total as u64 == size - pos {
            return true;
        }
        let rest = f.bytes(pos, size - pos).unwrap_or(&[]);
        decode_record(rest, verify).is_ok_and(|v| v.physical_offset == (f.start() + pos) as i64)
    }

    fn all_queues(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    fn drop_all_queue_entries_above(&self, end: i64, report: &mut RecoveryReport) -> Result<()> {
        for q in self.all_queues() {
            let n = q.truncate_dirty(end)?;
            if n > 0 {
                tracing::warn!(
                    "recovery: dropped {n} entries of consume queue {}/{} past the commit log end",
                    q.topic(),
                    q.queue_id()
                );
            }
            report.cq_entries_dropped += n;
        }
        if end == 0 {
            self.index.destroy()?;
            let empty: Vec<Arc<ConsumeQueue>> = self
                .all_queues()
                .into_iter()
                .filter(|q| q.max_offset() == 0)
                .collect();
            for q in empty {
                q.destroy()?;
            }
        }
        Ok(())
    }
}

/// The TOTALSIZE and magic code at `pos` of a commit-log file, if 8 bytes are there.
fn record_head(f: &MappedFile, pos: u64) -> Option<(i32, u32)> {
    let head = f.bytes(pos, 8)?;
    Some((
        i32::from_be_bytes([head[0], head[1], head[2], head[3]]),
        u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
    ))
}

fn host_flags(m: &PutMessage) -> i32 {
    let mut f = m.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
    if m.born_host.is_ipv6() {
        f |= sys_flag::BORNHOST_V6;
    }
    if m.store_host.is_ipv6() {
        f |= sys_flag::STOREHOST_V6;
    }
    f
}

fn local_hour() -> u32 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r writes into the provided struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return ((t / 3600) % 24) as u32;
    }
    tm.tm_hour as u32
}
