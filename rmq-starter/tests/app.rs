//! The starter against a real name server and broker: the template's send modes, tags,
//! headers, JSON payloads, orderly listeners and transactions, all through
//! `Application::run_until` with listeners registered by `#[rocketmq_listener]`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rmq_starter::{
    headers, rocketmq_listener, rocketmq_transaction_listener, ConsumeResult, Json, Message,
    OutgoingMessage, ReceivedMessage, RocketMQListener, RocketMQLocalTransactionListener,
    RocketMQLocalTransactionState, TemplateError,
};
use rmq_testkit::LocalStack;
use serde::{Deserialize, Serialize};

mod common;
use common::wait_for;

static TEXTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static ORDERS: Mutex<Vec<Order>> = Mutex::new(Vec::new());
static RAW: Mutex<Vec<ReceivedMessage>> = Mutex::new(Vec::new());
static COMMITTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    key: String,
    seq: u32,
}

/// Tag-filtered text; the topic comes from a placeholder.
#[derive(Default)]
#[rocketmq_listener(
    topic = "${test.text-topic}",
    consumer_group = "text-group",
    selector_expression = "keep || also"
)]
struct TextListener;

impl RocketMQListener<String> for TextListener {
    async fn on_message(&self, message: String) -> ConsumeResult {
        TEXTS.lock().unwrap().push(message);
        Ok(())
    }
}

/// Typed JSON, one queue at a time in queue order.
#[derive(Default)]
#[rocketmq_listener(
    topic = "orders",
    consumer_group = "order-group",
    consume_mode = "orderly"
)]
struct OrderListener;

impl RocketMQListener<Json<Order>> for OrderListener {
    async fn on_message(&self, Json(order): Json<Order>) -> ConsumeResult {
        ORDERS.lock().unwrap().push(order);
        Ok(())
    }
}

/// The whole message, to see keys and properties.
#[derive(Default)]
#[rocketmq_listener(topic = "raw", consumer_group = "raw-group")]
struct RawListener;

impl RocketMQListener<ReceivedMessage> for RawListener {
    async fn on_message(&self, message: ReceivedMessage) -> ConsumeResult {
        RAW.lock().unwrap().push(message);
        Ok(())
    }
}

/// Receives what transactions committed; a listener written as a function.
#[rocketmq_listener(topic = "tx", consumer_group = "tx-group")]
async fn committed(message: String) -> ConsumeResult {
    COMMITTED.lock().unwrap().push(message);
    Ok(())
}

/// Commits when the argument says so.
#[derive(Default)]
#[rocketmq_transaction_listener]
struct Verdicts;

impl RocketMQLocalTransactionListener for Verdicts {
    fn execute_local_transaction(
        &self,
        _msg: &Message,
        _transaction_id: &str,
        arg: &(dyn std::any::Any + Send + Sync),
    ) -> RocketMQLocalTransactionState {
        match arg.downcast_ref::<&str>() {
            Some(&"commit") => RocketMQLocalTransactionState::CommitMessage,
            _ => RocketMQLocalTransactionState::RollbackMessage,
        }
    }

