#![allow(dead_code)]
//! Helpers shared by the store's integration tests.

pub mod workload;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// SYNC_FLUSH with no background checkpoint (one an hour): a test decides when consume queues,
/// index and checkpoint are synced, so a crash leaves every record above the checkpoint and
/// counted writes and syncs are only the test's own.
pub fn sync_config_without_checkpoints(root: &Path) -> StoreConfig {
    StoreConfig {
        flush_interval_consume_queue: std::time::Duration::from_secs(3600),
        ..sync_config(root)
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

/// A multi-thread runtime, as the broker's: a SYNC_FLUSH append then syncs in place when no
/// other sync runs (`sync_in_place`), so the durability tests cover the path production takes.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A single-thread runtime: every SYNC_FLUSH append hands its sync to the store's flush thread
/// and waits, so a test can leave appends in flight (written, not yet synced) at a crash.
pub fn rt_flush_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Checks that consume queues, index and commit log agree exactly: every dispatchable record in
/// the commit log has the matching consume-queue entry, every entry points at a valid record of its
/// queue, and every record with a UNIQ_KEY is found by the index. Returns the record count.
pub fn check_consistency(store: &rmq_store::MessageStore) -> usize {
    check_consistency_from(store, store.min_phy_offset())
}

/// [`check_consistency`] for the records from commit-log offset `from` (a record boundary) on.
pub fn check_consistency_from(store: &rmq_store::MessageStore, from: i64) -> usize {
    use rmq_remoting::message::{decode_record, keys, property_value, sys_flag, tags_code};
    use std::collections::HashMap;
    let mut per_queue: HashMap<(String, i32), i64> = HashMap::new();
    let mut pos = from.max(store.min_phy_offset());
    let max = store.max_phy_offset();
    let mut records = 0;
    while pos < max {
        let Some(chunk) = store.read_commit_log(pos, usize::MAX) else {
            panic!("no commit log at {pos}")
        };
        let bytes = chunk.as_slice();
        let mut i = 0usize;
        while i + 8 <= bytes.len() {
            let total = i32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
            let magic = u32::from_be_bytes(bytes[i + 4..i + 8].try_into().unwrap());
            if magic == rmq_remoting::message::BLANK_MAGIC_CODE {
                i += total;
                continue;
            }
            let v = decode_record(&bytes[i..], true)
                .unwrap_or_else(|e| panic!("bad record at {}: {e}", pos + i as i64));
            assert_eq!(v.physical_offset, pos + i as i64);
            let tx = sys_flag::transaction_type(v.sys_flag);
            if tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT {
                let next = per_queue
                    .entry((v.topic.to_owned(), v.queue_id))
                    .or_insert(v.queue_offset);
                assert_eq!(
                    v.queue_offset, *next,
                    "queue offsets of {}/{} not dense",
                    v.topic, v.queue_id
                );
                *next += 1;
                let e = store
                    .consume_queue_entry(v.topic, v.queue_id, v.queue_offset)
                    .expect("consume queue entry missing");
                assert_eq!(e.phys_offset, v.physical_offset);
                assert_eq!(e.size, v.total_size);
                assert_eq!(
                    e.tag_code,
                    tags_code(property_value(v.properties, keys::TAGS))
                );
            }
            if let Some(u) = property_value(v.properties, keys::UNIQ_KEY) {
                let hit = store
                    .query_by_uniq_key(
                        v.topic,
                        u,
                        v.store_timestamp - 1000,
                        v.store_timestamp + 1000,
                    )
                    .unwrap_or_else(|| panic!("index misses {u}"));
                assert_eq!(hit.offset(), v.physical_offset);
            }
            records += 1;
            i += v.total_size as usize;
        }
        pos += bytes.len() as i64;
        if bytes.is_empty() {
            // End of a file's written part that is not the end: next file.
            let fs = store.config().mapped_file_size_commit_log as i64;
            pos = (pos / fs + 1) * fs;
        }
    }
    for ((topic, qid), next) in per_queue {
        assert_eq!(
            store.max_offset_in_queue(&topic, qid),
            next,
            "consume queue {topic}/{qid} has extra entries"
        );
    }
    records
}

/// A log writer that keeps what the store logs, so a test can read it back.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
