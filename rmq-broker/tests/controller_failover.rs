//! Automatic failover end to end (controller mode, `docs/replication.md` "Failover"): three
//! controllers (Raft over real TCP on 127.0.0.1, in this process), a name server, and three
//! `mqbroker` processes of one group with `brokerId=-1`, `enableControllerMode=true` and
//! `allAckInSyncStateSet=true`. Producers send synchronously all along; the current master is
//! killed with SIGKILL (or, every third cycle, stopped with SIGSTOP and resumed after the new
//! master took over) and restarted on its store. Each cycle must elect a new master and resume
//! acknowledged sends. At the end every acknowledged message is in the last master's commit log,
//! and the replicas' epoch files agree on where each epoch started (one master per epoch).
//! Finally two of the three controllers stop: sends must go on with the same master.
//!
//! `RMQ_FAILOVER_CYCLES` sets the cycles (default 6); `RMQ_FAILOVER_KEEP=1` keeps the stores
//! and logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_controller::{Controller, ControllerConfig};
use rmq_remoting::header::controller::{GetReplicaInfoRequestHeader, MasterInfoHeader};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_testkit::ServerProcess;
use tokio_util::sync::CancellationToken;

mod common;
mod ha;
use common::{free_port, mqbroker, name_server};
use ha::senders::{first_ok_after, Senders};
use ha::{env_or, median_max_ms, scan};

const TOPIC: &str = "FailoverLoop";
const GROUP: &str = "failover-a";
const SENDERS: usize = 4;
/// Longest wait for an acknowledged send after a master died.
const LIMIT: Duration = Duration::from_secs(30);
const FILE: u64 = 1024 * 1024;
/// Linux signal numbers.
const SIGSTOP: i32 = 19;
const SIGCONT: i32 = 18;

/// One replica: ports and store survive its restarts.
struct Replica {
    label: String,
    port: u16,
    ha_port: u16,
    store: PathBuf,
    log: PathBuf,
}

