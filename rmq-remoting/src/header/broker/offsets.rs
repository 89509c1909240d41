//! Consumer offsets, queue offsets and offset search by time.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    /// 5.x: whether to answer 0 for a fresh group on an untrimmed queue.
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
