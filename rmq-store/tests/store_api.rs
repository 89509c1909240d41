//! Behaviour of the store API: append, read, filters, look-ups, roll-over, restart, disk guard.

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use rmq_remoting::message::{decode_offset_msg_id, decode_record, sys_flag, TagSubscription};
use rmq_store::*;

#[test]
fn append_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let rt = rt();
    let mut phys = Vec::new();
    for i in 0..50u32 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let r = rt
            .block_on(store.put_message(msg(
                "T1",
                1,
                format!("body-{i}").as_bytes(),
                Some(tag),
                None,
                None,
            )))
            .unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
        assert_eq!(r.queue_offset, i64::from(i));
        let (host, off) = decode_offset_msg_id(&r.msg_id).unwrap();
        assert_eq!(host.to_string(), "192.168.1.10:10911");
        assert_eq!(off, r.phys_offset);
        phys.push(r.phys_offset);
    }
    assert_eq!(store.max_offset_in_queue("T1", 1), 50);
    assert_eq!(store.min_offset_in_queue("T1", 1), 0);
    assert_eq!(store.max_offset_in_queue("T1", 2), 0);

    let r = store.get_message("T1", 1, 0, 10, 1 << 20, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(r.messages.len(), 10);
    assert_eq!(r.next_begin_offset, 10);
    for (i, m) in r.messages.iter().enumerate() {
        let v = decode_record(m.as_slice(), true).unwrap();
        assert_eq!(v.body, format!("body-{i}").as_bytes());
        assert_eq!(v.queue_offset, i as i64);
        assert_eq!(v.physical_offset, phys[i]);
        assert_eq!(m.offset(), phys[i]);
    }
    // Tag filter: only TagB (odd bodies).
    let f = TagSubscription::parse(Some("TagB"));
    let r = store.get_message("T1", 1, 0, 5, 1 << 20, &f);
    assert_eq!(r.queue_offsets, vec![1, 3, 5, 7, 9]);
    // Byte cap: at least one message, then stop.
    let r = store.get_message("T1", 1, 0, 32, 1, &AcceptAll);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.next_begin_offset, 1);
    // Offsets out of range.
    assert_eq!(
        store.get_message("T1", 1, 50, 1, 1000, &AcceptAll).status,
        GetMessageStatus::OffsetOverflowOne
    );
    let r = store.get_message("T1", 1, 70, 1, 1000, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::OffsetOverflowBadly);
    assert_eq!(
        store.get_message("T9", 1, 0, 1, 1000, &AcceptAll).status,
        GetMessageStatus::NoMatchedLogicQueue
    );
    // By physical offset.
    let b = store.look_message_by_offset(phys[7]).unwrap();
    assert_eq!(decode_record(b.as_slice(), true).unwrap().body, b"body-7");
    assert!(store.look_message_by_offset(phys[7] + 1).is_none());
    // Raw stream for replication.
    let raw = store.read_commit_log(0, 1 << 20).unwrap();
    assert_eq!(
        &raw.as_slice()[..m_len(&store, phys[0])],
        store.look_message_by_offset(0).unwrap().as_slice()
    );
    let s = store.stats();
    assert_eq!(s.put_message_count, 50);
    assert_eq!(s.consume_queue_count, 1);
}

fn m_len(store: &MessageStore, phys: i64) -> usize {
    store.look_message_by_offset(phys).unwrap().len()
}

