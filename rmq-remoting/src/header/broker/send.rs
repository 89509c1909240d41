//! SEND_MESSAGE and its V2 and reply variants: request and response headers.

use serde::{Deserialize, Serialize};

use crate::code::RequestCode;
use crate::command::RemotingCommand;
use crate::error::HeaderError;
use crate::ext_fields;

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
