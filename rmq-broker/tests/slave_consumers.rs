//! Consumers survive their master (real `mqbroker` processes, rmq's push consumer): while the
//! master is away the route lists only the slave, and the consumer pulls and commits there,
//! keeping its place (a slave never moves a consumer's offset); when the master comes back —
//! here having lost every offset it had not flushed — the consumer returns to it, commits what
//! it consumed, and nothing is consumed twice.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmq_client::{
    ClientConfig, ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, Message,
    Producer, PushConsumer, ReceivedMessage,
};
use rmq_remoting::body::route::{TopicRouteData, MASTER_ID};
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::{
    CreateTopicRequestHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_testkit::ServerProcess;

mod common;
use common::name_server;

const T: Duration = Duration::from_secs(5);
const TOPIC: &str = "FailoverT";
const GROUP: &str = "failover-group";

/// A port nobody listens on now (the master comes back on the ports it had).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn broker(namesrv: &str, store: &std::path::Path, args: &[&str]) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqbroker"));
    command
        .args(["-n", namesrv, "--brokerIP1", "127.0.0.1"])
        .args(["--brokerName", "broker-f"])
        .args(["--mappedFileSizeCommitLog", "4194304"])
        .args(["--mappedFileSizeConsumeQueue", "60000"])
        .arg("--storePathRootDir")
        .arg(store)
        .args(args);
    ServerProcess::start(command)
}

/// The route's broker ids of group `broker-f`, empty while the topic has no route.
async fn route_ids(c: &RemotingClient, namesrv: &str) -> Vec<i64> {
    let request = RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: TOPIC.into(),
            accept_standard_json_only: None,
        },
    );
    let Ok(answer) = c.invoke(namesrv, request, T).await else {
        return Vec::new();
    };
    if answer.code != 0 {
        return Vec::new();
    }
    let route: TopicRouteData = fastjson::from_slice(&answer.body).unwrap();
    route
        .broker_datas
        .iter()
        .flat_map(|bd| bd.broker_addrs.keys().copied())
        .collect()
}

/// The group's committed offsets of both queues at `addr`, summed (None when a queue has none).
async fn committed(c: &RemotingClient, addr: &str) -> Option<i64> {
    let mut sum = 0;
    for queue_id in 0..2 {
        let request = RemotingCommand::request(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: GROUP.into(),
                topic: TOPIC.into(),
                queue_id,
                set_zero_if_not_found: Some(false),
                bname: None,
            },
        );
        let answer = c.invoke(addr, request, T).await.ok()?;
        if answer.code != 0 {
            return None;
        }
        sum += answer.decode_header::<OffsetResponseHeader>().ok()?.offset;
    }
    Some(sum)
}

async fn wait_for<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn send(producer: &Producer, prefix: &str, n: usize) {
    for i in 0..n {
        let sent = producer
            .send(Message::new(TOPIC, format!("{prefix}-{i}")))
            .await;
        assert!(sent.is_ok(), "{prefix}-{i}: {sent:?}");
    }
}

/// How often each body was received (a multiset: duplicates show).
fn counts(received: &Mutex<Vec<String>>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for body in received.lock().unwrap().iter() {
        *counts.entry(body.clone()).or_insert(0) += 1;
    }
    counts
}

