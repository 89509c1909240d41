//! 5.x POP requests that look without taking (PEEK_MESSAGE), wait for a message
//! (NOTIFICATION) or count parked pops (POLLING_INFO); Java's header classes of the same names
//! (docs/pop.md).

use serde::{Deserialize, Serialize};

/// PEEK_MESSAGE (200052) request: up to `maxMsgNums` messages of one queue from the group's
/// pop position, without hiding them or moving the position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeekMessageRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// Batch size.
    pub max_msg_nums: i32,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// NOTIFICATION (200054) request: hold until the group has a message to pop in the topic (one
/// queue, or every queue with -1) or `pollTime` passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic.
    pub topic: String,
    /// Queue, or -1 for every queue of the topic.
    pub queue_id: i32,
    /// How long to hold, ms.
    pub poll_time: i64,
    /// When the client sent the request, ms (Apache's broker fills in a missing one).
    #[serde(default)]
    pub born_time: i64,
    /// FIFO consumption: a queue blocked by in-flight orderly messages has nothing to pop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<bool>,
    /// FIFO pop's attempt id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// NOTIFICATION response: whether a pop would find something now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationResponseHeader {
    /// A message is there to pop.
    pub has_msg: bool,
    /// The broker holds too many parked requests to park this one.
    #[serde(default)]
    pub polling_full: bool,
}

/// POLLING_INFO (200055) request: how many pops of the group are parked on the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollingInfoRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// POLLING_INFO response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollingInfoResponseHeader {
    /// Pops (and notifications) of the group parked on the queue.
    pub polling_num: i32,
}
