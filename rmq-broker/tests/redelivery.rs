//! Delivering again, end to end: delayed delivery, retries, dead letters and resets by time: the real `mqbroker` binary (short
//! delay levels from its broker.conf), an in-process name server, and rmq-client.

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_client::{
    Admin, ClientConfig, ConsumeContext, ConsumeStatus, ConsumerConfig, LocalTransactionState,
    Message, Producer, PushConsumer, ReceivedMessage, TransactionListener,
};
use rmq_remoting::body::client::ConsumeFromWhere;
use rmq_remoting::header::broker::{GetMaxOffsetRequestHeader, ResetOffsetRequestHeader};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

mod common;
use common::name_server;

/// Level 3 (the first retry) is 1 s, level 4 (the second) 2 s.
const LEVELS: &str = "1s 2s 1s 2s 3s 4s";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `mqbroker -c broker.conf` on an ephemeral port, storing under `store`.
fn broker(namesrv: &str, store: &std::path::Path) -> ServerProcess {
    let conf = store.join("broker.conf");
    std::fs::create_dir_all(store).unwrap();
    std::fs::write(
        &conf,
        format!(
            "brokerName=broker-a\nbrokerIP1=127.0.0.1\nlistenPort=0\nnamesrvAddr={namesrv}\n\
             storePathRootDir={}\nmappedFileSizeCommitLog=4194304\nmappedFileSizeConsumeQueue=60000\n\
             messageDelayLevel={LEVELS}\nflushConsumerOffsetInterval=200\n",
            store.join("data").display()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqbroker"));
    command.arg("-c").arg(conf);
    ServerProcess::start(command)
}

fn client_config(namesrv: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        client_ip: "127.0.0.1".into(),
        poll_name_server_interval: Duration::from_millis(300),
        heartbeat_broker_interval: Duration::from_secs(1),
        persist_consumer_offset_interval: Duration::from_millis(300),
        rebalance_interval: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

async fn producer(namesrv: &str) -> Producer {
    Producer::builder()
        .client_config(client_config(namesrv))
        .producer_group("pg-delay")
        .start()
        .await
        .unwrap()
}

/// Sends a first message to `topic` once the broker has registered with the name server.
async fn warm_up(p: &Producer, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = p.send(Message::new(topic, "warm-up")).await {
        assert!(
            Instant::now() < deadline,
            "the broker never became reachable: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One test's servers and producer: an in-process name server, `mqbroker` storing in `dir`, and
/// a producer that has sent one warm-up message to the test's topic (so the broker has
/// registered and the topic exists).
struct Stack {
    namesrv: String,
    dir: tempfile::TempDir,
    broker: ServerProcess,
    producer: Producer,
}

async fn stack(topic: &str) -> Stack {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(&namesrv, dir.path());
    let producer = producer(&namesrv).await;
    warm_up(&producer, topic).await;
    Stack {
        namesrv,
        dir,
        broker,
        producer,
    }
}

/// Waits until a consumer has seen the warm-up message (it reads from the first offset).
async fn warmed_up(seen: &Deliveries) {
    wait_until("the warm-up", Duration::from_secs(15), || {
        seen.lock().unwrap().len() == 1
    })
    .await;
}

/// Every delivery: (message id, when it arrived in epoch ms, reconsume times, topic).
type Deliveries = Arc<Mutex<Vec<(String, i64, i32, String)>>>;

/// A consumer of `topic` whose listener records each delivery and answers `outcome(n)` for the
/// n-th delivery (1-based) of a message.
async fn consumer(
    namesrv: &str,
    group: &str,
    topic: &str,
    max_reconsume_times: i32,
    outcome: fn(usize) -> ConsumeStatus,
) -> (PushConsumer, Deliveries) {
    let seen: Deliveries = Arc::default();
    let record = seen.clone();
    let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let listener = move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
        let mut status = ConsumeStatus::ConsumeSuccess;
        for m in msgs {
            record.lock().unwrap().push((
                m.msg_id.clone(),
                now_ms(),
                m.reconsume_times,
                m.topic.clone(),
            ));
            let mut counts = counts.lock().unwrap();
            let n = counts.entry(m.msg_id.clone()).or_default();
            *n += 1;
            if outcome(*n) == ConsumeStatus::ReconsumeLater {
                status = ConsumeStatus::ReconsumeLater;
            }
        }
        status
    };
    let dir = tempfile::tempdir().unwrap();
    let consumer = PushConsumer::builder()
        .client_config(client_config(namesrv))
        .config(ConsumerConfig {
            consumer_group: group.into(),
            max_reconsume_times,
            local_retry_delay: Duration::from_secs(30),
            local_offset_store_dir: dir.path().to_path_buf(),
            ..ConsumerConfig::default()
        })
        .consume_from_where(ConsumeFromWhere::FirstOffset)
        .subscribe(topic, "*")
        .listener(listener)
        .start()
        .await
        .unwrap();
    (consumer, seen)
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn max_offset(broker: &str, topic: &str) -> i64 {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let header = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id: 0,
        committed: None,
        bname: None,
    };
    let req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET, &header);
    let resp = client
        .invoke(broker, req, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(
        resp.code,
        ResponseCode::SUCCESS.as_i32(),
        "{:?}",
        resp.remark
    );
    resp.ext_fields["offset"].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_levels_and_delivery_times_are_honoured() {
    let Stack {
        namesrv,
        dir: _dir,
        broker: _broker,
        producer: p,
    } = stack("DelayT").await;
    let (c, seen) = consumer(&namesrv, "cg-delay", "DelayT", -1, |_| {
        ConsumeStatus::ConsumeSuccess
    })
    .await;
    warmed_up(&seen).await;
    // (message, when it may arrive at the earliest), each built just before its send.
    let mut expected = Vec::new();
    for kind in 0..4 {
        let now = now_ms();
        let (msg, due) = match kind {
            0 => (
                Message::new("DelayT", "level 1").with_delay_level(1),
                now + 1_000,
            ),
            1 => (
                Message::new("DelayT", "level 2").with_delay_level(2),
                now + 2_000,
            ),
            2 => (
                Message::new("DelayT", "at").with_deliver_time_ms(now + 1_500),
                now + 1_500,
            ),
            _ => (
                Message::new("DelayT", "in").with_property("TIMER_DELAY_SEC", "1"),
                now + 1_000,
            ),
        };
        let r = p.send(msg).await.unwrap();
        expected.push((r.msg_id, due));
    }
    wait_until("the delayed messages", Duration::from_secs(10), || {
        seen.lock().unwrap().len() == 5
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    for (id, due) in expected {
        let (_, at, _, topic) = seen.iter().find(|d| d.0 == id).unwrap().clone();
        assert_eq!(topic, "DelayT");
        assert!(at >= due, "{id} arrived {} ms early", due - at);
        assert!(at < due + 1_000, "{id} arrived {} ms late", at - due);
    }
    c.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_delayed_messages_survive_a_broker_crash() {
    let Stack {
        namesrv,
        dir,
        broker: first,
        producer: p,
    } = stack("DelayR").await;
    let level = p
        .send(Message::new("DelayR", "level").with_delay_level(4))
        .await
        .unwrap();
    let timer = p
        .send(Message::new("DelayR", "timer").with_property("TIMER_DELAY_SEC", "3"))
        .await
        .unwrap();
    let sent = now_ms();
    p.shutdown().await;
    // Killed (SIGKILL) before either is due: the store recovers, the wheel is re-read.
    drop(first);
    let _second = broker(&namesrv, dir.path());
    let (c, seen) = consumer(&namesrv, "cg-restart", "DelayR", -1, |_| {
        ConsumeStatus::ConsumeSuccess
    })
    .await;
    wait_until(
        "the delayed messages after the restart",
        Duration::from_secs(15),
        || {
            let seen = seen.lock().unwrap();
            [&level.msg_id, &timer.msg_id]
                .iter()
                .all(|id| seen.iter().any(|d| &d.0 == *id))
        },
    )
    .await;
    for d in seen.lock().unwrap().iter() {
        if d.0 == level.msg_id {
            assert!(
                d.1 - sent >= 1_980,
                "level 4 (2 s) arrived after {} ms",
                d.1 - sent
            );
        }
        if d.0 == timer.msg_id {
            assert!(
                d.1 - sent >= 2_980,
                "timer (3 s) arrived after {} ms",
                d.1 - sent
            );
        }
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_messages_are_retried_with_growing_gaps_then_dead_lettered() {
    let Stack {
        namesrv,
        dir: _dir,
        broker,
        producer: p,
    } = stack("RetryT").await;
    let (twice, twice_seen) = consumer(&namesrv, "cg-twice", "RetryT", -1, |n| {
        if n <= 2 {
            ConsumeStatus::ReconsumeLater
        } else {
            ConsumeStatus::ConsumeSuccess
        }
    })
    .await;
    let (always, always_seen) = consumer(&namesrv, "cg-dlq", "RetryT", 2, |_| {
        ConsumeStatus::ReconsumeLater
    })
    .await;
    wait_until("the warm-up", Duration::from_secs(15), || {
        twice_seen.lock().unwrap().len() >= 3 && always_seen.lock().unwrap().len() >= 3
    })
    .await;
    let sent = p
        .send(Message::new("RetryT", "fails").with_keys(["retry-key"]))
        .await
        .unwrap();
    let of = |seen: &Deliveries| -> Vec<(String, i64, i32, String)> {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|d| d.0 == sent.msg_id)
            .cloned()
            .collect()
    };
    wait_until("three deliveries", Duration::from_secs(15), || {
        of(&twice_seen).len() == 3 && of(&always_seen).len() == 3
    })
    .await;
    let deliveries = of(&twice_seen);
    assert_eq!(
        deliveries.iter().map(|d| d.2).collect::<Vec<_>>(),
        [0, 1, 2],
        "reconsume times"
    );
    assert!(deliveries.iter().all(|d| d.3 == "RetryT"), "{deliveries:?}");
    let (gap1, gap2) = (
        deliveries[1].1 - deliveries[0].1,
        deliveries[2].1 - deliveries[1].1,
    );
    assert!(
        gap1 >= 1_000 && gap2 >= 2_000 && gap2 > gap1,
        "gaps {gap1} ms, {gap2} ms"
    );
    // maxReconsumeTimes = 2: the third failure dead-letters it (and the warm-up message, which
    // that listener failed too); no fourth delivery.
    let deadline = Instant::now() + Duration::from_secs(10);
    while max_offset(&broker.addr, "%DLQ%cg-dlq").await != 2 {
        assert!(Instant::now() < deadline, "no dead letter in %DLQ%cg-dlq");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(of(&always_seen).len(), 3, "{:?}", of(&always_seen));
    assert_eq!(max_offset(&broker.addr, "%DLQ%cg-twice").await, 0);

    // The admin API lists the dead letters (id, topic and key kept) and sends one back.
    let admin = Admin::start(client_config(&namesrv)).await.unwrap();
    let dead = admin.dead_letter_messages("cg-dlq", 10).await.unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    let letter = dead.iter().find(|m| m.msg_id == sent.msg_id).unwrap();
    assert_eq!(letter.property("RETRY_TOPIC"), Some("RetryT"));
    assert_eq!(letter.keys(), ["retry-key"]);
    assert_eq!(letter.reconsume_times, 3);
    let by_key = admin
        .query_messages_by_key("%DLQ%cg-dlq", "retry-key", 32, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(by_key.len(), 1);
    admin
        .resend_dead_letter("cg-dlq", &sent.msg_id)
        .await
        .unwrap();
    wait_until("the re-sent dead letter", Duration::from_secs(10), || {
        of(&always_seen).len() >= 4
    })
    .await;
    let again = of(&always_seen)[3].clone();
    assert_eq!((again.2, again.3.as_str()), (0, "RetryT"), "{again:?}");
    assert_eq!(of(&twice_seen).len(), 3, "other groups are not affected");
    admin.shutdown().await;
    twice.shutdown().await;
    always.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_by_time_replays_live_consumers_from_the_right_offset() {
    let Stack {
        namesrv,
        dir: _dir,
        broker,
        producer: p,
    } = stack("ResetT").await;
    let (c, seen) = consumer(&namesrv, "cg-reset", "ResetT", -1, |_| {
        ConsumeStatus::ConsumeSuccess
    })
    .await;
    warmed_up(&seen).await;
    let mut old = Vec::new();
    for i in 0..8 {
        old.push(
            p.send(Message::new("ResetT", format!("old-{i}")))
                .await
                .unwrap()
                .msg_id,
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let between = now_ms();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut new = Vec::new();
    for i in 0..8 {
        new.push(
            p.send(Message::new("ResetT", format!("new-{i}")))
                .await
                .unwrap()
                .msg_id,
        );
    }
    wait_until("both batches", Duration::from_secs(15), || {
        seen.lock().unwrap().len() == 17
    })
    .await;
    let header = ResetOffsetRequestHeader {
        topic: "ResetT".into(),
        group: "cg-reset".into(),
        timestamp: between,
        is_force: true,
        queue_id: -1,
        offset: None,
    };
    let req = RemotingCommand::request(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &header);
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let resp = client
        .invoke(&broker.addr, req, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(
        resp.code,
        ResponseCode::SUCCESS.as_i32(),
        "{:?}",
        resp.remark
    );
    // The live consumer replays exactly the messages stored after the timestamp.
    wait_until("the replay", Duration::from_secs(15), || {
        seen.lock().unwrap().len() >= 25
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = seen.lock().unwrap().clone();
    let count = |id: &String| seen.iter().filter(|d| &d.0 == id).count();
    assert!(old.iter().all(|id| count(id) == 1), "old messages replayed");
    assert!(
        new.iter().all(|id| count(id) == 2),
        "new messages not replayed once"
    );
    assert_eq!(seen.len(), 25);
    c.shutdown().await;
    p.shutdown().await;
}

/// Commits everything at once.
struct CommitAll;

impl TransactionListener for CommitAll {
    fn execute_local_transaction(
        &self,
        _: &Message,
        _: &str,
        _: &(dyn std::any::Any + Send + Sync),
    ) -> LocalTransactionState {
        LocalTransactionState::CommitMessage
    }

    fn check_local_transaction(&self, _: &ReceivedMessage) -> LocalTransactionState {
        LocalTransactionState::CommitMessage
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_transactional_message_keeps_its_delivery_time() {
    let Stack {
        namesrv,
        dir: _dir,
        broker: _broker,
        producer: p,
    } = stack("TxDelayT").await;
    let (c, seen) = consumer(&namesrv, "cg-txdelay", "TxDelayT", -1, |_| {
        ConsumeStatus::ConsumeSuccess
    })
    .await;
    warmed_up(&seen).await;
    let tx = Producer::builder()
        .client_config(client_config(&namesrv))
        .producer_group("pg-txdelay")
        .start_transactional(Arc::new(CommitAll))
        .await
        .unwrap();
    let due = now_ms() + 1_500;
    let sent = tx
        .send_message_in_transaction(
            Message::new("TxDelayT", "later").with_deliver_time_ms(due),
            &(),
        )
        .await
        .unwrap();
    assert_eq!(sent.local_state, LocalTransactionState::CommitMessage);
    wait_until("the committed message", Duration::from_secs(10), || {
        seen.lock().unwrap().len() == 2
    })
    .await;
    let at = seen.lock().unwrap()[1].1;
    assert!(at >= due, "arrived {} ms early", due - at);
    tx.shutdown().await;
    c.shutdown().await;
    p.shutdown().await;
}
