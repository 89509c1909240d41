//! Broker-group failover through a 3-node controller group: id assignment, registration,
//! elections, fencing, and how fast a dead master is replaced.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::body::controller::SyncStateSet;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::controller::{AlterSyncStateSetRequestHeader, MasterInfoHeader};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

const GROUP: &str = "broker-a";

/// A cluster, a leader, and three heartbeating replicas of GROUP; replica 1 is master.
async fn group_of_three(progress: [Progress; 3]) -> (Cluster, String, Vec<Replica>) {
    let cluster = Cluster::start(3, 1000).await;
    let leader = cluster.addrs()[cluster.leader(Duration::from_secs(5)).await].clone();
    let mut replicas = Vec::new();
    for p in progress {
        let mut r = Replica::join(&cluster.client, &leader, GROUP).await;
        r.start_heartbeats(cluster.addrs(), p);
        replicas.push(r);
    }
    wait_alive(&cluster, &leader, 3).await;
    for r in &replicas {
        let answer = r.register(&cluster, &leader).await;
        assert!(ok(answer.code), "{:?}", answer.remark);
    }
    let first = replicas[0].elect(&cluster, &leader, false).await;
    assert!(ok(first.code), "{:?}", first.remark);
    let h: MasterInfoHeader = first.decode_header().unwrap();
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(1), Some(1)));
    // A second election keeps the live master.
    let again = replicas[1].elect(&cluster, &leader, false).await;
    assert_eq!(
        again.code,
        ResponseCode::CONTROLLER_MASTER_STILL_EXIST.as_i32()
    );
    (cluster, leader, replicas)
}

/// Waits until the leader sees `n` replicas of GROUP alive.
async fn wait_alive(cluster: &Cluster, leader: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = cluster
            .call(
                leader,
                RequestCode::CONTROLLER_GET_SYNC_STATE_DATA,
                &NoHeader {},
                serde_json::to_vec(&[GROUP]).unwrap(),
            )
            .await
            .unwrap();
        let info: rmq_remoting::body::controller::BrokerReplicasInfo =
            fastjson::from_slice(&answer.body).unwrap();
        let alive = info.replicas_info_table.get(GROUP).map(|r| {
            r.in_sync_replicas
                .iter()
                .chain(&r.not_in_sync_replicas)
                .filter(|x| x.alive)
                .count()
        });
        if alive == Some(n) {
            return;
        }
        assert!(Instant::now() < deadline, "replicas never alive: {info:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn alter(
    cluster: &Cluster,
    addr: &str,
    master: i64,
    master_epoch: i32,
    set: &[i64],
    set_epoch: i32,
) -> RemotingCommand {
    let body = fastjson::to_vec(
        &SyncStateSet {
            sync_state_set: set.iter().copied().collect(),
            sync_state_set_epoch: set_epoch,
        },
        KeyStyle::Fastjson,
    );
    cluster
        .call(
            addr,
            RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET,
            &AlterSyncStateSetRequestHeader {
                broker_name: GROUP.into(),
                master_broker_id: master,
                master_epoch,
                invoke_time: 0,
            },
            body,
        )
        .await
        .unwrap()
}

/// Waits for a role-change notification naming a master at `epoch`.
async fn notified(
    replica: &mut Replica,
    epoch: i32,
    within: Duration,
) -> (MasterInfoHeader, Instant) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next = tokio::time::timeout_at(deadline, replica.notified.recv()).await;
        let (h, at) = next.expect("no role-change notification in time").unwrap();
        if h.master_epoch == Some(epoch) {
            return (h, at);
        }
    }
}

