//! The `checkpoint` file: where recovery may start re-dispatching the commit log.
//!
//! Layout (4 KiB file, big-endian): physicMsgTimestamp (8), logicsMsgTimestamp (8),
//! indexMsgTimestamp (8) at RocketMQ's positions, then `safe_offset` (8): a commit-log offset below
//! which commit log, consume queues and index are all durable, then a CRC32 of the first 32 bytes.
//! A torn or missing checkpoint means "start from the first commit-log file".

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// Parsed checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub(crate) physic_msg_timestamp: i64,
    pub(crate) logics_msg_timestamp: i64,
    pub(crate) index_msg_timestamp: i64,
    pub(crate) safe_offset: i64,
}

pub(crate) struct CheckpointFile {
    path: PathBuf,
    file: File,
}

impl CheckpointFile {
    pub(crate) fn open(path: &Path) -> Result<(Self, Option<Checkpoint>)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        let mut buf = [0u8; 36];
        let cp = match file.read_exact_at(&mut buf, 0) {
            Ok(()) => {
                let crc = u32::from_be_bytes([buf[32], buf[33], buf[34], buf[35]]);
                if crc32fast::hash(&buf[..32]) == crc && buf.iter().any(|b| *b != 0) {
                    let r = |i: usize| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&buf[i..i + 8]);
                        i64::from_be_bytes(a)
                    };
                    Some(Checkpoint {
                        physic_msg_timestamp: r(0),
                        logics_msg_timestamp: r(8),
                        index_msg_timestamp: r(16),
                        safe_offset: r(24),
                    })
                } else {
                    None
                }
            }
            Err(_) => None,
        };
        Ok((
            CheckpointFile {
                path: path.to_path_buf(),
                file,
            },
            cp,
        ))
    }

    pub(crate) fn write(&self, cp: &Checkpoint) -> Result<()> {
        let mut buf = vec![0u8; 4096];
        buf[0..8].copy_from_slice(&cp.physic_msg_timestamp.to_be_bytes());
        buf[8..16].copy_from_slice(&cp.logics_msg_timestamp.to_be_bytes());
        buf[16..24].copy_from_slice(&cp.index_msg_timestamp.to_be_bytes());
        buf[24..32].copy_from_slice(&cp.safe_offset.to_be_bytes());
        let crc = crc32fast::hash(&buf[..32]);
        buf[32..36].copy_from_slice(&crc.to_be_bytes());
        // A failed write or sync of the checkpoint fails the store like any other sync.
        crate::fault::before_write(&self.path)
            .and_then(|()| self.file.write_all_at(&buf, 0))
            .and_then(|()| crate::fault::before_sync(&self.path))
            .and_then(|()| self.file.sync_data())
            .map_err(|e| StoreError::sync_failed(&self.path, &e))?;
        crate::fault::synced(&self.path, 0, buf.len() as u64, Some(&buf));
        Ok(())
    }
}
