//! A failing disk, through the `fault-injection` seam: EIO on sync (the store stops accepting
//! writes, never counts the failed range as flushed, logs one error naming the file and the
//! errno, and recovers after a restart), ENOSPC or EIO at an append (that append fails, the store
//! stays consistent and writable), and short, torn or garbled writes above a present checkpoint
//! (recovery cuts exactly at the last whole record).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::workload::*;
use common::*;
use rmq_store::fault::{self, FaultPlan, LossMode};
use rmq_store::*;

/// Everything every test of this binary logs (the subscriber is process-wide because the
/// failure is often logged by the store's flush thread).
fn log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let sub = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(sub).unwrap();
        buf
    })
}

/// ERROR lines that mention `dir`.
fn errors_about(dir: &Path) -> Vec<String> {
    let text = String::from_utf8_lossy(&log().lock().unwrap()).into_owned();
    let dir = dir.display().to_string();
    text.lines()
        .filter(|l| l.contains(" ERROR ") && l.contains(&dir))
        .map(str::to_owned)
        .collect()
}

/// Which kind of store file `path` is.
fn kind(path: &Path) -> &'static str {
    let p = path.display().to_string();
    if p.contains("/commitlog/") {
        "commitlog"
    } else if p.contains("/consumequeue/") {
        "consumequeue"
    } else if p.contains("/index/") {
        "index"
    } else if p.ends_with("checkpoint") {
        "checkpoint"
    } else {
        "other"
    }
}

fn put_one(
    rt: &tokio::runtime::Runtime,
    store: &MessageStore,
    batch: &[PutMessage],
) -> Result<PutResult> {
    if batch.len() == 1 {
        rt.block_on(store.put_message(batch[0].clone()))
    } else {
        rt.block_on(store.put_messages(batch.to_vec()))
    }
}

#[test]
fn eio_on_any_sync_stops_writes_keeps_the_flushed_offset_and_recovers() {
    log();
    let rt = rt();
    let mut kinds = BTreeSet::new();
    let mut sims = 0;
    for n in 1..=16u64 {
        let dir = tempfile::tempdir().unwrap();
        let handle = fault::install(dir.path(), FaultPlan::default());
        // Consume queues, index and checkpoint are synced only by the explicit flushes below,
        // so the Nth sync falls on every kind of file as `n` grows.
        let cfg = sync_config_without_checkpoints(dir.path());
        let store = MessageStore::open(cfg.clone()).unwrap();
        let mut rng = fastrand::Rng::with_seed(n);
        let mut ledger = Ledger::default();
        let (_, _, syncs) = handle.counts();
        handle.set_plan(FaultPlan {
            fail_sync: Some((syncs + n, libc::EIO)),
            ..FaultPlan::default()
        });
        let mut failure = None;
        for i in 0..200 {
            let b = ledger.random_batch(&mut rng, "Eio", 1, 0..3000);
            match put_one(&rt, &store, &b) {
                Ok(r) => {
                    assert_eq!(r.status, PutStatus::PutOk);
                    ledger.ack(&b, r.end_offset);
                }
                Err(e) => {
                    // Written, then its flush failed: not acknowledged, may or may not be on disk.
                    ledger.pend(&b);
                    failure = Some(e);
                    break;
                }
            }
            if i % 3 == 2 {
                if let Err(e) = store.flush() {
                    failure = Some(e);
                    break;
                }
            }
        }
        let e = failure.expect("the injected sync failure surfaced");
        let StoreError::SyncFailed { path, errno, .. } = &e else {
            panic!("expected SyncFailed, got {e}");
        };
        assert_eq!(*errno, libc::EIO);
        kinds.insert(kind(path));
        let text = e.to_string();
        for needle in [
            path.display().to_string().as_str(),
            "EIO",
            "errno 5",
            "restart",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in: {text}");
        }
        assert_eq!(e.put_status_name(), "SERVICE_NOT_AVAILABLE");
        // Acknowledged means flushed; and from the failure on nothing more becomes flushed.
        let flushed = store.flushed_phy_offset();
        assert!(ledger.acked.iter().all(|a| a.end <= flushed));
        for _ in 0..3 {
            let b = ledger.batch(&mut rng, "Eio", 0, 1, 100);
            let refused = put_one(&rt, &store, &b).unwrap_err();
            assert!(
                matches!(refused, StoreError::SyncFailed { .. }),
                "{refused}"
            );
        }
        assert!(store.flush().is_err());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(store.flushed_phy_offset(), flushed);
        let errors = errors_about(dir.path());
        assert_eq!(errors.len(), 1, "one error line per failure: {errors:#?}");
        assert!(errors[0].contains("EIO"), "{}", errors[0]);
        // Restart after the disk is checked: recovery keeps every acknowledged message.
        let store = power_cycle(&handle, store, LossMode::AllUnsynced, cfg);
        sims += 1;
        let got = survivors(&store);
        assert_eq!(check_sync(&ledger, &got), 0);
        check_consistency(&store);
        let b = ledger.batch(&mut rng, "Eio", 0, 1, 100);
        assert_eq!(put_one(&rt, &store, &b).unwrap().status, PutStatus::PutOk);
    }
    eprintln!("EIO on sync: {sims} failures and power losses, failed files: {kinds:?}");
    assert_eq!(
        kinds,
        BTreeSet::from(["checkpoint", "commitlog", "consumequeue", "index"]),
        "every kind of file had a failing sync"
    );
}

