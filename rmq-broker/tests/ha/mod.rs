//! Support for the replication tests: a master/slave group of real `mqbroker` processes on
//! fixed ports (so a killed broker comes back where the other one expects it), the commit-log
//! offsets each one reports, and the comparison of the two stores after both stopped.
#![allow(dead_code)] // each test binary uses a different part

pub mod senders;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rmq_remoting::body::route::KvTable;
use rmq_remoting::fastjson;
use rmq_remoting::message::{decode_record, BLANK_MAGIC_CODE};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_store::{MessageStore, StoreConfig};
use rmq_testkit::ServerProcess;

use crate::common::{free_port, mqbroker, CONSUME_QUEUE_FILE};

/// The value of environment variable `key` (run lengths and sizes), `default` when unset.
pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One broker of the group: its role, ports and store survive restarts of its process.
pub struct Node {
    /// `master` or `slave`, for logs and messages.
    pub label: &'static str,
    /// `SYNC_MASTER`, `ASYNC_MASTER` or `SLAVE`.
    pub role: &'static str,
    /// 0 for the master.
    pub broker_id: u32,
    /// Client port.
    pub port: u16,
    /// Replication port (`haListenPort`).
    pub ha_port: u16,
    /// `storePathRootDir`.
    pub store: PathBuf,
    /// Where every run's stderr goes.
    pub log: PathBuf,
    /// `mappedFileSizeCommitLog`.
    pub commit_log_file: u64,
    /// More `--key value` arguments.
    pub extra: Vec<String>,
}

