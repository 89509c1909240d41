//! `enableControllerInNamesrv=true`: the real `mqnamesrv` also serves the controller on its
//! peer port, from one file holding both sets of keys (Apache 5's `namesrv-n0.conf`).

use std::process::Command;
use std::time::{Duration, Instant};

use rmq_remoting::header::controller::{
    GetMetaDataResponseHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

#[tokio::test]
async fn the_name_server_runs_a_controller_on_its_peer_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = rmq_testkit::free_port();
    let conf = dir.path().join("namesrv-n0.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort = 0\nbindAddress = 127.0.0.1\nenableControllerInNamesrv = true\n\
             controllerDLegerGroup = group1\ncontrollerDLegerPeers = n0-127.0.0.1:{port}\n\
             controllerDLegerSelfId = n0\ncontrollerType = DLedger\ncontrollerStorePath = {}\nkvConfigPath = {}\n",
            dir.path().join("controller").display(),
            dir.path().join("kv.json").display()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"));
    command.arg("-c").arg(&conf);
    let namesrv = ServerProcess::start(command);
    let controller = format!("127.0.0.1:{port}");
    let client = RemotingClient::new(TransportConfig::default(), Router::new());

    // The name server answers as before.
    let topics = client
        .invoke(
            &namesrv.addr,
            RemotingCommand::request_without_header(
                RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            ),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(topics.code, ResponseCode::SUCCESS.as_i32());

    // A single-node controller group leads itself once elected.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client
            .invoke(
                &controller,
                RemotingCommand::request_without_header(RequestCode::CONTROLLER_GET_METADATA_INFO),
                Duration::from_secs(3),
            )
            .await
            .unwrap();
        let h: GetMetaDataResponseHeader = answer.decode_header().unwrap();
        if h.is_leader {
            assert_eq!(h.group.as_deref(), Some("group1"));
            assert_eq!(
                h.controller_leader_address.as_deref(),
                Some(controller.as_str())
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the embedded controller never led"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = client
        .invoke(
            &controller,
            RemotingCommand::request(
                RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
                &GetNextBrokerIdRequestHeader {
                    cluster_name: "c".into(),
                    broker_name: "broker-a".into(),
                },
            ),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(
        next.code,
        ResponseCode::SUCCESS.as_i32(),
        "{:?}",
        next.remark
    );
    let h: GetNextBrokerIdResponseHeader = next.decode_header().unwrap();
    assert_eq!(h.next_broker_id, Some(1));
}
