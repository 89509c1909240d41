//! The real `mqbroker` binary with a name server, over real TCP: sends, pulls, long polling,
//! registration, and the refusals a user must be able to act on.

use std::time::{Duration, Instant};

use rmq_remoting::body::route::TopicRouteData;
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::{
    PullMessageRequestHeader, QueryConsumerOffsetRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::message::{decode_record, encode_properties};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

mod common;
use common::{name_server, BrokerProcess};

const T: Duration = Duration::from_secs(5);

fn client() -> RemotingClient {
    RemotingClient::new(TransportConfig::default(), Router::new())
}

fn send_request(topic: &str, queue_id: i32, body: &[u8], tags: &str) -> RemotingCommand {
    let properties = encode_properties([
        ("TAGS", tags),
        ("KEYS", "k1"),
        ("UNIQ_KEY", "C0A80105303918B4AAC2000000000001"),
        ("WAIT", "true"),
    ]);
    let header = SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1,
        flag: 0,
        properties: Some(properties),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        bname: None,
    };
    RemotingCommand::request(RequestCode::SEND_MESSAGE_V2, &header).with_body(body.to_vec())
}

fn pull_request(
    topic: &str,
    queue_id: i32,
    offset: i64,
    suspend_ms: i64,
    expression: &str,
) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x2 | 0x4,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some(expression.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
        bname: None,
    };
    RemotingCommand::request(RequestCode::PULL_MESSAGE, &header)
}

fn bodies(response: &RemotingCommand) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = &response.body[..];
    while !rest.is_empty() {
        let record = decode_record(rest, true).unwrap();
        out.push(record.body.to_vec());
        rest = &rest[record.total_size as usize..];
    }
    out
}

#[tokio::test]
async fn send_pull_and_route_registration() {
    let ns = name_server().await;
    let broker = BrokerProcess::start(&ns, "broker-a", &[]);
    let c = client();
    for i in 0..3 {
        let sent = c
            .invoke(
                &broker.server.addr,
                send_request("Orders", 0, format!("m{i}").as_bytes(), "TagA"),
                T,
            )
            .await
            .unwrap();
        assert_eq!(sent.code, 0, "{:?}", sent.remark);
        let header: SendMessageResponseHeader = sent.decode_header().unwrap();
        assert_eq!(header.queue_offset, i);
        assert_eq!(header.msg_id.len(), 32);
    }
    let pulled = c
        .invoke(&broker.server.addr, pull_request("Orders", 0, 0, 0, "*"), T)
        .await
        .unwrap();
    assert_eq!(pulled.code, 0, "{:?}", pulled.remark);
    assert_eq!(
        bodies(&pulled),
        vec![b"m0".to_vec(), b"m1".to_vec(), b"m2".to_vec()]
    );
    let other_tag = c
        .invoke(
            &broker.server.addr,
            pull_request("Orders", 0, 0, 0, "TagB"),
            T,
        )
        .await
        .unwrap();
    assert_ne!(other_tag.code, 0, "TagB matches nothing");

    // The auto-created topic reaches the name server without waiting for the 30 s period.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let request = RemotingCommand::request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: "Orders".into(),
                accept_standard_json_only: None,
            },
        );
        let route = c.invoke(&ns, request, T).await.unwrap();
        if route.code == 0 {
            let route: TopicRouteData = fastjson::from_slice(&route.body).unwrap();
            assert_eq!(route.broker_datas[0].broker_addrs[&0], broker.server.addr);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Orders never reached the name server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let query = QueryConsumerOffsetRequestHeader {
        consumer_group: "new-group".into(),
        topic: "Orders".into(),
        queue_id: 0,
        set_zero_if_not_found: None,
        bname: None,
    };
    let offset = c
        .invoke(
            &broker.server.addr,
            RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET, &query),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        offset.code, 0,
        "a new group starts at 0 while the queue starts at 0"
    );
}

