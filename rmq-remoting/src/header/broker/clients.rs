//! Client registration, group membership and sending a message back for retry.

use serde::{Deserialize, Serialize};

/// UNREGISTER_CLIENT (35) request: a client leaves one producer or consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnregisterClientRequestHeader {
    /// The client id (`clientID`, capital ID, as Java spells it).
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The producer group left, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_group: Option<String>,
    /// The consumer group left, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group: Option<String>,
}

/// GET_CONSUMER_LIST_BY_GROUP (38) request; the answer is a
/// [`crate::body::client::GetConsumerListByGroupResponseBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerListByGroupRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
}

/// NOTIFY_CONSUMER_IDS_CHANGED (40), broker → consumer, oneway: rebalance now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyConsumerIdsChangedRequestHeader {
    /// The group whose membership changed.
    pub consumer_group: String,
}

/// CONSUMER_SEND_MSG_BACK (36) request: a consumer failed a message and asks for a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerSendMsgBackRequestHeader {
    /// Commit-log physical offset of the failed message.
    pub offset: i64,
    /// Consumer group.
    pub group: String,
    /// 0 = broker chooses, > 0 explicit level, < 0 straight to the DLQ.
    pub delay_level: i32,
    /// The client's message id (`UNIQ_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_msg_id: Option<String>,
    /// Topic of the failed message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_topic: Option<String>,
    /// Legacy unit mode.
    #[serde(default)]
    pub unit_mode: bool,
    /// Consumer's retry limit (Java default 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reconsume_times: Option<i32>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}
