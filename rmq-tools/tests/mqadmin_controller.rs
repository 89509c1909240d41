//! The real `mqadmin` controller commands against an in-process single-node controller on an
//! ephemeral port: output layout and refusals.

use std::process::Command;
use std::time::{Duration, Instant};

use rmq_controller::{Controller, ControllerConfig};
use rmq_remoting::header::controller::*;
use rmq_remoting::header::namesrv::BrokerHeartbeatRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

async fn mqadmin(args: &[&str]) -> (bool, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mqadmin"))
            .args(&args)
            .env_remove("NAMESRV_ADDR")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn ok(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    let answer = client
        .invoke(addr, request, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        answer.code,
        ResponseCode::SUCCESS.as_i32(),
        "{:?}",
        answer.remark
    );
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_commands_print_like_apache() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = ControllerConfig {
        controller_dleger_peers: format!("n0-{addr}"),
        controller_store_path: dir.path().display().to_string(),
        ..ControllerConfig::default()
    };
    let controller = Controller::start(config, "test").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(controller.clone().serve(listener, async {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !controller.is_leader() {
        assert!(Instant::now() < deadline, "a single controller never led");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (success, out, _) = mqadmin(&["getControllerMetaData", "-a", &addr]).await;
    assert!(success);
    assert!(out.contains("#ControllerGroup\tgroup1"), "{out}");
    assert!(
        out.contains(&format!("#ControllerLeaderAddress\t{addr}")),
        "{out}"
    );
    assert!(out.contains(&format!("#Peer:\tn0-{addr}")), "{out}");

    // One replica applies, registers, heartbeats and is elected.
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let broker = "127.0.0.1:10911";
    ok(
        &client,
        &addr,
        RemotingCommand::request(
            RequestCode::CONTROLLER_APPLY_BROKER_ID,
            &ApplyBrokerIdRequestHeader {
                cluster_name: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                applied_broker_id: 1,
                register_check_code: format!("{broker};1"),
            },
        ),
    )
    .await;
    ok(
        &client,
        &addr,
        RemotingCommand::request(
            RequestCode::BROKER_HEARTBEAT,
            &BrokerHeartbeatRequestHeader {
                cluster_name: "DefaultCluster".into(),
                broker_addr: broker.into(),
                broker_name: "broker-a".into(),
                broker_id: Some(1),
                epoch: Some(0),
                max_offset: Some(0),
                confirm_offset: Some(0),
                heartbeat_timeout_mills: Some(60_000),
                election_priority: None,
            },
        ),
    )
    .await;

    let (success, out, _) = mqadmin(&[
        "electMaster",
        "-a",
        &addr,
        "-c",
        "DefaultCluster",
        "-bn",
        "broker-a",
        "-b",
        "1",
    ])
    .await;
    assert!(success, "{out}");
    assert!(
        out.contains(&format!("#BrokerMasterAddr\t{broker}")),
        "{out}"
    );
    assert!(out.contains("#MasterEpoch\t1"), "{out}");
    assert!(out.contains(&format!("\t#Broker\t1\t{broker}")), "{out}");

    let (success, out, _) = mqadmin(&["getSyncStateSet", "-a", &addr, "-b", "broker-a"]).await;
    assert!(success);
    assert!(
        out.contains("#brokerName\tbroker-a\n#MasterBrokerId\t1\n"),
        "{out}"
    );
    assert!(out.contains("#SyncStateSetNums\t1"), "{out}");
    assert!(
        out.contains(&format!("InSyncReplica:\tReplicaIdentity{{brokerName='broker-a', brokerId=1, brokerAddress='{broker}', alive=true}}")),
        "{out}"
    );

    let (success, _, err) = mqadmin(&[
        "electMaster",
        "-a",
        &addr,
        "-c",
        "DefaultCluster",
        "--brokerName",
        "broker-z",
        "-i",
        "1",
    ])
    .await;
    assert!(!success);
    assert!(
        err.contains("CONTROLLER_BROKER_NEED_TO_BE_REGISTERED"),
        "{err}"
    );
    let (success, _, err) = mqadmin(&["getBrokerEpoch", "-b", "broker-a"]).await;
    assert!(!success);
    assert!(err.contains("-n"), "{err}");

    let _ = stop.send(());
    serving.await.unwrap();
}