#[tokio::test]
async fn a_parked_pull_returns_as_soon_as_a_message_arrives() {
    let ns = name_server().await;
    let broker = BrokerProcess::start(&ns, "broker-a", &[]);
    let c = std::sync::Arc::new(client());
    assert_eq!(
        c.invoke(
            &broker.server.addr,
            send_request("Waiting", 1, b"first", "a"),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    let started = Instant::now();
    let waiter = {
        let (c, addr) = (c.clone(), broker.server.addr.clone());
        tokio::spawn(async move {
            c.invoke(
                &addr,
                pull_request("Waiting", 1, 1, 10_000, "*"),
                Duration::from_secs(15),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the pull is parked");
    assert_eq!(
        c.invoke(
            &broker.server.addr,
            send_request("Waiting", 1, b"second", "a"),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    let response = waiter.await.unwrap().unwrap();
    assert_eq!(response.code, 0);
    assert_eq!(bodies(&response), vec![b"second".to_vec()]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken by the arrival, not the timeout"
    );

    let idle = c
        .invoke(
            &broker.server.addr,
            pull_request("Waiting", 1, 2, 300, "*"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        idle.code,
        ResponseCode::PULL_NOT_FOUND.as_i32(),
        "nothing arrives: not found after the suspend timeout"
    );
    let moved = c
        .invoke(
            &broker.server.addr,
            pull_request("Waiting", 1, 99, 0, "*"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(moved.code, ResponseCode::PULL_OFFSET_MOVED.as_i32());
    assert!(moved.remark.unwrap().contains("outside [0, 2]"));
}

#[tokio::test]
async fn refusals_carry_the_right_code_and_an_actionable_remark() {
    let ns = name_server().await;
    let strict = BrokerProcess::start(
        &ns,
        "broker-a",
        &[
            "--autoCreateTopicEnable",
            "false",
            "--maxMessageSize",
            "1024",
        ],
    );
    let c = client();
    let missing = c
        .invoke(
            &strict.server.addr,
            send_request("NoSuchTopic", 0, b"x", "a"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
    assert!(missing
        .remark
        .unwrap()
        .contains("autoCreateTopicEnable=false"));
    let bad_name = c
        .invoke(
            &strict.server.addr,
            send_request("bad topic", 0, b"x", "a"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(bad_name.code, ResponseCode::SYSTEM_ERROR.as_i32());
    let too_big = c
        .invoke(
            &strict.server.addr,
            send_request("SELF_TEST_TOPIC", 0, &[0u8; 2048], "a"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        too_big.code,
        ResponseCode::MESSAGE_ILLEGAL.as_i32(),
        "{:?}",
        too_big.remark
    );
    let bad_queue = c
        .invoke(
            &strict.server.addr,
            send_request("SELF_TEST_TOPIC", 7, b"x", "a"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(bad_queue.code, ResponseCode::SYSTEM_ERROR.as_i32());
    let system = c
        .invoke(
            &strict.server.addr,
            send_request("SCHEDULE_TOPIC_XXXX", 0, b"x", "a"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(system.code, ResponseCode::NO_PERMISSION.as_i32());
    // Nothing was written for any refused request.
    let empty = c
        .invoke(
            &strict.server.addr,
            pull_request("SELF_TEST_TOPIC", 0, 0, 0, "*"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(empty.code, ResponseCode::PULL_NOT_FOUND.as_i32());

    let read_only = BrokerProcess::start(&ns, "broker-ro", &["--brokerPermission", "4"]);
    let refused = c
        .invoke(
            &read_only.server.addr,
            send_request("SELF_TEST_TOPIC", 0, b"x", "a"),
            T,
        )
        .await
        .unwrap();
    assert_eq!(refused.code, ResponseCode::NO_PERMISSION.as_i32());
}

#[tokio::test]
async fn heartbeats_register_consumers_and_their_subscriptions() {
    let ns = name_server().await;
    let broker = BrokerProcess::start(&ns, "broker-a", &[]);
    let c = client();
    let request = common::consumer_heartbeat("127.0.0.1@test", "cg", "Orders", None);
    assert_eq!(
        c.invoke(&broker.server.addr, request, T)
            .await
            .unwrap()
            .code,
        0
    );
    let header = rmq_remoting::header::broker::GetConsumerListByGroupRequestHeader {
        consumer_group: "cg".into(),
    };
    let list = c
        .invoke(
            &broker.server.addr,
            RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header),
            T,
        )
        .await
        .unwrap();
    assert_eq!(list.code, 0);
    assert!(String::from_utf8_lossy(&list.body).contains("127.0.0.1@test"));
}