/// Waits for two copies in a row of a probe offset committed on the master, so the second is a
/// periodic one; returns when it was seen.
async fn sync_tick(c: &RemotingClient, master: &str, slave: &str) -> Instant {
    for probe in 1..=2 {
        let request = RemotingCommand::request(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: "probe".into(),
                topic: TOPIC.into(),
                queue_id: 0,
                commit_offset: probe,
                bname: None,
            },
        );
        assert_eq!(c.invoke(master, request, T).await.unwrap().code, 0);
        wait_for(Duration::from_secs(15), "a metadata copy", || async {
            let request = RemotingCommand::request(
                RequestCode::QUERY_CONSUMER_OFFSET,
                &QueryConsumerOffsetRequestHeader {
                    consumer_group: "probe".into(),
                    topic: TOPIC.into(),
                    queue_id: 0,
                    set_zero_if_not_found: Some(false),
                    bname: None,
                },
            );
            let answer = c.invoke(slave, request, T).await.unwrap();
            answer.code == 0
                && answer
                    .decode_header::<OffsetResponseHeader>()
                    .unwrap()
                    .offset
                    == probe
        })
        .await;
    }
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_keep_their_place_on_the_slave_and_return_to_the_master_without_reconsuming() {
    let ns = name_server().await;
    let c = RemotingClient::new(TransportConfig::default(), Router::new());
    let (port, ha_port) = (free_port(), free_port());
    let master_store = tempfile::tempdir().unwrap();
    let slave_store = tempfile::tempdir().unwrap();
    let port_text = port.to_string();
    let ha_text = ha_port.to_string();
    // The master flushes consumer offsets only at a clean shutdown, so a kill loses them all.
    let master_args = [
        "--listenPort",
        &port_text,
        "--haListenPort",
        &ha_text,
        "--flushConsumerOffsetInterval",
        "3600000",
    ];
    let master = broker(&ns, master_store.path(), &master_args);
    let slave = broker(
        &ns,
        slave_store.path(),
        &[
            "--listenPort",
            "0",
            "--brokerRole",
            "SLAVE",
            "--brokerId",
            "1",
        ],
    );
    let create = RemotingCommand::request(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: TOPIC.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: None,
            force: None,
        },
    );
    assert_eq!(c.invoke(&master.addr, create, T).await.unwrap().code, 0);
    wait_for(T, "the topic's route", || async {
        route_ids(&c, &ns).await.contains(&MASTER_ID)
    })
    .await;

    let client = ClientConfig {
        namesrv_addr: ns.clone(),
        client_ip: "127.0.0.1".into(),
        poll_name_server_interval: Duration::from_millis(500),
        heartbeat_broker_interval: Duration::from_secs(1),
        persist_consumer_offset_interval: Duration::from_millis(500),
        rebalance_interval: Duration::from_secs(1),
        // Tests of one binary share a process: each its own client instance and name server.
        instance_name: "failover-return".into(),
        ..ClientConfig::default()
    };
    let producer = Producer::builder()
        .client_config(client.clone())
        .producer_group("failover-producer")
        .start()
        .await
        .unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let consumer = PushConsumer::builder()
        .client_config(client)
        .config(ConsumerConfig {
            consumer_group: GROUP.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            pull_time_delay_when_exception: Duration::from_millis(300),
            ..ConsumerConfig::default()
        })
        .subscribe(TOPIC, "*")
        .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            let mut seen = seen.lock().unwrap();
            seen.extend(
                msgs.iter()
                    .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
            );
            ConsumeStatus::ConsumeSuccess
        })
        .start()
        .await
        .unwrap();

    // Catch a periodic metadata copy of the slave, so that the messages below are consumed and
    // the master killed before the next one (10 s later): the offsets the slave then holds
    // can only come from the consumer committing there.
    let synced = sync_tick(&c, &master.addr, &slave.addr).await;
    send(&producer, "before", 10).await;
    wait_for(Duration::from_secs(20), "10 messages consumed", || async {
        received.lock().unwrap().len() >= 10
    })
    .await;
    wait_for(T, "the master has the consumer's offsets", || async {
        committed(&c, &master.addr).await == Some(10)
    })
    .await;

    // The master dies; the name server drops it, and the route lists only the slave.
    master.signal(libc::SIGKILL);
    drop(master);
    assert!(
        synced.elapsed() < Duration::from_secs(9),
        "too slow to beat the slave's next copy ({:?}); the test proves nothing",
        synced.elapsed()
    );
    wait_for(
        Duration::from_secs(10),
        "a route without the master",
        || async { route_ids(&c, &ns).await == vec![1] },
    )
    .await;
    // Meanwhile the consumer pulls from the slave and commits there, keeping its offsets.
    wait_for(T, "the consumer commits to the slave", || async {
        committed(&c, &slave.addr).await == Some(10)
    })
    .await;

    // The master comes back without the offsets it never flushed.
    let master = broker(&ns, master_store.path(), &master_args);
    wait_for(
        Duration::from_secs(10),
        "the master back in the route",
        || async { route_ids(&c, &ns).await.contains(&MASTER_ID) },
    )
    .await;
    send(&producer, "after", 10).await;
    wait_for(Duration::from_secs(20), "20 messages consumed", || async {
        received.lock().unwrap().len() >= 20
    })
    .await;
    wait_for(T, "the consumer committed to the master again", || async {
        committed(&c, &master.addr).await == Some(20)
    })
    .await;
    // Give a re-consumption time to show before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = counts(&received);
    let duplicates: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "consumed twice: {duplicates:?}");
    assert_eq!(counts.len(), 20, "{counts:?}");
    consumer.shutdown().await;
    producer.shutdown().await;
    drop(slave);
}

