//! The Raft state machine: the [`ReplicaTable`] plus what openraft needs (last applied log id,
//! membership), with snapshots persisted as one checksummed record in `snapshot.bin`
//! (docs/controller.md, "Storage").

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};

use crate::record;
use crate::replicas::{Applied, ReplicaTable};
use crate::types::{Entry, LogId, StorageError, TypeConfig};

const SNAPSHOT_FILE: &str = "snapshot.bin";

/// What a snapshot holds: the table and the Raft position it reflects.
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<u64, BasicNode>,
    table: ReplicaTable,
}

struct Applying {
    last_applied: Option<LogId>,
    membership: StoredMembership<u64, BasicNode>,
    /// The newest snapshot, as stored on disk.
    snapshot: Option<SnapshotFile>,
    snapshots_built: u64,
}

struct Shared {
    /// Read by request handlers; written only by [`StateMachine::apply`] and snapshot install.
    table: RwLock<ReplicaTable>,
    applying: Mutex<Applying>,
    dir: PathBuf,
}

/// The state machine handed to openraft; clones share the state, so the controller reads the
/// table through its own clone.
#[derive(Clone)]
pub struct StateMachine {
    shared: Arc<Shared>,
}

/// Why the stored snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotLoadError {
    /// The file could not be read.
    #[error("cannot read the controller snapshot {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// The file is damaged; it is only ever replaced by rename, so this is not a torn write.
    #[error("the controller snapshot {file} is damaged; restore it or empty controllerStorePath to rejoin from the other controllers")]
    Corrupt { file: String },
}

impl StateMachine {
    /// Loads the newest snapshot in `dir`, if any.
    pub fn open(dir: &Path) -> Result<Self, SnapshotLoadError> {
        let path = dir.join(SNAPSHOT_FILE);
        let file = path.display().to_string();
        let stored = rmq_config::persist::read_if_present(&path)
            .map_err(|source| SnapshotLoadError::Io {
                file: file.clone(),
                source,
            })?
            .map(|bytes| decode_snapshot(&bytes).ok_or(SnapshotLoadError::Corrupt { file }))
            .transpose()?;
        let (table, last_applied, membership) = match &stored {
            Some(s) => (
                s.table.clone(),
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
            ),
            None => (ReplicaTable::default(), None, StoredMembership::default()),
        };
        Ok(StateMachine {
            shared: Arc::new(Shared {
                table: RwLock::new(table),
                applying: Mutex::new(Applying {
                    last_applied,
                    membership,
                    snapshot: stored,
                    snapshots_built: 0,
                }),
                dir: dir.to_owned(),
            }),
        })
    }

    /// The replica table as of the last applied entry.
    pub fn table(&self) -> RwLockReadGuard<'_, ReplicaTable> {
        self.shared.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn applying(&self) -> MutexGuard<'_, Applying> {
        self.shared
            .applying
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `snapshot` to `snapshot.bin` atomically; returns the stored bytes.
    fn persist(&self, snapshot: &SnapshotFile) -> Result<Vec<u8>, std::io::Error> {
        let framed = encode_snapshot(snapshot)?;
        rmq_config::persist::write_atomically(&self.shared.dir.join(SNAPSHOT_FILE), &framed)?;
        Ok(framed)
    }
}

/// A snapshot as one checksummed record, as stored and as sent to followers.
fn encode_snapshot(snapshot: &SnapshotFile) -> Result<Vec<u8>, std::io::Error> {
    let data = serde_json::to_vec(snapshot).map_err(std::io::Error::other)?;
    let mut framed = Vec::with_capacity(data.len() + 8);
    record::put(&data, &mut framed)?;
    Ok(framed)
}

/// The snapshot in `bytes` (one record), or `None` if damaged.
fn decode_snapshot(bytes: &[u8]) -> Option<SnapshotFile> {
    let (payload, _) = record::next(bytes, 0)?;
    serde_json::from_slice(payload).ok()
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let mut applying = self.applying();
        applying.snapshots_built += 1;
        let table = self.table().clone();
        let snapshot_id = match applying.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, applying.snapshots_built),
            None => format!("empty-{}", applying.snapshots_built),
        };
        let file = SnapshotFile {
            meta: SnapshotMeta {
                last_log_id: applying.last_applied,
                last_membership: applying.membership.clone(),
                snapshot_id,
            },
            table,
        };
        let framed = self
            .persist(&file)
            .map_err(|e| StorageIOError::write_snapshot(Some(file.meta.signature()), &e))?;
        let meta = file.meta.clone();
        applying.snapshot = Some(file);
        tracing::debug!(?meta, "controller snapshot built");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(framed)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<u64, BasicNode>), StorageError> {
        let applying = self.applying();
        Ok((applying.last_applied, applying.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut applying = self.applying();
        let mut table = self.shared.table.write().unwrap_or_else(|e| e.into_inner());
        let mut results = Vec::new();
        for entry in entries {
            applying.last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => Ok(()),
                EntryPayload::Normal(command) => {
                    let outcome = table.apply(&command);
                    tracing::debug!(index = entry.log_id.index, ?command, ?outcome, "applied");
                    outcome
                }
                EntryPayload::Membership(m) => {
                    applying.membership = StoredMembership::new(Some(entry.log_id), m);
                    Ok(())
                }
            };
            results.push(outcome);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let received = decode_snapshot(snapshot.get_ref()).ok_or_else(|| {
            StorageIOError::read_snapshot(
                Some(meta.signature()),
                &std::io::Error::other("received snapshot is damaged"),
            )
        })?;
        let file = SnapshotFile {
            meta: meta.clone(),
            table: received.table,
        };
        self.persist(&file)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let mut applying = self.applying();
        *self.shared.table.write().unwrap_or_else(|e| e.into_inner()) = file.table.clone();
        applying.last_applied = meta.last_log_id;
        applying.membership = meta.last_membership.clone();
        applying.snapshot = Some(file);
        tracing::info!(?meta, "controller snapshot installed");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let applying = self.applying();
        let Some(file) = &applying.snapshot else {
            return Ok(None);
        };
        let framed = encode_snapshot(file)
            .map_err(|e| StorageIOError::read_snapshot(Some(file.meta.signature()), &e))?;
        Ok(Some(Snapshot {
            meta: file.meta.clone(),
            snapshot: Box::new(Cursor::new(framed)),
        }))
    }
}
