//! Our client against Apache RocketMQ 4.9.7's own name server and broker: the producer,
//! consumer and admin scenarios of the other suites, unchanged, on the reference servers.
//!
//! `interop/run.sh apache-client` starts Apache's servers and runs this file with
//! `RMQ_APACHE_NAMESRV` and `RMQ_APACHE_BROKER` set and `--include-ignored`. A plain
//! `cargo test` has no JVM to start them with: there every test shows as ignored (with the
//! reason), and one run with `--ignored` but without the servers fails instead of passing.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{poll_n, wait_until, Received};
use rmq_client::{
    Admin, ClientConfig, ConsumeContext, ConsumeFromWhere, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, ConsumeStatus, ConsumerConfig, LitePullConsumer, Message, MessageQueue,
    Producer, PushConsumer, ReceivedMessage, SelectMessageQueueByHash,
};
use rmq_remoting::body::topic::TopicConfig;

/// Apache's servers, from the environment the interop suite sets.
struct Apache {
    namesrv: String,
    broker: String,
    dir: tempfile::TempDir,
}

impl Apache {
    fn from_env() -> Option<Apache> {
        let namesrv = std::env::var("RMQ_APACHE_NAMESRV").ok()?;
        let broker = std::env::var("RMQ_APACHE_BROKER").ok()?;
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        Some(Apache {
            namesrv,
            broker,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    fn client_config(&self) -> ClientConfig {
        common::fast_client_config(&self.namesrv)
    }

    fn consumer_config(&self, group: &str) -> ConsumerConfig {
        ConsumerConfig {
            consumer_group: group.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            local_offset_store_dir: self.dir.path().join("offsets"),
            ..ConsumerConfig::default()
        }
    }

    /// A topic unique to this run (Apache's store outlives a test), created on the broker.
    async fn topic(&self, admin: &Admin, name: &str, queues: i32) -> String {
        let topic = format!("{name}_{}", now_millis());
        let config = TopicConfig {
            order: false,
            perm: 6,
            read_queue_nums: queues,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_name: topic.clone(),
            topic_sys_flag: 0,
            write_queue_nums: queues,
            attributes: None,
        };
        admin.create_topic(&self.broker, &config).await.unwrap();
        wait_until(&format!("a route for {topic}"), || async {
            admin.topic_route(&topic).await.is_ok()
        })
        .await;
        topic
    }

    async fn producer(&self, group: &str) -> Producer {
        Producer::builder()
            .client_config(self.client_config())
            .producer_group(group)
            .start()
            .await
            .unwrap()
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs `test` against Apache's servers when the suite provides them.
async fn against_apache<F, Fut>(test: F)
where
    F: FnOnce(Apache) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(apache) = Apache::from_env() else {
        panic!("RMQ_APACHE_NAMESRV/RMQ_APACHE_BROKER unset: run interop/run.sh apache-client");
    };
    tokio::time::timeout(Duration::from_secs(60), test(apache))
        .await
        .expect("test timed out");
}

fn body(m: &ReceivedMessage) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn every_send_mode_reaches_a_clustering_consumer() {
    against_apache(|a| async move {
        let admin = Admin::start(a.client_config()).await.unwrap();
        let topic = a.topic(&admin, "ApacheModes", 4).await;
        let producer = a.producer("pg-apache-modes").await;
        let mut bodies = HashSet::new();
        for i in 0..10 {
            let r = producer
                .send(Message::new(topic.clone(), format!("sync{i}")))
                .await
                .unwrap();
            assert_eq!(r.message_queue.topic, topic);
            bodies.insert(format!("sync{i}"));
            producer
                .send_async(Message::new(topic.clone(), format!("async{i}")))
                .await
                .unwrap();
            bodies.insert(format!("async{i}"));
            producer
                .send_oneway(Message::new(topic.clone(), format!("oneway{i}")))
                .await
                .unwrap();
            bodies.insert(format!("oneway{i}"));
        }
        let batch: Vec<Message> = (0..5)
            .map(|i| Message::new(topic.clone(), format!("batch{i}")))
            .collect();
        producer.send_batch(batch).await.unwrap();
        bodies.extend((0..5).map(|i| format!("batch{i}")));

        let received = Received::default();
        let consumer = PushConsumer::builder()
            .client_config(a.client_config())
            .config(a.consumer_config("cg-apache-modes"))
            .subscribe(topic.clone(), "*")
            .listener(received.listener())
            .start()
            .await
            .unwrap();
        wait_until("every message", || async {
            let got: HashSet<String> = received.all().iter().map(body).collect();
            bodies.is_subset(&got)
        })
        .await;
        // counted as a multiset: a duplicate delivery shows up now
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for m in received.all() {
            *counts.entry(body(&m)).or_default() += 1;
        }
        let once: BTreeMap<String, usize> = bodies.iter().map(|b| (b.clone(), 1)).collect();
        assert_eq!(counts, once);
        consumer.shutdown().await;
        producer.shutdown().await;
        admin.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn tag_filtering_and_a_retry_then_success() {
    against_apache(|a| async move {
        let admin = Admin::start(a.client_config()).await.unwrap();
        let topic = a.topic(&admin, "ApacheTags", 2).await;
        let producer = a.producer("pg-apache-tags").await;
        for (i, tag) in ["TagA", "TagB", "TagA", "TagC"].iter().enumerate() {
            producer
                .send(Message::new(topic.clone(), format!("{tag}-{i}")).with_tags(*tag))
                .await
                .unwrap();
        }
        let seen: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
        let consumer = {
            let seen = seen.clone();
            PushConsumer::builder()
                .client_config(a.client_config())
                .config(a.consumer_config("cg-apache-tags"))
                .subscribe(topic.clone(), "TagA || TagC")
                .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
                    let mut seen = seen.lock().unwrap();
                    let mut status = ConsumeStatus::ConsumeSuccess;
                    for m in msgs {
                        seen.push((body(m), m.reconsume_times));
                        // The first delivery of TagC fails once: Apache redelivers it through
                        // the group's retry topic (delay level 3, 10 s).
                        if body(m) == "TagC-3" && m.reconsume_times == 0 {
                            status = ConsumeStatus::ReconsumeLater;
                        }
                    }
                    status
                })
                .start()
                .await
                .unwrap()
        };
        wait_until("the retried message", || async {
            seen.lock()
                .unwrap()
                .iter()
                .any(|(b, n)| b == "TagC-3" && *n == 1)
        })
        .await;
        // every delivery, duplicates visible: TagC-3 twice (the failure, then the retry)
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut deliveries = seen.lock().unwrap().clone();
        deliveries.sort();
        let expected: Vec<(String, i32)> =
            [("TagA-0", 0), ("TagA-2", 0), ("TagC-3", 0), ("TagC-3", 1)]
                .map(|(b, n)| (b.to_owned(), n))
                .into();
        assert_eq!(deliveries, expected);
        consumer.shutdown().await;
        producer.shutdown().await;
        admin.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn orderly_consumption_keeps_per_queue_order_across_a_restart() {
    against_apache(|a| async move {
        let admin = Admin::start(a.client_config()).await.unwrap();
        let topic = a.topic(&admin, "ApacheOrderly", 4).await;
        let producer = a.producer("pg-apache-orderly").await;
        for i in 0..60 {
            let key = format!("order-{}", i % 5);
            producer
                .send_with_selector(
                    Message::new(topic.clone(), format!("{key}:{i}")),
                    &SelectMessageQueueByHash,
                    &key,
                )
                .await
                .unwrap();
        }
        let log: Arc<Mutex<Vec<(MessageQueue, i64)>>> = Arc::default();
        let start = |slow: bool| {
            let log = log.clone();
            PushConsumer::builder()
                .client_config(a.client_config())
                .config(ConsumerConfig {
                    consume_message_batch_max_size: 2,
                    ..a.consumer_config("cg-apache-orderly")
                })
                .subscribe(topic.clone(), "*")
                .listener_orderly(
                    move |msgs: &[ReceivedMessage], _: &mut ConsumeOrderlyContext| {
                        if slow && log.lock().unwrap().len() >= 20 {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        let mut log = log.lock().unwrap();
                        log.extend(msgs.iter().map(|m| (m.queue.clone(), m.queue_offset)));
                        ConsumeOrderlyStatus::Success
                    },
                )
                .start()
        };
        let first = start(true).await.unwrap();
        wait_until("a third consumed", || async {
            log.lock().unwrap().len() >= 20
        })
        .await;
        first.shutdown().await;
        let second = start(false).await.unwrap();
        wait_until("all consumed", || async {
            let log = log.lock().unwrap();
            log.iter().collect::<HashSet<_>>().len() == 60
        })
        .await;
        second.shutdown().await;
        let mut per_queue: BTreeMap<MessageQueue, Vec<i64>> = BTreeMap::new();
        for (mq, offset) in log.lock().unwrap().iter() {
            per_queue.entry(mq.clone()).or_default().push(*offset);
        }
        for (mq, offsets) in per_queue {
            let expected: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(offsets, expected, "{mq:?}");
        }
        producer.shutdown().await;
        admin.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn lite_pull_assign_seek_and_commit() {
    against_apache(|a| async move {
        let admin = Admin::start(a.client_config()).await.unwrap();
        let topic = a.topic(&admin, "ApacheLite", 2).await;
        let producer = a.producer("pg-apache-lite").await;
        let mut mq = None;
        for i in 0..6 {
            let r = producer
                .send_with_selector(
                    Message::new(topic.clone(), format!("m{i}")),
                    &SelectMessageQueueByHash,
                    "one-queue",
                )
                .await
                .unwrap();
            mq = Some(r.message_queue);
        }
        let mq = mq.unwrap();
        let consumer = LitePullConsumer::builder()
            .client_config(a.client_config())
            .config(a.consumer_config("cg-apache-lite"))
            .assign([mq.clone()])
            .auto_commit(false)
            .start()
            .await
            .unwrap();
        let polled = poll_n(&consumer, 6).await;
        assert_eq!(
            polled.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5]
        );
        consumer.commit().await.unwrap();
        assert_eq!(consumer.committed(&mq).await.unwrap(), Some(6));
        consumer.seek(&mq, 4).await.unwrap();
        let again = poll_n(&consumer, 2).await;
        assert_eq!(again.iter().map(body).collect::<Vec<_>>(), ["m4", "m5"]);
        consumer.shutdown().await;
        producer.shutdown().await;
        admin.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn admin_calls_work_on_apache() {
    against_apache(|a| async move {
        let admin = Admin::start(a.client_config()).await.unwrap();
        let topic = a.topic(&admin, "ApacheAdmin", 2).await;
        assert!(admin.topic_list().await.unwrap().contains(&topic));
        let info = admin.cluster_info().await.unwrap();
        assert!(info
            .broker_addr_table
            .values()
            .any(|b| b.broker_addrs.values().any(|x| *x == a.broker)));
        // Apache answers SYSTEM_ERROR until its first statistics sample (1 s after boot).
        wait_until("runtime stats", || async {
            admin
                .broker_runtime_stats(&a.broker)
                .await
                .is_ok_and(|r| r.contains_key("brokerVersionDesc"))
        })
        .await;

        let producer = a.producer("pg-apache-admin").await;
        let sent = producer
            .send(Message::new(topic.clone(), "hello").with_keys(["apache-key"]))
            .await
            .unwrap();
        producer
            .send(Message::new(topic.clone(), "second"))
            .await
            .unwrap();
        // Apache dispatches to its consume queues asynchronously.
        wait_until("both messages in the queue stats", || async {
            admin
                .topic_stats(&topic)
                .await
                .is_ok_and(|s| s.offset_table.values().map(|o| o.max_offset).sum::<i64>() == 2)
        })
        .await;

        // Apache indexes keys asynchronously.
        wait_until("the key in the index", || async {
            admin
                .query_messages_by_key(&topic, "apache-key", 32, 0, i64::MAX)
                .await
                .is_ok_and(|found| found.len() == 1)
        })
        .await;
        let by_id = admin
            .query_messages_by_id(Some(&topic), &sent.msg_id)
            .await
            .unwrap();
        assert_eq!(body(&by_id[0]), "hello");
        let viewed = admin.view_message(&sent.offset_msg_id).await.unwrap();
        assert_eq!(viewed.msg_id, sent.msg_id);
        let at = admin
            .query_message_by_offset(&sent.message_queue, sent.queue_offset)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(body(&at), "hello");

        let received = Received::default();
        let consumer = PushConsumer::builder()
            .client_config(a.client_config())
            .config(a.consumer_config("cg-apache-admin"))
            .subscribe(topic.clone(), "*")
            .listener(received.listener())
            .start()
            .await
            .unwrap();
        wait_until("both consumed", || async { received.len() >= 2 }).await;
        let conns = admin.consumer_connections("cg-apache-admin").await.unwrap();
        assert_eq!(conns.connection_set.len(), 1);
        wait_until("progress committed", || async {
            admin
                .consume_stats("cg-apache-admin", Some(&topic))
                .await
                .is_ok_and(|s| {
                    s.offset_table.len() == 2
                        && s.offset_table
                            .values()
                            .all(|o| o.consumer_offset == o.broker_offset)
                })
        })
        .await;
        let reset = admin
            .reset_offset_by_time(&topic, "cg-apache-admin", 0, true)
            .await
            .unwrap();
        assert_eq!(reset.len(), 2);
        assert!(reset.values().all(|o| *o == 0), "{reset:?}");
        wait_until("the reset consumed again", || async { received.len() >= 4 }).await;
        consumer.shutdown().await;

        // With no member online Apache refuses the reset; the admin writes the offsets itself.
        let offline = admin
            .reset_offset_by_time(&topic, "cg-apache-admin", 0, true)
            .await
            .unwrap();
        assert_eq!(offline.len(), 2);
        assert!(offline.values().all(|o| *o == 0), "{offline:?}");
        let stats = admin
            .consume_stats("cg-apache-admin", Some(&topic))
            .await
            .unwrap();
        assert!(
            stats.offset_table.values().all(|o| o.consumer_offset == 0),
            "{stats:?}"
        );
        producer.shutdown().await;
        admin
            .delete_topic(
                &topic,
                &info.cluster_addr_table.keys().next().unwrap().clone(),
            )
            .await
            .unwrap();
        admin.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn traces_written_by_rmq_client_are_stored_and_found_on_apache() {
    use rmq_client::{TraceType, RMQ_SYS_TRACE_TOPIC};

    against_apache(|a| async move {
        let admin = Admin::start(a.client_config()).await.unwrap();
        let topic = a.topic(&admin, "ApacheTrace", 1).await;
        let producer = Producer::builder()
            .client_config(a.client_config())
            .producer_group("pg-apache-trace")
            .enable_msg_trace(true, "")
            .start()
            .await
            .unwrap();
        let received = Received::default();
        let consumer = PushConsumer::builder()
            .client_config(a.client_config())
            .config(ConsumerConfig {
                enable_msg_trace: true,
                ..a.consumer_config("cg-apache-trace")
            })
            .subscribe(topic.clone(), "*")
            .listener(received.listener())
            .start()
            .await
            .unwrap();
        let sent = producer
            .send(Message::new(topic.clone(), "traced").with_keys(["apache-trace-key"]))
            .await
            .unwrap();
        wait_until("the message consumed", || async { received.len() == 1 }).await;
        // Apache creates the trace topic on the first trace message (autoCreateTopicEnable);
        // until then the lookup has no route.
        wait_until("Pub, SubBefore and SubAfter on Apache", || {
            let admin = &admin;
            let id = sent.msg_id.clone();
            async move {
                admin
                    .query_trace(RMQ_SYS_TRACE_TOPIC, &id)
                    .await
                    .is_ok_and(|v| v.len() >= 3)
            }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let views = admin
            .query_trace(RMQ_SYS_TRACE_TOPIC, &sent.msg_id)
            .await
            .unwrap();
        let mut steps: Vec<(TraceType, String)> = views
            .iter()
            .map(|v| (v.record.trace_type, v.record.group.clone()))
            .collect();
        steps.sort();
        assert_eq!(
            steps,
            [
                (TraceType::Pub, "pg-apache-trace".to_owned()),
                (TraceType::SubBefore, "cg-apache-trace".to_owned()),
                (TraceType::SubAfter, "cg-apache-trace".to_owned()),
            ]
        );
        let pub_record = &views
            .iter()
            .find(|v| v.record.trace_type == TraceType::Pub)
            .unwrap()
            .record;
        assert_eq!(pub_record.store_host, a.broker);
        assert_eq!(pub_record.offset_msg_id, sent.offset_msg_id);
        assert_eq!(pub_record.region_id, "DefaultRegion");
        assert!(views
            .iter()
            .all(|v| v.record.success && v.record.keys == "apache-trace-key"));
        consumer.shutdown().await;
        producer.shutdown().await;
        admin.shutdown().await;
    })
    .await;
}
