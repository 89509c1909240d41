//! Offset, statistics and subscription-group bodies that admin tools and brokers exchange
//! (docs/remoting-protocol.md §3.5, §6.11, §6.12).
//!
//! Several of these are `Map<MessageQueue, …>` in Java, which fastjson writes with raw object
//! keys and which Java can only read back in that form; those maps go through
//! [`crate::fastjson::object_keys`]. Fields are in alphabetical order, as fastjson writes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::body::client::MessageQueue;
use crate::body::topic::DataVersion;
use crate::fastjson::object_keys::{self, ObjectKeyMap};

/// One queue's progress for a consumer group: how far the broker has written, how far the group
/// has committed and pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetWrapper {
    /// The queue's max offset.
    #[serde(default)]
    pub broker_offset: i64,
    /// The group's committed offset.
    #[serde(default)]
    pub consumer_offset: i64,
    /// Store time of the last consumed message, ms.
    #[serde(default)]
    pub last_timestamp: i64,
    /// 5.x: the group's pull offset (0 from 4.9 brokers).
    #[serde(default)]
    pub pull_offset: i64,
}

/// GET_CONSUME_STATS answer: a group's progress per queue (`mqadmin consumerProgress`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeStats {
    /// Messages consumed per second.
    #[serde(default)]
    pub consume_tps: f64,
    /// Queue → progress, written with object keys.
    #[serde(with = "object_keys", default)]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

/// One queue's bounds for topic statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffset {
    /// Store time of the last message, ms (0 when empty).
    #[serde(default)]
    pub last_update_timestamp: i64,
    /// Max logical offset.
    #[serde(default)]
    pub max_offset: i64,
    /// Min logical offset.
    #[serde(default)]
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO answer: a topic's queue bounds on this broker (`mqadmin topicStatus`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatsTable {
    /// Queue → bounds, written with object keys.
    #[serde(with = "object_keys", default)]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    /// 5.x: the topic's put TPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_put_tps: Option<f64>,
}

/// GET_ALL_CONSUMER_OFFSET answer (and the broker's consumer offset file): `topic@group` →
/// queue id → committed offset. Queue ids are integer keys, written unquoted in fastjson style.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOffsetSerializeWrapper {
    /// 5.x: version of the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    /// `topic@group` → queue id → offset.
    #[serde(default)]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// GET_ALL_DELAY_OFFSET answer (and the broker's delay offset file): delay level → offset
/// reached in `SCHEDULE_TOPIC_XXXX`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsetSerializeWrapper {
    /// 5.x: version of the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_version: Option<DataVersion>,
    /// Delay level → offset.
    #[serde(default)]
    pub offset_table: BTreeMap<i32, i64>,
}

/// INVOKE_BROKER_TO_RESET_OFFSET answer and RESET_CONSUMER_CLIENT_OFFSET body: the offset each
/// queue was reset to. Java and Go need the object-key form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetBody {
    /// Queue → new offset, written with object keys.
    #[serde(with = "object_keys", default)]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

/// One entry of [`ResetOffsetBodyForC`]: a queue and its new offset, flattened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueueForC {
    /// The broker group holding the queue.
    pub broker_name: String,
    /// The new offset.
    pub offset: i64,
    /// The queue's index.
    pub queue_id: i32,
    /// The topic.
    pub topic: String,
}

/// RESET_CONSUMER_CLIENT_OFFSET body for `language=CPP` clients, whose JSON reader cannot take
/// object keys: the same content as [`ResetOffsetBody`] as a list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetBodyForC {
    /// Queues and their new offsets.
    #[serde(default)]
    pub offset_table: Vec<MessageQueueForC>,
}

impl From<&ResetOffsetBody> for ResetOffsetBodyForC {
    fn from(body: &ResetOffsetBody) -> Self {
        ResetOffsetBodyForC {
            offset_table: body
                .offset_table
                .iter()
                .map(|(mq, offset)| MessageQueueForC {
                    broker_name: mq.broker_name.clone(),
                    offset: *offset,
                    queue_id: mq.queue_id,
                    topic: mq.topic.clone(),
                })
                .collect(),
        }
    }
}

/// GET_CONSUMER_STATUS_FROM_CLIENT answer (one client) and INVOKE_BROKER_TO_GET_CONSUMER_STATUS
/// answer (all clients): the offsets clients hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerStatusBody {
    /// Client id → queue → offset (what the broker collects from every client).
    #[serde(default)]
    pub consumer_table: BTreeMap<String, ObjectKeyMap<MessageQueue, i64>>,
    /// Queue → offset (what one client answers).
    #[serde(with = "object_keys", default)]
    pub message_queue_table: BTreeMap<MessageQueue, i64>,
}

