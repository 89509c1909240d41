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

rmq_config::settings! {
    /// Configuration of a [`crate::MessageStore`], bound from `broker.conf` with RocketMQ's key
    /// names and defaults (durations in milliseconds, as RocketMQ writes them).
    pub struct StoreConfig {
        /// Root of all store files (default `~/store`).
        store_path_root_dir: PathBuf = default_store_root() => "storePathRootDir",
        /// Bytes per commit-log file (default 1 GiB).
        mapped_file_size_commit_log: u64 = 1024 * 1024 * 1024 => "mappedFileSizeCommitLog",
        /// Bytes per consume-queue file, rounded up to a multiple of 20 (default 6,000,000 = 300,000 entries).
        mapped_file_size_consume_queue: u64 = 300_000 * 20 => "mappedFileSizeConsumeQueue",
        /// ASYNC_FLUSH acknowledges appends once in the page cache; SYNC_FLUSH after fdatasync (group commit).
        flush_disk_type: FlushDiskType = FlushDiskType::AsyncFlush => "flushDiskType",
        /// Async flush period (default 500 ms).
        flush_interval_commit_log: Duration = Duration::from_millis(500) => "flushIntervalCommitLog",
        /// Consume queue and index flush period (default 1000 ms).
        flush_interval_consume_queue: Duration = Duration::from_millis(1000) => "flushIntervalConsumeQueue",
        /// How long a SYNC_FLUSH append waits before reporting FLUSH_DISK_TIMEOUT, and a SYNC_MASTER append for a slave before FLUSH_SLAVE_TIMEOUT, as in RocketMQ 4.9 (default 5000 ms).
        sync_flush_timeout: Duration = Duration::from_millis(5000) => "syncFlushTimeout",
        /// Hours of the day (local time, `;`-separated) when expired files are removed (default `"04"`).
        delete_when: String = "04".to_owned() => "deleteWhen",
        /// Hours after its last modification when a commit-log file expires (default 72).
        file_reserved_time_hours: u64 = 72 => "fileReservedTime",
        /// Above this % of disk use, expired files are removed at any hour (default 75, clamped to 10..=95).
        disk_max_used_space_ratio: u32 = 75 => "diskMaxUsedSpaceRatio",
        /// Above this %, files are removed even if not expired (default 85).
        disk_space_clean_forcibly_ratio: u32 = 85 => "diskSpaceCleanForciblyRatio",
        /// Above this %, the store refuses writes (default 90). Reads go on working.
        disk_space_warning_level_ratio: u32 = 90 => "diskSpaceWarningLevelRatio",
        /// Allow removing unexpired files under disk pressure (default true).
        clean_file_forcibly_enable: bool = true => "cleanFileForciblyEnable",
        /// Files removed per clean-up pass (default 10).
        delete_file_batch_max: usize = 10 => "deleteFileBatchMax",
        /// Period of the clean-up pass (default 10 s).
        clean_resource_interval: Duration = Duration::from_secs(10) => "cleanResourceInterval",
        /// Largest accepted body (default 4 MiB).
        max_message_size: usize = 4 * 1024 * 1024 => "maxMessageSize",
        /// Build the key / unique-key index (default true).
        message_index_enable: bool = true => "messageIndexEnable",
        /// Hash slots per index file (default 5,000,000).
        max_hash_slot_num: u32 = 5_000_000 => "maxHashSlotNum",
        /// Entries per index file (default 20,000,000).
        max_index_num: u32 = 20_000_000 => "maxIndexNum",
        /// Verify body CRCs when recovering (default true).
        check_crc_on_recover: bool = true => "checkCRCOnRecover",
        /// Default cap on bytes returned by one read (256 KiB).
        max_transfer_bytes_on_message_in_memory: usize = 256 * 1024 => "maxTransferBytesOnMessageInMemory",
        /// Default cap on messages returned by one read (32).
        max_transfer_count_on_message_in_memory: usize = 32 => "maxTransferCountOnMessageInMemory",
        /// Delay of each delay level, level 1 first (units s, m, h, d).
        message_delay_level: crate::DelayLevels = crate::DelayLevels::default() => "messageDelayLevel",
        /// Not a RocketMQ key: preallocate each new file's blocks (fallocate), so that a write into a mapped page can never hit ENOSPC (which would kill the process with SIGBUS). Default true.
        preallocate_files: bool = true => "preallocateFiles",
        /// Not a RocketMQ key: under ASYNC_FLUSH, start the kernel's writeback of the commit log each time this many more bytes are written, so the disk writes during a burst instead of after it; nothing becomes durable sooner than `flushIntervalCommitLog` promises (0 leaves all of it to the periodic flush). Default 16 MiB.
        commit_log_writeback_bytes: u64 = 16 * 1024 * 1024 => "commitLogWritebackBytes",
    }
    ignored {
        "transientStorePoolEnable" => "appends go straight into mapped files; there is no write-buffer pool",
        "transientStorePoolSize" => "appends go straight into mapped files; there is no write-buffer pool",
        "commitIntervalCommitLog" => "appends go straight into mapped files; there is no write-buffer pool",
        "flushCommitLogLeastPages" => "the async flush syncs whatever is dirty each interval",
        "flushCommitLogThoroughInterval" => "the async flush syncs whatever is dirty each interval",
        "slaveTimeout" => "RocketMQ 4.9's SYNC_MASTER waits syncFlushTimeout for its slave, and so does rmq; slaveTimeout is a 5.x key",
        "mapedFileSizeCommitLog" => "pre-4.5 spelling, ignored by RocketMQ too: use mappedFileSizeCommitLog",
        "mapedFileSizeConsumeQueue" => "pre-4.5 spelling, ignored by RocketMQ too: use mappedFileSizeConsumeQueue",
    }
}

fn default_store_root() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("store")
}

impl rmq_config::ConfigValue for FlushDiskType {
    fn parse_value(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| "ASYNC_FLUSH or SYNC_FLUSH".to_owned())
    }
    fn render(&self) -> String {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
        .to_owned()
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
