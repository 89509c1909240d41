//! The console's message queries against an in-process name server and broker: a topic's
//! messages in a time range (newest first, bounded) and each group's track of one message.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{wait_until, Cluster, Received};
use rmq_client::{Admin, ConsumeFromWhere, ConsumerConfig, Message, PushConsumer, TrackType};

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Keys as a multiset, so a message listed twice shows.
fn key_counts<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for k in keys {
        *counts.entry(k.to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_range_lists_its_messages_newest_first_and_bounded() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("ConsoleRange", 3).await;
        let admin = Admin::start(cluster.client_config()).await.unwrap();
        let producer = cluster.producer("pg-console-range").await;
        let mut marks = Vec::new();
        for batch in ["a", "b", "c"] {
            marks.push(now_millis());
            for i in 0..7 {
                producer
                    .send(Message::new("ConsoleRange", "x").with_keys([format!("{batch}{i}")]))
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        marks.push(now_millis());

        let all = admin
            .query_messages_by_time("ConsoleRange", marks[0], marks[3], 100)
            .await
            .unwrap();
        assert_eq!(all.len(), 21);
        let expected = key_counts(
            ["a", "b", "c"]
                .iter()
                .flat_map(|b| (0..7).map(move |i| format!("{b}{i}")))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        );
        assert_eq!(key_counts(all.iter().flat_map(|m| m.keys())), expected);
        assert!(
            all.windows(2)
                .all(|w| w[0].store_timestamp >= w[1].store_timestamp),
            "newest first"
        );

        let middle = admin
            .query_messages_by_time("ConsoleRange", marks[1], marks[2] - 1, 100)
            .await
            .unwrap();
        let want: Vec<String> = (0..7).map(|i| format!("b{i}")).collect();
        assert_eq!(
            key_counts(middle.iter().flat_map(|m| m.keys())),
            key_counts(want.iter().map(String::as_str))
        );

        let newest = admin
            .query_messages_by_time("ConsoleRange", marks[0], marks[3], 5)
            .await
            .unwrap();
        assert_eq!(newest.len(), 5);
        assert!(newest.iter().all(|m| m.keys()[0].starts_with('c')));

        let empty = admin
            .query_messages_by_time("ConsoleRange", marks[3] + 60_000, marks[3] + 120_000, 10)
            .await
            .unwrap();
        assert!(empty.is_empty());
        producer.shutdown().await;
        admin.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_tracked_not_consumed_then_consumed_per_group() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("ConsoleTrack", 2).await;
        let admin = Admin::start(cluster.client_config()).await.unwrap();
        let producer = cluster.producer("pg-console-track").await;
        let sent = producer
            .send(Message::new("ConsoleTrack", "tracked").with_keys(["t1"]))
            .await
            .unwrap();
        let msg = admin.view_message(&sent.offset_msg_id).await.unwrap();
        assert!(admin.message_track(&msg).await.unwrap().is_empty());

        let received = Received::default();
        let consumer = PushConsumer::builder()
            .client_config(cluster.client_config())
            .consumer_group("cg-console-track")
            .config(ConsumerConfig {
                consume_from_where: ConsumeFromWhere::FirstOffset,
                ..cluster.consumer_config("cg-console-track")
            })
            .subscribe("ConsoleTrack", "*")
            .listener(received.listener())
            .start()
            .await
            .unwrap();
        received.wait_for(&[sent.msg_id.clone()].into()).await;
        wait_until("the group's offset passes the message", || {
            let (admin, msg) = (&admin, &msg);
            async move {
                admin.message_track(msg).await.is_ok_and(|t| {
                    t.len() == 1
                        && t[0].group == "cg-console-track"
                        && t[0].track == TrackType::Consumed
                        && t[0].online
                        && t[0].clients.len() == 1
                })
            }
        })
        .await;
        let groups = admin.topic_consumer_groups("ConsoleTrack").await.unwrap();
        assert_eq!(groups.into_iter().collect::<Vec<_>>(), ["cg-console-track"]);

        consumer.shutdown().await;
        let later = producer
            .send(Message::new("ConsoleTrack", "later").with_keys(["t2"]))
            .await
            .unwrap();
        let later = admin.view_message(&later.offset_msg_id).await.unwrap();
        let track = admin.message_track(&later).await.unwrap();
        assert_eq!(track.len(), 1);
        assert_eq!(track[0].track, TrackType::NotConsumedYet);
        assert!(!track[0].online);
        producer.shutdown().await;
        admin.shutdown().await;
        cluster.stop().await;
    })
    .await;
}
