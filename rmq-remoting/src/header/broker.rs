//! Headers of the commands the broker serves and sends (remoting-protocol.md §6.1–§6.9, §6.11, §6.12).
//!
//! Field names are Java's, because they are the `extFields` keys on the wire. A field that §6 marks
//! required is a plain type, so a request without it is refused with [`HeaderError::Missing`]
//! naming the Java field; optional fields are `Option`s, or plain types with Java's default where
//! the Java class has one. The 5.x RPC field `bname` (target broker name, remoting-protocol.md
//! §2.6) is carried on the requests where the Java 5.x and Go clients send it; it is always
//! optional. Unknown keys (ACL `AccessKey`/`Signature`, the C++ `OnsChannel`, 5.x `ns`/`nsd`/
//! `oway`/`lo`) are ignored by [`crate::ext_fields::from_map`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::code::RequestCode;
use crate::command::RemotingCommand;
use crate::error::HeaderError;
use crate::ext_fields;

// ---------------------------------------------------------------------------------------------
// §6.1 Sending
// ---------------------------------------------------------------------------------------------

/// SEND_MESSAGE (10) and SEND_REPLY_MESSAGE (324) request, with the long V1 key names.
///
/// This is also the one type send handlers see: V2 requests are converted into it with
/// [`SendMessageRequestHeader::from_command`] or `From<SendMessageRequestHeaderV2>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequestHeader {
    /// Producer group; transaction checks find the producer by it.
    pub producer_group: String,
    /// Target topic.
    pub topic: String,
    /// Template topic for auto-creation, normally `TBW102`.
    pub default_topic: String,
    /// Queue count to use when the topic is auto-created.
    pub default_topic_queue_nums: i32,
    /// Target queue; negative lets the broker pick one.
    pub queue_id: i32,
    /// The message's sysFlag from the client (compression, transaction bits).
    pub sys_flag: i32,
    /// Client wall clock when the message was made, ms.
    pub born_timestamp: i64,
    /// User-defined message flag, stored verbatim.
    pub flag: i32,
    /// Encoded message properties (`UNIQ_KEY`, `TAGS`, `KEYS`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
    /// Delivery attempt count, meaningful for `%RETRY%` topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconsume_times: Option<i32>,
    /// Legacy unit mode; Java always sends `false`.
    #[serde(default)]
    pub unit_mode: bool,
    /// Consumer's retry limit, meaningful for `%RETRY%` topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reconsume_times: Option<i32>,
    /// Whether the body is a batch (§7.5); the broker decides single vs batch from this flag.
    #[serde(default)]
    pub batch: bool,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and SEND_REPLY_MESSAGE_V2 (325) request: the
/// same fields as [`SendMessageRequestHeader`] under one-letter keys, which Java uses to make
/// its header parsing cheaper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageRequestHeaderV2 {
    /// `a`: producer group.
    #[serde(rename = "a")]
    pub producer_group: String,
    /// `b`: target topic.
    #[serde(rename = "b")]
    pub topic: String,
    /// `c`: template topic for auto-creation.
    #[serde(rename = "c")]
    pub default_topic: String,
    /// `d`: queue count for auto-creation.
    #[serde(rename = "d")]
    pub default_topic_queue_nums: i32,
    /// `e`: target queue; negative lets the broker pick one.
    #[serde(rename = "e")]
    pub queue_id: i32,
    /// `f`: the message's sysFlag.
    #[serde(rename = "f")]
    pub sys_flag: i32,
    /// `g`: born timestamp, ms.
    #[serde(rename = "g")]
    pub born_timestamp: i64,
    /// `h`: user-defined message flag.
    #[serde(rename = "h")]
    pub flag: i32,
    /// `i`: encoded properties.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
    /// `j`: reconsume times.
    #[serde(rename = "j", default, skip_serializing_if = "Option::is_none")]
    pub reconsume_times: Option<i32>,
    /// `k`: legacy unit mode.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub unit_mode: Option<bool>,
    /// `l`: max reconsume times.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub max_reconsume_times: Option<i32>,
    /// `m`: batch flag.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<bool>,
    /// `n`: target broker name (Java 4.9.5+, Go).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode.unwrap_or(false),
            max_reconsume_times: v2.max_reconsume_times,
            batch: v2.batch.unwrap_or(false),
            bname: v2.bname,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: Some(v1.unit_mode),
            max_reconsume_times: v1.max_reconsume_times,
            batch: Some(v1.batch),
            bname: v1.bname,
        }
    }
}