    fn check_local_transaction(&self, _msg: &ReceivedMessage) -> RocketMQLocalTransactionState {
        RocketMQLocalTransactionState::RollbackMessage
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn template_and_listeners_work_end_to_end() {
    let stack = LocalStack::start().await;
    for topic in ["texts", "orders", "raw", "tx", "pulled"] {
        stack.create_topic(topic, 4).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "rocketmq:\n  name-server: {}\n  producer:\n    group: app-test-producer\n  pull-consumer:\n    group: pull-group\n    topic: pulled\ntest:\n  text-topic: texts\nlogging:\n  level:\n    root: warn\n",
        stack.namesrv
    );
    let app = common::start_app("app-test", dir.path(), &yml).await;
    let template = &app.template;

    // Tags: the listener subscribes to `keep || also`.
    template
        .convert_and_send("texts:keep", "kept")
        .await
        .unwrap();
    template
        .sync_send("texts:drop", "dropped".to_owned())
        .await
        .unwrap();
    let result = template
        .sync_send_timeout("texts:also", b"bytes".as_slice(), Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(result.status, rmq_starter::SendStatus::SendOk);
    assert!(!result.msg_id.is_empty());
    assert_eq!(result.message_queue.topic, "texts");
    template.async_send("texts:keep", "async").await.unwrap();
    template.send_one_way("texts:keep", "oneway").await.unwrap();
    template
        .sync_send_batch("texts:keep", ["batch-1", "batch-2"])
        .await
        .unwrap();
    // Delays: by level (1 = 1 s) and by time.
    template
        .sync_send_delay_level("texts:keep", "level-1", Duration::from_secs(3), 1)
        .await
        .unwrap();
    template
        .sync_send_delay_time_mills("texts:keep", "timed", 300)
        .await
        .unwrap();
    assert!(matches!(
        template
            .sync_send_delay_time_seconds("texts:keep", "x", 0)
            .await,
        Err(TemplateError::DelayTime(0))
    ));
    wait_for("eight texts", || TEXTS.lock().unwrap().len() >= 8).await;

    // Ordered JSON: per key, the listener sees the send order.
    for seq in 0..10 {
        for key in ["a", "b"] {
            let order = Order {
                key: key.into(),
                seq,
            };
            template
                .sync_send_orderly("orders", Json(order), key)
                .await
                .unwrap();
        }
    }
    template
        .async_send_orderly(
            "orders",
            Json(Order {
                key: "a".into(),
                seq: 10,
            }),
            "a",
        )
        .await
        .unwrap();
    wait_for("21 orders", || ORDERS.lock().unwrap().len() >= 21).await;

    // Headers: keys, flag, user properties; reserved names are dropped.
    let msg = OutgoingMessage::with_payload("with headers")
        .header(headers::KEYS, "k1 k2")
        .header(headers::FLAG, "7")
        .header("trace-id", "abc")
        .header("DELAY", "3");
    template.sync_send("raw:t1", msg).await.unwrap();
    let bad = OutgoingMessage::with_payload("x").header(headers::FLAG, "seven");
    assert!(matches!(
        template.sync_send("raw", bad).await,
        Err(TemplateError::Header { .. })
    ));
    assert!(matches!(
        template.sync_send(":tag", "x").await,
        Err(TemplateError::Destination(_))
    ));

    // Transactions: only the committed one is delivered.
    let committed = template
        .send_message_in_transaction("tx", "commit me", &"commit")
        .await
        .unwrap();
    assert_eq!(
        committed.local_state,
        RocketMQLocalTransactionState::CommitMessage
    );
    template
        .send_message_in_transaction("tx", "roll me back", &"rollback")
        .await
        .unwrap();
    template.sync_send("tx", "plain").await.unwrap();

    // receive(): the lite pull consumer of rocketmq.pull-consumer.*.
    for i in 0..3 {
        template.sync_send("pulled", format!("p{i}")).await.unwrap();
    }
    let mut pulled: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pulled.len() < 3 && tokio::time::Instant::now() < deadline {
        pulled.extend(
            template
                .receive::<String>(Duration::from_millis(500))
                .await
                .unwrap(),
        );
    }
    pulled.sort();
    assert_eq!(pulled, ["p0", "p1", "p2"]);

    wait_for("the raw message", || !RAW.lock().unwrap().is_empty()).await;
    wait_for("two tx-topic messages", || {
        COMMITTED.lock().unwrap().len() >= 2
    })
    .await;
    app.stop().await;

    let mut texts = TEXTS.lock().unwrap().clone();
    texts.sort();
    assert_eq!(
        texts,
        ["async", "batch-1", "batch-2", "bytes", "kept", "level-1", "oneway", "timed"]
    );
    let orders = ORDERS.lock().unwrap().clone();
    let mut per_key: HashMap<String, Vec<u32>> = HashMap::new();
    for o in orders {
        per_key.entry(o.key).or_default().push(o.seq);
    }
    assert_eq!(per_key["a"], (0..=10).collect::<Vec<_>>());
    assert_eq!(per_key["b"], (0..10).collect::<Vec<_>>());
    let raw = RAW.lock().unwrap().clone();
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].keys(), ["k1", "k2"]);
    assert_eq!(raw[0].flag, 7);
    assert_eq!(raw[0].tags(), Some("t1"));
    assert_eq!(raw[0].property("trace-id"), Some("abc"));
    assert_eq!(raw[0].property("DELAY"), None);
    let mut committed = COMMITTED.lock().unwrap().clone();
    committed.sort();
    assert_eq!(committed, ["commit me", "plain"]);
    stack.stop().await;
}
