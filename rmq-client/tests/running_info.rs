//! GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY end to end: the admin asks the broker,
//! the broker relays to the rmq-client push consumer over its own connection, the consumer
//! answers (Apache's `mqadmin consumerStatus` / `consumeMessage` path). Against rmq's broker
//! in-process, and against Apache 4.9.7's broker (whose relay is the reference) when
//! `interop/run.sh apache-client` provides `RMQ_APACHE_NAMESRV` and `RMQ_APACHE_BROKER`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{wait_until, Cluster};
use rmq_client::{
    Admin, ClientConfig, ClientError, ConsumeContext, ConsumeFromWhere, ConsumeStatus,
    ConsumerConfig, Message, Producer, PushConsumer, ReceivedMessage,
};
use rmq_remoting::body::running::{
    CmResult, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE, PROP_NAMESERVER_ADDR,
};
use rmq_remoting::body::topic::TopicConfig;

const SENT: usize = 10;
const FAILING: usize = 2;

/// Where the scenario runs: a name server, the broker to create the topic on, and names unique
/// to the run (Apache's store outlives a test).
struct Target {
    namesrv: String,
    broker: String,
    offsets_dir: std::path::PathBuf,
    suffix: String,
}

impl Target {
    fn client_config(&self) -> ClientConfig {
        common::fast_client_config(&self.namesrv)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmqs_broker_relays_running_info_and_direct_consumption_to_an_rmq_consumer() {
    let cluster = Cluster::start().await;
    let target = Target {
        namesrv: cluster.namesrv.clone(),
        broker: cluster.broker.clone(),
        offsets_dir: cluster.dir().join("offsets"),
        suffix: String::new(),
    };
    tokio::time::timeout(Duration::from_secs(90), scenario(&target))
        .await
        .expect("test timed out");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Apache 4.9.7's servers: interop/run.sh apache-client"]
async fn apaches_broker_relays_running_info_and_direct_consumption_to_an_rmq_consumer() {
    let (Ok(namesrv), Ok(broker)) = (
        std::env::var("RMQ_APACHE_NAMESRV"),
        std::env::var("RMQ_APACHE_BROKER"),
    ) else {
        panic!("RMQ_APACHE_NAMESRV/RMQ_APACHE_BROKER unset: run interop/run.sh apache-client");
    };
    let dir = tempfile::tempdir().unwrap();
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let target = Target {
        namesrv,
        broker,
        offsets_dir: dir.path().join("offsets"),
        suffix: format!("-{millis}"),
    };
    tokio::time::timeout(Duration::from_secs(90), scenario(&target))
        .await
        .expect("test timed out");
}

async fn scenario(target: &Target) {
    let admin = Admin::start(target.client_config()).await.unwrap();
    let topic = format!("RunInfoT{}", target.suffix);
    let topic = topic.as_str();
    admin
        .create_topic(
            &target.broker,
            &TopicConfig {
                order: false,
                perm: 6,
                read_queue_nums: 2,
                topic_filter_type: "SINGLE_TAG".into(),
                topic_name: topic.into(),
                topic_sys_flag: 0,
                write_queue_nums: 2,
                attributes: None,
            },
        )
        .await
        .unwrap();
    wait_until(&format!("a route for {topic}"), || async {
        admin.topic_route(topic).await.is_ok()
    })
    .await;

    // Bodies "fail-*" fail on their first delivery only; every delivery is recorded.
    let seen: Arc<Mutex<Vec<ReceivedMessage>>> = Arc::default();
    let recorder = seen.clone();
    let listener = move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
        recorder.lock().unwrap().extend_from_slice(msgs);
        let fails = msgs
            .iter()
            .any(|m| m.body.starts_with(b"fail-") && m.reconsume_times == 0);
        if fails {
            ConsumeStatus::ReconsumeLater
        } else {
            ConsumeStatus::ConsumeSuccess
        }
    };
    let group = format!("cg-running-info{}", target.suffix);
    let group = group.as_str();
    let consumer = PushConsumer::builder()
        .client_config(target.client_config())
        .config(ConsumerConfig {
            consumer_group: group.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            consume_message_batch_max_size: 1,
            local_offset_store_dir: target.offsets_dir.clone(),
            ..ConsumerConfig::default()
        })
        .subscribe(topic, "*")
        .listener(listener)
        .start()
        .await
        .unwrap();

    let producer = Producer::builder()
        .client_config(target.client_config())
        .producer_group(format!("pg-running-info{}", target.suffix))
        .start()
        .await
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..SENT {
        let body = if i < FAILING {
            format!("fail-{i}")
        } else {
            format!("ok-{i}")
        };
        sent.push((
            body.clone(),
            producer.send(Message::new(topic, body)).await.unwrap(),
        ));
    }
    let bodies_of = |seen: &Arc<Mutex<Vec<ReceivedMessage>>>| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        // Redeliveries through the retry topic (reconsume count 1) are not counted here.
        let seen = seen.lock().unwrap();
        for m in seen
            .iter()
            .filter(|m| m.topic == topic && m.reconsume_times == 0)
        {
            *counts
                .entry(String::from_utf8_lossy(&m.body).into_owned())
                .or_default() += 1;
        }
        counts
    };
    wait_until("every message delivered once", || async {
        bodies_of(&seen).len() == SENT
    })
    .await;

    let client_id = consumer.client_id().to_owned();
    // Committed offsets reach the queue ends once the listener calls are done.
    let mut info = admin
        .consumer_running_info(group, &client_id, false)
        .await
        .unwrap();
    for _ in 0..40 {
        let committed: i64 = info
            .mq_table
            .iter()
            .filter(|(mq, _)| mq.topic == topic)
            .map(|(_, pq)| pq.commit_offset)
            .sum();
        if committed == SENT as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        info = admin
            .consumer_running_info(group, &client_id, false)
            .await
            .unwrap();
    }
    assert_eq!(info.properties[PROP_CONSUME_TYPE], "CONSUME_PASSIVELY");
    assert_eq!(info.properties[PROP_CONSUME_ORDERLY], "false");
    assert_eq!(info.properties["consumerGroup"], group);
    assert_eq!(
        info.properties[PROP_NAMESERVER_ADDR],
        format!("{};", target.namesrv)
    );
    let subscribed: Vec<&str> = info
        .subscription_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert!(subscribed.contains(&topic), "{subscribed:?}");
    let retry_topic = format!("%RETRY%{group}");
    assert!(subscribed.contains(&retry_topic.as_str()), "{subscribed:?}");
    let queues: Vec<_> = info
        .mq_table
        .iter()
        .filter(|(mq, _)| mq.topic == topic)
        .collect();
    assert_eq!(queues.len(), 2, "{:?}", info.mq_table);
    let committed: i64 = queues.iter().map(|(_, pq)| pq.commit_offset).sum();
    assert_eq!(committed, SENT as i64, "commit offsets {queues:?}");
    for (mq, pq) in &queues {
        assert!(pq.last_pull_timestamp > 0, "never pulled {mq:?}");
        assert_eq!(pq.cached_msg_count, 0, "{mq:?} still caches {pq:?}");
        assert!(!pq.droped);
    }
    let status = info.status_table[topic];
    assert_eq!(status.consume_failed_msgs, FAILING as i64, "{status:?}");
    assert!(status.consume_ok_tps > 0.0, "{status:?}");
    assert!(status.consume_failed_tps > 0.0, "{status:?}");
    assert!(status.pull_tps > 0.0, "{status:?}");

    // A client id that is not a member: Apache's code and remark, from the broker.
    let absent = admin
        .consumer_running_info(group, "10.0.0.1@nobody", false)
        .await
        .unwrap_err();
    match &absent {
        ClientError::Refused { code, remark, .. } => {
            assert_eq!(*code, 1, "{absent}");
            assert_eq!(
                *remark,
                format!("The Consumer <{group}> <10.0.0.1@nobody> not online")
            );
        }
        other => panic!("expected a refusal, got {other}"),
    }

    // Direct consumption: the listener gets the stored message once more and its verdict
    // comes back; a failing body reports CR_LATER.
    let (ok_body, ok_sent) = &sent[FAILING];
    let result = admin
        .consume_message_directly(group, &client_id, &ok_sent.offset_msg_id)
        .await
        .unwrap();
    assert_eq!(
        result.consume_result,
        Some(CmResult::CR_SUCCESS),
        "{result}"
    );
    assert!(!result.order && result.auto_commit, "{result:?}");
    assert_eq!(bodies_of(&seen)[ok_body], 2, "direct delivery of {ok_body}");
    let (fail_body, fail_sent) = &sent[0];
    let before = bodies_of(&seen)[fail_body];
    let result = admin
        .consume_message_directly(group, &client_id, &fail_sent.offset_msg_id)
        .await
        .unwrap();
    assert_eq!(result.consume_result, Some(CmResult::CR_LATER), "{result}");
    assert_eq!(bodies_of(&seen)[fail_body], before + 1);
    let absent = admin
        .consume_message_directly(group, "10.0.0.1@nobody", &ok_sent.offset_msg_id)
        .await
        .unwrap_err();
    assert!(absent.to_string().contains("not online"), "{absent}");

    consumer.shutdown().await;
    producer.shutdown().await;
    admin.shutdown().await;
}