impl SendMessageRequestHeader {
    /// True for the codes whose requests carry the one-letter V2 keys (310, 320, 325).
    pub fn uses_v2_keys(code: i32) -> bool {
        matches!(
            RequestCode::from_i32(code),
            Some(
                RequestCode::SEND_MESSAGE_V2
                    | RequestCode::SEND_BATCH_MESSAGE
                    | RequestCode::SEND_REPLY_MESSAGE_V2
            )
        )
    }

    /// Reads the send header of any send command, choosing V1 or V2 keys by the request code,
    /// so that handlers deal with one type.
    pub fn from_command(cmd: &RemotingCommand) -> Result<Self, HeaderError> {
        if Self::uses_v2_keys(cmd.code) {
            ext_fields::from_map::<SendMessageRequestHeaderV2>(&cmd.ext_fields).map(Self::from)
        } else {
            ext_fields::from_map(&cmd.ext_fields)
        }
    }
}

/// Region a Java broker reports when `regionId` is not configured.
const DEFAULT_REGION: &str = "DefaultRegion";

fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

fn default_true() -> bool {
    true
}

/// Successful send response (codes 0, 10, 11, 12): where the message was stored.
///
/// `MSG_REGION` and `TRACE_ON` are not fields of Java's header class but extra `extFields` keys
/// the Java client reads after every successful send; they are fields here so a broker can never
/// forget them. Reading tolerates their absence (Java's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageResponseHeader {
    /// Offset message id (§8.1); for a batch, all ids joined by `,`.
    pub msg_id: String,
    /// Queue actually written.
    pub queue_id: i32,
    /// Logical offset of the (first) stored message.
    pub queue_offset: i64,
    /// 5.x: the message's `UNIQ_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// 5.x inner-batch topics only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_uniq_id: Option<String>,
    /// 5.x recall feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall_handle: Option<String>,
    /// 5.x timer messages: the delay applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_time: Option<i64>,
    /// `MSG_REGION`: the broker's region id.
    #[serde(rename = "MSG_REGION", default = "default_region")]
    pub msg_region: String,
    /// `TRACE_ON`: whether message tracing is enabled on the broker.
    #[serde(rename = "TRACE_ON", default = "default_true")]
    pub trace_on: bool,
}

// ---------------------------------------------------------------------------------------------
// §6.2 Pulling
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// §6.3 Offsets
// ---------------------------------------------------------------------------------------------

/// QUERY_CONSUMER_OFFSET (14) request: the group's stored offset for one queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumerOffsetRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// 5.x: whether to answer 0 for a fresh group on an untrimmed queue (see §6.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_zero_if_not_found: Option<bool>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// The answer of the commands that return one logical offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetResponseHeader {
    /// The offset.
    pub offset: i64,
}

/// QUERY_CONSUMER_OFFSET response: the stored offset.
pub type QueryConsumerOffsetResponseHeader = OffsetResponseHeader;
/// GET_MAX_OFFSET response: the queue's entry count (next offset to be written).
pub type GetMaxOffsetResponseHeader = OffsetResponseHeader;
/// GET_MIN_OFFSET response: the first offset still on disk.
pub type GetMinOffsetResponseHeader = OffsetResponseHeader;
/// SEARCH_OFFSET_BY_TIMESTAMP response: the offset found for the timestamp.
pub type SearchOffsetResponseHeader = OffsetResponseHeader;

/// UPDATE_CONSUMER_OFFSET (15) request: persist a group's progress on one queue (usually oneway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateConsumerOffsetRequestHeader {
    /// Consumer group.
    pub consumer_group: String,
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// The offset to store.
    pub commit_offset: i64,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// UPDATE_CONSUMER_OFFSET response: no fields; it exists so the synchronous form has a type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateConsumerOffsetResponseHeader {}

