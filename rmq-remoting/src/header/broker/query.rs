//! QUERY_MESSAGE and VIEW_MESSAGE_BY_ID.

use serde::{Deserialize, Serialize};

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
