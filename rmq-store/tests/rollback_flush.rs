//! An append that fails half way (ENOSPC at a new file) is rolled back while the flush thread
//! and `flush()` keep syncing. No sync may count the rolled-back bytes: the flushed offset would
//! then stay above the commit log's end, and the next SYNC_FLUSH append below it would be
//! acknowledged before it is synced, and lost with the power.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::workload::power_cycle;
use common::*;
use rmq_remoting::message::{decode_record, keys, property_value};
use rmq_store::fault::{self, FaultPlan, LossMode};
use rmq_store::*;

const ROUNDS: usize = 120;

/// Calls `flush()` in a loop until told to stop, so that a sync often runs while a batch is
/// half written.
fn hammer(store: &Arc<MessageStore>) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (s, st) = (store.clone(), stop.clone());
    let t = std::thread::spawn(move || {
        while !st.load(Ordering::Relaxed) {
            let _ = s.flush();
        }
    });
    (stop, t)
}

#[test]
fn a_rolled_back_append_never_counts_as_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let handle = fault::install(dir.path(), FaultPlan::default());
    let cfg = sync_config(dir.path());
    let file = cfg.mapped_file_size_commit_log as i64;
    let rt = rt();
    let mut store = MessageStore::open(cfg.clone()).unwrap();
    let (mut rollbacks, mut survivors) = (0, 0);
    for round in 0..ROUNDS {
        let shared = Arc::new(store);
        let (stop, flusher) = hammer(&shared);
        // Fill the current commit-log file to a few KiB before its end.
        while file - shared.max_phy_offset() % file >= 12 * 1024 {
            rt.block_on(shared.put_message(msg("Roll", 0, &[b'f'; 1500], None, None, None)))
                .unwrap();
        }
        // A batch that needs a new file, whose creation fails: written half, then rolled back.
        let (_, allocs, _) = handle.counts();
        handle.set_plan(FaultPlan {
            fail_alloc: Some((allocs + 1, libc::ENOSPC)),
            ..FaultPlan::default()
        });
        let end = shared.max_phy_offset();
        let batch = (0..12)
            .map(|_| msg("Roll", 0, &[b'b'; 1500], None, None, None))
            .collect();
        let failed = rt.block_on(shared.put_messages(batch)).is_err();
        handle.set_plan(FaultPlan::default());
        assert!(failed, "round {round}: the batch needed a new file");
        rollbacks += 1;
        assert_eq!(
            shared.max_phy_offset(),
            end,
            "round {round}: not rolled back"
        );
        assert!(
            shared.flushed_phy_offset() <= end,
            "round {round}: flushed offset {} past the rolled-back end {end}",
            shared.flushed_phy_offset()
        );
        // Acknowledged in SYNC_FLUSH, then the power goes at once.
        let uniq = format!("ACK{round}");
        let r = rt
            .block_on(shared.put_message(msg("Roll", 0, b"acked", None, None, Some(&uniq))))
            .unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
        stop.store(true, Ordering::Relaxed);
        flusher.join().unwrap();
        let Ok(owned) = Arc::try_unwrap(shared) else {
            panic!("the flusher thread still holds the store")
        };
        store = power_cycle(&handle, owned, LossMode::AllUnsynced, cfg.clone());
        let got = store.get_message("Roll", 0, r.queue_offset, 1, usize::MAX, &AcceptAll);
        let kept = got.messages.first().is_some_and(|b| {
            let v = decode_record(b.as_slice(), true).unwrap();
            property_value(v.properties, keys::UNIQ_KEY) == Some(uniq.as_str())
        });
        assert!(
            kept,
            "round {round}: acknowledged message {uniq} lost in the power loss"
        );
        survivors += 1;
    }
    assert_eq!((rollbacks, survivors), (ROUNDS, ROUNDS));
    assert_eq!(
        check_consistency(&store),
        store.max_offset_in_queue("Roll", 0) as usize
    );
}
