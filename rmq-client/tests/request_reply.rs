//! Request-reply through rmq's broker: an rmq requester (`Producer::request`) and an rmq replier
//! (a push consumer answering with `create_reply_message`), as Java's `DefaultMQProducer.request`
//! and `MessageUtil.createReplyMessage` pair them.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Cluster;
use rmq_client::{
    create_reply_message, Admin, ClientError, ConsumeContext, ConsumeStatus, Message, Producer,
    PushConsumer, ReceivedMessage, SelectMessageQueueByHash, SendResult,
};

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

/// A replier: consumes `topic` and answers every request with `reply:<body>`; the results of
/// its reply sends are kept by request body.
struct Replier {
    consumer: PushConsumer,
    producer: Producer,
    sent: Arc<Mutex<HashMap<String, SendResult>>>,
}

impl Replier {
    async fn start(cluster: &Cluster, topic: &str, group: &str) -> Replier {
        let producer = cluster.producer(&format!("{group}-replies")).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ReceivedMessage>();
        let consumer = PushConsumer::builder()
            .client_config(cluster.client_config())
            .config(cluster.consumer_config(group))
            .subscribe(topic, "*")
            .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
                for msg in msgs {
                    tx.send(msg.clone()).expect("the replier task runs");
                }
                ConsumeStatus::ConsumeSuccess
            })
            .start()
            .await
            .unwrap();
        let sent = Arc::new(Mutex::new(HashMap::new()));
        let (answering, results) = (producer.clone(), sent.clone());
        tokio::spawn(async move {
            while let Some(request) = rx.recv().await {
                let body = String::from_utf8_lossy(&request.body).into_owned();
                let reply = create_reply_message(&request, format!("reply:{body}")).unwrap();
                match answering.send(reply).await {
                    Ok(result) => {
                        results.lock().unwrap().insert(body, result);
                    }
                    Err(e) => panic!("the reply to {body} failed: {e}"),
                }
            }
        });
        Replier {
            consumer,
            producer,
            sent,
        }
    }

    /// The broker's answer to the reply to `body` (it comes after the push, so wait).
    async fn result_of(&self, body: &str) -> SendResult {
        common::wait_until("the replier's send result", || async {
            self.sent.lock().unwrap().contains_key(body)
        })
        .await;
        self.sent.lock().unwrap()[body].clone()
    }

    async fn stop(self) {
        self.consumer.shutdown().await;
        self.producer.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_gets_its_reply_which_the_broker_also_stores_in_the_reply_topic() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Rpc", 4).await;
        let replier = Replier::start(&cluster, "Rpc", "cg-rpc").await;
        let requester = cluster.producer("pg-rpc").await;

        let started = Instant::now();
        let reply = requester
            .request(Message::new("Rpc", "ping"), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(&reply.body[..], b"reply:ping");
        assert_eq!(reply.topic, "DefaultCluster_REPLY_TOPIC");
        assert_eq!(reply.property("MSG_TYPE"), Some("reply"));
        assert_eq!(
            reply.property("REPLY_TO_CLIENT"),
            Some(requester.client_id())
        );
        assert_eq!(reply.property("TTL"), Some("10000"));
        assert_eq!(reply.property("CORRELATION_ID").map(str::len), Some(36));
        for stamp in ["PUSH_REPLY_TIME", "ARRIVE_TIME"] {
            let at: i64 = reply.property(stamp).unwrap().parse().unwrap();
            assert!(at > 0, "{stamp}");
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(requester.pending_requests(), 0);

        // storeReplyMessageEnable (default true): the reply is in the reply topic too.
        let sent = replier.result_of("ping").await;
        assert_eq!(sent.message_queue.topic, "DefaultCluster_REPLY_TOPIC");
        let admin = Admin::start(cluster.client_config()).await.unwrap();
        let stored = admin.view_message(&sent.offset_msg_id).await.unwrap();
        assert_eq!(&stored.body[..], b"reply:ping");
        assert_eq!(
            stored.property("CORRELATION_ID"),
            reply.property("CORRELATION_ID")
        );
        admin.shutdown().await;

        requester.shutdown().await;
        replier.stop().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_each_get_their_own_reply() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("RpcMany", 4).await;
        let replier = Replier::start(&cluster, "RpcMany", "cg-rpc-many").await;
        let requester = cluster.producer("pg-rpc-many").await;
        // Warm the route and the broker's knowledge of the requester first.
        requester
            .request(Message::new("RpcMany", "warm"), Duration::from_secs(10))
            .await
            .unwrap();

        let n = 200;
        let pending: Vec<_> = (0..n)
            .map(|i| {
                let body = format!("req-{i}");
                let reply = requester.request_async(
                    Message::new("RpcMany", body.clone()),
                    Duration::from_secs(20),
                );
                (body, reply)
            })
            .collect();
        let mut bodies = Vec::new();
        for (body, reply) in pending {
            let reply = reply.await.unwrap();
            assert_eq!(
                String::from_utf8_lossy(&reply.body),
                format!("reply:{body}"),
                "a reply reached the wrong request"
            );
            bodies.push(reply.property("CORRELATION_ID").unwrap().to_owned());
        }
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), n, "every request has its own correlation id");
        assert_eq!(requester.pending_requests(), 0);

        // The selector variant reaches the queue it picks.
        let reply = requester
            .request_with_selector(
                Message::new("RpcMany", "ordered"),
                &SelectMessageQueueByHash,
                "key-1",
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert_eq!(&reply.body[..], b"reply:ordered");

        requester.shutdown().await;
        replier.stop().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nobody_answers_times_out_and_leaves_nothing_pending() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("RpcSilent", 2).await;
        let requester = cluster.producer("pg-rpc-silent").await;
        let timeout = Duration::from_millis(800);
        let started = Instant::now();
        let waits: Vec<_> = (0..20)
            .map(|i| requester.request_async(Message::new("RpcSilent", format!("q{i}")), timeout))
            .collect();
        for wait in waits {
            match wait.await {
                Err(ClientError::RequestTimeout { topic, timeout: t }) => {
                    assert_eq!(topic, "RpcSilent");
                    assert_eq!(t, timeout);
                }
                other => panic!("expected a request timeout, got {other:?}"),
            }
        }
        let elapsed = started.elapsed();
        assert!(elapsed >= timeout, "gave up early: {elapsed:?}");
        assert!(
            elapsed < Duration::from_secs(5),
            "waited too long: {elapsed:?}"
        );
        assert_eq!(requester.pending_requests(), 0, "timed-out requests leak");
        requester.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_a_client_that_is_gone_is_refused_as_apache_refuses_it() {
    bounded(async {
        let cluster = Cluster::start().await;
        let replier = cluster.producer("pg-orphan-replies").await;
        let request = received_request("10.9.9.9@gone");
        let reply = create_reply_message(&request, "late").unwrap();
        // One attempt (the selector path), so the broker's answer is seen as it is.
        let err = replier
            .send_with_selector(reply, &SelectMessageQueueByHash, "k")
            .await
            .unwrap_err();
        match &err {
            ClientError::Refused { code, remark, .. } => {
                assert_eq!(*code, 1, "SYSTEM_ERROR");
                assert_eq!(
                    remark,
                    "push reply message fail, channel of <10.9.9.9@gone> not found."
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        replier.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_store_reply_message_enable_off_the_reply_is_pushed_but_not_stored() {
    bounded(async {
        let cluster = Cluster::start_with(|c| c.store_reply_message_enable = false).await;
        cluster.create_topic("RpcNoStore", 1).await;
        let replier = Replier::start(&cluster, "RpcNoStore", "cg-rpc-nostore").await;
        let requester = cluster.producer("pg-rpc-nostore").await;
        let reply = requester
            .request(Message::new("RpcNoStore", "x"), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(&reply.body[..], b"reply:x");
        let sent = replier.result_of("x").await;
        assert_eq!(
            sent.offset_msg_id, "0",
            "Apache answers msgId 0 when not stored"
        );
        assert_eq!(sent.queue_offset, 0);
        requester.shutdown().await;
        replier.stop().await;
        cluster.stop().await;
    })
    .await;
}

/// A request as a replier would receive it, from a requester with client id `requester`.
fn received_request(requester: &str) -> ReceivedMessage {
    let properties = [
        ("CLUSTER", "DefaultCluster"),
        ("CORRELATION_ID", "00000000-0000-4000-8000-000000000001"),
        ("REPLY_TO_CLIENT", requester),
        ("TTL", "3000"),
    ];
    ReceivedMessage {
        topic: "Rpc".into(),
        queue: rmq_client::MessageQueue::new("Rpc", "broker-a", 0),
        queue_offset: 0,
        msg_id: String::new(),
        offset_msg_id: String::new(),
        commit_log_offset: 0,
        body: "q".into(),
        properties: properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        flag: 0,
        sys_flag: 0,
        reconsume_times: 0,
        born_timestamp: 0,
        born_host: "127.0.0.1:1".parse().unwrap(),
        store_timestamp: 0,
        store_host: "127.0.0.1:2".parse().unwrap(),
    }
}
