//! Headers of the controller commands (RocketMQ 5's controller mode, request codes 1001–1013).
//!
//! Field names are Apache 5.x's, so Apache's `mqadmin` and brokers can talk to rmq's controller
//! and rmq's brokers to Apache's. Java's boxed `Long`/`Integer` fields may be absent on the wire
//! and are `Option` here. `docs/controller.md` describes what each command does.

use serde::{Deserialize, Serialize};

/// CONTROLLER_GET_NEXT_BROKER_ID request: which id a new replica of a group should apply for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetNextBrokerIdRequestHeader {
    /// The cluster.
    pub cluster_name: String,
    /// The broker group.
    pub broker_name: String,
}

/// CONTROLLER_GET_NEXT_BROKER_ID response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetNextBrokerIdResponseHeader {
    /// The cluster.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// The broker group.
    #[serde(default)]
    pub broker_name: Option<String>,
    /// The id the replica should apply for (ids start at 1).
    #[serde(default)]
    pub next_broker_id: Option<i64>,
}

/// CONTROLLER_APPLY_BROKER_ID request: claims an id for a replica, identified by a check code
/// so a replica that retries after a crash gets the same id back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyBrokerIdRequestHeader {
    /// The cluster.
    pub cluster_name: String,
    /// The broker group.
    pub broker_name: String,
    /// The id being claimed.
    pub applied_broker_id: i64,
    /// `ip:port;timestamp` chosen by the replica when it first asked.
    pub register_check_code: String,
}

/// CONTROLLER_APPLY_BROKER_ID response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyBrokerIdResponseHeader {
    /// The cluster.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// The broker group.
    #[serde(default)]
    pub broker_name: Option<String>,
}

/// CONTROLLER_REGISTER_BROKER request: a replica with an id announces its current address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerToControllerRequestHeader {
    /// The cluster.
    pub cluster_name: String,
    /// The broker group.
    pub broker_name: String,
    /// The replica's controller-assigned id.
    pub broker_id: i64,
    /// `ip:port` of the replica's remoting listener.
    pub broker_address: String,
    /// Sender's clock, informational.
    #[serde(default)]
    pub invoke_time: i64,
}

/// Who the master of a group is and at which epochs: the answer to CONTROLLER_REGISTER_BROKER,
/// CONTROLLER_ELECT_MASTER and CONTROLLER_GET_REPLICA_INFO, and the header of
/// NOTIFY_BROKER_ROLE_CHANGED. The body of each is a [`crate::body::controller::SyncStateSet`]
/// (an [`crate::body::controller::ElectMasterResponseBody`] for an election).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MasterInfoHeader {
    /// The cluster (register answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// The broker group (register answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    /// The master's controller id; absent while the group has no master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    /// The master's `ip:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_address: Option<String>,
    /// Raised at every election; a replica obeys only a higher epoch than it has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_epoch: Option<i32>,
    /// Raised at every change of the in-sync set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_state_set_epoch: Option<i32>,
}

/// CONTROLLER_GET_REPLICA_INFO request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetReplicaInfoRequestHeader {
    /// The broker group.
    pub broker_name: String,
}

/// CONTROLLER_ELECT_MASTER request, from a replica that finds no master, or from an operator
/// (`mqadmin electMaster`) designating one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectMasterRequestHeader {
    /// The cluster.
    #[serde(default)]
    pub cluster_name: String,
    /// The broker group.
    pub broker_name: String,
    /// The requesting or designated replica's id.
    #[serde(default = "no_broker_id")]
    pub broker_id: i64,
    /// True: make exactly `brokerId` the master (admin); false: let the policy choose,
    /// preferring `brokerId`.
    #[serde(default)]
    pub designate_elect: bool,
    /// Sender's clock, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_time: Option<i64>,
}

fn no_broker_id() -> i64 {
    -1
}

/// CONTROLLER_ALTER_SYNC_STATE_SET request: the master reports a new in-sync set (body
/// [`crate::body::controller::SyncStateSet`]), fenced by its epochs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlterSyncStateSetRequestHeader {
    /// The broker group.
    pub broker_name: String,
    /// The reporting master's controller id.
    pub master_broker_id: i64,
    /// The master epoch the reporter believes current.
    pub master_epoch: i32,
    /// Sender's clock, informational.
    #[serde(default)]
    pub invoke_time: i64,
}

/// CONTROLLER_ALTER_SYNC_STATE_SET response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlterSyncStateSetResponseHeader {
    /// The in-sync set's new epoch.
    #[serde(default)]
    pub new_sync_state_set_epoch: i32,
}

/// CONTROLLER_GET_METADATA_INFO response: the Raft group and who leads it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetMetaDataResponseHeader {
    /// `controllerDLegerGroup`.
    #[serde(default)]
    pub group: Option<String>,
    /// The leader's node id (`n0`), absent during an election.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_leader_id: Option<String>,
    /// The leader's peer address, where brokers send writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_leader_address: Option<String>,
    /// True when the answering node leads.
    #[serde(default)]
    pub is_leader: bool,
    /// `controllerDLegerPeers` as configured.
    #[serde(default)]
    pub peers: Option<String>,
}

/// CLEAN_BROKER_DATA request (admin): forgets replicas of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanControllerBrokerDataRequestHeader {
    /// The cluster.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// The broker group.
    pub broker_name: String,
    /// `;`-separated ids to forget; absent = the whole group.
    #[serde(default)]
    pub broker_controller_ids_to_clean: Option<String>,
    /// Also forget replicas that are still alive.
    #[serde(default)]
    pub is_clean_living_broker: bool,
    /// Sender's clock, informational.
    #[serde(default)]
    pub invoke_time: i64,
}