#[test]
fn batch_roll_over_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let body = vec![7u8; 3000];
    let mut ids = Vec::new();
    {
        let store = MessageStore::open(small_config(dir.path())).unwrap();
        for i in 0..20 {
            let batch: Vec<_> = (0..5)
                .map(|j| msg("B", 0, &body, None, Some(&format!("k{i}-{j}")), None))
                .collect();
            let r = rt.block_on(store.put_messages(batch)).unwrap();
            assert_eq!(r.queue_offset, i * 5);
            assert_eq!(r.msg_num, 5);
            assert_eq!(r.msg_id.split(',').count(), 5);
            ids.push(r.msg_id);
        }
        // 100 records of ~3.1 KB in 64 KiB files: several files, padded ends.
        assert!(store.max_phy_offset() > 4 * 64 * 1024);
        store.shutdown().unwrap();
    }
    assert!(!dir.path().join("abort").exists());
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert!(!store.recovery_report().abnormal);
    assert!(store.recovery_report().truncated.is_none());
    assert_eq!(store.max_offset_in_queue("B", 0), 100);
    let mut off = 0;
    let mut seen = 0;
    while off < 100 {
        let r = store.get_message("B", 0, off, 32, 1 << 20, &AcceptAll);
        assert_eq!(r.status, GetMessageStatus::Found);
        for m in &r.messages {
            let v = decode_record(m.as_slice(), true).unwrap();
            assert_eq!(v.queue_offset, seen);
            assert_eq!(v.body.len(), 3000);
            seen += 1;
        }
        off = r.next_begin_offset;
    }
    assert_eq!(seen, 100);
    let first_ids: Vec<&str> = ids[3].split(',').collect();
    let (_, phys) = decode_offset_msg_id(first_ids[2]).unwrap();
    let v = store.look_message_by_offset(phys).unwrap();
    assert_eq!(decode_record(v.as_slice(), true).unwrap().queue_offset, 17);
    // Index by key survives restart.
    let hits = store.query_message("B", "k3-2", 64, 0, i64::MAX / 2);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].offset(), phys);
    // Appends continue after the recovered tail.
    let r = rt
        .block_on(store.put_message(msg("B", 0, b"x", None, None, None)))
        .unwrap();
    assert_eq!(r.queue_offset, 100);
}

#[test]
fn lookups_by_key_uniq_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let rt = rt();
    let mut times = Vec::new();
    for i in 0..30 {
        let u = format!("UNIQ{i:04}");
        let r = rt
            .block_on(store.put_message(msg(
                "K",
                0,
                b"b",
                None,
                Some(&format!("order-{} shared", i % 3)),
                Some(&u),
            )))
            .unwrap();
        times.push(r.store_timestamp);
        if i % 10 == 9 {
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
    }
    let now = times[29] + 1000;
    assert_eq!(store.query_message("K", "shared", 64, 0, now).len(), 30);
    assert_eq!(store.query_message("K", "shared", 5, 0, now).len(), 5);
    assert_eq!(store.query_message("K", "order-1", 64, 0, now).len(), 10);
    assert!(store
        .query_message("Other", "order-1", 64, 0, now)
        .is_empty());
    let hit = store.query_by_uniq_key("K", "UNIQ0017", 0, now).unwrap();
    assert_eq!(
        decode_record(hit.as_slice(), true).unwrap().queue_offset,
        17
    );
    assert!(store.query_by_uniq_key("K", "UNIQ9999", 0, now).is_none());
    // Time search: first offset stored at or after a timestamp.
    assert_eq!(store.offset_in_queue_by_time("K", 0, 0), 0);
    assert_eq!(store.offset_in_queue_by_time("K", 0, times[29] + 1), 30);
    let t20 = times[20];
    let expect = times.iter().position(|t| *t >= t20).unwrap() as i64;
    assert_eq!(store.offset_in_queue_by_time("K", 0, t20), expect);
    assert_eq!(store.earliest_message_time("K", 0), Some(times[0]));
    assert_eq!(store.message_store_timestamp("K", 0, 29), Some(times[29]));
}

#[test]
fn transactions_prepared_not_dispatched() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let rt = rt();
    let mut m = msg("TX", 0, b"half", None, None, Some("H1"));
    m.sys_flag = sys_flag::TRANSACTION_PREPARED;
    let r = rt.block_on(store.put_message(m)).unwrap();
    assert_eq!(r.queue_offset, 0);
    assert_eq!(store.max_offset_in_queue("TX", 0), 0);
    assert!(store.look_message_by_offset(r.phys_offset).is_some());
    let mut c = msg("TX", 0, b"commit", None, None, None);
    c.sys_flag = sys_flag::TRANSACTION_COMMIT;
    c.prepared_transaction_offset = r.phys_offset;
    let r2 = rt.block_on(store.put_message(c)).unwrap();
    assert_eq!(r2.queue_offset, 0);
    assert_eq!(store.max_offset_in_queue("TX", 0), 1);
}

