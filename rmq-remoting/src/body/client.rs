//! Bodies clients and brokers exchange about who is connected and what they consume
//! (docs/remoting-protocol.md §6.4, §6.5, §6.8, §6.11).
//!
//! Fields are declared in alphabetical order because fastjson writes bean properties that way;
//! output then matches a Java peer byte for byte where the content is the same. Reading is
//! tolerant the way §3.4 requires: enums as names or ordinals (the C++ client sends ordinals),
//! numbers as strings (C++ `subVersion`, Go `codeSet`), and missing optional fields take Java's
//! defaults.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One queue of one topic on one broker: the unit of load balancing, locking and offsets.
///
/// Ordered like Java's `MessageQueue.compareTo` (topic, then broker name, then queue id) so that
/// maps keyed by it list queues the way Java tools do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    /// The broker group holding the queue.
    pub broker_name: String,
    /// The queue's index within the topic on that broker.
    #[serde(deserialize_with = "lenient::int32")]
    pub queue_id: i32,
    /// The topic.
    pub topic: String,
}

impl MessageQueue {
    /// A queue from its three coordinates.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            broker_name: broker_name.into(),
            queue_id,
            topic: topic.into(),
        }
    }
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.topic
            .cmp(&other.topic)
            .then_with(|| self.broker_name.cmp(&other.broker_name))
            .then_with(|| self.queue_id.cmp(&other.queue_id))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Declares a Java enum that is written by name and read from its name or its ordinal.
macro_rules! java_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $java:literal / $ordinal:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in ordinal order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The Java constant's name, as fastjson writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $java,)*
                }
            }

            /// The Java ordinal, as the C++ client writes it.
            pub fn ordinal(self) -> i64 {
                match self {
                    $($name::$variant => $ordinal,)*
                }
            }

            /// The value for a Java name (exact, as `Enum.valueOf`).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($java => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The value for a Java ordinal.
            pub fn from_ordinal(ordinal: i64) -> Option<Self> {
                match ordinal {
                    $($ordinal => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let found = match lenient::NameOrNumber::deserialize(deserializer)? {
                    lenient::NameOrNumber::Number(n) => Self::from_ordinal(n),
                    lenient::NameOrNumber::Name(s) => Self::from_name(s.trim()).or_else(|| {
                        s.trim().parse::<i64>().ok().and_then(Self::from_ordinal)
                    }),
                };
                found.ok_or_else(|| {
                    serde::de::Error::custom(concat!(
                        "not a ",
                        stringify!($name),
                        " name or ordinal"
                    ))
                })
            }
        }
    };
}

java_enum! {
    /// How a consumer receives messages; the broker treats push consumers differently
    /// (long polling, rebalance notifications).
    ConsumeType {
        /// Pull and lite-pull consumers.
        Actively = "CONSUME_ACTIVELY" / 0,
        /// Push consumers.
        Passively = "CONSUME_PASSIVELY" / 1,
        /// 5.x POP consumers.
        Pop = "CONSUME_POP" / 2,
    }
}

java_enum! {
    /// Whether a group shares its queues (clustering) or every member reads all (broadcasting).
    MessageModel {
        /// Every consumer gets every message; offsets are kept by the client.
        Broadcasting = "BROADCASTING" / 0,
        /// The group splits the queues; offsets are kept by the broker.
        Clustering = "CLUSTERING" / 1,
    }
}

java_enum! {
    /// Where a consumer group without a stored offset starts (applied by the client).
    ConsumeFromWhere {
        /// From the end of the queue (the Java default).
        LastOffset = "CONSUME_FROM_LAST_OFFSET" / 0,
        /// Deprecated alias kept for old clients.
        LastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST" / 1,
        /// Deprecated: from the minimum offset.
        MinOffset = "CONSUME_FROM_MIN_OFFSET" / 2,
        /// Deprecated: from the maximum offset.
        MaxOffset = "CONSUME_FROM_MAX_OFFSET" / 3,
        /// From the first message still stored.
        FirstOffset = "CONSUME_FROM_FIRST_OFFSET" / 4,
        /// From a point in time (`consumeTimestamp`).
        Timestamp = "CONSUME_FROM_TIMESTAMP" / 5,
    }
}

