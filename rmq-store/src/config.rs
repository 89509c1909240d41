//! Store configuration, with RocketMQ's `broker.conf` key names and defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How appends reach the disk (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH`: an append is acknowledged once it is in the page cache; a background thread
    /// flushes every `flushIntervalCommitLog`.
    AsyncFlush,
    /// `SYNC_FLUSH`: an append is acknowledged only after fdatasync covered it (group commit).
    SyncFlush,
}

impl FlushDiskType {
    /// Parses the broker.conf value (`ASYNC_FLUSH` / `SYNC_FLUSH`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "ASYNC_FLUSH" => Some(Self::AsyncFlush),
            "SYNC_FLUSH" => Some(Self::SyncFlush),
            _ => None,
        }
    }
}

/// Configuration of a [`crate::MessageStore`].
///
/// Field docs name the RocketMQ key each field corresponds to, so the broker can bind
/// `broker.conf` straight onto it. Defaults are RocketMQ's.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `storePathRootDir`: root of all store files (default `~/store`).
    pub store_path_root_dir: PathBuf,
    /// `mappedFileSizeCommitLog`: bytes per commit-log file (default 1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue`: bytes per consume-queue file, rounded up to a multiple of 20
    /// (default 6,000,000 = 300,000 entries).
    pub mapped_file_size_consume_queue: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog`: async flush period (default 500 ms).
    pub flush_interval_commit_log: Duration,
    /// `flushIntervalConsumeQueue`: consume queue and index flush period (default 1000 ms).
    pub flush_interval_consume_queue: Duration,
    /// `syncFlushTimeout`: how long a SYNC_FLUSH append waits before reporting FLUSH_DISK_TIMEOUT
    /// (default 5000 ms).
    pub sync_flush_timeout: Duration,
    /// `slaveTimeout`: how long a SYNC_MASTER append waits for the replica (default 3000 ms).
    pub slave_timeout: Duration,
    /// `deleteWhen`: hours of the day (local time, `;`-separated) when expired files are removed
    /// (default `"04"`).
    pub delete_when: String,
    /// `fileReservedTime`: hours after its last modification when a commit-log file expires
    /// (default 72).
    pub file_reserved_time_hours: u64,
    /// `diskMaxUsedSpaceRatio`: above this % of disk use, expired files are removed at any hour
    /// (default 75, clamped to 10..=95).
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceCleanForciblyRatio`: above this %, files are removed even if not expired
    /// (default 85).
    pub disk_space_clean_forcibly_ratio: u32,
    /// `diskSpaceWarningLevelRatio`: above this %, the store refuses writes (default 90). Reads go
    /// on working.
    pub disk_space_warning_level_ratio: u32,
    /// `cleanFileForciblyEnable`: allow removing unexpired files under disk pressure (default true).
    pub clean_file_forcibly_enable: bool,
    /// `deleteFileBatchMax`: files removed per clean-up pass (default 10).
    pub delete_file_batch_max: usize,
    /// `cleanResourceInterval`: period of the clean-up pass (default 10 s).
    pub clean_resource_interval: Duration,
    /// `maxMessageSize`: largest accepted body (default 4 MiB).
    pub max_message_size: usize,
    /// `messageIndexEnable`: build the key / unique-key index (default true).
    pub message_index_enable: bool,
    /// `maxHashSlotNum`: hash slots per index file (default 5,000,000).
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`: entries per index file (default 20,000,000).
    pub max_index_num: u32,
    /// `checkCRCOnRecover`: verify body CRCs when recovering (default true).
    pub check_crc_on_recover: bool,
    /// `maxTransferBytesOnMessageInMemory`: default cap on bytes returned by one read (256 KiB).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// `maxTransferCountOnMessageInMemory`: default cap on messages returned by one read (32).
    pub max_transfer_count_on_message_in_memory: usize,
    /// Not a RocketMQ key: preallocate each new file's blocks (fallocate), so that a write into a
    /// mapped page can never hit ENOSPC (which would kill the process with SIGBUS). Default true.
    pub preallocate_files: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        StoreConfig {
            store_path_root_dir: home.join("store"),
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log: Duration::from_millis(500),
            flush_interval_consume_queue: Duration::from_millis(1000),
            sync_flush_timeout: Duration::from_millis(5000),
            slave_timeout: Duration::from_millis(3000),
            delete_when: "04".to_owned(),
            file_reserved_time_hours: 72,
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            disk_space_warning_level_ratio: 90,
            clean_file_forcibly_enable: true,
            delete_file_batch_max: 10,
            clean_resource_interval: Duration::from_secs(10),
            max_message_size: 4 * 1024 * 1024,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            check_crc_on_recover: true,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            preallocate_files: true,
        }
    }
}

impl StoreConfig {
    /// A default configuration rooted at `root`.
    pub fn with_root(root: impl AsRef<Path>) -> Self {
        StoreConfig {
            store_path_root_dir: root.as_ref().to_path_buf(),
            ..Default::default()
        }
    }

    /// `commitlog/` under the root.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("commitlog")
    }

    /// `consumequeue/` under the root.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// `index/` under the root.
    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// Consume-queue file size rounded up to whole 20-byte entries, as RocketMQ does.
    pub fn consume_queue_file_size(&self) -> u64 {
        let n = self.mapped_file_size_consume_queue.max(20);
        n.div_ceil(20) * 20
    }

    /// `diskMaxUsedSpaceRatio` clamped to RocketMQ's range, as a fraction.
    pub fn disk_max_used_ratio(&self) -> f64 {
        f64::from(self.disk_max_used_space_ratio.clamp(10, 95)) / 100.0
    }

    /// Hours of the day listed by `deleteWhen`.
    pub fn delete_hours(&self) -> Vec<u32> {
        self.delete_when
            .split(';')
            .filter_map(|h| h.trim().parse().ok())
            .collect()
    }
}