const EVEN: Progress = Progress {
    epoch: 1,
    max_offset: 100,
    priority: 0,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_replaced_by_the_most_up_to_date_in_sync_replica() {
    let ahead = Progress {
        max_offset: 500,
        ..EVEN
    };
    let (cluster, leader, mut replicas) = group_of_three([EVEN, EVEN, ahead]).await;
    let set = alter(&cluster, &leader, 1, 1, &[1, 2, 3], 1).await;
    assert!(ok(set.code), "{:?}", set.remark);

    let killed_at = Instant::now();
    replicas[0].kill_heartbeats().await;
    let (h, at) = notified(&mut replicas[1], 2, Duration::from_secs(3)).await;
    let took = at - killed_at;
    eprintln!("master killed -> new master notified in {took:?}");
    assert_eq!(h.master_broker_id, Some(3));
    assert_eq!(h.master_address.as_deref(), Some(replicas[2].addr.as_str()));
    assert!(took < Duration::from_millis(500), "failover took {took:?}");
    let (_, me) = notified(&mut replicas[2], 2, Duration::from_secs(1)).await;
    assert!(me >= killed_at);

    // Every controller answers the same master.
    for addr in cluster.addrs() {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let (code, h) = replica_info(&cluster, &addr, GROUP).await;
            if ok(code) && h.master_broker_id == Some(3) {
                assert_eq!(h.master_epoch, Some(2));
                break;
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // The old master's view is stale: fenced.
    let stale = alter(&cluster, &leader, 1, 1, &[1, 2], 2).await;
    assert_eq!(stale.code, ResponseCode::CONTROLLER_INVALID_MASTER.as_i32());
    let stale_epoch = alter(&cluster, &leader, 3, 1, &[3, 2], 3).await;
    assert_eq!(
        stale_epoch.code,
        ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH.as_i32()
    );
    let dead_member = alter(&cluster, &leader, 3, 2, &[3, 1], 3).await;
    assert_eq!(
        dead_member.code,
        ResponseCode::CONTROLLER_BROKER_NOT_ALIVE.as_i32()
    );
    let fine = alter(&cluster, &leader, 3, 2, &[3, 2], 3).await;
    assert!(ok(fine.code), "{:?}", fine.remark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_sync_replica_is_elected_only_when_unclean_elections_are_enabled() {
    let (cluster, leader, mut replicas) = group_of_three([EVEN, EVEN, EVEN]).await;
    // The in-sync set stays {1}: 2 and 3 lag.
    replicas[0].kill_heartbeats().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (code, h) = replica_info(&cluster, &leader, GROUP).await;
        if ok(code) && h.master_epoch == Some(2) {
            assert_eq!(
                h.master_broker_id, None,
                "an out-of-sync replica became master"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead master was never removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = replicas[1].elect(&cluster, &leader, false).await;
    assert_eq!(
        refused.code,
        ResponseCode::CONTROLLER_ELECT_MASTER_FAILED.as_i32()
    );

    let update = cluster
        .call(
            &leader,
            RequestCode::UPDATE_CONTROLLER_CONFIG,
            &NoHeader {},
            b"enableElectUncleanMaster=true\n".to_vec(),
        )
        .await
        .unwrap();
    assert!(ok(update.code), "{:?}", update.remark);
    let path = cluster
        .call(
            &leader,
            RequestCode::UPDATE_CONTROLLER_CONFIG,
            &NoHeader {},
            b"controllerStorePath=/tmp/x\n".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(path.code, ResponseCode::NO_PERMISSION.as_i32());

    let designated = replicas[2].elect(&cluster, &leader, true).await;
    assert!(ok(designated.code), "{:?}", designated.remark);
    let h: MasterInfoHeader = designated.decode_header().unwrap();
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(3), Some(3)));
    notified(&mut replicas[1], 3, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_master_is_replaced_after_its_heartbeat_timeout() {
    let (cluster, leader, mut replicas) = group_of_three([EVEN, EVEN, EVEN]).await;
    assert!(ok(alter(&cluster, &leader, 1, 1, &[1, 2], 1).await.code));
    let frozen_at = Instant::now();
    replicas[0].freeze_heartbeats();
    let (h, at) = notified(&mut replicas[1], 2, Duration::from_secs(5)).await;
    let took = at - frozen_at;
    eprintln!(
        "master silent -> new master notified in {took:?} (heartbeat timeout 1 s, scan 100 ms)"
    );
    assert_eq!(h.master_broker_id, Some(2));
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_raft_majority_no_election_happens_and_roles_stay() {
    let (mut cluster, leader, mut replicas) = group_of_three([EVEN, EVEN, EVEN]).await;
    assert!(ok(alter(&cluster, &leader, 1, 1, &[1, 2], 1).await.code));
    let leader_index = cluster.addrs().iter().position(|a| *a == leader).unwrap();
    for i in 0..3 {
        if i != leader_index {
            cluster.stop(i).await;
        }
    }
    replicas[0].kill_heartbeats().await;
    // The election cannot commit: nobody is told, and the recorded master stays.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Some((h, _))) =
        tokio::time::timeout_at(deadline, replicas[1].notified.recv()).await
    {
        assert_eq!(
            h.master_epoch,
            Some(1),
            "a minority controller elected a master"
        );
    }
    let (code, h) = replica_info(&cluster, &leader, GROUP).await;
    assert!(ok(code));
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(1), Some(1)));
    // Heartbeats and reads still work; writes fail with a reason instead of hanging.
    let refused = replicas[1].elect(&cluster, &leader, true).await;
    eprintln!(
        "write without majority: {} {:?}",
        refused.code, refused.remark
    );
    assert!(!ok(refused.code));
}
