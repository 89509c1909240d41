//! What the broker relays to a client and what consoles ask it about topics and producers, over
//! real TCP: GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY reach the member's own
//! connection with the admin's fields (and, for the latter, the stored message and the broker's
//! name) and its answer comes back unchanged; an absent member gets Apache's code and remark;
//! GET_TOPIC_CONFIG (351) and GET_ALL_PRODUCER_INFO (328) answer as Apache 5 does. In-process
//! name server and broker on ephemeral ports; the member is a bare remoting client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_broker::{Broker, BrokerConfig};
use rmq_remoting::body::running::ProducerTableInfo;
use rmq_remoting::body::topic::{TopicConfig, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    TopicRequestHeader,
};
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::message::decode_record;
use rmq_remoting::transport::{Connection, RemotingClient, Router, TransportConfig};
use rmq_remoting::ExtFields;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::StoreConfig;
use tokio::net::TcpListener;

mod common;

const T: Duration = Duration::from_secs(15);
const GROUP: &str = "cg-relay";
const CLIENT_ID: &str = "127.0.0.1@fake-consumer";
const TOPIC: &str = "RelayT";

/// What the fake consumer was asked: request code, fields and body of each relayed request.
type Seen = Arc<Mutex<Vec<(i32, ExtFields, Vec<u8>)>>>;

/// A client connection that heartbeats as a member of [`GROUP`] and answers relayed requests
/// the way a test can recognise: running info with a fixed body, direct consumption with the
/// body's length in the remark; a running-info request with jstack on is refused.
fn fake_consumer(seen: &Seen) -> RemotingClient {
    let answer = |seen: Seen| {
        move |_: Connection, req: RemotingCommand| {
            seen.lock()
                .unwrap()
                .push((req.code, req.ext_fields.clone(), req.body.to_vec()));
            let refused = req.ext_fields.get("jstackEnable") == Some("true");
            async move {
                Ok(if refused {
                    RemotingCommand::response(
                        ResponseCode::SYSTEM_ERROR,
                        Some("no jstack here".into()),
                    )
                } else if req.code == RequestCode::GET_CONSUMER_RUNNING_INFO.as_i32() {
                    RemotingCommand::success().with_body(&br#"{"properties":{"k":"v"}}"#[..])
                } else {
                    RemotingCommand::response(
                        ResponseCode::SUCCESS,
                        Some(format!("got {} bytes", req.body.len())),
                    )
                })
            }
        }
    };
    let router = Router::new()
        .route(RequestCode::GET_CONSUMER_RUNNING_INFO, answer(seen.clone()))
        .route(RequestCode::CONSUME_MESSAGE_DIRECTLY, answer(seen.clone()));
    RemotingClient::new(TransportConfig::default(), router)
}

fn heartbeat(client_id: &str) -> RemotingCommand {
    common::consumer_heartbeat(client_id, GROUP, TOPIC, Some("pg-relay"))
}

fn running_info(client_id: &str, jstack: bool) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: GROUP.into(),
            client_id: client_id.into(),
            jstack_enable: jstack,
        },
    )
}