impl Replica {
    fn new(dir: &Path, n: usize) -> Self {
        Replica {
            label: format!("replica{n}"),
            port: free_port(),
            ha_port: free_port(),
            store: dir.join(format!("replica{n}")),
            log: dir.join(format!("replica{n}.log")),
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn start(&self, namesrv: &str, controllers: &str) -> ServerProcess {
        let args: Vec<String> = [
            ("--brokerId", "-1".to_owned()),
            ("--enableControllerMode", "true".to_owned()),
            ("--controllerAddr", controllers.to_owned()),
            ("--allAckInSyncStateSet", "true".to_owned()),
            ("--brokerIP2", "127.0.0.1".to_owned()),
            ("--listenPort", self.port.to_string()),
            ("--haListenPort", self.ha_port.to_string()),
            ("--mappedFileSizeCommitLog", FILE.to_string()),
            ("--controllerHeartBeatTimeoutMills", "3000".to_owned()),
            ("--syncBrokerMetadataPeriod", "1000".to_owned()),
            ("--checkSyncStateSetPeriod", "200".to_owned()),
            ("--haSendHeartbeatInterval", "500".to_owned()),
            ("--syncFlushTimeout", "3000".to_owned()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect();
        let mut command = mqbroker(namesrv, GROUP, &self.store, &args);
        command.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        );
        ServerProcess::start_logging_to(command, &self.log)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {}:\n{}",
            self.label,
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }

    /// `epoch -> startOffset` from the replica's epoch file.
    fn epochs(&self) -> BTreeMap<i32, i64> {
        let text =
            std::fs::read_to_string(self.store.join("epochFileCheckpoint")).unwrap_or_default();
        text.lines()
            .skip(2)
            .filter_map(|l| {
                let (e, s) = l.split_once('-')?;
                Some((e.parse().ok()?, s.parse().ok()?))
            })
            .collect()
    }
}

/// Three controllers on real TCP, served from this process; each stops when its token is
/// cancelled.
async fn controllers(dir: &Path) -> (String, Vec<(Arc<Controller>, CancellationToken)>) {
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let peers = rmq_controller::peer_list(&addrs);
    let mut nodes = Vec::new();
    for i in 0..3 {
        let config = ControllerConfig {
            controller_dleger_peers: peers.clone(),
            controller_dleger_self_id: format!("n{i}"),
            controller_store_path: dir.join(format!("controller{i}")).display().to_string(),
            scan_not_active_broker_interval: 500,
            ..ControllerConfig::default()
        };
        let controller = Controller::start(config, "test").await.unwrap();
        let listener = rmq_controller::bind_peer_port(controller.peer_addr())
            .await
            .unwrap();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(
            controller
                .clone()
                .serve(listener, async move { stopped.cancelled().await }),
        );
        nodes.push((controller, stop));
    }
    (addrs.join(";"), nodes)
}

/// The group's master address and epoch as a controller knows them.
async fn master_of(client: &RemotingClient, controllers: &str) -> Option<(String, i32)> {
    for addr in controllers.split(';') {
        let header = GetReplicaInfoRequestHeader {
            broker_name: GROUP.to_owned(),
        };
        let request = RemotingCommand::request(RequestCode::CONTROLLER_GET_REPLICA_INFO, &header);
        let Ok(r) = client.invoke(addr, request, Duration::from_secs(2)).await else {
            continue;
        };
        let h: MasterInfoHeader = r.decode_header().unwrap_or_default();
        if let (Some(a), Some(e)) = (h.master_address.filter(|a| !a.is_empty()), h.master_epoch) {
            return Some((a, e));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_or_hung_master_is_replaced_without_losing_acknowledged_messages() {
    let cycles = env_or("RMQ_FAILOVER_CYCLES", 6usize);
    let t0 = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("failover")
        .tempdir()
        .unwrap();
    let (ctl, controller_nodes) = controllers(work.path()).await;
    let ns = name_server().await;
    let replicas: Vec<Replica> = (0..3).map(|n| Replica::new(work.path(), n)).collect();
    let mut processes: Vec<Option<ServerProcess>> =
        replicas.iter().map(|r| Some(r.start(&ns, &ctl))).collect();
    let logs = || {
        replicas
            .iter()
            .map(Replica::log_tail)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let admin = RemotingClient::new(TransportConfig::default(), Router::new());

    let senders = Senders::start(
        &ns,
        "failover-loop",
        TOPIC,
        SENDERS,
        Duration::from_millis(200),
        t0,
    )
    .await;
    let out = senders.out.clone();
    first_ok_after(&out, t0, Duration::ZERO, LIMIT, &logs).await;
    // Let both slaves join the in-sync set.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut killed = Vec::new();
    let mut hung = Vec::new();
    for cycle in 1..=cycles {
        let (master_addr, epoch) = master_of(&admin, &ctl).await.expect("a master");
        let victim = replicas
            .iter()
            .position(|r| r.addr() == master_addr)
            .unwrap_or_else(|| panic!("the master {master_addr} is none of ours"));
        let stopped = cycle % 3 == 0;
        let since = t0.elapsed();
        if stopped {
            processes[victim].as_ref().unwrap().signal(SIGSTOP);
        } else {
            drop(processes[victim].take()); // SIGKILL, then reaped
        }
        let (new_master, new_epoch, elected) = loop {
            if let Some((m, e)) = master_of(&admin, &ctl).await.filter(|(_, e)| *e > epoch) {
                break (m, e, t0.elapsed() - since);
            }
            assert!(
                t0.elapsed() - since < Duration::from_secs(30),
                "no new master within 30 s\n{}",
                logs()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let took = first_ok_after(&out, t0, since, LIMIT, &logs).await;
        assert!(
            new_epoch > epoch && new_master != master_addr,
            "cycle {cycle}: still {master_addr} at epoch {new_epoch}\n{}",
            logs()
        );
        println!("cycle {cycle}: {} master {master_addr} (epoch {epoch}) -> {new_master} (epoch {new_epoch}) elected after {elected:?}; first SEND_OK after {took:?}",
            if stopped { "SIGSTOPped" } else { "killed" });
        if stopped {
            hung.push(elected);
            processes[victim].as_ref().unwrap().signal(SIGCONT);
        } else {
            killed.push(took);
            processes[victim] = Some(replicas[victim].start(&ns, &ctl));
        }
        // The old master rejoins as a slave and catches up before the next cycle.
        tokio::time::sleep(Duration::from_secs(4)).await;
    }

    // Losing the controllers' majority stops elections, not the running master.
    let (master_before, epoch_before) = master_of(&admin, &ctl).await.expect("a master");
    for (node, token) in &controller_nodes[1..] {
        token.cancel();
        node.shutdown().await;
    }
    let since = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    first_ok_after(&out, t0, since + Duration::from_secs(2), LIMIT, &logs).await;
    let (master_after, epoch_after) = master_of(&admin, &ctl)
        .await
        .expect("the last controller still answers");
    assert_eq!(
        (master_after.as_str(), epoch_after),
        (master_before.as_str(), epoch_before)
    );

    senders.stop().await;
    let (last_master, _) = master_of(&admin, &ctl).await.expect("a master at the end");
    tokio::time::sleep(Duration::from_secs(2)).await;
    for p in processes.iter_mut() {
        if let Some(p) = p.take() {
            assert!(
                p.stop(Duration::from_secs(30)).is_some_and(|s| s.success()),
                "a broker did not stop cleanly\n{}",
                logs()
            );
        }
    }
    let acked = out.acked.lock().unwrap();
    let master = replicas.iter().find(|r| r.addr() == last_master).unwrap();
    let store = rmq_store::MessageStore::open(rmq_store::StoreConfig {
        store_path_root_dir: master.store.clone(),
        mapped_file_size_commit_log: FILE,
        mapped_file_size_consume_queue: common::CONSUME_QUEUE_FILE,
        ..rmq_store::StoreConfig::default()
    })
    .unwrap();
    let log = scan(&store, &master.label, TOPIC);
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !log.ids.contains_key(*id))
        .collect();
    let (k_med, k_max) = median_max_ms(&killed);
    let (h_med, h_max) = median_max_ms(&hung);
    println!(
        "failover: {cycles} cycles in {:.0} s; {} sends acknowledged, {} answered without SEND_OK, {} failed; \
         acked-lost {}; duplicates {}; killed master -> first SEND_OK: median {k_med} ms, max {k_max} ms; \
         SIGSTOPped master -> new master elected: median {h_med} ms, max {h_max} ms (controllerHeartBeatTimeoutMills 3000; \
         the first SEND_OK also waits for the client's sends stuck on the hung master)",
        t0.elapsed().as_secs_f64(),
        acked.len(),
        out.not_ok.load(Ordering::Relaxed),
        out.errors.load(Ordering::Relaxed),
        lost.len(),
        log.duplicates(),
    );
    assert!(
        lost.is_empty(),
        "acknowledged messages missing on the last master: {:?}",
        &lost[..lost.len().min(10)]
    );
    // One master per epoch: every replica that lists an epoch agrees where it started.
    let mut starts: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &replicas {
        for (epoch, start) in r.epochs() {
            let first = *starts.entry(epoch).or_insert(start);
            assert_eq!(
                first, start,
                "epoch {epoch} starts at {first} on one replica and {start} on {}",
                r.label
            );
        }
    }
    assert!(starts.len() > cycles, "an epoch per election: {starts:?}");
    if std::env::var("RMQ_FAILOVER_KEEP").is_ok_and(|v| v == "1") {
        println!("stores and logs kept in {}", work.keep().display());
    }
}
