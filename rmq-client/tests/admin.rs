//! The admin client against an in-process name server and broker: topics, groups, progress,
//! connections, offset resets and message queries.

mod common;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{wait_until, Cluster, Received};
use rmq_client::{Admin, ClientError, Message, MessageQueue, PushConsumer};
use rmq_remoting::body::stats::SubscriptionGroupConfig;
use rmq_remoting::body::topic::TopicConfig;

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

fn topic_config(name: &str, queues: i32) -> TopicConfig {
    TopicConfig {
        order: false,
        perm: 6,
        read_queue_nums: queues,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_name: name.into(),
        topic_sys_flag: 0,
        write_queue_nums: queues,
        attributes: None,
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_listed_routed_counted_and_deleted() {
    bounded(async {
        let cluster = Cluster::start().await;
        let admin = Admin::start(cluster.client_config()).await.unwrap();

        let info = admin.cluster_info().await.unwrap();
        assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
        let masters = admin.cluster_master_addrs("DefaultCluster").await.unwrap();
        assert_eq!(masters, std::slice::from_ref(&cluster.broker));
        let err = admin
            .cluster_master_addrs("NoSuchCluster")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("DefaultCluster"), "{err}");

        let created = admin
            .create_topic_in_cluster("DefaultCluster", &topic_config("AdminT", 3))
            .await
            .unwrap();
        assert_eq!(created, masters);
        cluster.wait_for_route("AdminT").await;
        assert!(admin.topic_list().await.unwrap().contains("AdminT"));
        let route = admin.topic_route("AdminT").await.unwrap();
        assert_eq!(route.queue_datas[0].write_queue_nums, 3);

        let producer = cluster.producer("pg-admin-t").await;
        for i in 0..5 {
            producer
                .send(Message::new("AdminT", format!("m{i}")))
                .await
                .unwrap();
        }
        let stats = admin.topic_stats("AdminT").await.unwrap();
        assert_eq!(stats.offset_table.len(), 3);
        let total: i64 = stats.offset_table.values().map(|o| o.max_offset).sum();
        assert_eq!(total, 5);

        let runtime = admin.broker_runtime_stats(&cluster.broker).await.unwrap();
        assert!(runtime.contains_key("brokerVersionDesc"), "{runtime:?}");

        admin
            .delete_topic("AdminT", "DefaultCluster")
            .await
            .unwrap();
        assert!(!admin.topic_list().await.unwrap().contains("AdminT"));
        assert!(matches!(
            admin.topic_route("AdminT").await,
            Err(ClientError::NoRoute(_))
        ));
        producer.shutdown().await;
        admin.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_found_by_key_id_offset_id_and_queue_offset() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("AdminQ", 2).await;
        let admin = Admin::start(cluster.client_config()).await.unwrap();
        let producer = cluster.producer("pg-admin-q").await;
        let begin = now_millis() - 1000;
        let sent = producer
            .send(Message::new("AdminQ", "hello").with_keys(["order-42"]))
            .await
            .unwrap();
        producer
            .send(Message::new("AdminQ", "other").with_keys(["order-43"]))
            .await
            .unwrap();

        let by_key = admin
            .query_messages_by_key("AdminQ", "order-42", 32, begin, now_millis() + 1000)
            .await
            .unwrap();
        assert_eq!(by_key.len(), 1);
        assert_eq!(&by_key[0].body[..], b"hello");

        let by_id = admin
            .query_messages_by_id(Some("AdminQ"), &sent.msg_id)
            .await
            .unwrap();
        assert_eq!(by_id.len(), 1);
        assert_eq!(by_id[0].offset_msg_id, sent.offset_msg_id);

        let viewed = admin.view_message(&sent.offset_msg_id).await.unwrap();
        assert_eq!(viewed.msg_id, sent.msg_id);
        assert_eq!(viewed.queue, sent.message_queue);
        let bad = admin.view_message("not-an-id").await.unwrap_err();
        assert!(bad.to_string().contains("hex"), "{bad}");

        let at = admin
            .query_message_by_offset(&sent.message_queue, sent.queue_offset)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(at.msg_id, sent.msg_id);
        let beyond = admin
            .query_message_by_offset(&sent.message_queue, sent.queue_offset + 100)
            .await
            .unwrap();
        assert!(beyond.is_none());

        let none = admin
            .query_messages_by_key("AdminQ", "nope", 32, begin, now_millis() + 1000)
            .await
            .unwrap();
        assert!(none.is_empty());
        producer.shutdown().await;
        admin.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_progress_connections_and_offset_resets() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("AdminG", 2).await;
        let admin = Admin::start(cluster.client_config()).await.unwrap();

        let mut group = SubscriptionGroupConfig::new("cg-admin");
        group.retry_max_times = 3;
        admin
            .create_subscription_group_in_cluster("DefaultCluster", &group)
            .await
            .unwrap();

        let producer = cluster.producer("pg-admin-g").await;
        let mut ids = std::collections::HashSet::new();
        for i in 0..6 {
            ids.insert(
                producer
                    .send(Message::new("AdminG", format!("m{i}")))
                    .await
                    .unwrap()
                    .msg_id,
            );
        }
        let received = Received::default();
        let consumer = PushConsumer::builder()
            .client_config(cluster.client_config())
            .config(rmq_client::ConsumerConfig {
                consume_from_where: rmq_client::ConsumeFromWhere::FirstOffset,
                ..cluster.consumer_config("cg-admin")
            })
            .subscribe("AdminG", "*")
            .listener(received.listener())
            .start()
            .await
            .unwrap();
        received.wait_for(&ids).await;

        let conns = admin.consumer_connections("cg-admin").await.unwrap();
        assert_eq!(conns.connection_set.len(), 1);
        assert_eq!(conns.connection_set[0].client_id, consumer.client_id());
        assert!(conns.subscription_table.contains_key("AdminG"));

        wait_until("committed progress", || async {
            let stats = admin
                .consume_stats("cg-admin", Some("AdminG"))
                .await
                .unwrap();
            stats.offset_table.len() == 2
                && stats
                    .offset_table
                    .values()
                    .all(|o| o.consumer_offset == o.broker_offset)
                && stats
                    .offset_table
                    .values()
                    .map(|o| o.broker_offset)
                    .sum::<i64>()
                    == 6
        })
        .await;

        let reset = admin
            .reset_offset_by_time("AdminG", "cg-admin", 0, true)
            .await
            .unwrap();
        assert_eq!(reset.len(), 2);
        assert!(reset.values().all(|o| *o == 0), "{reset:?}");
        assert!(reset.contains_key(&MessageQueue::new("AdminG", "broker-a", 0)));
        consumer.shutdown().await;

        let no_one = admin.consumer_connections("cg-admin").await.unwrap_err();
        assert_eq!(no_one.response_code(), Some(206), "{no_one}");
        admin
            .delete_subscription_group(&cluster.broker, "cg-admin", true)
            .await
            .unwrap();
        producer.shutdown().await;
        admin.shutdown().await;
        cluster.stop().await;
    })
    .await;
}
