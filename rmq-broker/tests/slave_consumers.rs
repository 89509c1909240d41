//! Consumers survive their master (real `mqbroker` processes, rmq's push consumer): while the
//! master is away the route lists only the slave, and the consumer pulls and commits there,
//! keeping its place (a slave never moves a consumer's offset); when the master comes back —
//! here having lost every offset it had not flushed — the consumer returns to it, commits what
//! it consumed, and nothing is consumed twice.

use std::collections::BTreeMap;
use std::path::Path;
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
    GetMaxOffsetRequestHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_testkit::ServerProcess;

mod common;
use common::{create_topic, eventually, free_port, mqbroker, name_server};

const T: Duration = Duration::from_secs(5);
const TOPIC: &str = "FailoverT";
const GROUP: &str = "failover-group";

/// The arguments that make a broker the group's SLAVE.
const SLAVE: [&str; 4] = ["--brokerRole", "SLAVE", "--brokerId", "1"];

/// A broker of group `broker-f` storing under `store` (which outlives it: the master comes back
/// on the store it had).
fn broker(namesrv: &str, store: &Path, args: &[&str]) -> ServerProcess {
    ServerProcess::start(mqbroker(namesrv, "broker-f", store, args))
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
        eventually(Duration::from_secs(15), "a metadata copy", || async {
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
            (answer.code == 0
                && answer
                    .decode_header::<OffsetResponseHeader>()
                    .unwrap()
                    .offset
                    == probe)
                .then_some(())
        })
        .await;
    }
    Instant::now()
}

/// The start of every test here: the master (with `master_args`) and its slave (with
/// `slave_args`), and TOPIC with 2 queues created on the master and routed by the name server.
async fn master_and_slave(
    c: &RemotingClient,
    ns: &str,
    stores: [&Path; 2],
    master_args: &[&str],
    slave_args: &[&str],
) -> (ServerProcess, ServerProcess) {
    let master = broker(ns, stores[0], master_args);
    let slave = broker(ns, stores[1], &[&SLAVE[..], slave_args].concat());
    let created = c.invoke(&master.addr, create_topic(TOPIC, 2), T).await;
    assert_eq!(created.unwrap().code, 0);
    eventually(T, "the topic's route", || async {
        route_ids(c, ns).await.contains(&MASTER_ID).then_some(())
    })
    .await;
    (master, slave)
}

/// Client settings with short periods, so that routes, heartbeats, offsets and rebalancing
/// follow a broker's death within a second or two. The tests of one binary share a process:
/// each gets its own client `instance` (and name server).
fn client_config(ns: &str, instance: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: ns.to_owned(),
        client_ip: "127.0.0.1".into(),
        poll_name_server_interval: Duration::from_millis(500),
        heartbeat_broker_interval: Duration::from_secs(1),
        persist_consumer_offset_interval: Duration::from_millis(500),
        rebalance_interval: Duration::from_secs(1),
        instance_name: instance.into(),
        ..ClientConfig::default()
    }
}

async fn producer(client: &ClientConfig, group: &str) -> Producer {
    Producer::builder()
        .client_config(client.clone())
        .producer_group(group)
        .start()
        .await
        .unwrap()
}

/// GROUP's settings in every test here: from the first offset, retrying soon after a failed
/// pull (the master may be dead).
fn consumer_config() -> ConsumerConfig {
    ConsumerConfig {
        consumer_group: GROUP.into(),
        consume_from_where: ConsumeFromWhere::FirstOffset,
        pull_time_delay_when_exception: Duration::from_millis(300),
        ..ConsumerConfig::default()
    }
}

/// A push consumer on TOPIC that records every body it consumes; with a `gate`, the listener
/// then holds the messages until the gate opens.
async fn recording_consumer(
    client: ClientConfig,
    config: ConsumerConfig,
    gate: Option<Arc<AtomicBool>>,
) -> (PushConsumer, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let consumer = PushConsumer::builder()
        .client_config(client)
        .config(config)
        .subscribe(TOPIC, "*")
        .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            seen.lock().unwrap().extend(
                msgs.iter()
                    .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
            );
            while gate.as_ref().is_some_and(|g| !g.load(Ordering::Acquire)) {
                std::thread::sleep(Duration::from_millis(10));
            }
            ConsumeStatus::ConsumeSuccess
        })
        .start()
        .await
        .unwrap();
    (consumer, received)
}

/// Waits until the slave holds the `n` messages sent and serves TOPIC: a slave serves only
/// topics it copied from its master (at most 10 s after their creation).
async fn slave_serves(c: &RemotingClient, slave: &str, n: i64) {
    eventually(
        Duration::from_secs(15),
        &format!("the slave holds the {n} messages"),
        || async { (held(c, slave).await == n).then_some(()) },
    )
    .await;
    eventually(
        Duration::from_secs(15),
        "the slave knows the topic",
        || async {
            let request =
                RemotingCommand::request_without_header(RequestCode::GET_ALL_TOPIC_CONFIG);
            let answer = c.invoke(slave, request, T).await.unwrap();
            String::from_utf8_lossy(&answer.body)
                .contains(&format!("\"{TOPIC}\""))
                .then_some(())
        },
    )
    .await;
}