/// The filter expression type every subscription has unless it says otherwise.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";

fn default_expression_type() -> String {
    EXPRESSION_TYPE_TAG.to_owned()
}

/// A consumer's subscription to one topic: what the broker filters pulls by and versions
/// subscription changes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionData {
    /// Legacy class-filter mode; the C++ client omits it.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub class_filter_mode: bool,
    /// Java `String.hashCode` of each tag; Go sends them as strings.
    #[serde(default, deserialize_with = "lenient::int32_list")]
    pub code_set: Vec<i32>,
    /// `TAG` or `SQL92`; the C++ client omits it.
    #[serde(default = "default_expression_type")]
    pub expression_type: String,
    /// Legacy filter-class source; Java never writes it, so neither does rmq.
    #[serde(default, skip_serializing)]
    pub filter_class_source: Option<String>,
    /// The expression: `*`, `TagA || TagB`, or SQL text.
    pub sub_string: String,
    /// Version of the subscription (Java: ms timestamp); the C++ client sends it as a string.
    #[serde(default, deserialize_with = "lenient::int64")]
    pub sub_version: i64,
    /// The tags of a TAG expression (empty for `*`).
    #[serde(default)]
    pub tags_set: Vec<String>,
    /// The subscribed topic.
    pub topic: String,
}

/// A producer group a client belongs to, as listed in its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    /// The group's name.
    pub group_name: String,
}

/// A consumer group a client belongs to, with what it consumes and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    /// Where the group starts without a stored offset.
    pub consume_from_where: ConsumeFromWhere,
    /// Push, pull or pop.
    pub consume_type: ConsumeType,
    /// The group's name.
    pub group_name: String,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// One entry per subscribed topic (push consumers include `%RETRY%<group>`).
    #[serde(default)]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Legacy unit mode; the C++ client omits it.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub unit_mode: bool,
}

/// HEART_BEAT (34) body: who the client is and which groups it is in. It keeps the client's
/// registrations alive and drives consumer-group membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatData {
    /// `clientIP@instanceName[@unitName]` (`clientID`, capital ID, as Java spells it); opaque.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Consumer groups the client is in.
    #[serde(default)]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat v2: fingerprint of the subscriptions (0 unless v2 is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_fingerprint: Option<i32>,
    /// Producer groups the client is in (Java always adds `CLIENT_INNER_PRODUCER`).
    #[serde(default)]
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x heartbeat v2: the subscriptions were left out because they did not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_sub: Option<bool>,
}

/// LOCK_BATCH_MQ (41) body: an orderly consumer asks for exclusive use of some queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    /// The client asking.
    pub client_id: String,
    /// Its consumer group.
    pub consumer_group: String,
    /// The queues to lock.
    #[serde(default)]
    pub mq_set: BTreeSet<MessageQueue>,
    /// 5.x: do not forward the lock to other brokers of the group.
    #[serde(default)]
    pub only_this_broker: bool,
}

/// LOCK_BATCH_MQ answer: the queues this client now holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockBatchResponseBody {
    /// Queues locked for the client (`lockOKMQSet`, Java's spelling).
    #[serde(rename = "lockOKMQSet", default)]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

/// UNLOCK_BATCH_MQ (42) body: the client gives queues back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockBatchRequestBody {
    /// The client releasing.
    pub client_id: String,
    /// Its consumer group.
    pub consumer_group: String,
    /// The queues to release.
    #[serde(default)]
    pub mq_set: BTreeSet<MessageQueue>,
    /// 5.x: do not forward the unlock to other brokers of the group.
    #[serde(default)]
    pub only_this_broker: bool,
}

/// GET_CONSUMER_LIST_BY_GROUP answer: the live members, which every member sorts and divides
/// the queues by.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerListByGroupResponseBody {
    /// Client ids of the group's live consumers.
    #[serde(default)]
    pub consumer_id_list: Vec<String>,
}

