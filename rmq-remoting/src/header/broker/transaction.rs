//! END_TRANSACTION and the broker's CHECK_TRANSACTION_STATE.

use serde::{Deserialize, Serialize};

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
