//! A slave's way back to its master, with real `mqbroker` processes: a slave started empty next
//! to a master that already holds data copies it all, and a slave whose connection is cut
//! (killed and restarted, or frozen with SIGSTOP past the master's housekeeping interval)
//! resumes where it stopped. Both end with the two stores compared record by record and byte
//! by byte.
//!
//! `RMQ_HA_CATCHUP_MIB` sets the data the master holds before the slave starts (default 64;
//! the long run, `cargo test -p rmq-broker --test ha_catch_up -- --ignored --nocapture`, uses
//! `RMQ_HA_CATCHUP_LONG_MIB`, default 2048).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_client::{ClientError, Message, Producer, ProducerConfig, SendStatus};

mod common;
mod ha;
use common::{eventually, name_server};
use ha::{compare_bytes, compare_queues, env_or, scan, stop_cleanly, Node, Probe};

const TOPIC: &str = "HaCatchUp";
const MIB: u64 = 1024 * 1024;
/// The master closes a replication connection that has been silent this long (ms); the test
/// keeps it short so a SIGSTOPped slave is dropped within seconds.
const HOUSEKEEPING_MS: u64 = 2_000;

fn producer_config(group: &str) -> ProducerConfig {
    ProducerConfig {
        producer_group: group.into(),
        send_msg_timeout: Duration::from_secs(10),
        // Filler bodies go as they are: the test measures stored bytes, not zlib.
        compress_msg_body_over_howmuch: usize::MAX,
        ..ProducerConfig::default()
    }
}

