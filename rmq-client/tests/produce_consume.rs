//! Producer and push consumer against an in-process name server and broker: send modes, batch,
//! ordered sends, tag filtering, compression, validation, retries and the TBW102 fallback.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{wait_until, Cluster, Received};
use rmq_client::{
    ClientError, ConsumeContext, ConsumeStatus, Message, PushConsumer, ReceivedMessage,
    SelectMessageQueueByHash, SendStatus,
};

/// Every test is bounded, so a hang fails instead of stalling the suite.
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(45), test)
        .await
        .expect("test timed out");
}

async fn consumer(
    cluster: &Cluster,
    group: &str,
    topic: &str,
    expression: &str,
    received: &Received,
) -> PushConsumer {
    PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(cluster.consumer_config(group))
        .subscribe(topic, expression)
        .listener(received.listener())
        .start()
        .await
        .unwrap()
}

async fn wait_assigned(consumer: &PushConsumer, n: usize) {
    wait_until(&format!("{n} assigned queues"), || async {
        common::own_queues(consumer).len() == n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_async_and_oneway_sends_are_all_consumed() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Modes", 4).await;
        let received = Received::default();
        let consumer = consumer(&cluster, "cg-modes", "Modes", "*", &received).await;
        wait_assigned(&consumer, 4).await;
        let producer = cluster.producer("pg-modes").await;

        let mut ids = HashSet::new();
        for i in 0..10 {
            let msg = Message::new("Modes", format!("sync-{i}"))
                .with_tags("TagA")
                .with_keys([format!("key-{i}")])
                .with_property("seq", i.to_string());
            let r = producer.send(msg).await.unwrap();
            assert_eq!(r.status, SendStatus::SendOk);
            assert_eq!(r.msg_id.len(), 32);
            assert_eq!(r.offset_msg_id.len(), 32);
            assert_eq!(r.message_queue.topic, "Modes");
            ids.insert(r.msg_id);
        }
        let pending: Vec<_> = (0..10)
            .map(|i| producer.send_async(Message::new("Modes", format!("async-{i}"))))
            .collect();
        for p in pending {
            ids.insert(p.await.unwrap().msg_id);
        }
        for i in 0..10 {
            producer
                .send_oneway(Message::new("Modes", format!("oneway-{i}")))
                .await
                .unwrap();
        }
        let big = "x".repeat(10_000);
        ids.insert(
            producer
                .send(Message::new("Modes", big.clone()))
                .await
                .unwrap()
                .msg_id,
        );

        wait_until("all 31 messages", || async { received.len() >= 31 }).await;
        // a duplicate delivery would show up now
        tokio::time::sleep(Duration::from_millis(300)).await;
        let all = received.all();
        assert!(ids.is_subset(&received.ids()));
        assert_eq!(all.len(), 31, "every message once");
        let bodies: HashSet<String> = all
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .collect();
        for i in 0..10 {
            for kind in ["sync", "async", "oneway"] {
                assert!(
                    bodies.contains(&format!("{kind}-{i}")),
                    "{kind}-{i} missing"
                );
            }
        }
        assert!(
            bodies.contains(&big),
            "the compressed body was not restored"
        );
        let sync3 = all.iter().find(|m| m.body.as_ref() == b"sync-3").unwrap();
        assert_eq!(sync3.tags(), Some("TagA"));
        assert_eq!(sync3.keys(), vec!["key-3"]);
        assert_eq!(sync3.property("seq"), Some("3"));
        assert_eq!(sync3.topic, "Modes");

        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_stored_as_separate_messages() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Batch", 2).await;
        let producer = cluster.producer("pg-batch").await;
        let msgs: Vec<Message> = (0..10)
            .map(|i| Message::new("Batch", format!("b-{i}")).with_tags("T"))
            .collect();
        let result = producer.send_batch(msgs).await.unwrap();
        let ids: HashSet<String> = result.msg_id.split(',').map(str::to_owned).collect();
        assert_eq!(ids.len(), 10);
        let mixed = vec![Message::new("Batch", "a"), Message::new("Other", "b")];
        assert!(matches!(
            producer.send_batch(mixed).await,
            Err(ClientError::InvalidMessage(_))
        ));

        let received = Received::default();
        let consumer = consumer(&cluster, "cg-batch", "Batch", "*", &received).await;
        received.wait_for(&ids).await;
        let offsets: Vec<i64> = {
            let mut o: Vec<i64> = received.all().iter().map(|m| m.queue_offset).collect();
            o.sort();
            o
        };
        assert_eq!(offsets, (0..10).collect::<Vec<_>>());
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_with_one_key_keep_their_order_in_one_queue() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Ordered", 4).await;
        let producer = cluster.producer("pg-ordered").await;
        let keys = ["order-1", "order-2", "order-3"];
        for seq in 0..15 {
            for key in keys {
                let msg = Message::new("Ordered", format!("{key}:{seq}"));
                producer
                    .send_with_selector(msg, &SelectMessageQueueByHash, key)
                    .await
                    .unwrap();
            }
        }
        let received = Received::default();
        let consumer = consumer(&cluster, "cg-ordered", "Ordered", "*", &received).await;
        wait_until("45 messages", || async { received.len() >= 45 }).await;
        let mut by_key: BTreeMap<String, Vec<(i32, i64, u32)>> = BTreeMap::new();
        for m in received.all() {
            let text = String::from_utf8(m.body.to_vec()).unwrap();
            let (key, seq) = text.split_once(':').unwrap();
            by_key.entry(key.to_owned()).or_default().push((
                m.queue.queue_id,
                m.queue_offset,
                seq.parse().unwrap(),
            ));
        }
        for (key, mut entries) in by_key {
            let queues: HashSet<i32> = entries.iter().map(|e| e.0).collect();
            assert_eq!(queues.len(), 1, "{key} spread over queues {queues:?}");
            entries.sort_by_key(|e| e.1);
            let seqs: Vec<u32> = entries.iter().map(|e| e.2).collect();
            assert_eq!(seqs, (0..15).collect::<Vec<_>>(), "{key} out of order");
        }
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_expression_receives_only_those_tags() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Tags", 2).await;
        let producer = cluster.producer("pg-tags").await;
        let mut wanted = HashSet::new();
        for i in 0..8 {
            for tag in ["TagA", "TagB", "TagC"] {
                let r = producer
                    .send(Message::new("Tags", format!("{tag}-{i}")).with_tags(tag))
                    .await
                    .unwrap();
                if tag != "TagC" {
                    wanted.insert(r.msg_id);
                }
            }
            producer
                .send(Message::new("Tags", format!("untagged-{i}")))
                .await
                .unwrap();
        }
        let received = Received::default();
        let consumer = consumer(&cluster, "cg-tags", "Tags", "TagA || TagB", &received).await;
        received.wait_for(&wanted).await;
        // Give stray deliveries a chance to show up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        received.assert_each_once(&wanted);
        assert!(received
            .all()
            .iter()
            .all(|m| matches!(m.tags(), Some("TagA" | "TagB"))));
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconsume_later_delivers_the_message_again() {
    bounded(retried_after_first_failure(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_listener_counts_as_reconsume_later() {
    bounded(retried_after_first_failure(true)).await;
}

/// The listener fails the first delivery (by status or by panicking); the message must come
/// back with its reconsume count raised.
async fn retried_after_first_failure(panic: bool) {
    {
        let cluster = Cluster::start().await;
        cluster.create_topic("Retry", 1).await;
        let attempts = Arc::new(std::sync::Mutex::new(Vec::<ReceivedMessage>::new()));
        let failed_once = Arc::new(AtomicBool::new(false));
        let (seen, failed) = (attempts.clone(), failed_once.clone());
        let consumer = PushConsumer::builder()
            .client_config(cluster.client_config())
            .config(cluster.consumer_config("cg-retry"))
            .subscribe("Retry", "*")
            .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
                seen.lock().unwrap().extend_from_slice(msgs);
                if failed.swap(true, Ordering::SeqCst) {
                    ConsumeStatus::ConsumeSuccess
                } else if panic {
                    panic!("listener failure on purpose");
                } else {
                    ConsumeStatus::ReconsumeLater
                }
            })
            .start()
            .await
            .unwrap();
        wait_assigned(&consumer, 1).await;
        let producer = cluster.producer("pg-retry").await;
        let id = producer
            .send(Message::new("Retry", "fail-once"))
            .await
            .unwrap()
            .msg_id;
        wait_until("a redelivery", || async {
            attempts.lock().unwrap().len() >= 2
        })
        .await;
        let all = attempts.lock().unwrap().clone();
        assert!(all.iter().all(|m| m.msg_id == id));
        assert_eq!(all[0].reconsume_times, 0);
        assert_eq!(all[1].reconsume_times, 1);
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topics_are_created_through_tbw102_and_bad_messages_refused() {
    bounded(async {
        let cluster = Cluster::start().await;
        let producer = cluster.producer("pg-new").await;
        let r = producer
            .send(Message::new("BrandNew", "first"))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk);
        assert!(r.message_queue.queue_id < 4);
        cluster.wait_for_route("BrandNew").await;

        let empty = producer.send(Message::new("BrandNew", "")).await;
        assert!(matches!(empty, Err(ClientError::InvalidMessage(_))));
        let huge = producer
            .send(Message::new("BrandNew", vec![b'x'; 4 * 1024 * 1024 + 1]))
            .await;
        assert!(matches!(huge, Err(ClientError::InvalidMessage(_))));
        let bad_topic = producer.send(Message::new("bad topic", "x")).await;
        assert!(matches!(bad_topic, Err(ClientError::InvalidMessage(_))));
        let delayed = producer
            .send(Message::new("BrandNew", "later").with_delay_level(3))
            .await;
        assert_eq!(delayed.unwrap().status, SendStatus::SendOk);
        producer.shutdown().await;
        let after = producer.send(Message::new("BrandNew", "x")).await;
        assert!(matches!(after, Err(ClientError::State(_))));
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_started_before_its_topic_exists_gets_the_first_message_within_seconds() {
    bounded(async {
        let cluster = Cluster::start().await;
        let received = Received::default();
        // the client's default periods (30 s route refresh, 20 s rebalance), not the tests' short ones
        let c = PushConsumer::builder()
            .client_config(rmq_client::ClientConfig {
                namesrv_addr: cluster.namesrv.clone(),
                client_ip: "127.0.0.1".into(),
                instance_name: "early-consumer".into(),
                ..rmq_client::ClientConfig::default()
            })
            .config(cluster.consumer_config("cg-early"))
            .subscribe("NotYetThere", "*")
            .listener(received.listener())
            .start()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let producer = cluster.producer("pg-early").await;
        let sent = tokio::time::Instant::now();
        let r = producer
            .send(Message::new("NotYetThere", "first"))
            .await
            .unwrap();
        received.wait_for(&HashSet::from([r.msg_id.clone()])).await;
        // the 30 s route refresh and the 20 s rebalance would both be far later
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "first message took {:?}",
            sent.elapsed()
        );
        c.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_are_reported_before_any_network_call() {
    let no_ns = rmq_client::Producer::builder()
        .namesrv_addr("")
        .producer_group("pg")
        .client_config(rmq_client::ClientConfig {
            namesrv_addr: String::new(),
            ..Default::default()
        })
        .start()
        .await;
    if std::env::var("NAMESRV_ADDR").is_err() {
        assert!(matches!(no_ns, Err(ClientError::Config(_))));
    }
    let default_group = rmq_client::Producer::builder()
        .namesrv_addr("127.0.0.1:1")
        .start()
        .await;
    assert!(matches!(default_group, Err(ClientError::Config(_))));
    let no_listener = PushConsumer::builder()
        .namesrv_addr("127.0.0.1:1")
        .consumer_group("cg")
        .subscribe("T", "*")
        .start()
        .await;
    assert!(matches!(no_listener, Err(ClientError::Config(_))));
}
