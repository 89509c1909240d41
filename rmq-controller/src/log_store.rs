//! The Raft log on disk: one append-only file of checksummed records (vote, entries,
//! truncations, purges, the commit index), mirrored in memory.
//!
//! Record layout: `len: u32 LE | crc32(payload): u32 LE | payload (JSON)`. Appends and votes
//! are fsynced before openraft is told they are durable. At start the file is replayed; the
//! first record that is short or fails its checksum marks a torn tail, which is cut off. When
//! purged records outnumber live ones the file is rewritten into a temporary file, fsynced and
//! renamed over the old one (docs/controller.md, "Storage").

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogId, RaftLogReader, StorageIOError};
use serde::{Deserialize, Serialize};

use crate::record;
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

const LOG_FILE: &str = "raft.log";
/// Dead records tolerated beyond the live entries before the file is compacted.
const COMPACT_SLACK: usize = 1024;

#[derive(Serialize, Deserialize)]
enum Record {
    Vote(Vote),
    Committed(Option<LogId>),
    Entries(Vec<Entry>),
    /// Entries from this index on are gone.
    Truncate(u64),
    /// Entries up to and including this id are gone.
    Purge(LogId),
}

struct Log {
    dir: PathBuf,
    file: File,
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    entries: BTreeMap<u64, Entry>,
    /// Records in the file, to decide when compaction pays.
    records: usize,
}

