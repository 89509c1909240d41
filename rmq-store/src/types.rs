//! Public value types of the store API.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use crate::consume_queue::CqEntry;
use crate::mapped_file::SelectedBuffer;

/// A message to append: what the broker builds from a send request (Java
/// `MessageExtBrokerInner`). The store assigns queue offset, physical offset and store time.
#[derive(Debug, Clone)]
pub struct PutMessage {
    /// Topic (`[A-Za-z0-9%|_-]`, at most 255 bytes).
    pub topic: String,
    /// Queue id (≥ 0).
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Body, stored as is (compressed bodies stay compressed).
    pub body: Bytes,
    /// Encoded properties string (docs/remoting-protocol.md §7.1), stored as is.
    pub properties: String,
    /// sysFlag; the host bits are set from the host address kinds.
    pub sys_flag: i32,
    /// Born timestamp (ms) from the producer.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// This broker's address (goes into the offset message id).
    pub store_host: SocketAddr,
    /// Reconsume count (retries).
    pub reconsume_times: i32,
    /// Half-message offset for committed transactional messages.
    pub prepared_transaction_offset: i64,
}

impl PutMessage {
    /// A stored record as a message to append again, unchanged but for `store_host`.
    ///
    /// Exists for the broker's re-stores (delays falling due, retries and dead letters,
    /// transaction commits and checks), which then change destination or properties with
    /// struct-update syntax.
    pub fn from_record(
        record: &rmq_remoting::message::RecordView<'_>,
        store_host: SocketAddr,
    ) -> Self {
        PutMessage {
            topic: record.topic.to_owned(),
            queue_id: record.queue_id,
            flag: record.flag,
            body: Bytes::copy_from_slice(record.body),
            properties: record.properties.to_owned(),
            sys_flag: record.sys_flag,
            born_timestamp: record.born_timestamp,
            born_host: record.born_host,
            store_host,
            reconsume_times: record.reconsume_times,
            prepared_transaction_offset: record.prepared_transaction_offset,
        }
    }

    /// Whether the producer waits for flush and replication (`WAIT` property, default true).
    pub fn wait_store_msg_ok(&self) -> bool {
        rmq_remoting::message::property_value(&self.properties, rmq_remoting::message::keys::WAIT)
            != Some("false")
    }
}

/// Outcome of a successful append. The flush/replica timeouts are successes: the message is
/// stored and will be delivered (RocketMQ semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// `PUT_OK`.
    PutOk,
    /// `FLUSH_DISK_TIMEOUT`: SYNC_FLUSH did not complete within `syncFlushTimeout`.
    FlushDiskTimeout,
    /// `FLUSH_SLAVE_TIMEOUT`: the replica did not acknowledge within `syncFlushTimeout`.
    FlushSlaveTimeout,
    /// `SLAVE_NOT_AVAILABLE`: no replica to wait for.
    SlaveNotAvailable,
}

/// Result of an append (one message or a batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// Status (see [`PutStatus`]).
    pub status: PutStatus,
    /// Physical offset of the first record.
    pub phys_offset: i64,
    /// Bytes appended (records plus any end-of-file padding written for them).
    pub wrote_bytes: i64,
    /// Offset message id(s), comma-joined for batches (the send response's `msgId`).
    pub msg_id: String,
    /// Queue offset of the first message (0 for prepared/rolled-back transactional messages).
    pub queue_offset: i64,
    /// Store timestamp assigned (ms).
    pub store_timestamp: i64,
    /// Number of messages appended.
    pub msg_num: usize,
    /// Commit-log offset just after the last record (what flush and replication wait for).
    pub end_offset: i64,
}

/// How a read by queue offset turned out (Java `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    /// Messages returned.
    Found,
    /// Entries were scanned but none passed the filter.
    NoMatchedMessage,
    /// The commit-log data was deleted under the entries.
    MessageWasRemoving,
    /// An entry could not be read.
    OffsetFoundNull,
    /// Requested offset is past the maximum by more than one.
    OffsetOverflowBadly,
    /// Requested offset equals the maximum: nothing new yet (long polling parks here).
    OffsetOverflowOne,
    /// Requested offset is below the minimum.
    OffsetTooSmall,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue exists but is empty.
    NoMessageInQueue,
}

/// Result of a read by queue offset.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    /// Outcome.
    pub status: GetMessageStatus,
    /// Offset the consumer should ask for next.
    pub next_begin_offset: i64,
    /// Minimum queue offset.
    pub min_offset: i64,
    /// Maximum queue offset (next to be written).
    pub max_offset: i64,
    /// Stored records, exactly as in the commit log (hand them to the network as they are).
    pub messages: Vec<SelectedBuffer>,
    /// Queue offset of each returned message.
    pub queue_offsets: Vec<i64>,
}

impl GetMessageResult {
    /// Total bytes of the returned records.
    pub fn buffer_total_size(&self) -> usize {
        self.messages.iter().map(|m| m.len()).sum()
    }
}