/// One queue's time span for QUERY_CONSUME_TIME_SPAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueTimeSpan {
    /// Store time of the group's next message, ms.
    #[serde(default)]
    pub consume_time_stamp: i64,
    /// How far the group lags, ms.
    #[serde(default)]
    pub delay_time: i64,
    /// Store time of the newest message, ms.
    #[serde(default)]
    pub max_time_stamp: i64,
    /// The queue.
    pub message_queue: MessageQueue,
    /// Store time of the oldest message, ms.
    #[serde(default)]
    pub min_time_stamp: i64,
}

/// QUERY_CONSUME_TIME_SPAN answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumeTimeSpanBody {
    /// One entry per queue of the topic.
    #[serde(default)]
    pub consume_time_span_set: Vec<QueueTimeSpan>,
}

/// 5.x: a subscription remembered in a group's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleSubscriptionData {
    /// The expression.
    #[serde(default)]
    pub expression: String,
    /// `TAG` or `SQL92`.
    #[serde(default)]
    pub expression_type: String,
    /// The topic.
    pub topic: String,
    /// Version of the subscription.
    #[serde(default)]
    pub version: i64,
}

fn yes() -> bool {
    true
}

fn default_retry_queue_nums() -> i32 {
    1
}

fn default_retry_max_times() -> i32 {
    16
}

fn default_which_broker_when_consume_slowly() -> i64 {
    1
}

/// A consumer group's settings on a broker (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body, and the
/// entries of [`SubscriptionGroupWrapper`]). Missing fields take Java's defaults (§6.11); the
/// 5.x additions are optional so that output to 4.9 peers is what a 4.9 broker writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    /// 5.x: group attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Broker id consumers should pull from (0 = master).
    #[serde(default)]
    pub broker_id: i64,
    /// Whether broadcasting consumption is allowed.
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    /// Whether the group may consume at all.
    #[serde(default = "yes")]
    pub consume_enable: bool,
    /// Whether a new group may start from the minimum offset.
    #[serde(default = "yes")]
    pub consume_from_min_enable: bool,
    /// 5.x: orderly consumption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_message_orderly: Option<bool>,
    /// 5.x: push-consumer timeout, minutes (Java default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_timeout_minute: Option<i32>,
    /// The group's name.
    pub group_name: String,
    /// 5.x: retry back-off policy, kept as the JSON object it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<serde_json::Value>,
    /// 5.x: group flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_sys_flag: Option<i32>,
    /// Whether members are told when membership changes.
    #[serde(default = "yes")]
    pub notify_consumer_ids_changed_enable: bool,
    /// Deliveries before a message goes to the DLQ.
    #[serde(default = "default_retry_max_times")]
    pub retry_max_times: i32,
    /// Queues of the group's `%RETRY%` topic.
    #[serde(default = "default_retry_queue_nums")]
    pub retry_queue_nums: i32,
    /// 5.x: remembered subscriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<Vec<SimpleSubscriptionData>>,
    /// Broker id to redirect slow consumers to.
    #[serde(default = "default_which_broker_when_consume_slowly")]
    pub which_broker_when_consume_slowly: i64,
}

impl SubscriptionGroupConfig {
    /// A group with every setting at Java's default, as auto-creation on heartbeat makes it.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            attributes: None,
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: None,
            consume_timeout_minute: None,
            group_name: group_name.into(),
            group_retry_policy: None,
            group_sys_flag: None,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: default_retry_max_times(),
            retry_queue_nums: default_retry_queue_nums(),
            subscription_data_set: None,
            which_broker_when_consume_slowly: default_which_broker_when_consume_slowly(),
        }
    }
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG answer (and the broker's subscription group file).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupWrapper {
    /// Version of the table.
    #[serde(default)]
    pub data_version: DataVersion,
    /// 5.x: group → topic → forbidden bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_table: Option<BTreeMap<String, BTreeMap<String, i32>>>,
    /// Group name → settings.
    #[serde(default)]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// One window of a broker statistic (Java's `BrokerStatsItem`): the increase over the window,
/// per second, and per counted call.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatsItem {
    /// The increase per counted call (0 when no calls were counted).
    #[serde(default)]
    pub avgpt: f64,
    /// The increase over the window.
    #[serde(default)]
    pub sum: i64,
    /// The increase per second.
    #[serde(default)]
    pub tps: f64,
}

