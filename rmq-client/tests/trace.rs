//! Message trace end to end: a broker with `traceTopicEnable`, a
//! producer and two consumers (concurrent and orderly) with `enableMsgTrace`, then the admin's
//! trace lookup finds each message's Pub, SubBefore and SubAfter records, once each, with the
//! groups, hosts and ids they must carry; a transaction's EndTransaction records, sent and checked.

mod common;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{wait_until, Cluster, Received};
use rmq_client::{
    Admin, ConsumeOrderlyContext, ConsumeOrderlyStatus, LitePullConsumer, LocalTransactionState,
    Message, Producer, PushConsumer, ReceivedMessage, SendResult, TraceMessageType, TraceType,
    TraceView, TransactionListener, RMQ_SYS_TRACE_TOPIC,
};

const TOPIC: &str = "TraceT";
const CUSTOM_TRACE: &str = "TraceOfOrderly";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_messages_show_send_and_each_consumption() {
    tokio::time::timeout(Duration::from_secs(90), run())
        .await
        .expect("test timed out");
}

async fn run() {
    let cluster = Cluster::start_with(|c| c.trace_topic_enable = true).await;
    cluster.create_topic(TOPIC, 2).await;
    cluster.create_topic(CUSTOM_TRACE, 1).await;
    let admin = Admin::start(cluster.client_config()).await.unwrap();
    // traceTopicEnable made the trace topic at start, with one queue (a topic made on first
    // send would have the producer's four).
    cluster.wait_for_route(RMQ_SYS_TRACE_TOPIC).await;
    let route = admin.topic_route(RMQ_SYS_TRACE_TOPIC).await.unwrap();
    let queues: Vec<(i32, i32)> = route
        .queue_datas
        .iter()
        .map(|q| (q.read_queue_nums, q.write_queue_nums))
        .collect();
    assert_eq!(queues, [(1, 1)]);

    let producer = Producer::builder()
        .client_config(cluster.client_config())
        .producer_group("pg-trace")
        .enable_msg_trace(true, "")
        .start()
        .await
        .unwrap();
    let concurrent = Received::default();
    let consumer = PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(rmq_client::ConsumerConfig {
            enable_msg_trace: true,
            ..cluster.consumer_config("cg-trace")
        })
        .subscribe(TOPIC, "*")
        .listener(concurrent.listener())
        .start()
        .await
        .unwrap();
    let orderly_seen: Arc<Mutex<Vec<ReceivedMessage>>> = Arc::default();
    let seen = orderly_seen.clone();
    let orderly = PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(rmq_client::ConsumerConfig {
            enable_msg_trace: true,
            customized_trace_topic: CUSTOM_TRACE.into(),
            ..cluster.consumer_config("cg-orderly")
        })
        .subscribe(TOPIC, "*")
        .listener_orderly(
            move |msgs: &[ReceivedMessage], _: &mut ConsumeOrderlyContext| {
                seen.lock().unwrap().extend_from_slice(msgs);
                ConsumeOrderlyStatus::Success
            },
        )
        .start()
        .await
        .unwrap();
    wait_until("both consumers own the queues", || async {
        let of_topic = |c: &PushConsumer| {
            c.assigned_queues()
                .iter()
                .filter(|q| q.topic == TOPIC)
                .count()
        };
        of_topic(&consumer) == 2 && of_topic(&orderly) == 2
    })
    .await;

    let mut sent: Vec<SendResult> = Vec::new();
    for i in 0..3 {
        let msg = Message::new(TOPIC, format!("body-{i}"))
            .with_tags("TagT")
            .with_keys([format!("order-{i}"), "shared".to_owned()]);
        sent.push(producer.send(msg).await.unwrap());
    }
    wait_until("both consumers got the messages", || async {
        concurrent.len() == 3 && orderly_seen.lock().unwrap().len() == 3
    })
    .await;

    for (i, s) in sent.iter().enumerate() {
        let id = &s.msg_id;
        traces_until(&admin, RMQ_SYS_TRACE_TOPIC, id, 3).await;
        traces_until(&admin, CUSTOM_TRACE, id, 2).await;
        // Long enough for a duplicate batch to show up too.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let default_views = admin.query_trace(RMQ_SYS_TRACE_TOPIC, id).await.unwrap();
        let custom_views = admin.query_trace(CUSTOM_TRACE, id).await.unwrap();
        // The default topic has the producer's and the concurrent consumer's records, the
        // custom one the orderly consumer's; each exactly once.
        assert_eq!(
            steps(&default_views),
            BTreeMap::from([
                ((TraceType::Pub, "pg-trace".to_owned()), 1),
                ((TraceType::SubBefore, "cg-trace".to_owned()), 1),
                ((TraceType::SubAfter, "cg-trace".to_owned()), 1),
            ])
        );
        assert_eq!(
            steps(&custom_views),
            BTreeMap::from([
                ((TraceType::SubBefore, "cg-orderly".to_owned()), 1),
                ((TraceType::SubAfter, "cg-orderly".to_owned()), 1),
            ])
        );
        let keys = format!("order-{i} shared");
        let find = |views: &[TraceView], t| {
            views
                .iter()
                .find(|v| v.record.trace_type == t)
                .cloned()
                .unwrap()
        };
        let p = find(&default_views, TraceType::Pub).record;
        assert_eq!(p.topic, TOPIC);
        assert_eq!(p.tags, "TagT");
        assert_eq!(p.keys, keys);
        assert_eq!(p.store_host, cluster.broker);
        assert_eq!(p.offset_msg_id, s.offset_msg_id);
        assert_eq!(p.region_id, s.region_id);
        assert_eq!(p.body_length, 6);
        assert_eq!(p.msg_type, Some(TraceMessageType::Normal));
        assert!(p.success);
        assert!(p.timestamp > 0 && p.cost_time >= 0);
        for views in [&default_views, &custom_views] {
            let before = find(views, TraceType::SubBefore);
            let after = find(views, TraceType::SubAfter);
            assert_eq!(before.record.request_id, after.record.request_id);
            assert!(!before.record.request_id.is_empty());
            assert_eq!(before.record.keys, keys);
            assert_eq!(before.record.retry_times, 0);
            assert!(after.record.success);
            assert_eq!(after.record.context_code, 0);
            assert!(after.record.timestamp >= before.record.timestamp);
            assert_eq!(before.client_host, "127.0.0.1");
        }
    }
    // Trace messages are indexed under the traced message's keys too.
    let by_key = admin
        .query_messages_by_key(RMQ_SYS_TRACE_TOPIC, "order-1", 32, 0, i64::MAX)
        .await
        .unwrap();
    assert!(!by_key.is_empty());
    // Trace messages themselves are not traced.
    let traces_of_traces = admin
        .query_trace(RMQ_SYS_TRACE_TOPIC, &by_key[0].msg_id)
        .await
        .unwrap();
    assert!(traces_of_traces.is_empty(), "{traces_of_traces:?}");

    admin.shutdown().await;
    orderly.shutdown().await;
    consumer.shutdown().await;
    producer.shutdown().await;
    cluster.stop().await;
}

