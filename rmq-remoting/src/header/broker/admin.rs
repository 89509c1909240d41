//! Topic, group, consume-stats and offset-reset commands admins send.

use serde::{Deserialize, Serialize};

/// UPDATE_AND_CREATE_TOPIC (17) request: create or change a topic on this broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTopicRequestHeader {
    /// Topic.
    pub topic: String,
    /// Template topic (admin tools send `TBW102`).
    pub default_topic: String,
    /// Queues consumers read.
    pub read_queue_nums: i32,
    /// Queues producers write.
    pub write_queue_nums: i32,
    /// Permission bits.
    pub perm: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    /// Unit flags.
    pub topic_sys_flag: i32,
    /// Whether the topic is ordered.
    pub order: bool,
    /// 5.x attributes, as text `+k=v,…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
    /// 5.x: change attributes even when that is normally refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

/// Requests that name only a topic: DELETE_TOPIC_IN_BROKER (215), GET_TOPIC_STATS_INFO (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRequestHeader {
    /// Topic.
    pub topic: String,
}

/// GET_SUBSCRIPTIONGROUP_CONFIG (352) request: one group's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetSubscriptionGroupConfigRequestHeader {
    /// The consumer group.
    pub group: String,
}

/// DELETE_TOPIC_IN_BROKER request.
pub type DeleteTopicRequestHeader = TopicRequestHeader;
/// GET_TOPIC_STATS_INFO request; the answer is a [`crate::body::stats::TopicStatsTable`].
pub type GetTopicStatsInfoRequestHeader = TopicRequestHeader;

/// DELETE_SUBSCRIPTIONGROUP (207) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteSubscriptionGroupRequestHeader {
    /// The group to delete.
    pub group_name: String,
    /// 5.x: also drop the group's stored offsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_offset: Option<bool>,
}

/// GET_CONSUME_STATS (208) request; the answer is a [`crate::body::stats::ConsumeStats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumeStatsRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Restrict to one topic; absent means all the group's topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Recent 5.x: several topics, as the raw text the admin sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_list: Option<String>,
}

/// Requests that name only a consumer group: GET_CONSUMER_CONNECTION_LIST (203).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerConnectionListRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
}

/// GET_PRODUCER_CONNECTION_LIST (204) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetProducerConnectionListRequestHeader {
    /// Producer group.
    pub producer_group: String,
}

fn all_queues() -> i32 {
    -1
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222), and broker → client RESET_CONSUMER_CLIENT_OFFSET (220):
/// move a group's offsets to a point in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetRequestHeader {
    /// Topic.
    pub topic: String,
    /// Consumer group.
    pub group: String,
    /// Target store time, ms.
    pub timestamp: i64,
    /// `isForce` (the key really carries the `is`): also move offsets forward.
    #[serde(rename = "isForce")]
    pub is_force: bool,
    /// 5.x: one queue, or −1 (the default) for all.
    #[serde(default = "all_queues")]
    pub queue_id: i32,
    /// 5.x: an explicit offset instead of a timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// QUERY_CONSUME_TIME_SPAN (303) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumeTimeSpanRequestHeader {
    /// Topic.
    pub topic: String,
    /// Consumer group.
    pub group: String,
}