/// Waits until the consumer has received `n` messages (in 20 s), then until the offsets it
/// committed to `broker` at `addr` add up to them.
async fn consumed_and_committed(
    c: &RemotingClient,
    received: &Mutex<Vec<String>>,
    n: usize,
    broker: &str,
    addr: &str,
) {
    eventually(
        Duration::from_secs(20),
        &format!("{n} messages consumed"),
        || async { (received.lock().unwrap().len() >= n).then_some(()) },
    )
    .await;
    let offsets = Some(i64::try_from(n).unwrap());
    eventually(
        T,
        &format!("the consumer commits {n} to the {broker}"),
        || async { (committed(c, addr).await == offsets).then_some(()) },
    )
    .await;
}

/// Waits until the name server has dropped the dead master: the route lists only the slave.
async fn route_without_master(c: &RemotingClient, ns: &str) {
    eventually(
        Duration::from_secs(10),
        "a route without the master",
        || async { (route_ids(c, ns).await == vec![1]).then_some(()) },
    )
    .await;
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
    let stores = [master_store.path(), slave_store.path()];
    let (master, slave) = master_and_slave(&c, &ns, stores, &master_args, &[]).await;

    let client = client_config(&ns, "failover-return");
    let producer = producer(&client, "failover-producer").await;
    let (consumer, received) = recording_consumer(client, consumer_config(), None).await;

    // Catch a periodic metadata copy of the slave, so that the messages below are consumed and
    // the master killed before the next one (10 s later): the offsets the slave then holds
    // can only come from the consumer committing there.
    let synced = sync_tick(&c, &master.addr, &slave.addr).await;
    send(&producer, "before", 10).await;
    consumed_and_committed(&c, &received, 10, "master", &master.addr).await;

    // The master dies; the name server drops it, and the route lists only the slave.
    master.signal(libc::SIGKILL);
    drop(master);
    assert!(
        synced.elapsed() < Duration::from_secs(9),
        "too slow to beat the slave's next copy ({:?}); the test proves nothing",
        synced.elapsed()
    );
    route_without_master(&c, &ns).await;
    // Meanwhile the consumer pulls from the slave and commits there, keeping its offsets.
    eventually(T, "the consumer commits to the slave", || async {
        (committed(&c, &slave.addr).await == Some(10)).then_some(())
    })
    .await;

    // The master comes back without the offsets it never flushed.
    let master = broker(&ns, master_store.path(), &master_args);
    eventually(
        Duration::from_secs(10),
        "the master back in the route",
        || async { route_ids(&c, &ns).await.contains(&MASTER_ID).then_some(()) },
    )
    .await;
    send(&producer, "after", 10).await;
    consumed_and_committed(&c, &received, 20, "master", &master.addr).await;
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
    let stores = [master_store.path(), slave_store.path()];
    let (master, slave) = master_and_slave(&c, &ns, stores, &[], &[]).await;
    let client = client_config(&ns, "failover-replica");
    let producer = producer(&client, "replica-producer").await;
    send(&producer, "replicated", 10).await;
    producer.shutdown().await;
    slave_serves(&c, &slave.addr, 10).await;

    master.signal(libc::SIGKILL);
    drop(master);
    route_without_master(&c, &ns).await;
    // A group the master never saw, started now: everything comes from the slave.
    let (consumer, received) = recording_consumer(client, consumer_config(), None).await;
    consumed_and_committed(&c, &received, 10, "slave", &slave.addr).await;
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
    let stores = [master_store.path(), slave_store.path()];
    let (master, slave) = master_and_slave(&c, &ns, stores, &reading, &reading).await;
    let client = client_config(&ns, "failover-suggested");
    let producer = producer(&client, "suggested-producer").await;
    send(&producer, "lagging", 20).await;
    producer.shutdown().await;
    slave_serves(&c, &slave.addr, 20).await;

    // The listener holds the first messages until the master is frozen, and a queue with more
    // than one message waiting is not pulled: the master serves at most two per queue.
    let gate = Arc::new(AtomicBool::new(false));
    let config = ConsumerConfig {
        pull_batch_size: 1,
        pull_threshold_for_queue: 1,
        ..consumer_config()
    };
    let (consumer, received) = recording_consumer(client, config, Some(gate.clone())).await;
    eventually(Duration::from_secs(20), "a first message", || async {
        (!received.lock().unwrap().is_empty()).then_some(())
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
    eventually(Duration::from_secs(20), "20 messages", || async {
        (received.lock().unwrap().len() >= 20).then_some(())
    })
    .await;
    let counts = counts(&received);
    assert_eq!(counts.len(), 20, "{counts:?}");
    master.signal(libc::SIGCONT);
    consumer.shutdown().await;
    drop(slave);
}