/// Decides which consume-queue entries (and records) a read returns.
///
/// Exists so the broker can plug in TAG and SQL92 filtering without the store knowing about
/// subscriptions.
pub trait MessageFilter: Send + Sync {
    /// First stage, on the consume-queue entry (tag code).
    fn matches_tag_code(&self, tag_code: i64) -> bool;
    /// Second stage, on the record (e.g. SQL92 on properties). Default: accept.
    fn matches_record(&self, _record: &[u8]) -> bool {
        true
    }
}

/// Accept everything.
pub struct AcceptAll;

impl MessageFilter for AcceptAll {
    fn matches_tag_code(&self, _tag_code: i64) -> bool {
        true
    }
}

impl MessageFilter for rmq_remoting::message::TagSubscription {
    fn matches_tag_code(&self, tag_code: i64) -> bool {
        self.matches_code(tag_code)
    }
}

/// Told about every dispatched message, so the broker can wake long-polling pulls.
pub trait MessageArrivingListener: Send + Sync {
    /// A message for `topic`/`queue_id` is readable; `max_offset` is the queue's new maximum.
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        max_offset: i64,
        tag_code: i64,
        store_timestamp: i64,
    );
}

/// Answer of a replica wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaAck {
    /// A replica holds the data.
    Acked,
    /// No answer within the timeout.
    Timeout,
    /// No replica is connected (or it is too far behind).
    NotAvailable,
}

/// Hook for SYNC_MASTER: lets an append wait until a replica has the commit log up to an offset.
///
/// Exists so master/slave replication can be added without touching the append path.
pub trait ReplicaAckWaiter: Send + Sync {
    /// Wait until a replica confirmed `commit_log_end`, or `timeout`.
    fn wait_for(
        &self,
        commit_log_end: i64,
        timeout: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ReplicaAck> + Send>>;
}

/// Measures disk usage; injectable so tests can simulate a full disk.
pub trait DiskUsage: Send + Sync {
    /// Fraction (0.0–1.0) of the partition holding `path` that is used.
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64>;
}

/// [`DiskUsage`] from `statvfs`, as Java's `(total - free) / total`.
pub struct StatvfsDiskUsage;

impl DiskUsage for StatvfsDiskUsage {
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64> {
        let space = disk_space(path)?;
        if space.total == 0 {
            return Ok(0.0);
        }
        let (total, free) = (space.total as f64, space.free as f64);
        Ok(((total - free) / total).clamp(0.0, 1.0))
    }
}

/// The size of the partition holding a path, in bytes, as Java's `File` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// `getTotalSpace()`.
    pub total: u64,
    /// `getFreeSpace()`: free blocks, those reserved for root included.
    pub free: u64,
    /// `getUsableSpace()`: what an unprivileged writer can still use.
    pub usable: u64,
}

/// `statvfs` of the partition holding `path` (runtime info's `commitLogDirCapacity`, disk
/// ratios).
pub fn disk_space(path: &Path) -> std::io::Result<DiskSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: statvfs fills the struct; both pointers are valid for the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let bytes = |blocks: u64| blocks.saturating_mul(st.f_frsize);
    Ok(DiskSpace {
        total: bytes(st.f_blocks),
        free: bytes(st.f_bfree),
        usable: bytes(st.f_bavail),
    })
}

/// What recovery found and did at open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The `abort` marker was present: the previous run did not shut down cleanly.
    pub abnormal: bool,
    /// Commit-log offset the scan started from.
    pub scanned_from: i64,
    /// Commit-log offset after the last valid record.
    pub valid_end: i64,
    /// Records re-dispatched into consume queues and index.
    pub records_redispatched: u64,
    /// When a torn or corrupt tail was cut: (offset, reason).
    pub truncated: Option<(i64, String)>,
    /// Consume-queue entries dropped because they pointed past the valid end.
    pub cq_entries_dropped: u64,
}

/// Store statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreStats {
    /// Lowest physical offset still stored.
    pub commit_log_min_offset: i64,
    /// Physical offset after the last record.
    pub commit_log_max_offset: i64,
    /// Physical offset up to which data is durable.
    pub commit_log_flushed_offset: i64,
    /// Bytes of commit-log files.
    pub commit_log_disk_bytes: u64,
    /// Bytes of consume-queue files.
    pub consume_queue_disk_bytes: u64,
    /// Bytes of index files.
    pub index_disk_bytes: u64,
    /// Number of consume queues.
    pub consume_queue_count: usize,
    /// Messages appended since open.
    pub put_message_count: u64,
    /// Record bytes appended since open.
    pub put_message_bytes: u64,
    /// Appends per second over the last 10 seconds.
    pub put_tps: f64,
    /// Last measured disk usage (fraction).
    pub disk_used_ratio: f64,
    /// Writes are refused because the disk is full.
    pub disk_full: bool,
}

/// Re-export so the broker can name consume-queue entries.
pub type ConsumeQueueEntry = CqEntry;