/// Sends `mib` MiB in 64 KiB messages, 16 in flight; every send must be stored.
async fn fill(ns: &str, mib: u64) {
    let producer = Producer::builder()
        .namesrv_addr(ns)
        .config(producer_config("ha-fill"))
        .start()
        .await
        .unwrap();
    let count = mib * 16;
    let filler = |n: u64| {
        let body = format!("fill-{n:010}|{}", "f".repeat(64 * 1024 - 32));
        Message::new(TOPIC, Bytes::from(body))
    };
    // The master's boot line can come before its first registration reaches the name server:
    // the first filler waits for a route (a send without one stores nothing, so no duplicate).
    eventually(
        Duration::from_secs(30),
        "a route for the first filler",
        || async {
            match producer.send(filler(0)).await {
                Err(ClientError::NoRoute(_)) => None,
                sent => {
                    assert!(sent.is_ok(), "filler send 0: {sent:?}");
                    Some(())
                }
            }
        },
    )
    .await;
    let next = Arc::new(AtomicU64::new(1));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (producer, next) = (producer.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    let sent = producer.send(filler(n)).await;
                    assert!(sent.is_ok(), "filler send {n}: {sent:?}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    producer.shutdown().await;
}

async fn empty_slave_catches_up(mib: u64) {
    let work = tempfile::Builder::new()
        .prefix("ha-catch-up")
        .tempdir()
        .unwrap();
    let ns = name_server().await;
    // One commit-log file holds everything: Apache's master starts an empty slave at the start
    // of its last file, so this way the slave copies the whole log.
    let file = (mib + 64) * MIB;
    let master = Node::new(work.path(), "master", "ASYNC_MASTER", file);
    let slave = Node::new(work.path(), "slave", "SLAVE", file);
    let master_process = master.start(&ns);
    fill(&ns, mib).await;
    let probe = Probe::new();
    let target = probe.max_offset(&master.addr()).await.unwrap();
    assert!(
        target >= (mib * MIB) as i64,
        "the master holds {target} bytes"
    );

    let started = Instant::now();
    let slave_process = slave.start(&ns);
    let took = probe
        .wait_slave_reaches(&slave, &master, target, Duration::from_secs(60 + mib / 10))
        .await;
    println!(
        "empty slave caught up {target} bytes in {:.2} s from its launch = {:.0} MB/s",
        took.as_secs_f64(),
        target as f64 / 1e6 / started.elapsed().as_secs_f64()
    );
    let end = probe
        .wait_in_step(&master, &slave, Duration::from_secs(30))
        .await;
    assert_eq!(end, target, "nothing was sent meanwhile");
    stop_cleanly([(&slave, slave_process), (&master, master_process)]);
    verify(&master, &slave, target, true);
}

/// Compares the stores of the stopped pair: the same range ending at `end`, the same records
/// (each filler or test message once, none twice), the same bytes and consume queues.
fn verify(master: &Node, slave: &Node, end: i64, no_duplicates: bool) {
    let (m_store, s_store) = (master.open_store(), slave.open_store());
    let (m, s) = (
        scan(&m_store, "master", TOPIC),
        scan(&s_store, "slave", TOPIC),
    );
    assert_eq!((m.min, m.max), (0, end), "the master's commit log range");
    assert_eq!((s.min, s.max), (0, end), "the slave's commit log range");
    if no_duplicates {
        assert_eq!(m.duplicates(), 0, "the master stored a message twice");
    }
    assert_eq!(s.ids, m.ids, "the same records on both, none twice");
    let (crc_m, crc_s) = compare_bytes(&m_store, &s_store, 0, end);
    assert_eq!(crc_m, crc_s);
    compare_queues(&m_store, &s_store, TOPIC);
    println!(
        "{} records, {end} bytes, identical on both (CRC32 {crc_m:08x})",
        m.records
    );
    m_store.shutdown().unwrap();
    s_store.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_copies_what_the_master_holds() {
    empty_slave_catches_up(env_or("RMQ_HA_CATCHUP_MIB", 64)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long run: gigabytes (RMQ_HA_CATCHUP_LONG_MIB)"]
async fn an_empty_slave_copies_gigabytes() {
    empty_slave_catches_up(env_or("RMQ_HA_CATCHUP_LONG_MIB", 2048)).await;
}

/// Sends one message after the other until stopped; returns (SEND_OK, other answers). No
/// retries on the client: an interrupted send must not store a message twice.
async fn steady_sender(ns: String, stop: Arc<AtomicBool>) -> (u64, u64) {
    let producer = Producer::builder()
        .namesrv_addr(&ns)
        .config(ProducerConfig {
            retry_times_when_send_failed: 0,
            ..producer_config("ha-steady")
        })
        .start()
        .await
        .unwrap();
    let (mut ok, mut other) = (0, 0);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let body = format!("steady-{n:09}|{}", "s".repeat(fastrand::usize(0..3000)));
        match producer.send(Message::new(TOPIC, Bytes::from(body))).await {
            Ok(r) if r.status == SendStatus::SendOk => ok += 1,
            Ok(_) => other += 1,
            Err(e) => panic!("send {n} failed with the master up: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    producer.shutdown().await;
    (ok, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_slave_resumes_where_it_stopped() {
    let work = tempfile::Builder::new()
        .prefix("ha-resume")
        .tempdir()
        .unwrap();
    let ns = name_server().await;
    // 4 MiB files: the sends below roll several of them while the slave is away.
    let mut master = Node::new(work.path(), "master", "SYNC_MASTER", 4 * MIB);
    let mut slave = Node::new(work.path(), "slave", "SLAVE", 4 * MIB);
    for node in [&mut master, &mut slave] {
        node.extra = vec![
            "--haHousekeepingInterval".into(),
            HOUSEKEEPING_MS.to_string(),
            "--haSendHeartbeatInterval".into(),
            "500".into(),
            "--syncFlushTimeout".into(),
            "1000".into(),
        ];
    }
    let master_process = master.start(&ns);
    let mut slave_process = slave.start(&ns);
    let probe = Probe::new();
    let stop = Arc::new(AtomicBool::new(false));
    let sends = tokio::spawn(steady_sender(ns.clone(), stop.clone()));
    let phase = |d| tokio::time::sleep(Duration::from_millis(d));

    phase(1_500).await;
    // 1. Killed and restarted: it resumes from the offset its own store recovered.
    drop(slave_process);
    phase(1_500).await;
    slave_process = slave.start(&ns);
    let target = probe.max_offset(&master.addr()).await.unwrap();
    let took = probe
        .wait_slave_reaches(&slave, &master, target, Duration::from_secs(30))
        .await;
    println!("restarted slave back at the master's offset {target} after {took:?}");

    // 2. Frozen past the housekeeping interval: the master drops the connection, the slave
    // finds out when it thaws, reconnects and resumes.
    phase(1_000).await;
    slave_process.signal(libc::SIGSTOP);
    phase(HOUSEKEEPING_MS * 2 + 500).await;
    let frozen_at = probe.max_offset(&master.addr()).await.unwrap();
    slave_process.signal(libc::SIGCONT);
    let took = probe
        .wait_slave_reaches(&slave, &master, frozen_at, Duration::from_secs(30))
        .await;
    println!("thawed slave back at the master's offset {frozen_at} after {took:?}");
    let master_log = std::fs::read_to_string(&master.log).unwrap();
    assert!(
        master_log.contains("haHousekeepingInterval"),
        "the master never dropped the frozen slave's connection:\n{}",
        master.log_tail()
    );
    phase(1_500).await;

    stop.store(true, Ordering::Relaxed);
    let (ok, other) = sends.await.unwrap();
    let end = probe
        .wait_in_step(&master, &slave, Duration::from_secs(30))
        .await;
    println!("{ok} sends SEND_OK, {other} stored without a slave acknowledgement");
    assert!(ok > 0, "the slave acknowledged nothing");
    stop_cleanly([(&slave, slave_process), (&master, master_process)]);
    verify(&master, &slave, end, true);
}
