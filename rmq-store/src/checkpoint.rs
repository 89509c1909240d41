//! The `checkpoint` file: where recovery may start re-dispatching the commit log.
//!
//! Layout (4 KiB file, big-endian): physicMsgTimestamp (8), logicsMsgTimestamp (8),
//! indexMsgTimestamp (8) at RocketMQ's positions, then `safe_offset` (8): a commit-log offset below
//! which commit log and consume queues are durable, then `index_safe_offset` (8): the same for
//! the index, which is synced less often (rmq-store/README.md, "Checkpoint"), then a CRC32 of the
//! first 40 bytes. A checkpoint written before the index had its own offset (CRC32 of the first
//! 32 bytes at 32) reads with `index_safe_offset` = `safe_offset`, which is what it vouched for.
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
    pub(crate) index_safe_offset: i64,
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
        let mut buf = [0u8; 44];
        let cp = match file.read_exact_at(&mut buf, 0) {
            Ok(()) => parse(&buf),
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
        buf[32..40].copy_from_slice(&cp.index_safe_offset.to_be_bytes());
        let crc = crc32fast::hash(&buf[..40]);
        buf[40..44].copy_from_slice(&crc.to_be_bytes());
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

/// Reads a checkpoint in the current layout, or in the one before `index_safe_offset`.
fn parse(buf: &[u8; 44]) -> Option<Checkpoint> {
    let r = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&buf[i..i + 8]);
        i64::from_be_bytes(a)
    };
    let crc_at = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    if buf.iter().all(|b| *b == 0) {
        return None;
    }
    let index_safe_offset = if crc32fast::hash(&buf[..40]) == crc_at(40) {
        r(32)
    } else if crc32fast::hash(&buf[..32]) == crc_at(32) {
        r(24)
    } else {
        return None;
    };
    Some(Checkpoint {
        physic_msg_timestamp: r(0),
        logics_msg_timestamp: r(8),
        index_msg_timestamp: r(16),
        safe_offset: r(24),
        index_safe_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_wrote_and_the_layout_before_the_index_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        let cp = Checkpoint {
            physic_msg_timestamp: 1,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            safe_offset: 4096,
            index_safe_offset: 1024,
        };
        let (file, none) = CheckpointFile::open(&path).unwrap();
        assert_eq!(none, None);
        file.write(&cp).unwrap();
        assert_eq!(CheckpointFile::open(&path).unwrap().1, Some(cp));

        // The earlier layout: CRC of 32 bytes at 32, no index offset.
        let mut old = vec![0u8; 4096];
        old[24..32].copy_from_slice(&4096i64.to_be_bytes());
        let crc = crc32fast::hash(&old[..32]);
        old[32..36].copy_from_slice(&crc.to_be_bytes());
        std::fs::write(&path, &old).unwrap();
        let read = CheckpointFile::open(&path).unwrap().1.unwrap();
        assert_eq!((read.safe_offset, read.index_safe_offset), (4096, 4096));

        // A torn one (a flipped bit) is no checkpoint.
        old[25] ^= 1;
        std::fs::write(&path, &old).unwrap();
        assert_eq!(CheckpointFile::open(&path).unwrap().1, None);
    }
}
