//! The Raft layer of a 3-node controller group on real TCP: leader loss, restart from disk,
//! snapshot installation.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::body::controller::BrokerReplicasInfo;
use rmq_remoting::fastjson;
use rmq_remoting::{RequestCode, ResponseCode};

async fn sync_state(cluster: &Cluster, addr: &str, names: &[&str]) -> BrokerReplicasInfo {
    let answer = cluster
        .call(
            addr,
            RequestCode::CONTROLLER_GET_SYNC_STATE_DATA,
            &NoHeader {},
            serde_json::to_vec(names).unwrap(),
        )
        .await
        .unwrap();
    assert!(ok(answer.code), "{:?}", answer.remark);
    fastjson::from_slice(&answer.body).unwrap()
}

/// Polls `addr` until its local state lists `expected` groups with `members` replicas each.
async fn wait_for_state(cluster: &Cluster, addr: &str, names: &[&str], members: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = sync_state(cluster, addr, names).await;
        let complete = info.replicas_info_table.len() == names.len()
            && info
                .replicas_info_table
                .values()
                .all(|r| r.in_sync_replicas.len() + r.not_in_sync_replicas.len() == members);
        if complete {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} never caught up: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_loss_elects_a_new_leader_and_a_restarted_node_recovers_its_state() {
    let mut cluster = Cluster::start(3, 1000).await;
    let leader = cluster.leader(Duration::from_secs(5)).await;
    let _first = Replica::join(&cluster.client, &cluster.addrs()[leader], "broker-a").await;

    let stopped_at = Instant::now();
    cluster.stop(leader).await;
    let new_leader = cluster.leader(Duration::from_secs(5)).await;
    let took = stopped_at.elapsed();
    eprintln!("controller leader re-elected in {took:?}");
    assert_ne!(new_leader, leader);
    assert!(
        took < Duration::from_secs(3),
        "leader election took {took:?}"
    );

    // Writes continue on the new leader.
    let second = Replica::join(&cluster.client, &cluster.addrs()[new_leader], "broker-a").await;
    assert_eq!(second.id, 2);
    // A follower refuses writes and names the leader.
    let follower = cluster
        .running()
        .into_iter()
        .find(|i| *i != new_leader)
        .unwrap();
    let refused = cluster
        .call(
            &cluster.addrs()[follower],
            RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
            &rmq_remoting::header::controller::GetNextBrokerIdRequestHeader {
                cluster_name: CLUSTER.into(),
                broker_name: "broker-a".into(),
            },
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused.code, ResponseCode::CONTROLLER_NOT_LEADER.as_i32());
    assert!(refused
        .remark
        .unwrap()
        .contains(&cluster.addrs()[new_leader]));

    // The old leader restarts from its log and learns what it missed.
    cluster.restart(leader).await;
    let addr = cluster.addrs()[leader].clone();
    wait_for_state(&cluster, &addr, &["broker-a"], 2).await;
    // Stopping everything and restarting from disk keeps the state.
    for i in 0..3 {
        cluster.stop(i).await;
    }
    for i in 0..3 {
        cluster.restart(i).await;
    }
    cluster.leader(Duration::from_secs(5)).await;
    for addr in cluster.addrs() {
        wait_for_state(&cluster, &addr, &["broker-a"], 2).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_an_empty_store_gets_a_snapshot() {
    let mut cluster = Cluster::start(3, 5).await;
    let leader = cluster.leader(Duration::from_secs(5)).await;
    let lagging = (leader + 1) % 3;
    cluster.stop(lagging).await;
    std::fs::remove_dir_all(&cluster.nodes[lagging].dir).unwrap();

    let names: Vec<String> = (0..20).map(|i| format!("broker-{i}")).collect();
    let leader_addr = cluster.addrs()[leader].clone();
    let mut replicas = Vec::new();
    for name in &names {
        replicas.push(Replica::join(&cluster.client, &leader_addr, name).await);
    }
    // Snapshots and purges run in the background after the writes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let purged = cluster.controller(leader).last_purged_index();
        if purged.is_some_and(|p| p > 5) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the leader kept its whole log: {purged:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    cluster.restart(lagging).await;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let addr = cluster.addrs()[lagging].clone();
    wait_for_state(&cluster, &addr, &refs, 1).await;
    assert!(cluster.nodes[lagging].dir.join("snapshot.bin").exists());
}
