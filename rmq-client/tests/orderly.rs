//! Orderly consumption against an in-process name server and broker: queue locks held at the
//! broker, per-queue order kept across a consumer restart, suspend-and-retry of a failed batch.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{wait_until, Cluster};
use rmq_client::{
    ConsumeOrderlyContext, ConsumeOrderlyStatus, ConsumerConfig, Message, MessageQueue,
    PushConsumer, ReceivedMessage, SelectMessageQueueByHash,
};
use rmq_remoting::body::client::{LockBatchRequestBody, LockBatchResponseBody};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

/// (queue, offset, body) of every message handed to a listener, in call order.
type Log = Arc<Mutex<Vec<(MessageQueue, i64, String)>>>;

fn record(log: &Log, msgs: &[ReceivedMessage]) {
    let mut log = log.lock().unwrap();
    for m in msgs {
        log.push((
            m.queue.clone(),
            m.queue_offset,
            String::from_utf8_lossy(&m.body).into_owned(),
        ));
    }
}

fn orderly_config(cluster: &Cluster, group: &str) -> ConsumerConfig {
    ConsumerConfig {
        consume_from_where: rmq_client::ConsumeFromWhere::FirstOffset,
        consume_message_batch_max_size: 3,
        suspend_current_queue_time: Duration::from_millis(200),
        ..cluster.consumer_config(group)
    }
}

