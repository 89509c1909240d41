#![allow(dead_code)]
//! Helpers shared by the store's integration tests.

use std::path::Path;

use bytes::Bytes;
use rmq_remoting::message::{encode_properties, keys};
use rmq_store::{FlushDiskType, PutMessage, StoreConfig};

pub fn small_config(root: &Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 20 * 100,
        max_hash_slot_num: 101,
        max_index_num: 400,
        flush_interval_commit_log: std::time::Duration::from_millis(50),
        flush_interval_consume_queue: std::time::Duration::from_millis(100),
        max_message_size: 16 * 1024,
        ..StoreConfig::with_root(root)
    }
}

pub fn sync_config(root: &Path) -> StoreConfig {
    StoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..small_config(root)
    }
}

pub fn msg(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    tag: Option<&str>,
    keys_: Option<&str>,
    uniq: Option<&str>,
) -> PutMessage {
    let mut pairs = Vec::new();
    if let Some(t) = tag {
        pairs.push((keys::TAGS, t));
    }
    if let Some(k) = keys_ {
        pairs.push((keys::KEYS, k));
    }
    if let Some(u) = uniq {
        pairs.push((keys::UNIQ_KEY, u));
    }
    PutMessage {
        topic: topic.to_owned(),
        queue_id,
        flag: 0,
        body: Bytes::copy_from_slice(body),
        properties: encode_properties(pairs),
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:5000".parse().unwrap(),
        store_host: "192.168.1.10:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