impl Node {
    /// A broker of group `ha-a` with its store and log under `dir`.
    pub fn new(dir: &Path, label: &'static str, role: &'static str, commit_log_file: u64) -> Self {
        Node {
            label,
            role,
            broker_id: u32::from(role == "SLAVE"),
            port: free_port(),
            ha_port: free_port(),
            store: dir.join(label),
            log: dir.join(format!("{label}.log")),
            commit_log_file,
            extra: Vec::new(),
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts a process of this broker (on its fixed ports: a killed broker comes back where
    /// the other one expects it) and waits for its boot line.
    pub fn start(&self, namesrv: &str) -> ServerProcess {
        let mut args: Vec<String> = [
            ("--brokerIP2", "127.0.0.1".to_owned()),
            ("--brokerRole", self.role.to_owned()),
            ("--brokerId", self.broker_id.to_string()),
            ("--listenPort", self.port.to_string()),
            ("--haListenPort", self.ha_port.to_string()),
            (
                "--mappedFileSizeCommitLog",
                self.commit_log_file.to_string(),
            ),
            // The tests compare whole commit logs: the disk guard must not delete files because
            // the machine's disk (shared with other work) is fuller than RocketMQ's 85 %.
            ("--cleanFileForciblyEnable", "false".to_owned()),
            ("--diskMaxUsedSpaceRatio", "95".to_owned()),
        ]
        .into_iter()
        .flat_map(|(key, value)| [key.to_owned(), value])
        .collect();
        args.extend(self.extra.iter().cloned());
        let mut command = mqbroker(namesrv, "ha-a", &self.store, &args);
        command.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        );
        ServerProcess::start_logging_to(command, &self.log)
    }

    /// Opens the store of a stopped broker with the settings it ran with.
    pub fn open_store(&self) -> MessageStore {
        MessageStore::open(StoreConfig {
            store_path_root_dir: self.store.clone(),
            mapped_file_size_commit_log: self.commit_log_file,
            mapped_file_size_consume_queue: CONSUME_QUEUE_FILE,
            ..StoreConfig::default()
        })
        .unwrap_or_else(|e| panic!("open the {} store: {e}", self.label))
    }

    /// The last lines of this broker's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }
}

/// Stops the brokers in the order given (30 s each) and asserts that every one exited cleanly:
/// the stores are opened and compared afterwards, so they must have been closed, not killed.
pub fn stop_cleanly<const N: usize>(brokers: [(&Node, ServerProcess); N]) {
    let exits = brokers.map(|(node, process)| (node, process.stop(Duration::from_secs(30))));
    for (node, exit) in exits {
        assert!(
            exit.is_some_and(|s| s.success()),
            "the {} did not stop cleanly: {exit:?}\n{}",
            node.label,
            node.log_tail()
        );
    }
}

/// Asks brokers for their runtime figures (GET_BROKER_RUNTIME_INFO), as `mqadmin brokerStatus`.
pub struct Probe(RemotingClient);

impl Probe {
    pub fn new() -> Self {
        Probe(RemotingClient::new(
            TransportConfig::default(),
            Router::new(),
        ))
    }

    /// `commitLogMaxOffset` from the broker's runtime figures, None while it does not answer.
    pub async fn max_offset(&self, addr: &str) -> Option<i64> {
        let request = RemotingCommand::request_without_header(RequestCode::GET_BROKER_RUNTIME_INFO);
        let response = self
            .0
            .invoke(addr, request, Duration::from_secs(2))
            .await
            .ok()?;
        if response.code != 0 {
            return None;
        }
        let table: KvTable = fastjson::from_slice(&response.body).ok()?;
        table.table.get("commitLogMaxOffset")?.parse().ok()
    }

    /// Waits until the slave holds at least `target` bytes of commit log; returns how long that
    /// took, or panics after `limit` with both brokers' log tails.
    pub async fn wait_slave_reaches(
        &self,
        slave: &Node,
        master: &Node,
        target: i64,
        limit: Duration,
    ) -> Duration {
        let started = Instant::now();
        let mut last = None;
        loop {
            last = self.max_offset(&slave.addr()).await.or(last);
            if last.is_some_and(|o| o >= target) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "the slave did not reach offset {target} within {limit:?} (it is at {last:?})\n\
                 --- master log:\n{}\n--- slave log:\n{}",
                master.log_tail(),
                slave.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until master and slave report the same commit-log max offset with no sends in
    /// flight; returns that offset.
    pub async fn wait_in_step(&self, master: &Node, slave: &Node, limit: Duration) -> i64 {
        let started = Instant::now();
        loop {
            let m = self.max_offset(&master.addr()).await;
            let s = self.max_offset(&slave.addr()).await;
            if let (Some(m), Some(s)) = (m, s) {
                if m == s {
                    return m;
                }
            }
            assert!(
                started.elapsed() < limit,
                "master ({m:?}) and slave ({s:?}) did not reach the same offset within {limit:?}\n\
                 --- master log:\n{}\n--- slave log:\n{}",
                master.log_tail(),
                slave.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What one store's commit log holds, read record by record with the body CRC verified.
pub struct LogScan {
    /// First physical offset held.
    pub min: i64,
    /// Offset after the last record.
    pub max: i64,
    /// Record ids (the body up to its first `|`) of topic `topic` → how often each occurs.
    pub ids: HashMap<String, u32>,
    /// Records of every topic.
    pub records: usize,
}

impl LogScan {
    /// Copies beyond the first, over all ids.
    pub fn duplicates(&self) -> u64 {
        self.ids.values().map(|&n| u64::from(n - 1)).sum()
    }
}

/// Reads `store`'s whole commit log: every record must decode with a valid CRC and carry its
/// own physical offset; the gap-free walk from the first to the last record is the proof that
/// nothing is missing in between.
pub fn scan(store: &MessageStore, label: &str, topic: &str) -> LogScan {
    let (min, max) = (store.min_phy_offset(), store.max_phy_offset());
    let mut ids = HashMap::new();
    let mut records = 0;
    let mut pos = min;
    while pos < max {
        let chunk = store
            .read_commit_log(pos, usize::MAX)
            .unwrap_or_else(|| panic!("{label}: no commit log at {pos} (range {min}..{max})"));
        let bytes = chunk.as_slice();
        assert!(
            !bytes.is_empty(),
            "{label}: empty read at {pos} before {max}"
        );
        let mut at = 0usize;
        while at + 8 <= bytes.len() {
            let size = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
            let magic = u32::from_be_bytes(bytes[at + 4..at + 8].try_into().unwrap());
            assert!(
                size > 0,
                "{label}: record of size {size} at {}",
                pos + at as i64
            );
            if magic != BLANK_MAGIC_CODE {
                let record = decode_record(&bytes[at..], true)
                    .unwrap_or_else(|e| panic!("{label}: bad record at {}: {e}", pos + at as i64));
                assert_eq!(
                    record.physical_offset,
                    pos + at as i64,
                    "{label}: a record stored at the wrong physical offset"
                );
                records += 1;
                if record.topic == topic {
                    let body = String::from_utf8_lossy(record.body);
                    let id = body.split('|').next().unwrap_or_default().to_owned();
                    *ids.entry(id).or_insert(0) += 1;
                }
            }
            at += size as usize;
        }
        assert!(at > 0, "{label}: no whole record at {pos}");
        pos += at as i64;
    }
    assert_eq!(pos, max, "{label}: the last record overruns the max offset");
    LogScan {
        min,
        max,
        ids,
        records,
    }
}

/// Compares the two commit logs byte for byte over `[from, to)`; returns the CRC32 of the range
/// on each side (equal when the bytes are) or panics at the first differing offset.
pub fn compare_bytes(
    master: &MessageStore,
    slave: &MessageStore,
    from: i64,
    to: i64,
) -> (u32, u32) {
    let (mut crc_m, mut crc_s) = (crc32fast::Hasher::new(), crc32fast::Hasher::new());
    let mut pos = from;
    while pos < to {
        let want = usize::try_from(to - pos).unwrap();
        let m = master
            .read_commit_log(pos, want)
            .unwrap_or_else(|| panic!("master: nothing at {pos}"));
        let s = slave
            .read_commit_log(pos, want)
            .unwrap_or_else(|| panic!("slave: nothing at {pos}"));
        let n = m.len().min(s.len());
        assert!(
            n > 0,
            "no bytes at {pos} on one side (master {}, slave {})",
            m.len(),
            s.len()
        );
        let (mb, sb) = (&m.as_slice()[..n], &s.as_slice()[..n]);
        crc_m.update(mb);
        crc_s.update(sb);
        if let Some(i) = mb.iter().zip(sb).position(|(a, b)| a != b) {
            panic!(
                "the commit logs differ at physical offset {}",
                pos + i as i64
            );
        }
        pos += n as i64;
    }
    (crc_m.finalize(), crc_s.finalize())
}

/// Every consume queue of `topic` (queues 0..16) has the same max offset on both stores: the
/// slave built its queues from the replicated bytes like a local write.
pub fn compare_queues(master: &MessageStore, slave: &MessageStore, topic: &str) {
    for queue in 0..16 {
        assert_eq!(
            master.max_offset_in_queue(topic, queue),
            slave.max_offset_in_queue(topic, queue),
            "consume queue {topic}/{queue}: master and slave disagree"
        );
    }
}

/// Median and maximum of some durations, in milliseconds.
pub fn median_max_ms(samples: &[Duration]) -> (u128, u128) {
    let mut v: Vec<u128> = samples.iter().map(Duration::as_millis).collect();
    v.sort_unstable();
    (
        v.get(v.len() / 2).copied().unwrap_or(0),
        v.last().copied().unwrap_or(0),
    )
}