/// The queues' max offsets at `addr`, summed: how many messages the broker holds.
async fn held(c: &RemotingClient, addr: &str) -> i64 {
    let mut sum = 0;
    for queue_id in 0..2 {
        let request = RemotingCommand::request(
            RequestCode::GET_MAX_OFFSET,
            &GetMaxOffsetRequestHeader {
                topic: TOPIC.into(),
                queue_id,
                committed: None,
                bname: None,
            },
        );
        let answer = c.invoke(addr, request, T).await.unwrap();
        if answer.code == 0 {
            sum += answer
                .decode_header::<OffsetResponseHeader>()
                .unwrap()
                .offset;
        }
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_reads_what_the_slave_replicated_while_the_master_is_away() {
    let ns = name_server().await;
    let c = RemotingClient::new(TransportConfig::default(), Router::new());
    let master_store = tempfile::tempdir().unwrap();
    let slave_store = tempfile::tempdir().unwrap();
    let master = broker(&ns, master_store.path(), &["--listenPort", "0"]);
    let slave = broker(
        &ns,
        slave_store.path(),
        &[
            "--listenPort",
            "0",
            "--brokerRole",
            "SLAVE",
            "--brokerId",
            "1",
        ],
    );
    let create = RemotingCommand::request(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: TOPIC.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: None,
            force: None,
        },
    );
    assert_eq!(c.invoke(&master.addr, create, T).await.unwrap().code, 0);
    wait_for(T, "the topic's route", || async {
        route_ids(&c, &ns).await.contains(&MASTER_ID)
    })
    .await;
    let client = ClientConfig {
        namesrv_addr: ns.clone(),
        client_ip: "127.0.0.1".into(),
        poll_name_server_interval: Duration::from_millis(500),
        heartbeat_broker_interval: Duration::from_secs(1),
        persist_consumer_offset_interval: Duration::from_millis(500),
        rebalance_interval: Duration::from_secs(1),
        instance_name: "failover-replica".into(),
        ..ClientConfig::default()
    };
    let producer = Producer::builder()
        .client_config(client.clone())
        .producer_group("replica-producer")
        .start()
        .await
        .unwrap();
    send(&producer, "replicated", 10).await;
    producer.shutdown().await;
    wait_for(
        Duration::from_secs(15),
        "the slave holds the 10 messages",
        || async { held(&c, &slave.addr).await == 10 },
    )
    .await;
    // A slave serves only topics it copied from its master (at most 10 s after their creation).
    wait_for(
        Duration::from_secs(15),
        "the slave knows the topic",
        || async {
            let request =
                RemotingCommand::request_without_header(RequestCode::GET_ALL_TOPIC_CONFIG);
            let answer = c.invoke(&slave.addr, request, T).await.unwrap();
            String::from_utf8_lossy(&answer.body).contains(&format!("\"{TOPIC}\""))
        },
    )
    .await;

    master.signal(libc::SIGKILL);
    drop(master);
    wait_for(
        Duration::from_secs(10),
        "a route without the master",
        || async { route_ids(&c, &ns).await == vec![1] },
    )
    .await;
    // A group the master never saw, started now: everything comes from the slave.
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let consumer = PushConsumer::builder()
        .client_config(client)
        .config(ConsumerConfig {
            consumer_group: GROUP.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            pull_time_delay_when_exception: Duration::from_millis(300),
            ..ConsumerConfig::default()
        })
        .subscribe(TOPIC, "*")
        .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            let mut seen = seen.lock().unwrap();
            seen.extend(
                msgs.iter()
                    .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
            );
            ConsumeStatus::ConsumeSuccess
        })
        .start()
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        "10 messages from the slave",
        || async { received.lock().unwrap().len() >= 10 },
    )
    .await;
    wait_for(T, "the consumer commits to the slave", || async {
        committed(&c, &slave.addr).await == Some(10)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = counts(&received);
    assert_eq!(counts.len(), 10, "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "consumed twice: {counts:?}"
    );
    consumer.shutdown().await;
    drop(slave);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_consumer_follows_the_suggestion_to_the_slave() {
    let ns = name_server().await;
    let c = RemotingClient::new(TransportConfig::default(), Router::new());
    let master_store = tempfile::tempdir().unwrap();
    let slave_store = tempfile::tempdir().unwrap();
    // Ratio 0: every read that finds a message lags, so both suggest the group's
    // whichBrokerWhenConsumeSlowly (1, the slave).
    let reading = [
        "--slaveReadEnable",
        "true",
        "--accessMessageInMemoryMaxRatio",
        "0",
    ];
    let master = broker(
        &ns,
        master_store.path(),
        &[&["--listenPort", "0"][..], &reading[..]].concat(),
    );
    let slave = broker(
        &ns,
        slave_store.path(),
        &[
            &[
                "--listenPort",
                "0",
                "--brokerRole",
                "SLAVE",
                "--brokerId",
                "1",
            ][..],
            &reading[..],
        ]
        .concat(),
    );
    let create = RemotingCommand::request(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: TOPIC.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: None,
            force: None,
        },
    );
    assert_eq!(c.invoke(&master.addr, create, T).await.unwrap().code, 0);
    wait_for(T, "the topic's route", || async {
        route_ids(&c, &ns).await.contains(&MASTER_ID)
    })
    .await;
    let client = ClientConfig {
        namesrv_addr: ns.clone(),
        client_ip: "127.0.0.1".into(),
        poll_name_server_interval: Duration::from_millis(500),
        heartbeat_broker_interval: Duration::from_secs(1),
        persist_consumer_offset_interval: Duration::from_millis(500),
        rebalance_interval: Duration::from_secs(1),
        instance_name: "failover-suggested".into(),
        ..ClientConfig::default()
    };
    let producer = Producer::builder()
        .client_config(client.clone())
        .producer_group("suggested-producer")
        .start()
        .await
        .unwrap();
    send(&producer, "lagging", 20).await;
    producer.shutdown().await;
    wait_for(
        Duration::from_secs(15),
        "the slave holds the 20 messages",
        || async { held(&c, &slave.addr).await == 20 },
    )
    .await;
    wait_for(
        Duration::from_secs(15),
        "the slave knows the topic",
        || async {
            let request =
                RemotingCommand::request_without_header(RequestCode::GET_ALL_TOPIC_CONFIG);
            let answer = c.invoke(&slave.addr, request, T).await.unwrap();
            String::from_utf8_lossy(&answer.body).contains(&format!("\"{TOPIC}\""))
        },
    )
    .await;

    // The listener holds the first messages until the master is frozen, and a queue with more
    // than one message waiting is not pulled: the master serves at most two per queue.
    let gate = Arc::new(AtomicBool::new(false));
    let open = gate.clone();
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let consumer = PushConsumer::builder()
        .client_config(client)
        .config(ConsumerConfig {
            consumer_group: GROUP.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            pull_batch_size: 1,
            pull_threshold_for_queue: 1,
            pull_time_delay_when_exception: Duration::from_millis(300),
            ..ConsumerConfig::default()
        })
        .subscribe(TOPIC, "*")
        .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            seen.lock().unwrap().extend(
                msgs.iter()
                    .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
            );
            while !open.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(10));
            }
            ConsumeStatus::ConsumeSuccess
        })
        .start()
        .await
        .unwrap();
    wait_for(Duration::from_secs(20), "a first message", || async {
        !received.lock().unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Every answer of the master suggested the slave; frozen, it answers nothing more, though
    // the route still lists it: the rest can only come from the slave.
    master.signal(libc::SIGSTOP);
    let from_master = received.lock().unwrap().len();
    assert!(
        from_master <= 4,
        "{from_master} pulled before the master froze"
    );
    gate.store(true, Ordering::Release);
    wait_for(Duration::from_secs(20), "20 messages", || async {
        received.lock().unwrap().len() >= 20
    })
    .await;
    let counts = counts(&received);
    assert_eq!(counts.len(), 20, "{counts:?}");
    master.signal(libc::SIGCONT);
    consumer.shutdown().await;
    drop(slave);
}