/// Polls the trace of `id` on `topic` until it holds at least `n` records (20 s at most).
async fn traces_until(admin: &Admin, topic: &str, id: &str, n: usize) {
    for _ in 0..200 {
        if admin.query_trace(topic, id).await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} trace records of {id} on {topic}");
}

/// How many records of each (step, group) the views hold.
fn steps(views: &[TraceView]) -> BTreeMap<(TraceType, String), usize> {
    let mut counts = BTreeMap::new();
    for v in views {
        *counts
            .entry((v.record.trace_type, v.record.group.clone()))
            .or_default() += 1;
    }
    counts
}

/// Commits only when the broker checks back.
struct CommitOnCheck;

impl TransactionListener for CommitOnCheck {
    fn execute_local_transaction(
        &self,
        _msg: &Message,
        _transaction_id: &str,
        _arg: &(dyn Any + Send + Sync),
    ) -> LocalTransactionState {
        LocalTransactionState::Unknown
    }

    fn check_local_transaction(&self, _msg: &ReceivedMessage) -> LocalTransactionState {
        LocalTransactionState::CommitMessage
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_traces_its_half_message_and_both_outcomes() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let cluster = Cluster::start_with(|c| {
            c.transaction_check_interval = 300;
            c.transaction_time_out = 200;
            c.trace_topic_enable = true;
        })
        .await;
        cluster.create_topic("TxTraced", 1).await;
        let producer = Producer::builder()
            .client_config(cluster.client_config())
            .producer_group("pg-tx-trace")
            .enable_msg_trace(true, "")
            .start_transactional(Arc::new(CommitOnCheck))
            .await
            .unwrap();
        let msg = Message::new("TxTraced", "tx-body")
            .with_tags("TagX")
            .with_keys(["tx-key"]);
        let sent = producer
            .send_message_in_transaction(msg, &())
            .await
            .unwrap();
        let id = sent.send.msg_id.clone();
        let admin = Admin::start(cluster.client_config()).await.unwrap();
        traces_until(&admin, RMQ_SYS_TRACE_TOPIC, &id, 3).await;
        let views = admin.query_trace(RMQ_SYS_TRACE_TOPIC, &id).await.unwrap();
        let pubs: Vec<_> = views
            .iter()
            .filter(|v| v.record.trace_type == TraceType::Pub)
            .collect();
        assert_eq!(pubs.len(), 1, "{views:?}");
        assert_eq!(pubs[0].record.msg_type, Some(TraceMessageType::TransHalf));
        let mut ends: Vec<(String, bool)> = views
            .iter()
            .filter(|v| v.record.trace_type == TraceType::EndTransaction)
            .map(|v| {
                let r = &v.record;
                assert_eq!((r.topic.as_str(), r.tags.as_str()), ("TxTraced", "TagX"));
                assert_eq!(
                    (r.keys.as_str(), r.transaction_id.as_str()),
                    ("tx-key", id.as_str())
                );
                assert_eq!(r.store_host, cluster.broker);
                assert_eq!(r.msg_type, Some(TraceMessageType::TransCommit));
                (r.transaction_state.clone(), r.from_transaction_check)
            })
            .collect();
        ends.sort();
        // The broker may check more than once before the commit lands; the first two differ.
        ends.dedup();
        assert_eq!(
            ends,
            [
                ("COMMIT_MESSAGE".to_owned(), true),
                ("UNKNOW".to_owned(), false)
            ]
        );
        admin.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lite_pull_consumer_traces_what_it_pulls() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let cluster = Cluster::start_with(|c| c.trace_topic_enable = true).await;
        cluster.create_topic("LiteTraced", 1).await;
        let producer = cluster.producer("pg-lite-trace").await;
        let sent = producer
            .send(Message::new("LiteTraced", "lite").with_keys(["lite-key"]))
            .await
            .unwrap();
        let consumer = LitePullConsumer::builder()
            .client_config(cluster.client_config())
            .config(rmq_client::ConsumerConfig {
                enable_msg_trace: true,
                consume_from_where: rmq_client::ConsumeFromWhere::FirstOffset,
                ..cluster.consumer_config("cg-lite-trace")
            })
            .subscribe("LiteTraced", "*")
            .start()
            .await
            .unwrap();
        let mut got = Vec::new();
        while got.is_empty() {
            got = consumer.poll(Duration::from_secs(1)).await.unwrap();
        }
        assert_eq!(got[0].msg_id, sent.msg_id);
        let admin = Admin::start(cluster.client_config()).await.unwrap();
        traces_until(&admin, RMQ_SYS_TRACE_TOPIC, &sent.msg_id, 2).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let views = admin
            .query_trace(RMQ_SYS_TRACE_TOPIC, &sent.msg_id)
            .await
            .unwrap();
        assert_eq!(
            steps(&views),
            BTreeMap::from([
                ((TraceType::SubBefore, "cg-lite-trace".to_owned()), 1),
                ((TraceType::SubAfter, "cg-lite-trace".to_owned()), 1),
            ])
        );
        assert!(views
            .iter()
            .all(|v| v.record.success && v.record.keys == "lite-key"));
        admin.shutdown().await;
        consumer.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await
    .expect("test timed out");
}
