//! Requests the broker relays to a client, reply messages and the statistics views.

use serde::{Deserialize, Serialize};

/// GET_CONSUMER_STATUS_FROM_CLIENT (221) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223): the
/// offsets a group's clients hold for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerStatusRequestHeader {
    /// Topic.
    pub topic: String,
    /// Consumer group.
    pub group: String,
    /// One client's address, or absent for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
}

/// GET_CONSUMER_RUNNING_INFO (307): asks one client for its runtime state (relayed to admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerRunningInfoRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// The client asked.
    pub client_id: String,
    /// Whether to include a thread dump.
    #[serde(default)]
    pub jstack_enable: bool,
}

/// CONSUME_MESSAGE_DIRECTLY (309): asks one client to consume the message in the body now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeMessageDirectlyResultRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// The client asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The message's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
    /// The broker holding the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    /// 5.x: the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// 5.x: the topic's sysFlag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_sys_flag: Option<i32>,
    /// 5.x: the group's sysFlag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_sys_flag: Option<i32>,
}

/// PUSH_REPLY_MESSAGE_TO_CLIENT (326): the broker hands a reply message to the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyMessageRequestHeader {
    /// Producer group of the responder.
    pub producer_group: String,
    /// The reply topic.
    pub topic: String,
    /// Template topic.
    pub default_topic: String,
    /// Queue count for auto-creation.
    pub default_topic_queue_nums: i32,
    /// Queue.
    pub queue_id: i32,
    /// The message's sysFlag.
    pub sys_flag: i32,
    /// Born timestamp, ms.
    pub born_timestamp: i64,
    /// User-defined message flag.
    pub flag: i32,
    /// Encoded properties (`CORRELATION_ID`, `REPLY_TO_CLIENT`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
    /// Reconsume times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconsume_times: Option<i32>,
    /// Legacy unit mode.
    #[serde(default)]
    pub unit_mode: bool,
    /// `ip:port` of the responder.
    pub born_host: String,
    /// `ip:port` of the broker.
    pub store_host: String,
    /// When the broker stored the reply, ms.
    pub store_timestamp: i64,
}

/// VIEW_BROKER_STATS_DATA (315) request (`mqadmin statsAll`): one statistic by Apache's name
/// (`TOPIC_PUT_NUMS`, ...) and key (a topic, `topic@group`, ...); the answer is a
/// [`crate::body::stats::BrokerStatsData`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewBrokerStatsDataRequestHeader {
    /// The statistic's name.
    pub stats_name: String,
    /// The item's key.
    pub stats_key: String,
}

/// GET_BROKER_CONSUME_STATS (317) request (`mqadmin brokerConsumeStats`); the answer is a
/// [`crate::body::stats::ConsumeStatsList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumeStatsInBrokerHeader {
    /// Only ordered topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_order: Option<bool>,
}