#[test]
fn illegal_messages_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let rt = rt();
    let e = rt
        .block_on(store.put_message(msg("bad/topic", 0, b"x", None, None, None)))
        .unwrap_err();
    assert_eq!(e.put_status_name(), "MESSAGE_ILLEGAL");
    let e = rt
        .block_on(store.put_message(msg("T", 0, &vec![0; 20_000], None, None, None)))
        .unwrap_err();
    assert!(e.to_string().contains("maxMessageSize"), "{e}");
    let mut m = msg("T", 0, b"x", None, None, None);
    m.properties = "a\u{1}".to_string() + &"x".repeat(40_000) + "\u{2}";
    let e = rt.block_on(store.put_message(m)).unwrap_err();
    assert_eq!(e.put_status_name(), "PROPERTIES_SIZE_EXCEEDED");
    assert!(matches!(
        MessageStore::open(small_config(dir.path())),
        Err(StoreError::Locked(_))
    ));
}

struct FakeDisk(AtomicU64);
impl DiskUsage for FakeDisk {
    fn used_ratio(&self, _: &std::path::Path) -> std::io::Result<f64> {
        Ok(f64::from_bits(self.0.load(Ordering::SeqCst)))
    }
}

#[test]
fn disk_guard_refuses_writes_with_actionable_message_and_cleans() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(FakeDisk(AtomicU64::new(0.5f64.to_bits())));
    let cfg = StoreConfig {
        file_reserved_time_hours: 0,
        delete_when: "99".into(),
        ..small_config(dir.path())
    };
    let store = MessageStore::open_with_disk_usage(cfg, disk.clone()).unwrap();
    let rt = rt();
    for _ in 0..100 {
        rt.block_on(store.put_message(msg("D", 0, &[1u8; 2000], None, Some("k"), None)))
            .unwrap();
    }
    let files_before = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .count();
    assert!(files_before >= 3);
    // Usage above diskSpaceWarningLevelRatio: the clean-up removes files (forcibly: above 85 %),
    // and since the fake usage stays high, writes are refused.
    disk.0.store(0.93f64.to_bits(), Ordering::SeqCst);
    let deleted = store.clean_expired_files_now().unwrap();
    assert!(deleted >= 1);
    assert!(store.min_phy_offset() > 0);
    let e = rt
        .block_on(store.put_message(msg("D", 0, b"x", None, None, None)))
        .unwrap_err();
    let text = e.to_string();
    assert_eq!(e.put_status_name(), "SERVICE_NOT_AVAILABLE");
    for needle in [
        "93.0%",
        "diskSpaceWarningLevelRatio=90%",
        "fileReservedTime",
        "commitlog",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
    // Reads keep working, from the new minimum on.
    let min = store.min_offset_in_queue("D", 0);
    assert!(min > 0);
    assert_eq!(
        store.get_message("D", 0, 0, 1, 1 << 20, &AcceptAll).status,
        GetMessageStatus::OffsetTooSmall
    );
    assert_eq!(
        store
            .get_message("D", 0, min, 1, 1 << 20, &AcceptAll)
            .status,
        GetMessageStatus::Found
    );
    assert!(store.stats().disk_full);
    // Usage falls under 85 %: writes resume.
    disk.0.store(0.60f64.to_bits(), Ordering::SeqCst);
    store.clean_expired_files_now().unwrap();
    rt.block_on(store.put_message(msg("D", 0, b"x", None, None, None)))
        .unwrap();
}

#[test]
fn expired_files_deleted_on_manual_trigger_only_when_old() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        file_reserved_time_hours: 1,
        delete_when: "99".into(),
        ..small_config(dir.path())
    };
    let store = MessageStore::open(cfg).unwrap();
    let rt = rt();
    for _ in 0..100 {
        rt.block_on(store.put_message(msg("E", 0, &[1u8; 2000], None, None, None)))
            .unwrap();
    }
    assert_eq!(
        store.clean_expired_files_now().unwrap(),
        0,
        "files are younger than fileReservedTime"
    );
    drop(store);
    let cfg = StoreConfig {
        file_reserved_time_hours: 0,
        delete_when: "99".into(),
        ..small_config(dir.path())
    };
    let store = MessageStore::open(cfg).unwrap();
    let n = store.clean_expired_files_now().unwrap();
    assert!(n >= 2, "{n}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("commitlog"))
            .unwrap()
            .count(),
        1
    );
    assert!(store.min_offset_in_queue("E", 0) > 0);
}

