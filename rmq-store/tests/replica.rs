//! A slave's store: bytes copied from a master's commit log in chunks of any size land at the
//! same offsets, and the records they complete are readable through consume queues and index.

mod common;

use common::*;
use rmq_remoting::message::decode_record;
use rmq_store::*;

/// Appends `n` messages over three topics and four queues; returns the master.
fn master_with(dir: &std::path::Path, n: usize) -> MessageStore {
    let store = MessageStore::open(small_config(dir)).unwrap();
    let rt = rt();
    for i in 0..n {
        let topic = ["A", "B", "C"][i % 3];
        let body = vec![b'x'; 100 + (i * 37) % 900];
        let key = format!("k{i}");
        let r = rt
            .block_on(store.put_message(msg(
                topic,
                (i % 4) as i32,
                &body,
                Some("t"),
                Some(&key),
                Some(&format!("u{i}")),
            )))
            .unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
    }
    store
}

/// Copies the master's log from `from` to its end in chunks of varying size (never crossing
/// a file, as a master sends them).
fn replicate(master: &MessageStore, slave: &MessageStore, mut from: i64) {
    let mut step = 1usize;
    while from < master.max_phy_offset() {
        let chunk = master.read_commit_log(from, step).unwrap();
        assert!(!chunk.is_empty(), "nothing readable at {from}");
        let end = slave.append_replicated(from, chunk.as_slice()).unwrap();
        from += chunk.len() as i64;
        assert_eq!(end, from);
        step = (step * 7 + 13) % 5000 + 1;
    }
}

fn same_bytes(master: &MessageStore, slave: &MessageStore, from: i64) {
    let mut at = from;
    while at < master.max_phy_offset() {
        let a = master.read_commit_log(at, 1 << 20).unwrap();
        let b = slave.read_commit_log(at, a.len()).unwrap();
        assert_eq!(a.as_slice(), b.as_slice(), "bytes differ at {at}");
        at += a.len() as i64;
    }
}

#[test]
fn chunks_of_any_size_rebuild_queues_and_index() {
    let m_dir = tempfile::tempdir().unwrap();
    let s_dir = tempfile::tempdir().unwrap();
    let master = master_with(m_dir.path(), 600);
    let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
    replicate(&master, &slave, 0);
    assert_eq!(slave.max_phy_offset(), master.max_phy_offset());
    same_bytes(&master, &slave, 0);
    for topic in ["A", "B", "C"] {
        for q in 0..4 {
            assert_eq!(
                slave.max_offset_in_queue(topic, q),
                master.max_offset_in_queue(topic, q),
                "{topic}/{q}"
            );
        }
    }
    let r = slave.get_message("B", 1, 0, 32, 1 << 20, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::Found);
    let v = decode_record(r.messages[0].as_slice(), true).unwrap();
    assert_eq!(v.topic, "B");
    assert_eq!(slave.query_message("A", "k300", 10, 0, i64::MAX).len(), 1);
    assert_eq!(check_consistency(&slave), 600);
}

#[test]
fn an_empty_slave_starts_at_a_file_boundary_and_survives_a_restart() {
    let m_dir = tempfile::tempdir().unwrap();
    let s_dir = tempfile::tempdir().unwrap();
    let master = master_with(m_dir.path(), 400);
    let file = small_config(m_dir.path()).mapped_file_size_commit_log as i64;
    let max = master.max_phy_offset();
    assert!(max > 2 * file, "the master must span several files");
    // Where a master begins an empty slave: the start of its newest file.
    let from = max - max % file;
    {
        let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
        assert!(matches!(
            slave.append_replicated(from + 8, b"12345678"),
            Err(StoreError::ReplicaOffsetMismatch { .. })
        ));
        replicate(&master, &slave, from);
        same_bytes(&master, &slave, from);
        assert_eq!(slave.min_phy_offset(), from);
        check_consistency(&slave);
    }
    let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
    assert_eq!(slave.max_phy_offset(), max);
    assert_eq!(
        slave.max_offset_in_queue("A", 0),
        master.max_offset_in_queue("A", 0)
    );
    // A chunk that does not continue the log is refused, nothing written.
    assert!(matches!(
        slave.append_replicated(max + 20, b"abcd"),
        Err(StoreError::ReplicaOffsetMismatch { .. })
    ));
    assert_eq!(slave.max_phy_offset(), max);
}

#[test]
fn a_partial_record_waits_and_garbage_is_cut() {
    let m_dir = tempfile::tempdir().unwrap();
    let s_dir = tempfile::tempdir().unwrap();
    let master = master_with(m_dir.path(), 3);
    let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
    let all = master.read_commit_log(0, 1 << 20).unwrap();
    let first = decode_record(all.as_slice(), false).unwrap().total_size as usize;
    // Half of the first record: written, not readable yet.
    slave
        .append_replicated(0, &all.as_slice()[..first / 2])
        .unwrap();
    assert_eq!(slave.max_phy_offset(), (first / 2) as i64);
    assert_eq!(slave.max_offset_in_queue("A", 0), 0);
    slave
        .append_replicated((first / 2) as i64, &all.as_slice()[first / 2..first])
        .unwrap();
    assert_eq!(slave.max_offset_in_queue("A", 0), 1);
    // Bytes that are no record: cut at the record boundary, so the master can resend from there.
    let err = slave
        .append_replicated(first as i64, &[0x55; 64])
        .unwrap_err();
    assert!(matches!(err, StoreError::ReplicaCorrupt { offset, .. } if offset == first as i64));
    assert_eq!(slave.max_phy_offset(), first as i64);
    replicate(&master, &slave, first as i64);
    same_bytes(&master, &slave, 0);
    assert_eq!(check_consistency(&slave), 3);
}