/// GET_MAX_OFFSET (30) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetMaxOffsetRequestHeader {
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// 5.x: count only committed (replicated) entries; Java's default is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<bool>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32) request: one queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueRequestHeader {
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// GET_MIN_OFFSET request.
pub type GetMinOffsetRequestHeader = QueueRequestHeader;
/// GET_EARLIEST_MSG_STORETIME request.
pub type GetEarliestMsgStoretimeRequestHeader = QueueRequestHeader;

/// GET_EARLIEST_MSG_STORETIME response: store time of the message at the queue's min offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetEarliestMsgStoretimeResponseHeader {
    /// Store timestamp, ms.
    pub timestamp: i64,
}

/// Which side of a timestamp SEARCH_OFFSET_BY_TIMESTAMP lands on (5.x `boundaryType`).
///
/// Java parses it case-insensitively, so reading does too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BoundaryType {
    /// The first message stored at or after the timestamp (the default).
    #[default]
    Lower,
    /// The last message stored at or before the timestamp.
    Upper,
}

impl BoundaryType {
    /// The Java name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
    }
}

impl Serialize for BoundaryType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BoundaryType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.trim();
        if text.eq_ignore_ascii_case("LOWER") {
            Ok(BoundaryType::Lower)
        } else if text.eq_ignore_ascii_case("UPPER") {
            Ok(BoundaryType::Upper)
        } else {
            Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(text),
                &"LOWER or UPPER",
            ))
        }
    }
}

/// SEARCH_OFFSET_BY_TIMESTAMP (29) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOffsetRequestHeader {
    /// Topic.
    pub topic: String,
    /// Queue.
    pub queue_id: i32,
    /// The store time to search for, ms.
    pub timestamp: i64,
    /// 5.x: which side of the timestamp; absent means [`BoundaryType::Lower`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary_type: Option<BoundaryType>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// §6.4–§6.6 Clients and consumer groups
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// §6.7 Transactions
// ---------------------------------------------------------------------------------------------

/// END_TRANSACTION (37) request: the producer's verdict on a half message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndTransactionRequestHeader {
    /// Must equal the half message's `PGROUP`.
    pub producer_group: String,
    /// Logical offset of the half message (the send response's `queueOffset`).
    pub tran_state_table_offset: i64,
    /// Physical offset of the half message (from the send response's offset id).
    pub commit_log_offset: i64,
    /// 8 commit, 12 rollback, 0 unknown.
    pub commit_or_rollback: i32,
    /// True when this answers a CHECK_TRANSACTION_STATE.
    #[serde(default)]
    pub from_transaction_check: bool,
    /// The message's `UNIQ_KEY`.
    pub msg_id: String,
    /// 5.x: the transaction id from the send response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// 5.x: the message's topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

impl EndTransactionRequestHeader {
    /// `commitOrRollback` value: no verdict yet, wait for a check.
    pub const NOT_TYPE: i32 = 0;
    /// `commitOrRollback` value: commit.
    pub const COMMIT_TYPE: i32 = 8;
    /// `commitOrRollback` value: roll back.
    pub const ROLLBACK_TYPE: i32 = 12;
}

/// CHECK_TRANSACTION_STATE (39), broker → producer, oneway: what became of this half message?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckTransactionStateRequestHeader {
    /// Logical offset of the half message.
    pub tran_state_table_offset: i64,
    /// Physical offset of the half message.
    pub commit_log_offset: i64,
    /// The message's `UNIQ_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
    /// The transaction id (= `UNIQ_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Offset id of the half message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_msg_id: Option<String>,
    /// 5.x: the real topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// 5.x RPC field: the sending broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// §6.9 Queries
// ---------------------------------------------------------------------------------------------

/// QUERY_MESSAGE (12) request: messages whose key or `UNIQ_KEY` matches, in a time range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryMessageRequestHeader {
    /// Topic.
    pub topic: String,
    /// The key searched for.
    pub key: String,
    /// Most messages to return.
    pub max_num: i32,
    /// Range start, ms.
    pub begin_timestamp: i64,
    /// Range end, ms.
    pub end_timestamp: i64,
    /// `_UNIQUE_KEY_QUERY`: an extra key, `true` when searching by `UNIQ_KEY`.
    #[serde(
        rename = "_UNIQUE_KEY_QUERY",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_key_query: Option<bool>,
    /// 5.x RPC field: the target broker's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
}