/// The log store handed to openraft; clones share one file.
#[derive(Clone)]
pub struct LogStore {
    log: Arc<Mutex<Log>>,
}

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogOpenError {
    /// The directory or file could not be created, read or repaired.
    #[error("cannot open the Raft log in {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, replaying it and cutting any torn tail.
    pub fn open(dir: &Path) -> Result<Self, LogOpenError> {
        let io = |source| LogOpenError::Io {
            dir: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut log = Log {
            dir: dir.to_owned(),
            file,
            vote: None,
            committed: None,
            last_purged: None,
            entries: BTreeMap::new(),
            records: 0,
        };
        let (records, good_len) = decode_all(&bytes);
        if good_len < bytes.len() {
            tracing::warn!(file = %path.display(), kept = good_len, dropped = bytes.len() - good_len, "cutting a torn or corrupt tail off the Raft log");
            log.file.set_len(good_len as u64).map_err(io)?;
            log.file.sync_all().map_err(io)?;
        }
        for record in records {
            log.replay(record);
        }
        Ok(LogStore {
            log: Arc::new(Mutex::new(log)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Decodes records until the first damaged one; returns them and the length of the good
/// prefix.
fn decode_all(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some((payload, end)) = record::next(bytes, at) {
        let Ok(parsed) = serde_json::from_slice::<Record>(payload) else {
            break;
        };
        records.push(parsed);
        at = end;
    }
    (records, at)
}

fn encode(value: &Record, out: &mut Vec<u8>) -> Result<(), std::io::Error> {
    record::put(
        &serde_json::to_vec(value).map_err(std::io::Error::other)?,
        out,
    )
}

impl Log {
    fn replay(&mut self, record: Record) {
        self.records += 1;
        match record {
            Record::Vote(v) => self.vote = Some(v),
            Record::Committed(c) => self.committed = c,
            Record::Entries(entries) => {
                for e in entries {
                    self.entries.insert(e.log_id.index, e);
                }
            }
            Record::Truncate(since) => {
                self.entries.split_off(&since);
            }
            Record::Purge(upto) => {
                self.entries = self.entries.split_off(&(upto.index + 1));
                self.last_purged = Some(upto);
            }
        }
    }

    /// Appends `record` to the file (fsynced when `durable`) and to memory.
    fn write(&mut self, record: Record, durable: bool) -> Result<(), std::io::Error> {
        let mut bytes = Vec::new();
        encode(&record, &mut bytes)?;
        self.file.write_all(&bytes)?;
        if durable {
            self.file.sync_data()?;
        }
        self.replay(record);
        Ok(())
    }

    /// Rewrites the file with only what is live when dead records dominate.
    fn maybe_compact(&mut self) -> Result<(), std::io::Error> {
        if self.records <= self.entries.len() + COMPACT_SLACK {
            return Ok(());
        }
        let mut bytes = Vec::new();
        if let Some(v) = self.vote {
            encode(&Record::Vote(v), &mut bytes)?;
        }
        encode(&Record::Committed(self.committed), &mut bytes)?;
        if let Some(p) = self.last_purged {
            encode(&Record::Purge(p), &mut bytes)?;
        }
        encode(
            &Record::Entries(self.entries.values().cloned().collect()),
            &mut bytes,
        )?;
        rmq_config::persist::write_atomically(&self.dir.join(LOG_FILE), &bytes)?;
        self.file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(self.dir.join(LOG_FILE))?;
        self.records = 3 + usize::from(self.vote.is_some());
        Ok(())
    }
}

fn write_err(e: std::io::Error) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let log = self.lock();
        let last = log
            .entries
            .values()
            .next_back()
            .map(|e| *e.get_log_id())
            .or(log.last_purged);
        Ok(LogState {
            last_purged_log_id: log.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.lock()
            .write(Record::Vote(*vote), true)
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not fsynced: a lost commit index is only re-learned from the leader.
        self.lock()
            .write(Record::Committed(committed), false)
            .map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let result = self.lock().write(Record::Entries(entries), true);
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let kind = e.kind();
                callback.log_io_completed(Err(std::io::Error::new(kind, e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.lock()
            .write(Record::Truncate(log_id.index), true)
            .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut log = self.lock();
        log.write(Record::Purge(log_id), true).map_err(write_err)?;
        log.maybe_compact().map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
            payload: EntryPayload::Blank,
        }
    }

    #[test]
    fn replays_records_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = LogStore::open(dir.path()).unwrap();
            let mut log = store.lock();
            log.write(Record::Vote(Vote::new(3, 1)), true).unwrap();
            log.write(Record::Entries((1..=5).map(entry).collect()), true)
                .unwrap();
            log.write(Record::Truncate(5), true).unwrap();
            log.write(Record::Purge(entry(1).log_id), true).unwrap();
        }
        // A crash in the middle of a record leaves a partial write behind.
        let path = dir.path().join(LOG_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let before = std::fs::metadata(&path).unwrap().len();

        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before - 7);
        let log = store.lock();
        assert_eq!(log.vote, Some(Vote::new(3, 1)));
        assert_eq!(
            log.entries.keys().copied().collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert_eq!(log.last_purged.map(|l| l.index), Some(1));
    }

    #[test]
    fn a_flipped_byte_ends_replay_there() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = LogStore::open(dir.path()).unwrap();
            let mut log = store.lock();
            log.write(Record::Entries(vec![entry(1)]), true).unwrap();
            log.write(Record::Entries(vec![entry(2)]), true).unwrap();
        }
        let path = dir.path().join(LOG_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.lock().entries.len(), 1);
    }

    #[test]
    fn compaction_keeps_live_state() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = LogStore::open(dir.path()).unwrap();
            let mut log = store.lock();
            for i in 1..=(COMPACT_SLACK as u64 + 10) {
                log.write(Record::Entries(vec![entry(i)]), false).unwrap();
            }
            log.write(Record::Vote(Vote::new(2, 0)), true).unwrap();
            log.write(Record::Purge(entry(COMPACT_SLACK as u64).log_id), true)
                .unwrap();
            log.maybe_compact().unwrap();
            assert!(log.records < 10);
        }
        let store = LogStore::open(dir.path()).unwrap();
        let log = store.lock();
        assert_eq!(log.entries.len(), 10);
        assert_eq!(log.vote, Some(Vote::new(2, 0)));
    }
}