#[tokio::test]
async fn written_end_wakes_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let mut rx = store.subscribe_written();
    assert_eq!(*rx.borrow_and_update(), 0);
    let r = store
        .put_message(msg("T", 0, b"hello", None, None, None))
        .await
        .unwrap();
    rx.changed().await.unwrap();
    assert_eq!(*rx.borrow(), r.end_offset);
}

#[test]
fn a_diverged_replica_truncates_to_the_common_point_and_follows_again() {
    let m_dir = tempfile::tempdir().unwrap();
    let s_dir = tempfile::tempdir().unwrap();
    let master = master_with(m_dir.path(), 300);
    let slave = MessageStore::open(small_config(s_dir.path())).unwrap();
    replicate(&master, &slave, 0);
    let common = master.max_phy_offset();
    let rt = rt();
    // The slave, briefly a (deposed) master, stores messages the new master never sees...
    for i in 0..50 {
        let r = rt
            .block_on(slave.put_message(msg("A", 0, b"stale", None, Some(&format!("s{i}")), None)))
            .unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
    }
    // ...while the new master moves on.
    for i in 0..60 {
        let r = rt
            .block_on(master.put_message(msg("B", 2, b"fresh", None, Some(&format!("f{i}")), None)))
            .unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
    }
    let dropped = slave.truncate_to(common).unwrap();
    assert!(dropped > 0);
    assert_eq!(slave.max_phy_offset(), common);
    assert_eq!(slave.dispatched_phy_offset(), common);
    assert_eq!(
        slave.truncate_to(common + 1000).unwrap(),
        0,
        "nothing past the end"
    );
    replicate(&master, &slave, common);
    same_bytes(&master, &slave, 0);
    for (topic, q) in [("A", 0), ("B", 2)] {
        assert_eq!(
            slave.max_offset_in_queue(topic, q),
            master.max_offset_in_queue(topic, q),
            "{topic}/{q}"
        );
    }
    assert!(
        slave.query_message("A", "s0", 10, 0, i64::MAX).is_empty(),
        "stale key gone"
    );
    assert_eq!(slave.query_message("B", "f59", 10, 0, i64::MAX).len(), 1);
    drop(slave);
    let reopened = MessageStore::open(small_config(s_dir.path())).unwrap();
    assert_eq!(reopened.max_phy_offset(), master.max_phy_offset());
    assert_eq!(check_consistency(&reopened), 360);
}

/// A power loss right after a replica truncated and followed its new master: the checkpoint on
/// disk must not still vouch for the dropped records' end. If it did, recovery would start
/// scanning there, at a record of the new master when sizes line up, and never dispatch the
/// records between the cut and that point again: their consume-queue entries, not yet synced,
/// are gone with the power, so consumers would skip them.
#[test]
fn a_power_loss_after_a_truncation_keeps_the_new_masters_records_consumable() {
    let m_dir = tempfile::tempdir().unwrap();
    let s_dir = tempfile::tempdir().unwrap();
    let handle = rmq_store::fault::install(s_dir.path(), rmq_store::fault::FaultPlan::default());
    let master = master_with(m_dir.path(), 300);
    // Queues and checkpoint are synced only when asked (flush, truncation); the commit log
    // every 50 ms.
    let cfg = StoreConfig {
        flush_interval_consume_queue: std::time::Duration::from_secs(3600),
        ..small_config(s_dir.path())
    };
    let slave = MessageStore::open(cfg.clone()).unwrap();
    replicate(&master, &slave, 0);
    let common = master.max_phy_offset();
    let rt = rt();
    // Stale records (of the same size as the new master's, so the old checkpoint's offset
    // is a record boundary after the truncation), synced with a checkpoint past `common`.
    for i in 0..50 {
        rt.block_on(slave.put_message(msg("A", 0, b"stale", None, Some(&format!("s{i}")), None)))
            .unwrap();
    }
    slave.flush().unwrap();
    for i in 0..60 {
        rt.block_on(master.put_message(msg("B", 2, b"fresh", None, Some(&format!("f{i}")), None)))
            .unwrap();
    }
    slave.truncate_to(common).unwrap();
    replicate(&master, &slave, common);
    let end = master.max_phy_offset();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while slave.flushed_phy_offset() < end {
        assert!(
            std::time::Instant::now() < deadline,
            "commit log never flushed"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    handle.crash();
    slave.crash();
    handle
        .power_loss(rmq_store::fault::LossMode::AllUnsynced)
        .unwrap();
    let reopened = MessageStore::open(cfg).unwrap();
    assert_eq!(reopened.max_phy_offset(), end);
    assert_eq!(
        reopened.max_offset_in_queue("B", 2),
        master.max_offset_in_queue("B", 2),
        "B/2 after the power loss"
    );
    assert_eq!(check_consistency(&reopened), 360);
}
