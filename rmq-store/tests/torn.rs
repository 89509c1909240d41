//! Torn and corrupt tails of the last commit-log file: recovery cuts back to the last valid record,
//! says so in the log, and the consume queue and index follow.

mod common;

use common::*;
use rmq_store::*;

fn open_logged(cfg: StoreConfig) -> (MessageStore, String) {
    let cap = Capture::default();
    let c2 = cap.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || c2.clone())
        .with_ansi(false)
        .finish();
    let store = tracing::subscriber::with_default(sub, || MessageStore::open(cfg)).unwrap();
    let log = String::from_utf8_lossy(&cap.0.lock().unwrap()).into_owned();
    (store, log)
}

/// Writes `n` messages, shuts down, returns (phys offset, size) of the last record.
fn prepare(dir: &std::path::Path, n: usize) -> (i64, usize) {
    let store = MessageStore::open(small_config(dir)).unwrap();
    let rt = rt();
    let mut last = (0, 0);
    for i in 0..n {
        let r = rt
            .block_on(store.put_message(msg(
                "Torn",
                0,
                &vec![i as u8; 500],
                Some("T"),
                Some("k"),
                Some(&format!("U{i}")),
            )))
            .unwrap();
        last = (r.phys_offset, r.wrote_bytes as usize);
    }
    store.shutdown().unwrap();
    // Pretend the process died: recovery must take the abnormal path. A real crash leaves the
    // checkpoint below the torn tail (it only covers flushed records); here it goes altogether,
    // so the scan starts at the first file and meets the damage the tests make.
    std::fs::write(dir.join("abort"), b"1").unwrap();
    std::fs::remove_file(dir.join("checkpoint")).unwrap();
    last
}

fn last_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop().unwrap()
}

fn check_cut(dir: &std::path::Path, n: usize, last_phys: i64, reason_needle: &str) {
    let (store, log) = open_logged(small_config(dir));
    let rep = store.recovery_report().clone();
    assert!(rep.abnormal);
    let (at, reason) = rep.truncated.clone().expect("truncation reported");
    assert_eq!(at, last_phys, "cut at the start of the torn record");
    assert!(reason.contains(reason_needle), "{reason}");
    assert!(
        log.contains(&format!(
            "commit log truncated at physical offset {last_phys}"
        )),
        "log: {log}"
    );
    assert_eq!(store.max_phy_offset(), last_phys);
    assert_eq!(store.max_offset_in_queue("Torn", 0), n as i64 - 1);
    assert!(store
        .query_by_uniq_key("Torn", &format!("U{}", n - 1), 0, i64::MAX / 2)
        .is_none());
    assert!(store
        .query_by_uniq_key("Torn", &format!("U{}", n - 2), 0, i64::MAX / 2)
        .is_some());
    assert_eq!(check_consistency(&store), n - 1);
    // The store goes on from the cut.
    let r = rt()
        .block_on(store.put_message(msg("Torn", 0, b"after", None, None, Some("AFTER"))))
        .unwrap();
    assert_eq!(r.phys_offset, last_phys);
    assert_eq!(r.queue_offset, n as i64 - 1);
    drop(store);
    let store = MessageStore::open(small_config(dir)).unwrap();
    assert!(store.recovery_report().truncated.is_none());
    assert_eq!(check_consistency(&store), n);
}

#[test]
fn file_cut_in_the_middle_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (phys, size) = prepare(dir.path(), 20);
    let f = last_file(dir.path());
    let rel = phys as u64 % (64 * 1024);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(rel + size as u64 / 2)
        .unwrap();
    check_cut(dir.path(), 20, phys, "size mismatch");
}

#[test]
fn zeroed_tail_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (phys, size) = prepare(dir.path(), 20);
    let f = last_file(dir.path());
    let mut data = std::fs::read(&f).unwrap();
    let rel = (phys as u64 % (64 * 1024)) as usize;
    for b in &mut data[rel + size - 100..rel + size] {
        *b = 0;
    }
    std::fs::write(&f, data).unwrap();
    // The lost bytes are in the properties: either a size mismatch or a CRC-free field error.
    let (store, _) = open_logged(small_config(dir.path()));
    assert_eq!(
        store.recovery_report().truncated.as_ref().map(|t| t.0),
        Some(phys)
    );
    drop(store);
}

#[test]
fn corrupt_body_fails_crc() {
    let dir = tempfile::tempdir().unwrap();
    let (phys, _) = prepare(dir.path(), 20);
    let f = last_file(dir.path());
    let mut data = std::fs::read(&f).unwrap();
    let rel = (phys as u64 % (64 * 1024)) as usize;
    data[rel + 88 + 10] ^= 0x55; // inside the body
    std::fs::write(&f, data).unwrap();
    check_cut(dir.path(), 20, phys, "CRC");
}

#[test]
fn garbage_after_the_last_record_is_cut_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let (phys, size) = prepare(dir.path(), 20);
    let f = last_file(dir.path());
    let mut data = std::fs::read(&f).unwrap();
    let rel = (phys as u64 % (64 * 1024)) as usize + size;
    let mut rng = fastrand::Rng::with_seed(7);
    for b in &mut data[rel..rel + 3000] {
        *b = rng.u8(..);
    }
    std::fs::write(&f, data).unwrap();
    let (store, log) = open_logged(small_config(dir.path()));
    let end = phys + size as i64;
    assert_eq!(
        store.recovery_report().truncated.as_ref().map(|t| t.0),
        Some(end),
        "{log}"
    );
    assert_eq!(store.max_offset_in_queue("Torn", 0), 20);
    assert_eq!(check_consistency(&store), 20);
    drop(store);
    // The garbage was zeroed: the next recovery finds a clean end.
    let data = std::fs::read(last_file(dir.path())).unwrap();
    assert!(data[rel..rel + 3000].iter().all(|b| *b == 0));
}

#[test]
fn lost_consume_queue_and_index_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), 30);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    assert_eq!(store.recovery_report().records_redispatched, 30);
    assert_eq!(store.max_offset_in_queue("Torn", 0), 30);
    assert_eq!(check_consistency(&store), 30);
}

#[test]
fn a_clean_restart_scans_only_past_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (phys, size) = prepare(dir.path(), 25);
    let end = phys + size as i64;
    // The first start after the pretended crash scans everything and checkpoints; after its
    // clean stop, the next start has nothing to scan.
    let first = MessageStore::open(small_config(dir.path())).unwrap();
    assert_eq!(first.recovery_report().records_redispatched, 25);
    first.shutdown().unwrap();
    drop(first);
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let rep = store.recovery_report().clone();
    assert!(!rep.abnormal);
    assert_eq!((rep.scanned_from, rep.valid_end), (end, end));
    assert_eq!(rep.records_redispatched, 0);
    assert_eq!(store.max_offset_in_queue("Torn", 0), 25);
    assert_eq!(check_consistency(&store), 25);
    assert!(store
        .query_by_uniq_key("Torn", "U0", 0, i64::MAX / 2)
        .is_some());
    // Appends go on from the end, and the next clean restart starts from there.
    let r = rt()
        .block_on(store.put_message(msg("Torn", 0, b"next", None, None, Some("NEXT"))))
        .unwrap();
    assert_eq!((r.phys_offset, r.queue_offset), (end, 25));
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open(small_config(dir.path())).unwrap();
    let rep = store.recovery_report().clone();
    assert_eq!(rep.scanned_from, end + r.wrote_bytes as i64);
    assert_eq!(check_consistency(&store), 26);
}