#[test]
fn eio_on_sync_in_async_flush_refuses_writes_and_loses_only_unflushed() {
    log();
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let handle = fault::install(dir.path(), FaultPlan::default());
    let cfg = StoreConfig {
        flush_interval_commit_log: Duration::from_millis(5),
        ..small_config(dir.path())
    };
    let store = MessageStore::open(cfg.clone()).unwrap();
    let mut rng = fastrand::Rng::with_seed(99);
    let mut ledger = Ledger::default();
    for _ in 0..30 {
        let b = ledger.random_batch(&mut rng, "Async", 1, 0..2000);
        ledger.ack(&b, put_one(&rt, &store, &b).unwrap().end_offset);
    }
    store.flush().unwrap();
    let flushed = store.flushed_phy_offset();
    assert_eq!(flushed, store.max_phy_offset());
    let (_, _, syncs) = handle.counts();
    handle.set_plan(FaultPlan {
        fail_sync: Some((syncs + 1, libc::EIO)),
        ..FaultPlan::default()
    });
    // ASYNC_FLUSH answers before the flush: appends go on until the flush thread fails.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let b = ledger.random_batch(&mut rng, "Async", 1, 0..2000);
        match put_one(&rt, &store, &b) {
            Ok(r) => ledger.ack(&b, r.end_offset),
            Err(e) => break e,
        }
        assert!(std::time::Instant::now() < deadline, "writes never refused");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(
        matches!(refused, StoreError::SyncFailed { .. }),
        "{refused}"
    );
    assert_eq!(
        store.flushed_phy_offset(),
        flushed,
        "a failed sync advanced the flushed offset"
    );
    // The flush thread logs the failure just after publishing it, so a write may be refused
    // an instant before the line is written: wait for it, then for a second one that must not come.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while errors_about(dir.path()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let errors = errors_about(dir.path());
    assert_eq!(errors.len(), 1, "one error line per failure: {errors:#?}");
    let store = power_cycle(&handle, store, LossMode::AllUnsynced, cfg);
    let got = survivors(&store);
    let lost = check_async(&ledger, &got, flushed);
    check_consistency(&store);
    eprintln!(
        "ASYNC_FLUSH with EIO: {} acknowledged, {lost} lost, all after the last successful flush",
        ledger.acked.len()
    );
}

