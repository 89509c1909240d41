//! Property values may hold NUL characters (a Java client's `String` can): recovery must keep
//! such records, and every acknowledged record after them, when it scans over them after a crash.
//! Zeros are only a lost write when a whole sector of them starts at a sector boundary.

mod common;

use common::*;
use rmq_remoting::message::{decode_record, encode_properties, keys, property_value};
use rmq_store::*;

#[test]
fn records_with_nul_runs_in_properties_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = MessageStore::open(sync_config_without_checkpoints(dir.path())).unwrap();
    let rt = rt();
    let mut acked = Vec::new();
    // Runs of NULs of many lengths, each record shifted by one byte against the sector grid by
    // the growing body, so runs start and end at every position around a sector boundary.
    for i in 0..120usize {
        let uniq = format!("N{i}");
        let value = format!("x{}y", "\0".repeat(4 + i % 60));
        let mut m = msg("Nul", 0, &vec![b'b'; 100 + i], None, None, None);
        m.properties = encode_properties([(keys::UNIQ_KEY, uniq.as_str()), ("userProp", &value)]);
        let r = rt.block_on(store.put_message(m)).unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
        acked.push(uniq);
    }
    // As a SIGKILL: no final flush, no checkpoint; the page cache keeps every byte.
    store.crash();

    let store = MessageStore::open(sync_config_without_checkpoints(dir.path())).unwrap();
    let report = store.recovery_report().clone();
    assert!(report.abnormal);
    assert_eq!(report.truncated, None, "recovery cut acknowledged records");
    let got = store.get_message("Nul", 0, 0, 1000, usize::MAX, &AcceptAll);
    let ids: Vec<String> = got
        .messages
        .iter()
        .map(|b| {
            let v = decode_record(b.as_slice(), true).unwrap();
            property_value(v.properties, keys::UNIQ_KEY)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, acked);
    assert_eq!(check_consistency(&store), acked.len());
}
