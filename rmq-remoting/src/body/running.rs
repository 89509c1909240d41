//! What a consumer tells an admin about itself through the broker (GET_CONSUMER_RUNNING_INFO,
//! CONSUME_MESSAGE_DIRECTLY) and what a broker lists of its producers (GET_ALL_PRODUCER_INFO):
//! the bodies `mqadmin consumerStatus`, `consumeMessage`, the dashboard and the exporter read.
//! Fields are in alphabetical order, as fastjson writes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::body::client::{MessageQueue, SubscriptionData};
use crate::fastjson::object_keys;

/// Property: the name servers the client uses, each followed by `;`.
pub const PROP_NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
/// Property: the consume thread pool's core size.
pub const PROP_THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
/// Property: whether the listener is orderly.
pub const PROP_CONSUME_ORDERLY: &str = "PROP_CONSUME_ORDERLY";
/// Property: `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
/// Property: the client's version name, e.g. `V4_9_8`.
pub const PROP_CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
/// Property: when the consumer started, ms since the epoch.
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

/// Java's `ConsumerRunningInfo`: a consumer's settings, subscriptions, queues and rates.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRunningInfo {
    /// A thread dump when one was asked for (Java only; rmq leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    /// Queue → the state of its local cache, written with object keys.
    #[serde(with = "object_keys", default)]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    /// The consumer's settings (`PROP_*` keys and its configuration fields), all strings.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Topic → consumption rates over the last minute.
    #[serde(default)]
    pub status_table: BTreeMap<String, ConsumeStatus>,
    /// What the consumer subscribes to.
    #[serde(default)]
    pub subscription_set: Vec<SubscriptionData>,
}

/// Java's `ProcessQueueInfo`: one queue's cache of pulled, not yet consumed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessQueueInfo {
    /// Messages cached.
    #[serde(default)]
    pub cached_msg_count: i32,
    /// Highest cached queue offset.
    #[serde(default)]
    pub cached_msg_max_offset: i64,
    /// Lowest cached queue offset.
    #[serde(default)]
    pub cached_msg_min_offset: i64,
    /// Cached bodies' size, MiB.
    #[serde(default)]
    pub cached_msg_size_in_mi_b: i32,
    /// The offset the consumer will commit.
    #[serde(default)]
    pub commit_offset: i64,
    /// Whether the queue was taken away (Java's spelling).
    #[serde(default)]
    pub droped: bool,
    /// Last time a listener ran for this queue, ms.
    #[serde(default)]
    pub last_consume_timestamp: i64,
    /// Last time the broker lock was renewed, ms (orderly).
    #[serde(default)]
    pub last_lock_timestamp: i64,
    /// Last time a pull for this queue returned, ms.
    #[serde(default)]
    pub last_pull_timestamp: i64,
    /// Whether the broker lock is held (orderly).
    #[serde(default)]
    pub locked: bool,
    /// Messages an orderly listener is consuming.
    #[serde(default)]
    pub transaction_msg_count: i32,
    /// Highest offset an orderly listener is consuming.
    #[serde(default)]
    pub transaction_msg_max_offset: i64,
    /// Lowest offset an orderly listener is consuming.
    #[serde(default)]
    pub transaction_msg_min_offset: i64,
    /// Unlock attempts made.
    #[serde(default)]
    pub try_unlock_times: i64,
}

/// Java's `ConsumeStatus`: a group's rates for one topic in one client.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ConsumeStatus {
    /// Messages whose listener failed in the last hour.
    #[serde(rename = "consumeFailedMsgs", default)]
    pub consume_failed_msgs: i64,
    /// Failed messages per second over the last minute.
    #[serde(rename = "consumeFailedTPS", default)]
    pub consume_failed_tps: f64,
    /// Successful messages per second over the last minute.
    #[serde(rename = "consumeOKTPS", default)]
    pub consume_ok_tps: f64,
    /// Mean listener time per batch over the last minute, ms.
    #[serde(rename = "consumeRT", default)]
    pub consume_rt: f64,
    /// Mean pull round trip over the last minute, ms.
    #[serde(rename = "pullRT", default)]
    pub pull_rt: f64,
    /// Messages pulled per second over the last minute.
    #[serde(rename = "pullTPS", default)]
    pub pull_tps: f64,
}

/// Java's `CMResult`: what a listener did with a message handed to it directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum CmResult {
    /// Consumed.
    CR_SUCCESS,
    /// Asked to be redelivered later.
    CR_LATER,
    /// Orderly: rolled back.
    CR_ROLLBACK,
    /// Orderly: committed.
    CR_COMMIT,
    /// The listener failed.
    CR_THROW_EXCEPTION,
    /// The listener returned nothing.
    CR_RETURN_NULL,
}

/// Java's `ConsumeMessageDirectlyResult`: the answer to CONSUME_MESSAGE_DIRECTLY.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeMessageDirectlyResult {
    /// Whether offsets commit on their own (orderly listeners may say no).
    pub auto_commit: bool,
    /// The listener's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_result: Option<CmResult>,
    /// Whether the listener is orderly.
    pub order: bool,
    /// Why the listener failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// How long the listener took, ms.
    #[serde(default)]
    pub spent_time_mills: i64,
}

impl std::fmt::Display for ConsumeMessageDirectlyResult {
    /// `CR_SUCCESS in 3 ms`, with the remark when there is one (what consoles show).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.consume_result {
            Some(result) => write!(f, "{result:?}")?,
            None => f.write_str("no result")?,
        }
        write!(f, " in {} ms", self.spent_time_mills)?;
        match &self.remark {
            Some(remark) => write!(f, " ({remark})"),
            None => Ok(()),
        }
    }
}

/// Java's `ProducerTableInfo`: the answer to GET_ALL_PRODUCER_INFO.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProducerTableInfo {
    /// Producer group → its connections.
    #[serde(default)]
    pub data: BTreeMap<String, Vec<ProducerInfo>>,
}

/// Java's `ProducerInfo`: one producer connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerInfo {
    /// The client's id.
    pub client_id: String,
    /// Its language name.
    pub language: String,
    /// When its last heartbeat arrived, ms.
    pub last_update_timestamp: i64,
    /// `/ip:port`, as Java prints a socket address.
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    /// Its version ordinal.
    pub version: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson::{self, KeyStyle};

    #[test]
    fn running_info_keys_queues_by_object_and_names_rates_as_java() {
        let mut info = ConsumerRunningInfo::default();
        info.mq_table.insert(
            MessageQueue {
                broker_name: "b".into(),
                queue_id: 1,
                topic: "T".into(),
            },
            ProcessQueueInfo {
                commit_offset: 7,
                ..ProcessQueueInfo::default()
            },
        );
        info.status_table.insert(
            "T".into(),
            ConsumeStatus {
                consume_ok_tps: 2.5,
                ..ConsumeStatus::default()
            },
        );
        let text = String::from_utf8(fastjson::to_vec(&info, KeyStyle::Fastjson)).unwrap();
        assert!(
            text.contains(r#"{"brokerName":"b","queueId":1,"topic":"T"}:{"#),
            "{text}"
        );
        assert!(text.contains(r#""consumeOKTPS":2.5"#), "{text}");
        assert!(text.contains(r#""cachedMsgSizeInMiB":0"#), "{text}");
        let back: ConsumerRunningInfo = fastjson::from_slice(text.as_bytes()).unwrap();
        assert_eq!(back, info);
    }
}