/// QUERY_MESSAGE response: how fresh the broker's index is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryMessageResponseHeader {
    /// When the index was last updated, ms.
    pub index_last_update_timestamp: i64,
    /// Physical offset the index has reached.
    pub index_last_update_phyoffset: i64,
}

/// VIEW_MESSAGE_BY_ID (33) request: one message by physical offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewMessageRequestHeader {
    /// Physical offset, decoded from an offset message id.
    pub offset: i64,
    /// 5.x: the topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// §6.11 Admin-facing broker commands
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// §6.12 Broker → client requests
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fmt::Debug;

    use serde::de::DeserializeOwned;

    use super::*;
    use crate::ext_fields::{from_map, to_map};
    use crate::header_codec::decode_json;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Writes `header`, checks the keys are exactly `keys`, and reads it back unchanged.
    fn round_trip<H>(header: H, keys: &[&str])
    where
        H: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let map = to_map(&header);
        let mut got: Vec<&str> = map.keys().map(String::as_str).collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "keys of {header:?}");
        assert_eq!(from_map::<H>(&map), Ok(header));
    }

    fn v1() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 2,
            sys_flag: 0,
            born_timestamp: 1_718_000_000_000,
            flag: 0,
            properties: Some("TAGS\u{1}TagA\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: false,
            max_reconsume_times: None,
            batch: false,
            bname: Some("broker-a".into()),
        }
    }

    #[test]
    fn java_v2_send_header_decodes_and_converts() {
        let json = br#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","c":"TBW102","d":"4","e":"2","f":"0","g":"1718000000000","h":"0","i":"TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let cmd = decode_json(json).unwrap();
        let v2: SendMessageRequestHeaderV2 = cmd.decode_header().unwrap();
        assert_eq!(v2.unit_mode, Some(false));
        assert_eq!(v2.batch, Some(false));
        assert_eq!(SendMessageRequestHeader::from_command(&cmd), Ok(v1()));
    }

    #[test]
    fn cpp_v2_send_header_with_json_numbers_and_zero_booleans() {
        let json = br#"{"code":310,"language":"CPP","version":333,"opaque":5,"flag":0,"extFields":{"AccessKey":"","Signature":"","OnsChannel":"","a":"PG","b":"T","c":"TBW102","d":4,"e":1,"f":0,"g":"1718000000000","h":0,"i":"","j":"0","k":"0","l":16,"m":"1"}}"#;
        let cmd = decode_json(json).unwrap();
        let h = SendMessageRequestHeader::from_command(&cmd).unwrap();
        assert_eq!(h.queue_id, 1);
        assert_eq!(h.max_reconsume_times, Some(16));
        assert_eq!(h.properties, None);
        assert!(!h.unit_mode);
        assert!(h.batch, "C++ marks batches with m=1");
    }

    #[test]
    fn go_v1_send_header_decodes_by_code() {
        let cmd = RemotingCommand {
            code: RequestCode::SEND_MESSAGE.as_i32(),
            ext_fields: fields(&[
                ("producerGroup", "PG"),
                ("topic", "TopicTest"),
                ("defaultTopic", "TBW102"),
                ("defaultTopicQueueNums", "4"),
                ("queueId", "2"),
                ("sysFlag", "0"),
                ("bornTimestamp", "1718000000000"),
                ("flag", "0"),
                ("properties", "TAGS\u{1}TagA\u{2}"),
                ("reconsumeTimes", "0"),
                ("unitMode", "false"),
                ("batch", "false"),
                ("bname", "broker-a"),
            ]),
            ..Default::default()
        };
        assert_eq!(SendMessageRequestHeader::from_command(&cmd), Ok(v1()));
    }

    #[test]
    fn send_headers_round_trip_and_convert_both_ways() {
        round_trip(
            v1(),
            &[
                "producerGroup",
                "topic",
                "defaultTopic",
                "defaultTopicQueueNums",
                "queueId",
                "sysFlag",
                "bornTimestamp",
                "flag",
                "properties",
                "reconsumeTimes",
                "unitMode",
                "batch",
                "bname",
            ],
        );
        let v2 = SendMessageRequestHeaderV2::from(v1());
        round_trip(
            v2.clone(),
            &[
                "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "m", "n",
            ],
        );
        assert_eq!(SendMessageRequestHeader::from(v2), v1());
    }

    #[test]
    fn missing_required_send_fields_are_named_as_java_names_them() {
        let mut map = to_map(&SendMessageRequestHeaderV2::from(v1()));
        map.remove("g");
        assert_eq!(
            from_map::<SendMessageRequestHeaderV2>(&map),
            Err(HeaderError::Missing("g".into()))
        );
        let mut map = to_map(&v1());
        map.remove("defaultTopicQueueNums");
        assert_eq!(
            from_map::<SendMessageRequestHeader>(&map),
            Err(HeaderError::Missing("defaultTopicQueueNums".into()))
        );
    }

    #[test]
    fn send_response_matches_the_java_broker() {
        let json = br#"{"code":0,"extFields":{"queueId":"2","MSG_REGION":"DefaultRegion","TRACE_ON":"true","msgId":"C0A8010A00002A9F0000000000001234","queueOffset":"17","transactionId":"C0A8010530391B6D35860A1B2C3D0001"},"flag":1,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let h: SendMessageResponseHeader = decode_json(json).unwrap().decode_header().unwrap();
        let want = SendMessageResponseHeader {
            msg_id: "C0A8010A00002A9F0000000000001234".into(),
            queue_id: 2,
            queue_offset: 17,
            transaction_id: Some("C0A8010530391B6D35860A1B2C3D0001".into()),
            batch_uniq_id: None,
            recall_handle: None,
            delay_time: None,
            msg_region: "DefaultRegion".into(),
            trace_on: true,
        };
        assert_eq!(h, want);
        round_trip(
            want,
            &[
                "msgId",
                "queueId",
                "queueOffset",
                "transactionId",
                "MSG_REGION",
                "TRACE_ON",
            ],
        );
        // A 4.9-style response without the extra keys still reads, with Java's defaults.
        let h: SendMessageResponseHeader = from_map(&fields(&[
            ("msgId", "X"),
            ("queueId", "0"),
            ("queueOffset", "0"),
        ]))
        .unwrap();
        assert_eq!((h.msg_region.as_str(), h.trace_on), ("DefaultRegion", true));
    }

    #[test]
    fn go_pull_header_decodes() {
        let json = br#"{"code":11,"language":"GO","version":317,"opaque":7,"flag":0,"remark":"","extFields":{"consumerGroup":"cg","topic":"TopicTest","queueId":"0","queueOffset":"12","maxMsgNums":"32","sysFlag":"2","commitOffset":"0","suspendTimeoutMillis":"20000","subscription":"","subVersion":"0","expressionType":"TAG","bname":"broker-a"}}"#;
        let h: PullMessageRequestHeader = decode_json(json).unwrap().decode_header().unwrap();
        assert_eq!(
            h,
            PullMessageRequestHeader {
                consumer_group: "cg".into(),
                topic: "TopicTest".into(),
                queue_id: 0,
                queue_offset: 12,
                max_msg_nums: 32,
                sys_flag: 2,
                commit_offset: 0,
                suspend_timeout_millis: 20_000,
                subscription: None,
                sub_version: 0,
                expression_type: Some("TAG".into()),
                max_msg_bytes: None,
                request_source: None,
                proxy_froward_client_id: None,
                bname: Some("broker-a".into()),
            }
        );
    }

    #[test]
    fn java_pull_header_round_trips_and_requires_sub_version() {
        let h = PullMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: "T".into(),
            queue_id: 3,
            queue_offset: 100,
            max_msg_nums: 32,
            sys_flag: 3,
            commit_offset: 98,
            suspend_timeout_millis: 15_000,
            subscription: None,
            sub_version: 1_718_000_000_000,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: None,
        };
        let mut map = to_map(&h);
        round_trip(
            h,
            &[
                "consumerGroup",
                "topic",
                "queueId",
                "queueOffset",
                "maxMsgNums",
                "sysFlag",
                "commitOffset",
                "suspendTimeoutMillis",
                "subVersion",
                "expressionType",
            ],
        );
        map.remove("subVersion");
        assert_eq!(
            from_map::<PullMessageRequestHeader>(&map),
            Err(HeaderError::Missing("subVersion".into()))
        );
    }

    #[test]
    fn pull_response_round_trips() {
        round_trip(
            PullMessageResponseHeader {
                suggest_which_broker_id: 0,
                next_begin_offset: 12,
                min_offset: 0,
                max_offset: 12,
                offset_delta: None,
                topic_sys_flag: None,
                group_sys_flag: None,
                forbidden_type: None,
            },
            &[
                "suggestWhichBrokerId",
                "nextBeginOffset",
                "minOffset",
                "maxOffset",
            ],
        );
    }

    #[test]
    fn offset_headers_round_trip() {
        round_trip(
            QueryConsumerOffsetRequestHeader {
                consumer_group: "cg".into(),
                topic: "T".into(),
                queue_id: 1,
                set_zero_if_not_found: Some(false),
                bname: None,
            },
            &["consumerGroup", "topic", "queueId", "setZeroIfNotFound"],
        );
        round_trip(OffsetResponseHeader { offset: 118 }, &["offset"]);
        round_trip(
            UpdateConsumerOffsetRequestHeader {
                consumer_group: "cg".into(),
                topic: "T".into(),
                queue_id: 1,
                commit_offset: 118,
                bname: Some("broker-a".into()),
            },
            &["consumerGroup", "topic", "queueId", "commitOffset", "bname"],
        );
        round_trip(UpdateConsumerOffsetResponseHeader {}, &[]);
        round_trip(
            GetMaxOffsetRequestHeader {
                topic: "T".into(),
                queue_id: 0,
                committed: None,
                bname: None,
            },
            &["topic", "queueId"],
        );
        round_trip(
            QueueRequestHeader {
                topic: "T".into(),
                queue_id: 0,
                bname: None,
            },
            &["topic", "queueId"],
        );
        round_trip(
            GetEarliestMsgStoretimeResponseHeader {
                timestamp: 1_718_000_000_000,
            },
            &["timestamp"],
        );
        round_trip(
            SearchOffsetRequestHeader {
                topic: "T".into(),
                queue_id: 0,
                timestamp: 1_718_000_000_000,
                boundary_type: Some(BoundaryType::Upper),
                bname: None,
            },
            &["topic", "queueId", "timestamp", "boundaryType"],
        );
    }

    #[test]
    fn offset_requests_as_clients_send_them() {
        // Java 4.9 QUERY_CONSUMER_OFFSET: no setZeroIfNotFound.
        let q: QueryConsumerOffsetRequestHeader = from_map(&fields(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "3"),
        ]))
        .unwrap();
        assert_eq!(q.set_zero_if_not_found, None);
        // 5.x boundaryType is case-insensitive.
        let s: SearchOffsetRequestHeader = from_map(&fields(&[
            ("topic", "T"),
            ("queueId", "0"),
            ("timestamp", "5"),
            ("boundaryType", "lower"),
        ]))
        .unwrap();
        assert_eq!(s.boundary_type, Some(BoundaryType::Lower));
        assert!(from_map::<SearchOffsetRequestHeader>(&fields(&[
            ("topic", "T"),
            ("queueId", "0"),
            ("timestamp", "5"),
            ("boundaryType", "MIDDLE"),
        ]))
        .is_err());
        assert_eq!(
            from_map::<UpdateConsumerOffsetRequestHeader>(&fields(&[
                ("consumerGroup", "cg"),
                ("topic", "T"),
                ("queueId", "3"),
            ])),
            Err(HeaderError::Missing("commitOffset".into()))
        );
    }

    #[test]
    fn client_and_group_headers_round_trip() {
        round_trip(
            UnregisterClientRequestHeader {
                client_id: "192.168.0.5@12345#8123456789".into(),
                producer_group: Some("PG".into()),
                consumer_group: None,
            },
            &["clientID", "producerGroup"],
        );
        round_trip(
            GetConsumerListByGroupRequestHeader {
                consumer_group: "cg".into(),
            },
            &["consumerGroup"],
        );
        round_trip(
            NotifyConsumerIdsChangedRequestHeader {
                consumer_group: "cg".into(),
            },
            &["consumerGroup"],
        );
        let back = ConsumerSendMsgBackRequestHeader {
            offset: 4096,
            group: "cg".into(),
            delay_level: 0,
            origin_msg_id: Some("C0A8".into()),
            origin_topic: Some("T".into()),
            unit_mode: false,
            max_reconsume_times: Some(16),
            bname: None,
        };
        round_trip(
            back.clone(),
            &[
                "offset",
                "group",
                "delayLevel",
                "originMsgId",
                "originTopic",
                "unitMode",
                "maxReconsumeTimes",
            ],
        );
        let minimal: ConsumerSendMsgBackRequestHeader = from_map(&fields(&[
            ("offset", "4096"),
            ("group", "cg"),
            ("delayLevel", "0"),
        ]))
        .unwrap();
        assert!(!minimal.unit_mode && minimal.max_reconsume_times.is_none());
        assert_eq!(
            from_map::<UnregisterClientRequestHeader>(&fields(&[("clientId", "x")])),
            Err(HeaderError::Missing("clientID".into()))
        );
    }

    #[test]
    fn transaction_headers_round_trip() {
        let end = EndTransactionRequestHeader {
            producer_group: "PG".into(),
            tran_state_table_offset: 7,
            commit_log_offset: 4096,
            commit_or_rollback: EndTransactionRequestHeader::COMMIT_TYPE,
            from_transaction_check: true,
            msg_id: "C0A8010530391B6D35860A1B2C3D0001".into(),
            transaction_id: None,
            topic: None,
            bname: None,
        };
        round_trip(
            end,
            &[
                "producerGroup",
                "tranStateTableOffset",
                "commitLogOffset",
                "commitOrRollback",
                "fromTransactionCheck",
                "msgId",
            ],
        );
        // Java 4.9 first-phase END_TRANSACTION: fromTransactionCheck=false, no 5.x keys.
        let e: EndTransactionRequestHeader = from_map(&fields(&[
            ("producerGroup", "PG"),
            ("tranStateTableOffset", "7"),
            ("commitLogOffset", "4096"),
            ("commitOrRollback", "12"),
            ("fromTransactionCheck", "false"),
            ("msgId", "U"),
        ]))
        .unwrap();
        assert_eq!(
            e.commit_or_rollback,
            EndTransactionRequestHeader::ROLLBACK_TYPE
        );
        round_trip(
            CheckTransactionStateRequestHeader {
                tran_state_table_offset: 7,
                commit_log_offset: 4096,
                msg_id: Some("U".into()),
                transaction_id: Some("U".into()),
                offset_msg_id: Some("O".into()),
                topic: Some("T".into()),
                bname: Some("broker-a".into()),
            },
            &[
                "tranStateTableOffset",
                "commitLogOffset",
                "msgId",
                "transactionId",
                "offsetMsgId",
                "topic",
                "bname",
            ],
        );
    }

    #[test]
    fn query_headers_round_trip() {
        round_trip(
            QueryMessageRequestHeader {
                topic: "T".into(),
                key: "k1".into(),
                max_num: 32,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
                unique_key_query: Some(true),
                bname: None,
            },
            &[
                "topic",
                "key",
                "maxNum",
                "beginTimestamp",
                "endTimestamp",
                "_UNIQUE_KEY_QUERY",
            ],
        );
        round_trip(
            QueryMessageResponseHeader {
                index_last_update_timestamp: 1,
                index_last_update_phyoffset: 2,
            },
            &["indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"],
        );
        round_trip(
            ViewMessageRequestHeader {
                offset: 4096,
                topic: None,
            },
            &["offset"],
        );
    }

    #[test]
    fn admin_headers_round_trip() {
        round_trip(
            CreateTopicRequestHeader {
                topic: "T".into(),
                default_topic: "TBW102".into(),
                read_queue_nums: 8,
                write_queue_nums: 8,
                perm: 6,
                topic_filter_type: "SINGLE_TAG".into(),
                topic_sys_flag: 0,
                order: false,
                attributes: None,
                force: None,
            },
            &[
                "topic",
                "defaultTopic",
                "readQueueNums",
                "writeQueueNums",
                "perm",
                "topicFilterType",
                "topicSysFlag",
                "order",
            ],
        );
        round_trip(TopicRequestHeader { topic: "T".into() }, &["topic"]);
        round_trip(
            ViewBrokerStatsDataRequestHeader {
                stats_name: "GROUP_GET_NUMS".into(),
                stats_key: "T@G".into(),
            },
            &["statsName", "statsKey"],
        );
        round_trip(
            GetConsumeStatsInBrokerHeader {
                is_order: Some(false),
            },
            &["isOrder"],
        );
        round_trip(
            DeleteSubscriptionGroupRequestHeader {
                group_name: "cg".into(),
                clean_offset: Some(true),
            },
            &["groupName", "cleanOffset"],
        );
        round_trip(
            GetConsumeStatsRequestHeader {
                consumer_group: "cg".into(),
                topic: Some("T".into()),
                topic_list: None,
            },
            &["consumerGroup", "topic"],
        );
        round_trip(
            GetConsumerConnectionListRequestHeader {
                consumer_group: "cg".into(),
            },
            &["consumerGroup"],
        );
        round_trip(
            GetProducerConnectionListRequestHeader {
                producer_group: "PG".into(),
            },
            &["producerGroup"],
        );
        round_trip(
            QueryConsumeTimeSpanRequestHeader {
                topic: "T".into(),
                group: "cg".into(),
            },
            &["topic", "group"],
        );
    }

    #[test]
    fn reset_offset_uses_the_is_force_key() {
        let h = ResetOffsetRequestHeader {
            topic: "T".into(),
            group: "cg".into(),
            timestamp: 1_718_000_000_000,
            is_force: true,
            queue_id: -1,
            offset: None,
        };
        round_trip(h, &["topic", "group", "timestamp", "isForce", "queueId"]);
        // A 4.9 admin sends no queueId: all queues.
        let h: ResetOffsetRequestHeader = from_map(&fields(&[
            ("topic", "T"),
            ("group", "cg"),
            ("timestamp", "1"),
            ("isForce", "false"),
        ]))
        .unwrap();
        assert_eq!((h.queue_id, h.is_force), (-1, false));
        assert_eq!(
            from_map::<ResetOffsetRequestHeader>(&fields(&[
                ("topic", "T"),
                ("group", "cg"),
                ("timestamp", "1"),
                ("force", "true"),
            ])),
            Err(HeaderError::Missing("isForce".into()))
        );
    }

    #[test]
    fn broker_to_client_headers_round_trip() {
        round_trip(
            GetConsumerStatusRequestHeader {
                topic: "T".into(),
                group: "cg".into(),
                client_addr: None,
            },
            &["topic", "group"],
        );
        round_trip(
            GetConsumerRunningInfoRequestHeader {
                consumer_group: "cg".into(),
                client_id: "c1".into(),
                jstack_enable: false,
            },
            &["consumerGroup", "clientId", "jstackEnable"],
        );
        round_trip(
            ConsumeMessageDirectlyResultRequestHeader {
                consumer_group: "cg".into(),
                client_id: Some("c1".into()),
                msg_id: Some("M".into()),
                broker_name: Some("broker-a".into()),
                topic: None,
                topic_sys_flag: None,
                group_sys_flag: None,
            },
            &["consumerGroup", "clientId", "msgId", "brokerName"],
        );
        round_trip(
            ReplyMessageRequestHeader {
                producer_group: "PG".into(),
                topic: "DefaultCluster_REPLY_TOPIC".into(),
                default_topic: "TBW102".into(),
                default_topic_queue_nums: 4,
                queue_id: 0,
                sys_flag: 0,
                born_timestamp: 1,
                flag: 0,
                properties: Some("MSG_TYPE\u{1}reply\u{2}".into()),
                reconsume_times: None,
                unit_mode: false,
                born_host: "10.0.0.1:5555".into(),
                store_host: "10.0.0.2:10911".into(),
                store_timestamp: 2,
            },
            &[
                "producerGroup",
                "topic",
                "defaultTopic",
                "defaultTopicQueueNums",
                "queueId",
                "sysFlag",
                "bornTimestamp",
                "flag",
                "properties",
                "unitMode",
                "bornHost",
                "storeHost",
                "storeTimestamp",
            ],
        );
    }
}