/// A name server and a broker in this process on ephemeral ports, with [`TOPIC`] created and
/// routed; returns their addresses and the store's directory.
async fn servers() -> (String, String, tempfile::TempDir) {
    let namesrv = common::name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut store = StoreConfig::with_root(dir.path());
    store.mapped_file_size_commit_log = 4 * 1024 * 1024;
    store.mapped_file_size_consume_queue = common::CONSUME_QUEUE_FILE;
    let config = BrokerConfig {
        namesrv_addr: namesrv.clone(),
        broker_name: "broker-a".into(),
        broker_ip1: "127.0.0.1".into(),
        ..BrokerConfig::default()
    };
    let broker = Broker::open(config, store, addr).unwrap();
    tokio::spawn(broker.serve(listener, std::future::pending()));
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let broker = addr.to_string();
    let created = client
        .invoke(&broker, common::create_topic(TOPIC, 2), T)
        .await
        .unwrap();
    assert_eq!(created.code, 0, "{:?}", created.remark);
    let route = || {
        RemotingCommand::request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: TOPIC.into(),
                accept_standard_json_only: None,
            },
        )
    };
    let deadline = tokio::time::Instant::now() + T;
    while client.invoke(&namesrv, route(), T).await.unwrap().code != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no route for {TOPIC}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (namesrv, broker, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_requests_reach_the_member_and_its_answers_come_back() {
    let (namesrv, broker, _dir) = servers().await;
    let seen: Seen = Arc::default();
    let consumer = fake_consumer(&seen);
    let beat = consumer
        .invoke(&broker, heartbeat(CLIENT_ID), T)
        .await
        .unwrap();
    assert_eq!(beat.code, 0, "{:?}", beat.remark);
    // A member whose client predates V3_1_8_SNAPSHOT (ordinal 62) cannot answer: refused.
    let old_seen: Seen = Arc::default();
    let old_client = fake_consumer(&old_seen);
    let mut old_beat = heartbeat("127.0.0.1@old");
    old_beat.version = 61;
    assert_eq!(
        old_client.invoke(&broker, old_beat, T).await.unwrap().code,
        0
    );
    let admin = RemotingClient::new(TransportConfig::default(), Router::new());

    // Running info: the member's body comes back byte for byte; the fields were relayed.
    let answer = admin
        .invoke(&broker, running_info(CLIENT_ID, false), T)
        .await
        .unwrap();
    assert_eq!(answer.code, 0, "{:?}", answer.remark);
    assert_eq!(&answer.body[..], br#"{"properties":{"k":"v"}}"#);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (code, fields, _) = &seen[0];
        assert_eq!(*code, RequestCode::GET_CONSUMER_RUNNING_INFO.as_i32());
        assert_eq!(&fields["consumerGroup"], GROUP);
        assert_eq!(&fields["clientId"], CLIENT_ID);
    }
    // A refusal by the member is relayed unchanged too.
    let refused = admin
        .invoke(&broker, running_info(CLIENT_ID, true), T)
        .await
        .unwrap();
    assert_eq!(refused.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert_eq!(refused.remark.as_deref(), Some("no jstack here"));
    // No such member: Apache's code and remark, and nothing reaches the fake.
    let absent = admin
        .invoke(&broker, running_info("10.0.0.1@nobody", false), T)
        .await
        .unwrap();
    assert_eq!(absent.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert_eq!(
        absent.remark.as_deref(),
        Some("The Consumer <cg-relay> <10.0.0.1@nobody> not online")
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    let too_old = admin
        .invoke(&broker, running_info("127.0.0.1@old", false), T)
        .await
        .unwrap();
    assert_eq!(too_old.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert!(
        too_old.remark.unwrap_or_default().contains("too low"),
        "a client of version 61"
    );
    assert!(old_seen.lock().unwrap().is_empty());

    // Direct consumption: the stored record at the id's offset, and this broker's name.
    let producer = rmq_client::Producer::builder()
        .namesrv_addr(namesrv.clone())
        .producer_group("pg-relay")
        .start()
        .await
        .unwrap();
    let sent = producer
        .send(rmq_client::Message::new(TOPIC, "relay me"))
        .await
        .unwrap();
    let direct = RemotingCommand::request(
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: GROUP.into(),
            client_id: Some(CLIENT_ID.into()),
            msg_id: Some(sent.offset_msg_id.clone()),
            broker_name: None,
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        },
    );
    let answer = admin.invoke(&broker, direct, T).await.unwrap();
    assert_eq!(answer.code, 0, "{:?}", answer.remark);
    {
        let seen = seen.lock().unwrap();
        let (code, fields, body) = &seen[2];
        assert_eq!(*code, RequestCode::CONSUME_MESSAGE_DIRECTLY.as_i32());
        assert_eq!(&fields["brokerName"], "broker-a");
        assert_eq!(fields["msgId"], *sent.offset_msg_id);
        let record = decode_record(body, true).unwrap();
        assert_eq!(record.body, b"relay me");
        assert_eq!(record.topic, TOPIC);
        assert_eq!(
            answer.remark.as_deref(),
            Some(format!("got {} bytes", body.len()).as_str())
        );
    }
    let bad_id = RemotingCommand::request(
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: GROUP.into(),
            client_id: Some(CLIENT_ID.into()),
            msg_id: Some("not-an-id".into()),
            broker_name: None,
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        },
    );
    let refused = admin.invoke(&broker, bad_id, T).await.unwrap();
    assert_eq!(refused.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "a bad id is refused by the broker"
    );

    // GET_TOPIC_CONFIG: the entry GET_ALL_TOPIC_CONFIG holds; 17 for an unknown topic.
    let all = admin
        .invoke(
            &broker,
            RemotingCommand::request_without_header(RequestCode::GET_ALL_TOPIC_CONFIG),
            T,
        )
        .await
        .unwrap();
    let all: TopicConfigSerializeWrapper = fastjson::from_slice(&all.body).unwrap();
    let one = |topic: &str| {
        RemotingCommand::request(
            RequestCode::GET_TOPIC_CONFIG,
            &TopicRequestHeader {
                topic: topic.into(),
            },
        )
    };
    let answer = admin.invoke(&broker, one(TOPIC), T).await.unwrap();
    assert_eq!(answer.code, 0, "{:?}", answer.remark);
    let config: TopicConfig = fastjson::from_slice(&answer.body).unwrap();
    assert_eq!(config, all.topic_config_table[TOPIC]);
    let missing = admin.invoke(&broker, one("NoSuchT"), T).await.unwrap();
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
    assert_eq!(
        missing.remark.as_deref(),
        Some("No topic in this broker. topic: NoSuchT")
    );

    // GET_ALL_PRODUCER_INFO: the fakes' producer group (from their heartbeats), the producer's too.
    let answer = admin
        .invoke(
            &broker,
            RemotingCommand::request_without_header(RequestCode::GET_ALL_PRODUCER_INFO),
            T,
        )
        .await
        .unwrap();
    let table: ProducerTableInfo = fastjson::from_slice(&answer.body).unwrap();
    let members = &table.data["pg-relay"];
    assert_eq!(members.len(), 3, "both fakes and the producer: {members:?}");
    let fake = members.iter().find(|m| m.client_id == CLIENT_ID).unwrap();
    assert!(fake.remote_ip.starts_with("/127.0.0.1:"), "{fake:?}");
    assert!(fake.last_update_timestamp > 0);

    producer.shutdown().await;
}