/// An append fails half way (no space for a new file, or a write error): that append errors,
/// nothing of it is visible, the store stays consistent and takes the next append.
#[test]
fn enospc_or_eio_at_an_append_fails_only_that_append() {
    log();
    let rt = rt();
    let mut cases = 0;
    for n in 1..=24u64 {
        let dir = tempfile::tempdir().unwrap();
        let handle = fault::install(dir.path(), FaultPlan::default());
        // No background checkpoint: its write would count among the writes and fail the store.
        let cfg = sync_config_without_checkpoints(dir.path());
        let store = MessageStore::open(cfg.clone()).unwrap();
        let mut rng = fastrand::Rng::with_seed(500 + n);
        let mut ledger = Ledger::default();
        // Warm up so the failure lands in a store with history.
        for _ in 0..rng.usize(0..20) {
            let b = ledger.random_batch(&mut rng, "Full", 1, 0..3000);
            ledger.ack(&b, put_one(&rt, &store, &b).unwrap().end_offset);
        }
        let (writes, allocs, _) = handle.counts();
        let (plan, errno) = match n % 3 {
            0 => (
                FaultPlan {
                    fail_alloc: Some((allocs + n / 3, libc::ENOSPC)),
                    ..FaultPlan::default()
                },
                libc::ENOSPC,
            ),
            1 => (
                FaultPlan {
                    fail_write: Some((writes + n, libc::ENOSPC)),
                    ..FaultPlan::default()
                },
                libc::ENOSPC,
            ),
            _ => (
                FaultPlan {
                    fail_write: Some((writes + n, libc::EIO)),
                    ..FaultPlan::default()
                },
                libc::EIO,
            ),
        };
        handle.set_plan(plan);
        let mut failed = None;
        for _ in 0..2000 {
            let batch = rng.usize(1..4);
            let b = ledger.random_batch(&mut rng, "Full", batch, 0..3000);
            match put_one(&rt, &store, &b) {
                Ok(r) => ledger.ack(&b, r.end_offset),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let e = failed.expect("the injected fault surfaced");
        let os = match &e {
            StoreError::CreateMappedFileFailed { source, .. } | StoreError::Io { source, .. } => {
                source.raw_os_error()
            }
            other => panic!("unexpected error {other}"),
        };
        assert_eq!(os, Some(errno), "{e}");
        // Nothing of the failed append is visible, all the rest is, once.
        let got = survivors(&store);
        assert_eq!(check_sync(&ledger, &got), 0);
        assert_eq!(
            got.values().map(Vec::len).sum::<usize>(),
            ledger.acked.len()
        );
        check_consistency(&store);
        // Space freed (the fault was one-off): the store takes writes again.
        let b = ledger.batch(&mut rng, "Full", 0, 2, 200);
        let r = put_one(&rt, &store, &b).unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
        ledger.ack(&b, r.end_offset);
        // And a restart, even after a power loss, sees exactly the acknowledged messages.
        let store = power_cycle(&handle, store, LossMode::AllUnsynced, cfg);
        let got = survivors(&store);
        assert_eq!(check_sync(&ledger, &got), 0);
        assert_eq!(
            got.values().map(Vec::len).sum::<usize>(),
            ledger.acked.len()
        );
        check_consistency(&store);
        cases += 1;
    }
    eprintln!("append faults: {cases} failed appends rolled back, stores consistent");
}

/// How the tail above the checkpoint is damaged.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// The write stopped inside the record: nothing from there on reached the disk.
    Short,
    /// One 512-byte sector inside the record is zeros; later records are intact.
    TornSector,
    /// Garbage (bit rot) in the body, which its CRC covers. The record format has no CRC of
    /// topic and properties (as RocketMQ's), so garbage there cannot be told from data; a
    /// power loss leaves zeros there, never garbage (files are preallocated with zeros).
    Garbage,
}

#[test]
fn torn_or_short_tail_above_a_checkpoint_is_cut_at_the_last_whole_record() {
    log();
    let rt = rt();
    let mut cases = 0;
    for damage in [Damage::Short, Damage::TornSector, Damage::Garbage] {
        for seed in 0..6u64 {
            let dir = tempfile::tempdir().unwrap();
            let _handle = fault::install(dir.path(), FaultPlan::default());
            // Nothing is synced in the background: the checkpoint is the explicit flush's.
            let cfg = StoreConfig {
                flush_interval_commit_log: Duration::from_secs(3600),
                flush_interval_consume_queue: Duration::from_secs(3600),
                ..small_config(dir.path())
            };
            let store = MessageStore::open(cfg.clone()).unwrap();
            let mut rng = fastrand::Rng::with_seed(seed * 7 + damage as u64);
            let mut ledger = Ledger::default();
            let mut records = Vec::new();
            let mut put = |store: &MessageStore, ledger: &mut Ledger, rng: &mut fastrand::Rng| {
                let b = ledger.random_batch(rng, "Tail", 1, 500..2500);
                let r = put_one(&rt, store, &b).unwrap();
                ledger.ack(&b, r.end_offset);
                let size = store.look_message_by_offset(r.phys_offset).unwrap().len();
                records.push((r.phys_offset, size));
            };
            for _ in 0..30 {
                put(&store, &mut ledger, &mut rng);
            }
            store.flush().unwrap();
            let checkpoint = store.max_phy_offset();
            for _ in 0..8 {
                put(&store, &mut ledger, &mut rng);
            }
            store.crash();
            let victim = 30 + rng.usize(0..8);
            let (phys, size) = records[victim];
            damage_record(dir.path(), &cfg, phys, size, damage, &mut rng);
            let store = MessageStore::open(cfg.clone()).unwrap();
            let rep = store.recovery_report().clone();
            assert!(rep.abnormal);
            if victim > 30 {
                assert_eq!(
                    rep.scanned_from, checkpoint,
                    "{damage:?}: the scan starts at the checkpoint"
                );
            } else {
                // The record at the checkpoint itself is damaged: its file is scanned whole.
                assert!(rep.scanned_from <= checkpoint);
            }
            assert_eq!(rep.valid_end, phys, "{damage:?}: cut at the damaged record");
            if let Some((at, _)) = &rep.truncated {
                assert_eq!(*at, phys);
            }
            ledger.acked.truncate(victim);
            let got = survivors(&store);
            assert_eq!(check_sync(&ledger, &got), 0);
            assert_eq!(got.values().map(Vec::len).sum::<usize>(), victim);
            assert_eq!(check_consistency(&store), victim);
            let b = ledger.batch(&mut rng, "Tail", 0, 1, 10);
            assert_eq!(put_one(&rt, &store, &b).unwrap().phys_offset, phys);
            cases += 1;
        }
    }
    eprintln!("damaged tails above a checkpoint: {cases} recoveries cut at the right record");
}

/// Damages the record at `phys` of `size` bytes in its commit-log file.
fn damage_record(
    dir: &Path,
    cfg: &StoreConfig,
    phys: i64,
    size: usize,
    damage: Damage,
    rng: &mut fastrand::Rng,
) {
    let file_size = cfg.mapped_file_size_commit_log;
    let start = phys as u64 / file_size * file_size;
    let path = dir.join("commitlog").join(format!("{start:020}"));
    let mut data = std::fs::read(&path).unwrap();
    let rel = (phys as u64 - start) as usize;
    let at = rel + rng.usize(0..size);
    match damage {
        Damage::Garbage => {
            // The body starts 88 bytes in (IPv4 hosts) and is at least 500 bytes here.
            let pos = rel + 88 + rng.usize(0..400);
            data[pos] ^= rng.u8(1..);
        }
        Damage::Short => {
            data[at..].fill(0);
            // Later files never reached the disk either.
            for entry in std::fs::read_dir(dir.join("commitlog")).unwrap() {
                let p = entry.unwrap().path();
                if p.file_name().unwrap().to_str().unwrap()
                    > path.file_name().unwrap().to_str().unwrap()
                {
                    std::fs::remove_file(p).unwrap();
                }
            }
        }
        Damage::TornSector => {
            let sector = at / 512 * 512;
            let range = sector.max(rel)..(sector + 512).min(rel + size);
            let before = data[range.clone()].to_vec();
            for b in &mut data[range.clone()] {
                *b = 0;
            }
            assert_ne!(before, data[range], "the damage changed nothing");
        }
    }
    std::fs::write(&path, data).unwrap();
}

/// A slave that never answers: the wait runs to its timeout.
struct SilentSlave;

impl ReplicaAckWaiter for SilentSlave {
    fn wait_for(
        &self,
        _end: i64,
        timeout: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ReplicaAck> + Send>> {
        Box::pin(async move {
            tokio::time::sleep(timeout).await;
            ReplicaAck::Timeout
        })
    }
}

#[test]
fn a_failed_sync_answers_at_once_even_while_a_slave_is_awaited() {
    log();
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let handle = fault::install(dir.path(), FaultPlan::default());
    let store = MessageStore::open(StoreConfig {
        sync_flush_timeout: Duration::from_secs(30),
        ..sync_config(dir.path())
    })
    .unwrap();
    store.set_replica_waiter(Some(Arc::new(SilentSlave)));
    let (_, _, syncs) = handle.counts();
    handle.set_plan(FaultPlan {
        fail_sync: Some((syncs + 1, libc::EIO)),
        ..FaultPlan::default()
    });
    let mut rng = fastrand::Rng::with_seed(3);
    let b = Ledger::default().random_batch(&mut rng, "Slave", 1, 10..20);
    let started = std::time::Instant::now();
    let e = put_one(&rt, &store, &b).unwrap_err();
    assert!(matches!(e, StoreError::SyncFailed { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the error waited {:?} for the slave",
        started.elapsed()
    );
}