async fn orderly_consumer(
    cluster: &Cluster,
    group: &str,
    topic: &str,
    listener: impl Fn(&[ReceivedMessage], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus
        + Send
        + Sync
        + 'static,
) -> PushConsumer {
    PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(orderly_config(cluster, group))
        .subscribe(topic, "*")
        .listener_orderly(listener)
        .start()
        .await
        .unwrap()
}

/// Asks the broker for `mqs` on behalf of another client; returns what it granted.
async fn foreign_lock(
    cluster: &Cluster,
    group: &str,
    mqs: &[MessageQueue],
) -> BTreeSet<MessageQueue> {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let body = LockBatchRequestBody {
        client_id: "127.0.0.1@intruder".into(),
        consumer_group: group.into(),
        mq_set: mqs.iter().cloned().collect(),
        only_this_broker: false,
    };
    let req = RemotingCommand::request_without_header(RequestCode::LOCK_BATCH_MQ)
        .with_body(fastjson::to_vec(&body, KeyStyle::Fastjson));
    let resp = client
        .invoke(&cluster.broker, req, Duration::from_secs(3))
        .await
        .unwrap();
    let answer: LockBatchResponseBody = fastjson::from_slice(&resp.body).unwrap();
    client.close_all().await;
    answer.lock_ok_mq_set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_queue_order_survives_a_consumer_restart_and_locks_are_held_and_released() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Orderly", 4).await;
        let producer = cluster.producer("pg-orderly").await;
        let total = 120;
        for i in 0..total {
            let key = format!("order-{}", i % 6);
            producer
                .send_with_selector(
                    Message::new("Orderly", format!("{key}:{i}")),
                    &SelectMessageQueueByHash,
                    &key,
                )
                .await
                .unwrap();
        }

        let log: Log = Arc::default();
        let first = {
            let log = log.clone();
            orderly_consumer(&cluster, "cg-orderly", "Orderly", move |msgs, _| {
                // Slow down once the restart point is near, so it falls mid-stream.
                if log.lock().unwrap().len() >= 30 {
                    std::thread::sleep(Duration::from_millis(100));
                }
                record(&log, msgs);
                ConsumeOrderlyStatus::Success
            })
            .await
        };
        wait_until("some messages consumed", || async {
            log.lock().unwrap().len() >= 30
        })
        .await;
        let held = first.assigned_queues();
        let own: Vec<MessageQueue> = held
            .iter()
            .filter(|q| q.topic == "Orderly")
            .cloned()
            .collect();
        assert_eq!(own.len(), 4);
        assert!(
            foreign_lock(&cluster, "cg-orderly", &own).await.is_empty(),
            "the broker must refuse queues an orderly consumer holds"
        );
        first.shutdown().await;
        let after_first = log.lock().unwrap().len();
        assert!(after_first < total, "the restart must happen mid-stream");

        let second = {
            let log = log.clone();
            orderly_consumer(&cluster, "cg-orderly", "Orderly", move |msgs, _| {
                record(&log, msgs);
                ConsumeOrderlyStatus::Success
            })
            .await
        };
        wait_until("every message consumed", || async {
            let bodies: BTreeSet<String> =
                log.lock().unwrap().iter().map(|e| e.2.clone()).collect();
            bodies.len() == total
        })
        .await;
        second.shutdown().await;
        // Shutdown released the locks: another client may take the queues now.
        assert_eq!(foreign_lock(&cluster, "cg-orderly", &own).await.len(), 4);

        let log = log.lock().unwrap().clone();
        let mut per_queue: BTreeMap<MessageQueue, Vec<i64>> = BTreeMap::new();
        let mut per_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (mq, offset, body) in &log {
            per_queue.entry(mq.clone()).or_default().push(*offset);
            let (key, seq) = body.split_once(':').unwrap();
            per_key
                .entry(key.into())
                .or_default()
                .push(seq.parse().unwrap());
        }
        for (mq, offsets) in &per_queue {
            let expected: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(
                offsets, &expected,
                "queue {mq:?}: consumed out of order or twice"
            );
        }
        for (key, seqs) in &per_key {
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "key {key}: {seqs:?}");
        }
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_batch_is_retried_before_anything_after_it() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("OrderlyRetry", 1).await;
        let producer = cluster.producer("pg-orderly-retry").await;
        for i in 0..9 {
            producer
                .send(Message::new("OrderlyRetry", format!("m{i}")))
                .await
                .unwrap();
        }
        let log: Log = Arc::default();
        let attempts: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
        let consumer = {
            let (log, attempts) = (log.clone(), attempts.clone());
            orderly_consumer(
                &cluster,
                "cg-orderly-retry",
                "OrderlyRetry",
                move |msgs, ctx| {
                    let bodies: Vec<String> = msgs
                        .iter()
                        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
                        .collect();
                    if bodies.contains(&"m4".to_owned()) {
                        let mut a = attempts.lock().unwrap();
                        a.push(("m4".into(), msgs[0].reconsume_times));
                        if a.len() < 3 {
                            ctx.suspend_current_queue_time = Some(Duration::from_millis(100));
                            return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
                        }
                    }
                    record(&log, msgs);
                    ConsumeOrderlyStatus::Success
                },
            )
            .await
        };
        wait_until("all nine consumed", || async {
            log.lock().unwrap().len() == 9
        })
        .await;
        let bodies: Vec<String> = log.lock().unwrap().iter().map(|e| e.2.clone()).collect();
        let expected: Vec<String> = (0..9).map(|i| format!("m{i}")).collect();
        assert_eq!(bodies, expected);
        let reconsumes: Vec<i32> = attempts.lock().unwrap().iter().map(|a| a.1).collect();
        assert_eq!(reconsumes, [0, 1, 2]);
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_failing_max_reconsume_times_goes_to_the_dlq_and_the_queue_moves_on() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("OrderlyDlq", 1).await;
        let producer = cluster.producer("pg-orderly-dlq").await;
        for i in 0..4 {
            producer
                .send(Message::new("OrderlyDlq", format!("m{i}")))
                .await
                .unwrap();
        }
        let log: Log = Arc::default();
        let attempts: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
        let consumer = {
            let (log, attempts) = (log.clone(), attempts.clone());
            PushConsumer::builder()
                .client_config(cluster.client_config())
                .config(ConsumerConfig {
                    consume_message_batch_max_size: 1,
                    max_reconsume_times: 2,
                    ..orderly_config(&cluster, "cg-orderly-dlq")
                })
                .subscribe("OrderlyDlq", "*")
                .listener_orderly(
                    move |msgs: &[ReceivedMessage], _: &mut ConsumeOrderlyContext| {
                        if &msgs[0].body[..] == b"m1" {
                            attempts
                                .lock()
                                .unwrap()
                                .push((msgs[0].msg_id.clone(), msgs[0].reconsume_times));
                            return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
                        }
                        record(&log, msgs);
                        ConsumeOrderlyStatus::Success
                    },
                )
                .start()
                .await
                .unwrap()
        };
        wait_until("the rest consumed", || async {
            log.lock().unwrap().len() == 3
        })
        .await;
        let bodies: Vec<String> = log.lock().unwrap().iter().map(|e| e.2.clone()).collect();
        assert_eq!(bodies, ["m0", "m2", "m3"]);
        let attempts = attempts.lock().unwrap().clone();
        assert_eq!(attempts.iter().map(|a| a.1).collect::<Vec<_>>(), [0, 1, 2]);
        let failed_id = attempts[0].0.clone();

        let admin = rmq_client::Admin::start(cluster.client_config())
            .await
            .unwrap();
        let dlq = "%DLQ%cg-orderly-dlq";
        wait_until("the dead letter", || async {
            admin
                .topic_stats(dlq)
                .await
                .is_ok_and(|s| s.offset_table.values().map(|o| o.max_offset).sum::<i64>() == 1)
        })
        .await;
        // Find the dead letter by its id (the topic is also readable: perm 6).
        let dead = admin
            .query_messages_by_id(Some(dlq), &failed_id)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(&dead[0].body[..], b"m1");
        admin.shutdown().await;
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_orderly_consumer_releases_its_queue_locks() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("OrderlyDrop", 2).await;
        let consumer = orderly_consumer(&cluster, "cg-orderly-drop", "OrderlyDrop", |_, _| {
            ConsumeOrderlyStatus::Success
        })
        .await;
        wait_until("both queues locked", || async {
            consumer
                .assigned_queues()
                .iter()
                .filter(|q| q.topic == "OrderlyDrop")
                .count()
                == 2
        })
        .await;
        let own: Vec<MessageQueue> = consumer
            .assigned_queues()
            .into_iter()
            .filter(|q| q.topic == "OrderlyDrop")
            .collect();
        assert!(foreign_lock(&cluster, "cg-orderly-drop", &own)
            .await
            .is_empty());
        drop(consumer);
        // The broker keeps a lock 60 s unless it is released.
        wait_until("the locks released", || async {
            foreign_lock(&cluster, "cg-orderly-drop", &own).await.len() == 2
        })
        .await;
        cluster.stop().await;
    })
    .await;
}
