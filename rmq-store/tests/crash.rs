//! Crash test: a child process appends in SYNC_FLUSH mode and is killed with SIGKILL at random
//! moments; after each kill the store is recovered and checked against what the child reported as
//! acknowledged.
//!
//! The child is this test binary itself, re-executed with `RMQ_CRASH_CHILD_DIR` set (the
//! `crash_child_writer` test is a no-op without it). Default: 20 kills (`RMQ_CRASH_KILLS` overrides);
//! `crash_kill9_long` (ignored) does 300. Each kill checks only what was written since the last
//! one (see `Checked`), so the cost of a run grows with what is written, not with kills × size.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rmq_remoting::message::{body_crc32, decode_record};
use rmq_store::*;

const WRITERS: i32 = 4;

fn child_config(dir: &std::path::Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 256 * 1024,
        ..sync_config(dir)
    }
}

/// The child: appends forever from several tasks, printing `ACK run queue offset crc len` after
/// each acknowledged append.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var("RMQ_CRASH_CHILD_DIR") else {
        return;
    };
    let run: u64 = std::env::var("RMQ_CRASH_RUN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let store = Arc::new(MessageStore::open(child_config(std::path::Path::new(&dir))).unwrap());
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let store = store.clone();
            let out = out.clone();
            tasks.push(tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(run * 1000 + w as u64);
                for seq in 0u64.. {
                    let len = rng.usize(16..3000);
                    let mut body = format!("{run}:{w}:{seq}:").into_bytes();
                    body.extend((0..len).map(|_| rng.u8(..)));
                    let uniq = format!("R{run}W{w}S{seq}");
                    let tag = if seq % 2 == 0 { "even" } else { "odd" };
                    let r = store
                        .put_message(msg(
                            "Crash",
                            w,
                            &body,
                            Some(tag),
                            Some("crash"),
                            Some(&uniq),
                        ))
                        .await
                        .unwrap();
                    assert_eq!(r.status, PutStatus::PutOk);
                    let line = format!(
                        "ACK {run} {w} {} {} {}\n",
                        r.queue_offset,
                        body_crc32(&body),
                        body.len()
                    );
                    let mut o = out.lock().unwrap();
                    o.write_all(line.as_bytes()).unwrap();
                    o.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn run_kills(kills: usize) {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // (queue, offset) -> (crc, len) of every acknowledged message.
    let mut acked: HashMap<(i32, i64), (i32, usize)> = HashMap::new();
    let mut checked = Checked::default();
    let mut rng = fastrand::Rng::with_seed(0xC0FFEE);
    let (mut truncations, mut under_load) = (0, 0);
    for run in 0..kills as u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env("RMQ_CRASH_CHILD_DIR", dir.path())
            .env("RMQ_CRASH_RUN", run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_ack, acking) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut first_ack = Some(first_ack);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ACK ") {
                    if let Some(tx) = first_ack.take() {
                        let _ = tx.send(());
                    }
                }
                lines.push(line);
            }
            lines
        });
        // Most kills land while the writers are acknowledging: a blind wait would often end
        // before the child (exec, open, recovery of a growing store) has appended anything.
        // Every fourth kill stays blind, so kills during open and recovery are tested too.
        if run % 4 != 3 {
            let _ = acking.recv_timeout(Duration::from_secs(30));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(80..400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        let mut n = 0;
        for l in &lines {
            let p: Vec<&str> = l.split_whitespace().collect();
            if p.len() != 6 || p[0] != "ACK" {
                continue; // a partial last line
            }
            let q: i32 = p[2].parse().unwrap();
            let off: i64 = p[3].parse().unwrap();
            let prev = acked.insert((q, off), (p[4].parse().unwrap(), p[5].parse().unwrap()));
            assert!(prev.is_none(), "queue {q} offset {off} acknowledged twice");
            let max = checked.max_acked.entry(q).or_insert(-1);
            *max = (*max).max(off);
            n += 1;
        }
        let store = MessageStore::open(child_config(dir.path())).unwrap();
        let rep = store.recovery_report().clone();
        // A child killed before it opened the store leaves no marker; one that acknowledged must.
        assert!(
            rep.abnormal || n == 0,
            "run {run}: the killed child left no abort marker"
        );
        if rep.truncated.is_some() {
            truncations += 1;
        }
        if n > 0 {
            under_load += 1;
        }
        let new = checked.verify(&store, &acked);
        let records = checked.check_log(&store);
        if run + 1 == kills as u64 {
            // Each kill re-read only the newest checked message of each queue; once, at the end,
            // every acknowledged message and the whole log are checked again from the start, so
            // damage that later recoveries did below an earlier check cannot go unseen.
            let mut full = Checked {
                max_acked: checked.max_acked.clone(),
                ..Checked::default()
            };
            let all = full.verify(&store, &acked);
            let all_records = full.check_log(&store);
            eprintln!("final full check: {all} messages, {all_records} records");
        }
        eprintln!(
            "kill {run}: {n} new acks, {} total, {new} messages and {records} records checked, recovery {rep:?}",
            acked.len()
        );
        drop(store);
    }
    eprintln!(
        "{kills} kills ({under_load} while messages were acknowledged), {} acknowledged messages verified, \
         {truncations} recoveries cut a torn tail, {:?}",
        acked.len(),
        started.elapsed()
    );
    assert!(acked.len() > kills, "the child barely wrote anything");
    assert!(
        under_load * 2 >= kills,
        "only {under_load} of {kills} kills hit a child that was appending"
    );
}