/// One client connection as admin tools see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The peer's `ip:port`.
    pub client_addr: String,
    /// The client id from its heartbeat.
    pub client_id: String,
    /// The client's `LanguageCode` name (`JAVA`, `GO`, `CPP`, …).
    pub language: String,
    /// The client's version ordinal.
    #[serde(default, deserialize_with = "lenient::int32")]
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST answer: a group's connections and what it consumes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnection {
    /// The group's connections.
    #[serde(default)]
    pub connection_set: Vec<Connection>,
    /// Where the group starts without a stored offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_from_where: Option<ConsumeFromWhere>,
    /// Push, pull or pop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_type: Option<ConsumeType>,
    /// Clustering or broadcasting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_model: Option<MessageModel>,
    /// Topic → the group's subscription to it.
    #[serde(default)]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

/// GET_PRODUCER_CONNECTION_LIST answer: a producer group's connections.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerConnection {
    /// The group's connections.
    #[serde(default)]
    pub connection_set: Vec<Connection>,
}

/// CHECK_CLIENT_CONFIG (46) body: a consumer asks whether the broker can evaluate its (SQL92)
/// subscription before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckClientRequestBody {
    /// The client asking.
    pub client_id: String,
    /// Its consumer group.
    pub group: String,
    /// 5.x: the client's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The subscription to check.
    pub subscription_data: SubscriptionData,
}

/// Readers for values that official clients send in more than one JSON type (§3.4).
pub(crate) mod lenient {
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::Deserialize;
    use std::fmt;

    /// A scalar that is either text or an integer.
    pub enum NameOrNumber {
        /// JSON string.
        Name(String),
        /// JSON integer.
        Number(i64),
    }

