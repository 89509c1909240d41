//! The store's error type.

use std::path::PathBuf;

use rmq_remoting::message::MessageError;
use thiserror::Error;

/// Why the store refused or failed an operation.
///
/// Variants map onto RocketMQ's `PutMessageStatus` so the broker can pick the response code
/// without string matching: see [`StoreError::put_status_name`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// The disk is too full to accept writes (SERVICE_NOT_AVAILABLE). The message says how full,
    /// the limit, the key that sets it and what to do.
    #[error(
        "service not available now: the store's disk is {used_pct:.1}% full ({path}), above \
         diskSpaceWarningLevelRatio={limit_pct}%; writes are refused until usage drops below \
         {resume_pct}% (reads still work). Expired commit-log files were already removed \
         (fileReservedTime={reserved_hours}h); free space by deleting old files under {path}/commitlog \
         (oldest first, never the newest), lowering fileReservedTime, or enlarging the disk"
    )]
    DiskFull {
        /// Usage in percent.
        used_pct: f64,
        /// The configured limit in percent.
        limit_pct: u32,
        /// The usage under which writes resume.
        resume_pct: u32,
        /// `fileReservedTime` in hours.
        reserved_hours: u64,
        /// Store root.
        path: PathBuf,
    },
    /// The message is not acceptable (MESSAGE_ILLEGAL).
    #[error("message illegal: {0}")]
    MessageIllegal(String),
    /// Properties longer than a record can hold (PROPERTIES_SIZE_EXCEEDED).
    #[error("properties too long: {0} bytes, at most 32767")]
    PropertiesSizeExceeded(usize),
    /// The store is shut down or not writable (SERVICE_NOT_AVAILABLE).
    #[error("service not available now: {0}")]
    NotAvailable(&'static str),
    /// A commit-log file could not be created (CREATE_MAPEDFILE_FAILED).
    #[error("create mapped file failed: {path}: {source}")]
    CreateMappedFileFailed {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A sync (msync / fdatasync) or a checkpoint write failed. The kernel may already have
    /// dropped the dirty pages, so a later sync that succeeds would prove nothing (the fsyncgate
    /// problem): the store refuses every write from then on, until it is restarted
    /// (SERVICE_NOT_AVAILABLE), and never counts the failed range as flushed.
    #[error(
        "service not available now: the store stopped accepting writes after a failed sync of \
         {path} ({errno_name}, errno {errno}: {cause}); messages written since the last successful \
         sync may not be on disk. Check the disk (dmesg, SMART, free space, a read-only remount), \
         then restart the broker: recovery scans the commit log from the checkpoint and cuts \
         whatever did not reach the disk"
    )]
    SyncFailed {
        /// The file whose sync failed.
        path: PathBuf,
        /// The OS error number (0 when the error carried none).
        errno: i32,
        /// Its symbolic name (EIO, ENOSPC, ...).
        errno_name: &'static str,
        /// The error as the OS described it.
        cause: String,
    },
    /// Another process holds the store's lock file.
    #[error("store {0} is locked by another process")]
    Locked(PathBuf),
    /// An I/O error (UNKNOWN_ERROR).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Replicated bytes do not continue this store's commit log: the master sent `offset`, the
    /// slave's log ends at `local_end`. The replication connection is reset from `local_end`.
    #[error(
        "replicated data starts at commit-log offset {offset} but this store ends at {local_end}"
    )]
    ReplicaOffsetMismatch {
        /// Where the received bytes belong.
        offset: i64,
        /// This store's commit-log end.
        local_end: i64,
    },
    /// Replicated bytes hold something that is not a record where one must start; they were
    /// cut off at `offset` and are fetched again.
    #[error("replicated commit log is corrupt at offset {offset}: {reason}; cut there")]
    ReplicaCorrupt {
        /// Where the bad record starts (the new end of the commit log).
        offset: i64,
        /// What was wrong.
        reason: String,
    },
    /// A stored record could not be decoded (data corruption).
    #[error("corrupt record at physical offset {offset}: {source}")]
    Corrupt {
        /// Physical offset of the record.
        offset: i64,
        /// What was wrong.
        source: MessageError,
    },
}

impl StoreError {
    /// The RocketMQ `PutMessageStatus` name this error corresponds to.
    pub fn put_status_name(&self) -> &'static str {
        match self {
            StoreError::DiskFull { .. }
            | StoreError::NotAvailable(_)
            | StoreError::Locked(_)
            | StoreError::SyncFailed { .. } => "SERVICE_NOT_AVAILABLE",
            StoreError::MessageIllegal(_) => "MESSAGE_ILLEGAL",
            StoreError::PropertiesSizeExceeded(_) => "PROPERTIES_SIZE_EXCEEDED",
            StoreError::CreateMappedFileFailed { .. } => "CREATE_MAPEDFILE_FAILED",
            StoreError::Io { .. }
            | StoreError::Corrupt { .. }
            | StoreError::ReplicaOffsetMismatch { .. }
            | StoreError::ReplicaCorrupt { .. } => "UNKNOWN_ERROR",
        }
    }

    /// The error of a failed sync of `path` (see [`StoreError::SyncFailed`]).
    pub(crate) fn sync_failed(path: impl Into<PathBuf>, e: &std::io::Error) -> Self {
        let errno = e.raw_os_error().unwrap_or(0);
        StoreError::SyncFailed {
            path: path.into(),
            errno,
            errno_name: errno_name(errno),
            cause: e.to_string(),
        }
    }

    /// A copy of a [`StoreError::SyncFailed`], to refuse every later write with the same
    /// explanation; None for the other variants.
    pub(crate) fn sync_failure_copy(&self) -> Option<StoreError> {
        match self {
            StoreError::SyncFailed {
                path,
                errno,
                errno_name,
                cause,
            } => Some(StoreError::SyncFailed {
                path: path.clone(),
                errno: *errno,
                errno_name,
                cause: cause.clone(),
            }),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The symbolic name of the errors a failing disk gives.
fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EIO => "EIO",
        libc::ENOSPC => "ENOSPC",
        libc::EDQUOT => "EDQUOT",
        libc::EROFS => "EROFS",
        libc::EFBIG => "EFBIG",
        libc::ENOMEM => "ENOMEM",
        0 => "no errno",
        _ => "other",
    }
}

/// Result alias for the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
