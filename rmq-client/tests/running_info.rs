//! GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY end to end: the admin asks the broker,
//! the broker relays to the rmq-client push consumer over its own connection, the consumer
//! answers (Apache's `mqadmin consumerStatus` / `consumeMessage` path).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{wait_until, Cluster};
use rmq_client::{
    Admin, ClientError, ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, Message,
    PushConsumer, ReceivedMessage,
};
use rmq_remoting::body::running::{
    CmResult, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE, PROP_NAMESERVER_ADDR,
};
use rmq_remoting::body::topic::TopicConfig;

const SENT: usize = 10;
const FAILING: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_relays_running_info_and_direct_consumption_to_an_rmq_consumer() {
    tokio::time::timeout(Duration::from_secs(90), scenario())
        .await
        .expect("test timed out");
}

async fn scenario() {
    let cluster = Cluster::start().await;
    let admin = Admin::start(cluster.client_config()).await.unwrap();
    let topic = "RunInfoT";
    admin
        .create_topic_in_cluster(
            "DefaultCluster",
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
    cluster.wait_for_route(topic).await;

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
    let group = "cg-running-info";
    let consumer = PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(ConsumerConfig {
            consume_from_where: ConsumeFromWhere::FirstOffset,
            consume_message_batch_max_size: 1,
            ..cluster.consumer_config(group)
        })
        .subscribe(topic, "*")
        .listener(listener)
        .start()
        .await
        .unwrap();

    let producer = cluster.producer("pg-running-info").await;
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
        format!("{};", cluster.namesrv)
    );
    let subscribed: Vec<&str> = info
        .subscription_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert!(subscribed.contains(&topic), "{subscribed:?}");
    assert!(
        subscribed.contains(&"%RETRY%cg-running-info"),
        "{subscribed:?}"
    );
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
                remark,
                "The Consumer <cg-running-info> <10.0.0.1@nobody> not online"
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
    admin.shutdown().await;
    cluster.stop().await;
}
