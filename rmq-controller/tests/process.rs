//! Real `mqcontroller` processes: kill -9 of the leader, and (ignored) the footprint of a
//! controller group serving 100 broker groups.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::header::controller::GetMetaDataResponseHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::RequestCode;
use rmq_testkit::ServerProcess;

struct Group {
    processes: Vec<Option<ServerProcess>>,
    addrs: Vec<String>,
    _dir: tempfile::TempDir,
}

fn start_group(n: usize) -> Group {
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..n)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let peers = rmq_controller::peer_list(&addrs);
    let processes = (0..n)
        .map(|i| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_mqcontroller"));
            command
                .args([
                    "--controllerDLegerPeers",
                    &peers,
                    "--controllerDLegerSelfId",
                    &format!("n{i}"),
                ])
                .arg("--controllerStorePath")
                .arg(dir.path().join(format!("n{i}")));
            Some(ServerProcess::start(command))
        })
        .collect();
    Group {
        processes,
        addrs,
        _dir: dir,
    }
}

async fn leader_of(client: &RemotingClient, addrs: &[String], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        for (i, addr) in addrs.iter().enumerate() {
            if let Ok(answer) = call(
                client,
                addr,
                RequestCode::CONTROLLER_GET_METADATA_INFO,
                &NoHeader {},
                vec![],
            )
            .await
            {
                let h: GetMetaDataResponseHeader = answer.decode_header().unwrap();
                if h.is_leader {
                    return i;
                }
            }
        }
        assert!(Instant::now() < deadline, "no leader within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_process_elects_a_new_leader_that_accepts_writes() {
    let mut group = start_group(3);
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let leader = leader_of(&client, &group.addrs, Duration::from_secs(10)).await;
    let first = Replica::join(&client, &group.addrs[leader], "broker-a").await;
    assert_eq!(first.id, 1);

    let killed_at = Instant::now();
    group.processes[leader].take().unwrap().signal(9);
    client.close_all().await;
    let others: Vec<String> = group
        .addrs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leader)
        .map(|(_, a)| a.clone())
        .collect();
    let new_leader = leader_of(&client, &others, Duration::from_secs(5)).await;
    eprintln!(
        "leader process killed -> new leader in {:?}",
        killed_at.elapsed()
    );
    let second = Replica::join(&client, &others[new_leader], "broker-a").await;
    assert_eq!(second.id, 2, "the new leader lost the first replica's id");
}

fn proc_stat(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    (rss_kb, ticks)
}

/// `cargo test -p rmq-controller --release --test process -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 20 s measurement"]
async fn footprint_with_100_broker_groups() {
    let group = start_group(3);
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let leader = leader_of(&client, &group.addrs, Duration::from_secs(10)).await;
    let mut replicas = Vec::new();
    for g in 0..100 {
        for _ in 0..2 {
            let mut r = Replica::join(&client, &group.addrs[leader], &format!("broker-{g}")).await;
            // Apache's brokers heartbeat to the controller every second with a 10 s timeout.
            r.heartbeat_every(
                group.addrs.clone(),
                Progress {
                    epoch: 0,
                    max_offset: 0,
                    priority: 0,
                },
                Duration::from_secs(1),
                10_000,
            );
            replicas.push(r);
        }
        let elected = elect(
            &client,
            &group.addrs[leader],
            &format!("broker-{g}"),
            1,
            false,
        )
        .await;
        assert!(ok(elected.code), "{:?}", elected.remark);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pids: Vec<u32> = group
        .processes
        .iter()
        .map(|p| p.as_ref().unwrap().pid())
        .collect();
    let before: Vec<(u64, u64)> = pids.iter().map(|p| proc_stat(*p)).collect();
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    for (i, pid) in pids.iter().enumerate() {
        let (rss, ticks) = proc_stat(*pid);
        let cpu = (ticks - before[i].1) as f64 / ticks_per_sec / window.as_secs_f64() * 100.0;
        eprintln!(
            "controller n{i}{}: RSS {:.1} MiB, CPU {cpu:.1}% of one core (200 replicas heartbeating every second)",
            if i == leader { " (leader)" } else { "" },
            rss as f64 / 1024.0
        );
    }
}