/// VIEW_BROKER_STATS_DATA answer (`mqadmin statsAll`): one statistic over the last minute, hour
/// and day.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatsData {
    /// The last day.
    #[serde(default)]
    pub stats_day: BrokerStatsItem,
    /// The last hour.
    #[serde(default)]
    pub stats_hour: BrokerStatsItem,
    /// The last minute.
    #[serde(default)]
    pub stats_minute: BrokerStatsItem,
}

/// GET_BROKER_CONSUME_STATS answer (`mqadmin brokerConsumeStats`): every subscription group's
/// progress on this broker.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeStatsList {
    /// The answering broker.
    #[serde(default)]
    pub broker_addr: String,
    /// One single-entry map per group: group → its progress per topic.
    #[serde(default)]
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    /// Messages not yet consumed, all groups and topics.
    #[serde(default)]
    pub total_diff: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson::{from_slice, to_vec, KeyStyle};

    const CONSUME_STATS: &str = r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":120,"consumerOffset":118,"lastTimestamp":1718000000123,"pullOffset":120}}}"#;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("TopicTest", "broker-a", q)
    }

    fn text<T: Serialize>(value: &T, style: KeyStyle) -> String {
        String::from_utf8(to_vec(value, style)).unwrap()
    }

    #[test]
    fn consume_stats_parses_and_is_emitted_with_object_keys() {
        let stats: ConsumeStats = from_slice(CONSUME_STATS.as_bytes()).unwrap();
        let want = ConsumeStats {
            consume_tps: 0.0,
            offset_table: BTreeMap::from([(
                mq(0),
                OffsetWrapper {
                    broker_offset: 120,
                    consumer_offset: 118,
                    last_timestamp: 1_718_000_000_123,
                    pull_offset: 120,
                },
            )]),
        };
        assert_eq!(stats, want);
        assert_eq!(text(&want, KeyStyle::Fastjson), CONSUME_STATS);
    }

    #[test]
    fn consume_stats_from_a_4_9_broker_has_no_pull_offset() {
        let stats: ConsumeStats = from_slice(
            br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:{"brokerOffset":9,"consumerOffset":9,"lastTimestamp":0},{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":3,"consumerOffset":2,"lastTimestamp":0}}}"#,
        )
        .unwrap();
        assert_eq!(stats.consume_tps, 1.5);
        assert_eq!(stats.offset_table[&mq(0)].consumer_offset, 2);
        assert_eq!(stats.offset_table[&mq(1)].pull_offset, 0);
    }

    #[test]
    fn consumer_offsets_use_unquoted_integer_keys() {
        let doc = r#"{"offsetTable":{"TopicTest@cg":{0:118,1:97,2:120,3:64}}}"#;
        let w: ConsumerOffsetSerializeWrapper = from_slice(doc.as_bytes()).unwrap();
        assert_eq!(w.offset_table["TopicTest@cg"][&1], 97);
        assert_eq!(w.data_version, None);
        assert_eq!(text(&w, KeyStyle::Fastjson), doc);
        let quoted = text(&w, KeyStyle::Standard);
        assert_eq!(
            quoted,
            r#"{"offsetTable":{"TopicTest@cg":{"0":118,"1":97,"2":120,"3":64}}}"#
        );
        assert_eq!(
            from_slice::<ConsumerOffsetSerializeWrapper>(quoted.as_bytes()).unwrap(),
            w
        );
    }

    #[test]
    fn delay_offsets_with_a_5x_data_version() {
        let doc = r#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1718000000000},"offsetTable":{1:5,2:0}}"#;
        let w: DelayOffsetSerializeWrapper = from_slice(doc.as_bytes()).unwrap();
        assert_eq!(w.offset_table, BTreeMap::from([(1, 5), (2, 0)]));
        assert_eq!(w.data_version.as_ref().map(|v| v.counter), Some(2));
    }

    #[test]
    fn topic_stats_round_trip_with_object_keys() {
        let table = TopicStatsTable {
            offset_table: BTreeMap::from([
                (
                    mq(1),
                    TopicOffset {
                        last_update_timestamp: 0,
                        max_offset: 0,
                        min_offset: 0,
                    },
                ),
                (
                    mq(0),
                    TopicOffset {
                        last_update_timestamp: 1_718_000_000_123,
                        max_offset: 120,
                        min_offset: 0,
                    },
                ),
            ]),
            topic_put_tps: None,
        };
        let out = text(&table, KeyStyle::Fastjson);
        assert_eq!(
            out,
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"lastUpdateTimestamp":1718000000123,"maxOffset":120,"minOffset":0},{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}}}"#
        );
        assert_eq!(
            from_slice::<TopicStatsTable>(out.as_bytes()).unwrap(),
            table
        );
    }

    #[test]
    fn reset_offset_body_in_both_forms() {
        let body = ResetOffsetBody {
            offset_table: BTreeMap::from([(mq(0), 100), (mq(1), 57)]),
        };
        let out = text(&body, KeyStyle::Fastjson);
        assert_eq!(
            out,
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:100,{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:57}}"#
        );
        assert_eq!(from_slice::<ResetOffsetBody>(out.as_bytes()).unwrap(), body);
        assert_eq!(
            text(&ResetOffsetBodyForC::from(&body), KeyStyle::Standard),
            r#"{"offsetTable":[{"brokerName":"broker-a","offset":100,"queueId":0,"topic":"TopicTest"},{"brokerName":"broker-a","offset":57,"queueId":1,"topic":"TopicTest"}]}"#
        );
    }

    #[test]
    fn consumer_status_nests_object_key_maps() {
        let body = GetConsumerStatusBody {
            consumer_table: BTreeMap::from([(
                "c1".to_owned(),
                ObjectKeyMap::from_iter([(mq(0), 5)]),
            )]),
            message_queue_table: BTreeMap::from([(mq(1), 6)]),
        };
        let out = text(&body, KeyStyle::Fastjson);
        assert_eq!(
            out,
            r#"{"consumerTable":{"c1":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:5}},"messageQueueTable":{{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:6}}"#
        );
        assert_eq!(
            from_slice::<GetConsumerStatusBody>(out.as_bytes()).unwrap(),
            body
        );
    }

    #[test]
    fn consume_time_span_body_round_trips() {
        let body = QueryConsumeTimeSpanBody {
            consume_time_span_set: vec![QueueTimeSpan {
                consume_time_stamp: 3,
                delay_time: 4,
                max_time_stamp: 2,
                message_queue: mq(0),
                min_time_stamp: 1,
            }],
        };
        let out = text(&body, KeyStyle::Fastjson);
        assert_eq!(
            out,
            r#"{"consumeTimeSpanSet":[{"consumeTimeStamp":3,"delayTime":4,"maxTimeStamp":2,"messageQueue":{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"},"minTimeStamp":1}]}"#
        );
        assert_eq!(
            from_slice::<QueryConsumeTimeSpanBody>(out.as_bytes()).unwrap(),
            body
        );
    }

    #[test]
    fn broker_stats_data_reads_like_javas() {
        let data = BrokerStatsData {
            stats_minute: BrokerStatsItem {
                avgpt: 2.5,
                sum: 40,
                tps: 0.6666666666666666,
            },
            ..BrokerStatsData::default()
        };
        let text = text(&data, KeyStyle::Fastjson);
        assert_eq!(
            text,
            r#"{"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},"statsHour":{"avgpt":0.0,"sum":0,"tps":0.0},"statsMinute":{"avgpt":2.5,"sum":40,"tps":0.6666666666666666}}"#
        );
        let again: BrokerStatsData = from_slice(text.as_bytes()).unwrap();
        assert_eq!(again, data);
    }

    #[test]
    fn subscription_group_defaults_follow_java() {
        let g: SubscriptionGroupConfig = from_slice(br#"{"groupName":"cg"}"#).unwrap();
        assert_eq!(g, SubscriptionGroupConfig::new("cg"));
        assert!(g.consume_enable && g.consume_from_min_enable && g.consume_broadcast_enable);
        assert!(g.notify_consumer_ids_changed_enable);
        assert_eq!((g.retry_queue_nums, g.retry_max_times), (1, 16));
        assert_eq!((g.broker_id, g.which_broker_when_consume_slowly), (0, 1));
        assert_eq!(
            text(&g, KeyStyle::Fastjson),
            r#"{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"groupName":"cg","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#
        );
    }

    #[test]
    fn subscription_group_wrapper_reads_a_5x_document() {
        let doc = br#"{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":1718000000000},"forbiddenTable":{},"subscriptionGroupTable":{"cg":{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"cg","groupRetryPolicy":{"type":"CUSTOMIZED","customizedRetryPolicy":{"max":16,"min":1000,"stepCount":2}},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}}}"#;
        let w: SubscriptionGroupWrapper = from_slice(doc).unwrap();
        let g = &w.subscription_group_table["cg"];
        assert_eq!(g.consume_timeout_minute, Some(15));
        assert_eq!(
            g.group_retry_policy
                .as_ref()
                .and_then(|p| p["type"].as_str()),
            Some("CUSTOMIZED")
        );
        assert_eq!(w.data_version.counter, 1);
        let again: SubscriptionGroupWrapper = from_slice(&to_vec(&w, KeyStyle::Fastjson)).unwrap();
        assert_eq!(again, w);
    }
}
