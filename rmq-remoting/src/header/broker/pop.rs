//! 5.x POP headers (POP_MESSAGE, ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME) and the
//! `extraInfo` a popped message carries back in its ack (docs/pop.md).

use serde::{Deserialize, Serialize};

/// POP_MESSAGE (200050) request: take up to `maxMsgNums` messages of a topic for a group and
/// hide them from the group for `invisibleTime` ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PopMessageRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic (the normal one; the group's pop retry topic is read too).
    pub topic: String,
    /// Queue, or -1 for every queue of the topic.
    pub queue_id: i32,
    /// Batch size.
    pub max_msg_nums: i32,
    /// How long popped messages stay hidden, ms.
    pub invisible_time: i64,
    /// Long-polling hold time when nothing is there, ms.
    pub poll_time: i64,
    /// When the client sent the request (ms); the broker fills it in when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born_time: Option<i64>,
    /// Where a group without a position starts: 0 = the queue's first message, 1 = its last.
    pub init_mode: i32,
    /// `TAG` (the default) or `SQL92`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_type: Option<String>,
    /// Filter expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<String>,
    /// FIFO pop (not served yet: refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<bool>,
    /// FIFO pop's attempt id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// POP_MESSAGE response: when the batch was popped, for how long, and where each message came
/// from, so the client can build every message's receipt handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PopMessageResponseHeader {
    /// The pop's time, ms.
    pub pop_time: i64,
    /// The invisible time granted, ms.
    pub invisible_time: i64,
    /// The revive queue holding the batch's checkpoint.
    pub revive_qid: i32,
    /// Messages left in the queues read.
    pub rest_num: i64,
    /// `retry queueId startOffset` per queue read, `;`-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_offset_info: Option<String>,
    /// `retry queueId offset,offset,...` per queue read, `;`-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_offset_info: Option<String>,
    /// FIFO pop only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_count_info: Option<String>,
}

/// ACK_MESSAGE (200051) request: one popped message is consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AckMessageRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// The topic the message was popped from (the retry topic for a retried message).
    pub topic: String,
    /// Its queue.
    pub queue_id: i32,
    /// The message's receipt (see [`ExtraInfo`]).
    pub extra_info: String,
    /// Its queue offset.
    pub offset: i64,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// CHANGE_MESSAGE_INVISIBLETIME (200053) request: hide a popped message for `invisibleTime` ms
/// from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeInvisibleTimeRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// The topic the message was popped from.
    pub topic: String,
    /// Its queue.
    pub queue_id: i32,
    /// The message's current receipt.
    pub extra_info: String,
    /// Its queue offset.
    pub offset: i64,
    /// The new invisible time, ms from now.
    pub invisible_time: i64,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// CHANGE_MESSAGE_INVISIBLETIME response: the new pop time the client's next receipt carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeInvisibleTimeResponseHeader {
    /// The new pop time, ms.
    pub pop_time: i64,
    /// The new invisible time, ms.
    pub invisible_time: i64,
    /// The revive queue of the new checkpoint.
    pub revive_qid: i32,
}

/// A popped message's receipt (Java's `ExtraInfoUtil` format): space-separated
/// `ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId [queueOffset]`,
/// where `retry` is `0` for the normal topic, `1` for `%RETRY%group_topic`, `2` for
/// `%RETRY%group+topic`. The client sends it back with every ack and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    /// First queue offset of the batch the message was popped in.
    pub ck_queue_offset: i64,
    /// When it was popped, ms.
    pub pop_time: i64,
    /// For how long, ms.
    pub invisible_time: i64,
    /// Its checkpoint's revive queue.
    pub revive_qid: i32,
    /// `0`, `1` or `2` (see above).
    pub retry: String,
    /// The broker it was popped from.
    pub broker_name: String,
    /// Its queue.
    pub queue_id: i32,
    /// Its queue offset (absent in receipts older than 5.0).
    pub queue_offset: Option<i64>,
}

impl ExtraInfo {
    /// Parses a receipt; `None` when it does not have Java's shape.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split(' ').collect();
        if parts.len() < 7 {
            return None;
        }
        Some(ExtraInfo {
            ck_queue_offset: parts[0].parse().ok()?,
            pop_time: parts[1].parse().ok()?,
            invisible_time: parts[2].parse().ok()?,
            revive_qid: parts[3].parse().ok()?,
            retry: parts[4].to_owned(),
            broker_name: parts[5].to_owned(),
            queue_id: parts[6].parse().ok()?,
            queue_offset: match parts.get(7) {
                Some(p) => Some(p.parse().ok()?),
                None => None,
            },
        })
    }

    /// The `retry` mark of a topic a message is popped from.
    pub fn retry_mark(topic: &str) -> &'static str {
        if !topic.starts_with("%RETRY%") {
            "0"
        } else if topic.contains('+') {
            "2"
        } else {
            "1"
        }
    }
}

impl std::fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_queue_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry,
            self.broker_name,
            self.queue_id
        )?;
        if let Some(offset) = self.queue_offset {
            write!(f, " {offset}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_info_round_trips_javas_shape() {
        let text = "7 1700000000000 30000 3 1 broker-a 0 9";
        let info = ExtraInfo::parse(text).unwrap();
        assert_eq!(info.ck_queue_offset, 7);
        assert_eq!(info.revive_qid, 3);
        assert_eq!(info.retry, "1");
        assert_eq!(info.queue_offset, Some(9));
        assert_eq!(info.to_string(), text);
        assert!(ExtraInfo::parse("7 1 2").is_none());
        assert_eq!(ExtraInfo::retry_mark("%RETRY%g_t"), "1");
        assert_eq!(ExtraInfo::retry_mark("%RETRY%g+t"), "2");
        assert_eq!(ExtraInfo::retry_mark("t"), "0");
    }
}
