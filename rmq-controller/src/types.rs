//! The openraft type configuration of the controller group.

use std::io::Cursor;

use crate::replicas::{Applied, Command};

openraft::declare_raft_types!(
    /// Raft types of the controller: log entries carry [`Command`]s, applying one yields
    /// [`Applied`], nodes are numbered by their `nN` id and addressed by `host:port`.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The controller's Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
/// A Raft log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A Raft log position.
pub type LogId = openraft::LogId<u64>;
/// A Raft vote (term and candidate).
pub type Vote = openraft::Vote<u64>;
/// openraft's storage error, as storage callbacks must return it.
pub type StorageError = openraft::StorageError<u64>;
