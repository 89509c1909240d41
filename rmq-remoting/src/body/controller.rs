//! Bodies of the controller commands (RocketMQ 5's controller mode).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A group's in-sync replicas by controller id, and the epoch of that set (`SyncStateSet`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStateSet {
    /// Controller ids of the replicas that hold everything the master acknowledged.
    #[serde(default)]
    pub sync_state_set: BTreeSet<i64>,
    /// Raised at every change.
    #[serde(default)]
    pub sync_state_set_epoch: i32,
}

/// A group's members by controller id (`BrokerMemberGroup`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerMemberGroup {
    /// The cluster.
    #[serde(default)]
    pub cluster: String,
    /// The broker group.
    #[serde(default)]
    pub broker_name: String,
    /// Controller id → `ip:port`.
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
}

/// The body of a CONTROLLER_ELECT_MASTER answer (`ElectMasterResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectMasterResponseBody {
    /// Everyone in the group, so the caller can tell them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_member_group: Option<BrokerMemberGroup>,
    /// The in-sync set after the election.
    #[serde(default)]
    pub sync_state_set: BTreeSet<i64>,
}

/// One replica as CONTROLLER_GET_SYNC_STATE_DATA lists it (`ReplicaIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaIdentity {
    /// The broker group.
    #[serde(default)]
    pub broker_name: String,
    /// The replica's controller id.
    #[serde(default)]
    pub broker_id: i64,
    /// `ip:port`.
    #[serde(default)]
    pub broker_address: String,
    /// Whether the controller hears its heartbeats.
    #[serde(default)]
    pub alive: bool,
}

/// One group's replica state (`BrokerReplicasInfo.ReplicasInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicasInfo {
    /// The master's controller id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    /// The master's address.
    #[serde(default)]
    pub master_address: String,
    /// The current master epoch.
    #[serde(default)]
    pub master_epoch: i32,
    /// The in-sync set's epoch.
    #[serde(default)]
    pub sync_state_set_epoch: i32,
    /// Replicas in the in-sync set.
    #[serde(default)]
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    /// Known replicas outside it.
    #[serde(default)]
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
}

/// The body of a CONTROLLER_GET_SYNC_STATE_DATA answer (`BrokerReplicasInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerReplicasInfo {
    /// Broker group → its replicas.
    #[serde(default)]
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}

/// One line of a replica's epoch file: from `startOffset` on, the commit log was written by the
/// master of `epoch` (`EpochEntry`). `endOffset` is the next entry's start, or `i64::MAX` for
/// the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochEntry {
    /// The master epoch.
    pub epoch: i32,
    /// First commit-log offset written in this epoch.
    pub start_offset: i64,
    /// First offset after it.
    #[serde(default = "open_end")]
    pub end_offset: i64,
}

fn open_end() -> i64 {
    i64::MAX
}

/// The body of a GET_BROKER_EPOCH_CACHE answer (`EpochEntryCache`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochEntryCache {
    /// The cluster.
    #[serde(default)]
    pub cluster_name: String,
    /// The broker group.
    #[serde(default)]
    pub broker_name: String,
    /// The answering replica's controller id.
    #[serde(default)]
    pub broker_id: i64,
    /// Its epoch file, oldest first.
    #[serde(default)]
    pub epoch_list: Vec<EpochEntry>,
    /// End of its commit log.
    #[serde(default)]
    pub max_offset: i64,
}
