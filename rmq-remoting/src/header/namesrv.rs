//! Headers of the name-server commands (docs/remoting-protocol.md §6.10).

use serde::{Deserialize, Serialize};

/// REGISTER_BROKER request: who the broker is and how its body is encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerRequestHeader {
    /// The broker group's name.
    pub broker_name: String,
    /// `ip:port` clients must use.
    pub broker_addr: String,
    /// The cluster.
    pub cluster_name: String,
    /// `ip:haPort` for slaves to replicate from.
    pub ha_server_addr: String,
    /// 0 = master, ≥ 1 = slave.
    pub broker_id: i64,
    /// 5.x: this broker's expiry in the name server's scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timeout_millis: Option<i64>,
    /// 5.x acting-master mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_acting_master: Option<bool>,
    /// Whether the body is the zlib-compressed form.
    #[serde(default)]
    pub compressed: bool,
    /// CRC32 of the body masked with `0x7FFFFFFF`; 0 = not checked.
    #[serde(default)]
    pub body_crc32: i32,
}

/// REGISTER_BROKER response: for slaves, where the master is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerResponseHeader {
    /// The master's HA address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha_server_addr: Option<String>,
    /// The master's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_addr: Option<String>,
}

/// UNREGISTER_BROKER and QUERY_DATA_VERSION requests: which broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerIdentityHeader {
    /// The broker group's name.
    pub broker_name: String,
    /// `ip:port` of the broker.
    pub broker_addr: String,
    /// The cluster.
    pub cluster_name: String,
    /// 0 = master, ≥ 1 = slave.
    pub broker_id: i64,
}

/// QUERY_DATA_VERSION response: whether the broker's topic table differs from what we hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryDataVersionResponseHeader {
    /// True when the broker should register its full table again.
    pub changed: bool,
}

/// BROKER_HEARTBEAT (5.x): keeps a broker alive without a full registration; sent to the name
/// server and, in controller mode, to the controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerHeartbeatRequestHeader {
    /// The cluster.
    pub cluster_name: String,
    /// `ip:port` of the broker.
    pub broker_addr: String,
    /// The broker group's name.
    pub broker_name: String,
    /// The broker id, when sent (a controller-mode replica's controller id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<i64>,
    /// To a controller: the last epoch in the replica's epoch file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i32>,
    /// To a controller: the end of the replica's commit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_offset: Option<i64>,
    /// To a controller: the replica's confirmed (replicated) offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_offset: Option<i64>,
    /// To a controller: silence after which the replica counts as dead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timeout_mills: Option<i64>,
    /// To a controller: lower wins ties in an election (`brokerElectionPriority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_priority: Option<i32>,
}

/// GET_ROUTEINFO_BY_TOPIC request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRouteInfoRequestHeader {
    /// The topic.
    pub topic: String,
    /// 4.9.4+: ask for standard JSON (quoted integer keys) whatever the client version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_standard_json_only: Option<bool>,
}

/// PUT_KV_CONFIG request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutKvConfigRequestHeader {
    /// The KV namespace (e.g. `ORDER_TOPIC_CONFIG`).
    pub namespace: String,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// GET_KV_CONFIG and DELETE_KV_CONFIG requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KvConfigKeyHeader {
    /// The KV namespace.
    pub namespace: String,
    /// The key.
    pub key: String,
}

/// GET_KV_CONFIG response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetKvConfigResponseHeader {
    /// The value.
    pub value: String,
}

/// GET_KVLIST_BY_NAMESPACE request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetKvListByNamespaceRequestHeader {
    /// The KV namespace.
    pub namespace: String,
}

/// WIPE_WRITE_PERM_OF_BROKER and ADD_WRITE_PERM_OF_BROKER requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerNameHeader {
    /// The broker group whose queues change.
    pub broker_name: String,
}

/// WIPE_WRITE_PERM_OF_BROKER response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WipeWritePermOfBrokerResponseHeader {
    /// How many topics lost write permission.
    pub wipe_topic_count: i32,
}

/// ADD_WRITE_PERM_OF_BROKER response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddWritePermOfBrokerResponseHeader {
    /// How many topics regained write permission.
    pub add_topic_count: i32,
}

/// DELETE_TOPIC_IN_NAMESRV request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTopicFromNamesrvRequestHeader {
    /// The topic.
    pub topic: String,
    /// 5.x: only remove the topic from this cluster's brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
}

/// GET_TOPICS_BY_CLUSTER request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTopicsByClusterRequestHeader {
    /// The cluster.
    pub cluster: String,
}
