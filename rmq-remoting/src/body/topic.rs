//! Topic configuration as brokers store it and report it to name servers.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Permission bits of a topic or queue (`PermName`).
pub mod perm {
    /// Messages may be consumed.
    pub const READ: i32 = 1 << 2;
    /// Messages may be produced.
    pub const WRITE: i32 = 1 << 1;
    /// New topics may inherit this one's settings (set on `TBW102`).
    pub const INHERIT: i32 = 1;
    /// Priority topic (unused by clients, kept for compatibility).
    pub const PRIORITY: i32 = 1 << 3;
}

/// A version stamp brokers attach to their topic table; a changed stamp tells the name server
/// to take the broker's queue data again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    /// Changes since the broker started.
    #[serde(default)]
    pub counter: i64,
    /// 5.x: bumped on role changes; absent from 4.9 brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_version: Option<i64>,
    /// Milliseconds since the epoch when the table last changed.
    #[serde(default)]
    pub timestamp: i64,
}

/// One topic's settings on one broker (`TopicConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    /// Whether the topic is ordered.
    #[serde(default)]
    pub order: bool,
    /// Permission bits, see [`perm`].
    #[serde(default = "default_perm")]
    pub perm: i32,
    /// Queues consumers read.
    #[serde(default = "default_queue_nums")]
    pub read_queue_nums: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    #[serde(default = "default_filter_type")]
    pub topic_filter_type: String,
    /// The topic's name.
    pub topic_name: String,
    /// Unit flags (bit 0 unit, bit 1 unit-sub).
    #[serde(default)]
    pub topic_sys_flag: i32,
    /// Queues producers write.
    #[serde(default = "default_queue_nums")]
    pub write_queue_nums: i32,
    /// 5.x topic attributes; absent from 4.9 brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<HashMap<String, String>>,
}

fn default_perm() -> i32 {
    perm::READ | perm::WRITE
}

fn default_queue_nums() -> i32 {
    16
}

fn default_filter_type() -> String {
    "SINGLE_TAG".to_owned()
}

/// A broker's whole topic table with its version (`TopicConfigSerializeWrapper`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    /// Version of the table.
    #[serde(default)]
    pub data_version: DataVersion,
    /// Topic name → settings.
    #[serde(default)]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
}