    impl<'de> Deserialize<'de> for NameOrNumber {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NameOrNumberVisitor)
        }
    }

    struct NameOrNumberVisitor;

    impl Visitor<'_> for NameOrNumberVisitor {
        type Value = NameOrNumber;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an integer")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<NameOrNumber, E> {
            Ok(NameOrNumber::Name(v.to_owned()))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<NameOrNumber, E> {
            Ok(NameOrNumber::Number(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<NameOrNumber, E> {
            i64::try_from(v)
                .map(NameOrNumber::Number)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
    }

    fn to_i64<E: de::Error>(value: NameOrNumber) -> Result<i64, E> {
        match value {
            NameOrNumber::Number(n) => Ok(n),
            NameOrNumber::Name(s) => s
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(&s), &"an integer")),
        }
    }

    /// An `i64` from a JSON integer or its decimal text.
    pub fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        to_i64(NameOrNumber::deserialize(d)?)
    }

    /// An `i32` from a JSON integer or its decimal text.
    pub fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        let n = int64(d)?;
        i32::try_from(n).map_err(|_| de::Error::invalid_value(de::Unexpected::Signed(n), &"an int"))
    }

    /// A list of `i32`s whose items may be integers or decimal text; `null` is empty.
    pub fn int32_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<i32>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of integers")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<i32>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<NameOrNumber>()? {
                    let n = to_i64::<A::Error>(item)?;
                    out.push(i32::try_from(n).map_err(|_| {
                        de::Error::invalid_value(de::Unexpected::Signed(n), &"an int")
                    })?);
                }
                Ok(out)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Vec<i32>, E> {
                Ok(Vec::new())
            }
        }

        d.deserialize_any(ListVisitor)
    }

    /// A boolean from JSON `true`/`false`, Java-parsed text (`"true"` in any case is true),
    /// `"1"`/`"0"`, or an integer (non-zero is true); `null` is false.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        struct BoolVisitor;

        impl Visitor<'_> for BoolVisitor {
            type Value = bool;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
                let v = v.trim();
                Ok(v.eq_ignore_ascii_case("true") || v == "1")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
                Ok(v != 0)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
                Ok(v != 0)
            }

            fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
                Ok(false)
            }
        }

        d.deserialize_any(BoolVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson::{from_slice, to_vec, KeyStyle};

    const JAVA_HEARTBEAT: &str = r#"{"clientID":"192.168.0.5@12345#8123456789","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1718000000000,"tagsSet":[],"topic":"TopicTest"},{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1718000000001,"tagsSet":[],"topic":"%RETRY%cg"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

    fn sub(topic: &str, version: i64) -> SubscriptionData {
        SubscriptionData {
            class_filter_mode: false,
            code_set: vec![],
            expression_type: "TAG".into(),
            filter_class_source: None,
            sub_string: "*".into(),
            sub_version: version,
            tags_set: vec![],
            topic: topic.into(),
        }
    }

    fn java_heartbeat() -> HeartbeatData {
        HeartbeatData {
            client_id: "192.168.0.5@12345#8123456789".into(),
            consumer_data_set: vec![ConsumerData {
                consume_from_where: ConsumeFromWhere::LastOffset,
                consume_type: ConsumeType::Passively,
                group_name: "cg".into(),
                message_model: MessageModel::Clustering,
                subscription_data_set: vec![
                    sub("TopicTest", 1_718_000_000_000),
                    sub("%RETRY%cg", 1_718_000_000_001),
                ],
                unit_mode: false,
            }],
            heartbeat_fingerprint: Some(0),
            producer_data_set: vec![ProducerData {
                group_name: "CLIENT_INNER_PRODUCER".into(),
            }],
            without_sub: Some(false),
        }
    }

    #[test]
    fn java_heartbeat_parses_and_is_written_back_identically() {
        let hb: HeartbeatData = from_slice(JAVA_HEARTBEAT.as_bytes()).unwrap();
        assert_eq!(hb, java_heartbeat());
        assert_eq!(
            String::from_utf8(to_vec(&hb, KeyStyle::Fastjson)).unwrap(),
            JAVA_HEARTBEAT
        );
    }

    #[test]
    fn cpp_heartbeat_with_ordinals_and_string_numbers() {
        let cpp = br#"{"clientID":"10.0.0.7@4242","producerDataSet":[],"consumerDataSet":[{"groupName":"cg","consumeType":1,"messageModel":1,"consumeFromWhere":4,"subscriptionDataSet":[{"topic":"T","subString":"TagA || TagB","subVersion":"1718000000000","tagsSet":["TagA","TagB"],"codeSet":[2598919,2598920]}]}]}"#;
        let hb: HeartbeatData = from_slice(cpp).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.consume_type, ConsumeType::Passively);
        assert_eq!(c.message_model, MessageModel::Clustering);
        assert_eq!(c.consume_from_where, ConsumeFromWhere::FirstOffset);
        assert!(!c.unit_mode);
        let s = &c.subscription_data_set[0];
        assert_eq!(s.sub_version, 1_718_000_000_000);
        assert_eq!(s.expression_type, "TAG");
        assert!(!s.class_filter_mode);
        assert_eq!(s.code_set, vec![2_598_919, 2_598_920]);
        assert_eq!(hb.heartbeat_fingerprint, None);
        assert!(hb.producer_data_set.is_empty());
    }

    #[test]
    fn go_heartbeat_with_string_code_set() {
        let go = br#"{"clientID":"10.0.0.8@777","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"BROADCASTING","consumeFromWhere":"CONSUME_FROM_TIMESTAMP","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":["2598919"],"subVersion":0,"expressionType":"TAG"}],"unitMode":false}]}"#;
        let hb: HeartbeatData = from_slice(go).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.message_model, MessageModel::Broadcasting);
        assert_eq!(c.consume_from_where, ConsumeFromWhere::Timestamp);
        assert_eq!(c.subscription_data_set[0].code_set, vec![2_598_919]);
    }

    #[test]
    fn enums_reject_unknown_values() {
        assert!(from_slice::<ConsumeType>(b"\"CONSUME_SOMETIMES\"").is_err());
        assert!(from_slice::<MessageModel>(b"2").is_err());
        assert_eq!(
            from_slice::<ConsumeFromWhere>(b"\"5\"").unwrap(),
            ConsumeFromWhere::Timestamp
        );
        for (i, v) in ConsumeFromWhere::ALL.iter().enumerate() {
            assert_eq!(v.ordinal(), i as i64);
            assert_eq!(ConsumeFromWhere::from_name(v.as_str()), Some(*v));
        }
    }

    #[test]
    fn lock_bodies_match_the_documented_shapes() {
        let text = r#"{"clientId":"192.168.0.5@12345#8123456789","consumerGroup":"cg","mqSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}],"onlyThisBroker":false}"#;
        let req: LockBatchRequestBody = from_slice(text.as_bytes()).unwrap();
        assert_eq!(
            req.mq_set,
            BTreeSet::from([MessageQueue::new("TopicTest", "broker-a", 0)])
        );
        assert_eq!(
            String::from_utf8(to_vec(&req, KeyStyle::Fastjson)).unwrap(),
            text
        );
        let unlock: UnlockBatchRequestBody = from_slice(text.as_bytes()).unwrap();
        assert_eq!(unlock.mq_set, req.mq_set);
        let resp = LockBatchResponseBody {
            lock_ok_mq_set: req.mq_set.clone(),
        };
        assert_eq!(
            String::from_utf8(to_vec(&resp, KeyStyle::Fastjson)).unwrap(),
            r#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}]}"#
        );
        // 4.9 clients send no onlyThisBroker.
        let old: LockBatchRequestBody =
            from_slice(br#"{"clientId":"c","consumerGroup":"cg","mqSet":[]}"#).unwrap();
        assert!(!old.only_this_broker && old.mq_set.is_empty());
    }

    #[test]
    fn message_queues_order_like_java() {
        let mut qs = vec![
            MessageQueue::new("B", "a", 0),
            MessageQueue::new("A", "b", 0),
            MessageQueue::new("A", "a", 2),
            MessageQueue::new("A", "a", 1),
        ];
        qs.sort();
        assert_eq!(
            qs,
            vec![
                MessageQueue::new("A", "a", 1),
                MessageQueue::new("A", "a", 2),
                MessageQueue::new("A", "b", 0),
                MessageQueue::new("B", "a", 0),
            ]
        );
    }

    #[test]
    fn consumer_list_and_connections() {
        let text = r#"{"consumerIdList":["192.168.0.5@12345#8123456789","192.168.0.6@999#4242"]}"#;
        let body: GetConsumerListByGroupResponseBody = from_slice(text.as_bytes()).unwrap();
        assert_eq!(body.consumer_id_list.len(), 2);
        assert_eq!(
            String::from_utf8(to_vec(&body, KeyStyle::Fastjson)).unwrap(),
            text
        );

        let cc = ConsumerConnection {
            connection_set: vec![Connection {
                client_addr: "192.168.0.5:50000".into(),
                client_id: "192.168.0.5@12345#8123456789".into(),
                language: "JAVA".into(),
                version: 479,
            }],
            consume_from_where: Some(ConsumeFromWhere::LastOffset),
            consume_type: Some(ConsumeType::Passively),
            message_model: Some(MessageModel::Clustering),
            subscription_table: BTreeMap::from([("TopicTest".to_owned(), sub("TopicTest", 1))]),
        };
        let text = to_vec(&cc, KeyStyle::Fastjson);
        assert_eq!(
            String::from_utf8_lossy(&text),
            r#"{"connectionSet":[{"clientAddr":"192.168.0.5:50000","clientId":"192.168.0.5@12345#8123456789","language":"JAVA","version":479}],"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","subscriptionTable":{"TopicTest":{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"TopicTest"}}}"#
        );
        assert_eq!(from_slice::<ConsumerConnection>(&text).unwrap(), cc);

        let pc: ProducerConnection = from_slice(br#"{"connectionSet":[]}"#).unwrap();
        assert!(pc.connection_set.is_empty());
    }

    #[test]
    fn check_client_body_reads_java_and_skips_filter_class_source() {
        let text = br#"{"clientId":"c","group":"cg","subscriptionData":{"classFilterMode":false,"codeSet":[],"expressionType":"SQL92","filterClassSource":"x","subString":"a > 1","subVersion":5,"tagsSet":[],"topic":"T"}}"#;
        let body: CheckClientRequestBody = from_slice(text).unwrap();
        assert_eq!(body.subscription_data.expression_type, "SQL92");
        assert_eq!(
            body.subscription_data.filter_class_source.as_deref(),
            Some("x")
        );
        let out = String::from_utf8(to_vec(&body, KeyStyle::Fastjson)).unwrap();
        assert!(!out.contains("filterClassSource"), "{out}");
    }
}