struct CountingListener(AtomicUsize);
impl MessageArrivingListener for CountingListener {
    fn arriving(&self, topic: &str, _q: i32, max_offset: i64, _tag: i64, _ts: i64) {
        assert_eq!(topic, "L");
        assert!(max_offset > 0);
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn sync_flush_and_arrival_listener() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MessageStore::open(sync_config(dir.path())).unwrap());
    let l = Arc::new(CountingListener(AtomicUsize::new(0)));
    store.set_arrival_listener(l.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..8 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20 {
                    let r = s
                        .put_message(msg("L", w, format!("{w}-{i}").as_bytes(), None, None, None))
                        .await
                        .unwrap();
                    assert_eq!(r.status, PutStatus::PutOk);
                    assert!(s.flushed_phy_offset() >= r.end_offset);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(l.0.load(Ordering::SeqCst), 160);
}

struct NoReplica;
impl ReplicaAckWaiter for NoReplica {
    fn wait_for(
        &self,
        _end: i64,
        _t: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ReplicaAck> + Send>> {
        Box::pin(async { ReplicaAck::NotAvailable })
    }
}

#[test]
fn replica_hook_maps_to_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    store.set_replica_waiter(Some(Arc::new(NoReplica)));
    let r = rt()
        .block_on(store.put_message(msg("R", 0, b"x", None, None, None)))
        .unwrap();
    assert_eq!(r.status, PutStatus::SlaveNotAvailable);
    let mut m = msg("R", 0, b"x", None, None, None);
    m.properties.push_str("WAIT\u{1}false\u{2}");
    assert_eq!(
        rt().block_on(store.put_message(m)).unwrap().status,
        PutStatus::PutOk
    );
}

/// Early writeback wakes the flush thread between its periodic syncs (here every 4 KiB, so
/// many times per interval); the ASYNC_FLUSH sync must still come every
/// `flushIntervalCommitLog` while the appends, and the wake-ups, go on.
#[test]
fn async_flush_still_syncs_each_interval_while_writeback_wakes_the_flusher() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        mapped_file_size_commit_log: 1024 * 1024,
        commit_log_writeback_bytes: 4096,
        ..small_config(dir.path())
    };
    assert_eq!(config.flush_disk_type, FlushDiskType::AsyncFlush);
    let interval = config.flush_interval_commit_log;
    let store = MessageStore::open(config).unwrap();
    let rt = rt();
    let body = vec![7u8; 2048];
    let start = Instant::now();
    let mut written_early = None;
    while start.elapsed() < 8 * interval {
        rt.block_on(store.put_message(msg("T1", 0, &body, None, None, None)))
            .unwrap();
        if written_early.is_none() && start.elapsed() >= 2 * interval {
            written_early = Some(store.max_phy_offset());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let written_early = written_early.unwrap();
    assert!(
        store.flushed_phy_offset() >= written_early,
        "flushed {} while appending, not even what was written {} ms before the end ({written_early})",
        store.flushed_phy_offset(),
        (6 * interval).as_millis()
    );
}

/// The index is synced less often than the checkpoint is written: a checkpoint pass after some
/// appends moves the consume queues' safe offset and leaves the index's where the last index
/// sync put it (the open); an explicit flush syncs the index and moves both. Read from the
/// checkpoint file's documented layout (`checkpoint.rs`): safe offset at 24, index offset at 32.
#[test]
fn the_index_is_synced_less_often_than_the_checkpoint_is_written() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let pass = config.flush_interval_consume_queue;
    let store = MessageStore::open(config).unwrap();
    let checkpoint = || {
        let b = std::fs::read(dir.path().join("checkpoint")).unwrap();
        let at = |i: usize| i64::from_be_bytes(b[i..i + 8].try_into().unwrap());
        (at(24), at(32))
    };
    assert_eq!(checkpoint(), (0, 0));
    let rt = rt();
    for i in 0..100 {
        rt.block_on(store.put_message(msg(
            "T1",
            0,
            b"indexed",
            None,
            None,
            Some(&format!("u{i}")),
        )))
        .unwrap();
    }
    let end = store.max_phy_offset();
    let deadline = std::time::Instant::now() + 50 * pass;
    while checkpoint().0 < end && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        checkpoint(),
        (end, 0),
        "a checkpoint pass leaves the index's offset"
    );
    store.flush().unwrap();
    assert_eq!(
        checkpoint(),
        (end, end),
        "an explicit flush syncs the index"
    );
}
