//! The lite pull consumer against an in-process name server and broker: subscribe mode with
//! auto-commit, assign mode with seek and manual commit.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::Duration;

use common::{poll_n, Cluster};
use rmq_client::{
    ClientError, ConsumeFromWhere, ConsumerConfig, LitePullConsumer, Message, MessageQueue,
    ReceivedMessage, SelectMessageQueueByHash,
};

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

fn config(cluster: &Cluster, group: &str) -> ConsumerConfig {
    ConsumerConfig {
        consume_from_where: ConsumeFromWhere::FirstOffset,
        pull_batch_size: 10,
        ..cluster.consumer_config(group)
    }
}

fn body(m: &ReceivedMessage) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_mode_polls_in_queue_order_and_auto_commits() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("LiteSub", 2).await;
        let producer = cluster.producer("pg-lite-sub").await;
        for i in 0..30 {
            producer
                .send(Message::new("LiteSub", format!("m{i}")))
                .await
                .unwrap();
        }
        let consumer = LitePullConsumer::builder()
            .client_config(cluster.client_config())
            .config(config(&cluster, "cg-lite-sub"))
            .subscribe("LiteSub", "*")
            .start()
            .await
            .unwrap();
        let polled = poll_n(&consumer, 30).await;
        assert!(polled.len() <= 30 + 10);
        let bodies: HashSet<String> = polled.iter().map(body).collect();
        assert_eq!(bodies.len(), 30);
        let mut per_queue: BTreeMap<MessageQueue, Vec<i64>> = BTreeMap::new();
        for m in &polled {
            per_queue
                .entry(m.queue.clone())
                .or_default()
                .push(m.queue_offset);
        }
        for offsets in per_queue.values() {
            assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
        }
        assert!(consumer
            .poll(Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty());
        consumer.shutdown().await;

        // The next member of the group starts where auto-commit left off.
        let next = LitePullConsumer::builder()
            .client_config(cluster.client_config())
            .config(config(&cluster, "cg-lite-sub"))
            .subscribe("LiteSub", "*")
            .start()
            .await
            .unwrap();
        for mq in per_queue.keys() {
            let committed = next.committed(mq).await.unwrap();
            assert_eq!(committed, Some(per_queue[mq].len() as i64), "{mq:?}");
        }
        for i in 30..35 {
            producer
                .send(Message::new("LiteSub", format!("m{i}")))
                .await
                .unwrap();
        }
        let fresh: HashSet<String> = poll_n(&next, 5).await.iter().map(body).collect();
        let expected: HashSet<String> = (30..35).map(|i| format!("m{i}")).collect();
        assert_eq!(fresh, expected);
        next.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_mode_seeks_and_commits_only_when_asked() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("LiteAssign", 2).await;
        let producer = cluster.producer("pg-lite-assign").await;
        // Every message goes to one queue.
        for i in 0..8 {
            producer
                .send_with_selector(
                    Message::new("LiteAssign", format!("m{i}")),
                    &SelectMessageQueueByHash,
                    "k",
                )
                .await
                .unwrap();
        }
        let probe = LitePullConsumer::builder()
            .client_config(cluster.client_config())
            .config(config(&cluster, "cg-lite-probe"))
            .subscribe("LiteAssign", "*")
            .start()
            .await
            .unwrap();
        let queues = probe.fetch_message_queues("LiteAssign").await.unwrap();
        assert_eq!(queues.len(), 2);
        let mq = poll_n(&probe, 1).await[0].queue.clone();
        probe.shutdown().await;

        let start = || {
            LitePullConsumer::builder()
                .client_config(cluster.client_config())
                .config(config(&cluster, "cg-lite-assign"))
                .assign([mq.clone()])
                .auto_commit(false)
                .start()
        };
        let consumer = start().await.unwrap();
        let first = poll_n(&consumer, 8).await;
        assert_eq!(
            first.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
        assert_eq!(consumer.assignment(), std::slice::from_ref(&mq));
        let before = consumer.committed(&mq).await.unwrap();
        assert!(
            matches!(before, None | Some(0)),
            "nothing polled is committed yet: {before:?}"
        );
        consumer.commit().await.unwrap();
        assert_eq!(consumer.committed(&mq).await.unwrap(), Some(8));

        consumer.seek(&mq, 5).await.unwrap();
        let again = poll_n(&consumer, 3).await;
        assert_eq!(
            again.iter().map(body).collect::<Vec<_>>(),
            ["m5", "m6", "m7"]
        );
        consumer.seek_to_begin(&mq).await.unwrap();
        assert_eq!(body(&poll_n(&consumer, 1).await[0]), "m0");
        consumer.seek_to_end(&mq).await.unwrap();
        assert!(consumer
            .poll(Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty());
        let other = queues.iter().find(|q| **q != mq).unwrap();
        let err = consumer.seek(other, 0).await.unwrap_err();
        assert!(err.to_string().contains("not in assigned list"), "{err}");
        // Seeks and polls after the commit were never committed.
        consumer.shutdown().await;
        let after = start().await.unwrap();
        assert_eq!(after.committed(&mq).await.unwrap(), Some(8));
        after.shutdown().await;

        let bad = LitePullConsumer::builder()
            .client_config(cluster.client_config())
            .config(config(&cluster, "cg-lite-bad"))
            .start()
            .await;
        assert!(matches!(bad, Err(ClientError::Config(_))));
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}