/// What the checks after earlier kills established, so that each kill checks only what is new:
/// a run of thousands of kills costs what is written, not kills times the store's size.
#[derive(Default)]
struct Checked {
    /// Per queue: offsets below `.0` were checked; `.1` is (offset, body crc) of the last one,
    /// read again each time to prove the checked prefix is still there.
    queues: HashMap<i32, (i64, Option<(i64, i32)>)>,
    /// Per (run, writer): the last sequence number seen, for the order check.
    last_seq: HashMap<(u64, u64), u64>,
    /// Per queue: the highest acknowledged offset.
    max_acked: HashMap<i32, i64>,
    /// Commit-log offset up to which consume queues and index were checked against it.
    log_checked: i64,
}

impl Checked {
    /// Checks the messages each queue gained since the last call: every acknowledged message is
    /// there, intact, and each writer's messages are in order without gaps. Returns how many.
    fn verify(&mut self, store: &MessageStore, acked: &HashMap<(i32, i64), (i32, usize)>) -> usize {
        let mut n = 0;
        for (&q, &max_acked) in &self.max_acked {
            let max = store.max_offset_in_queue("Crash", q);
            assert!(
                max > max_acked,
                "queue {q}: acknowledged offset {max_acked} lost (max {max})"
            );
            let (from, mut last) = self.queues.get(&q).copied().unwrap_or((0, None));
            if let Some((off, crc)) = last {
                let r = store.get_message("Crash", q, off, 1, 1 << 20, &AcceptAll);
                assert_eq!(
                    r.status,
                    GetMessageStatus::Found,
                    "queue {q}: checked message {off} gone"
                );
                let v = decode_record(r.messages[0].as_slice(), true).unwrap();
                assert_eq!(v.body_crc, crc, "queue {q}: checked message {off} changed");
            }
            let mut off = from;
            while off < max {
                let r = store.get_message("Crash", q, off, 32, 1 << 20, &AcceptAll);
                assert_eq!(r.status, GetMessageStatus::Found, "queue {q} offset {off}");
                for (m, qo) in r.messages.iter().zip(&r.queue_offsets) {
                    let v = decode_record(m.as_slice(), true).unwrap();
                    assert_eq!(v.queue_offset, *qo);
                    let text =
                        String::from_utf8_lossy(&v.body[..v.body.len().min(40)]).into_owned();
                    let parts: Vec<&str> = text.splitn(4, ':').collect();
                    let (run, w, seq): (u64, u64, u64) = (
                        parts[0].parse().unwrap(),
                        parts[1].parse().unwrap(),
                        parts[2].parse().unwrap(),
                    );
                    assert_eq!(w, q as u64);
                    if let Some(prev) = self.last_seq.insert((run, w), seq) {
                        assert_eq!(seq, prev + 1, "queue {q}: out of order or gap in run {run}");
                    }
                    if let Some((crc, len)) = acked.get(&(q, *qo)) {
                        assert_eq!(
                            (v.body_crc, v.body.len()),
                            (*crc, *len),
                            "queue {q} offset {qo} differs from what was acknowledged"
                        );
                    }
                    last = Some((*qo, v.body_crc));
                    n += 1;
                }
                off = r.next_begin_offset;
            }
            self.queues.insert(q, (max, last));
        }
        n
    }

    /// Checks consume queues and index against the commit log written since the last call.
    fn check_log(&mut self, store: &MessageStore) -> usize {
        assert!(
            store.max_phy_offset() >= self.log_checked,
            "the commit log lost checked records"
        );
        let records = check_consistency_from(store, self.log_checked);
        self.log_checked = store.max_phy_offset();
        records
    }
}

#[test]
fn crash_kill9_recovery() {
    let kills = std::env::var("RMQ_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    run_kills(kills);
}

#[test]
#[ignore = "long: 300 kills, several minutes"]
fn crash_kill9_long() {
    run_kills(300);
}
