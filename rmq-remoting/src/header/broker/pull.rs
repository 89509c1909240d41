//! PULL_MESSAGE request and response headers.

use serde::{Deserialize, Serialize};

/// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) request: which queue to read from where, and
/// how long the broker may hold the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullMessageRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// Logical offset to start reading from.
    pub queue_offset: i64,
    /// Batch size.
    pub max_msg_nums: i32,
    /// Pull flags (commit offset, suspend, subscription, class filter, lite pull).
    pub sys_flag: i32,
    /// Consumer offset to store when the commit-offset flag is set.
    pub commit_offset: i64,
    /// Long-polling hold time, ms.
    pub suspend_timeout_millis: i64,
    /// Filter expression, used when the subscription flag is set (Go sends `""` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// Version of the subscription (Java: a timestamp; Go: 0).
    pub sub_version: i64,
    /// `TAG` (the default) or `SQL92`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_type: Option<String>,
    /// 5.x: byte limit for the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_msg_bytes: Option<i32>,
    /// 5.x proxy: where the pull came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_source: Option<i32>,
    /// 5.x proxy: the real client id (the misspelling is Java's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_froward_client_id: Option<String>,
    /// 5.x RPC field: the target broker's name (Go always sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// Pull response (codes 0, 19, 20, 21): where the consumer continues and the queue's bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullMessageResponseHeader {
    /// Broker id to pull from next time (0 = master).
    pub suggest_which_broker_id: i64,
    /// Offset for the consumer's next pull.
    pub next_begin_offset: i64,
    /// Current minimum logical offset of the queue.
    pub min_offset: i64,
    /// Current maximum logical offset (entries written).
    pub max_offset: i64,
    /// 5.x static topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_delta: Option<i64>,
    /// 5.x: the topic's sysFlag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_sys_flag: Option<i32>,
    /// 5.x: the group's sysFlag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_sys_flag: Option<i32>,
    /// 5.x: why the pull was forbidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_type: Option<i32>,
}
