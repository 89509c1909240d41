//! `PopClient` against rmq's broker (in process, real TCP): pop and ack, a change of invisible
//! time, redelivery with attempt + 1 after the invisible time, the dead-letter send-back, batch
//! acks, a tag filter, a long poll that times out and an orderly (FIFO) pop. Deliveries are
//! counted as multisets of bodies.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_client::{
    dlq_topic, Admin, Message, MessageSelector, PopClient, PopRequest, PopStatus, PoppedMessage,
    PROPERTY_POP_CK,
};

mod common;
use common::Cluster;

const GROUP: &str = "pop-api-group";
const BROKER: &str = "broker-a";

async fn cluster() -> Cluster {
    Cluster::start_with(|b| {
        b.revive_interval = 100;
    })
    .await
}

fn request(topic: &str, invisible: Duration, poll: Duration) -> PopRequest {
    PopRequest {
        group: GROUP.into(),
        topic: topic.into(),
        queue_id: -1,
        max_msg_nums: 32,
        invisible_time: invisible,
        poll_time: poll,
        init_mode: 0,
        selector: MessageSelector::by_tag("*"),
        order: false,
        attempt_id: None,
    }
}

/// Sends `bodies` to `topic` (tagged `tag`).
async fn send(c: &Cluster, topic: &str, tag: &str, bodies: &[&str]) {
    let producer = c.producer("pop-api-producer").await;
    for body in bodies {
        let msg = Message::new(topic, body.as_bytes().to_vec()).with_tags(tag);
        producer.send(msg).await.unwrap();
    }
    producer.shutdown().await;
}

/// Pops until `want` messages came or `limit` passed, long polling 500 ms at a time.
async fn pop_until(
    pop: &PopClient,
    req: &PopRequest,
    want: usize,
    limit: Duration,
) -> Vec<PoppedMessage> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        got.extend(pop.pop(BROKER, req).await.unwrap().messages);
    }
    got
}

fn bodies(msgs: &[PoppedMessage]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in msgs {
        let body = String::from_utf8(m.message.body.to_vec()).unwrap();
        *counts.entry(body).or_default() += 1;
    }
    counts
}

fn each_once(names: &[&str]) -> BTreeMap<String, usize> {
    names.iter().map(|n| (n.to_string(), 1)).collect()
}

#[tokio::test]
async fn popped_messages_are_hidden_until_acked_and_come_back_with_attempt_plus_one() {
    let c = cluster().await;
    let topic = "pop-api-redeliver";
    c.create_topic(topic, 4).await;
    let names = ["m0", "m1", "m2", "m3", "m4", "m5"];
    send(&c, topic, "A", &names).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    let req = request(topic, Duration::from_secs(2), Duration::from_millis(500));

    let first = pop_until(&pop, &req, 6, Duration::from_secs(10)).await;
    assert_eq!(bodies(&first), each_once(&names));
    for m in &first {
        assert_eq!(m.message.reconsume_times, 0);
        assert_eq!(m.message.topic, topic);
        assert_eq!(m.receipt.broker_name, BROKER);
        assert_eq!(m.receipt.retry, "0");
        assert_eq!(m.receipt.queue_offset, Some(m.message.queue_offset));
        assert_eq!(m.receipt.invisible_time, 2000);
        assert_eq!(
            m.message.property(PROPERTY_POP_CK),
            Some(m.receipt.to_string().as_str())
        );
    }
    // Everything is in flight: nothing more until the invisible time passes.
    let hidden = pop.pop(BROKER, &req).await.unwrap();
    assert_eq!(hidden.status, PopStatus::PollingNotFound);
    assert!(hidden.messages.is_empty());

    // Ack all but m0; m0 comes back once, from the retry topic, with attempt 2.
    for m in first.iter().filter(|m| m.message.body != b"m0"[..]) {
        pop.ack(GROUP, topic, &m.receipt).await.unwrap();
    }
    let again = pop_until(&pop, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&again), each_once(&["m0"]));
    let m0 = &again[0];
    assert_eq!(m0.message.reconsume_times, 1, "second delivery");
    assert_eq!(
        m0.receipt.retry, "1",
        "redelivered through the pop retry topic"
    );
    assert_eq!(m0.message.topic, topic, "the client sees the normal topic");
    assert_eq!(m0.message.msg_id, first_id(&first, "m0"));
    pop.ack(GROUP, topic, &m0.receipt).await.unwrap();

    // Every message acked: nothing comes back after another invisible time.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let rest = pop.pop(BROKER, &req).await.unwrap();
    assert!(rest.messages.is_empty(), "{:?}", bodies(&rest.messages));
    pop.shutdown().await;
    c.stop().await;
}

fn first_id(msgs: &[PoppedMessage], body: &str) -> String {
    msgs.iter()
        .find(|m| m.message.body == body.as_bytes())
        .map(|m| m.message.msg_id.clone())
        .unwrap()
}

#[tokio::test]
async fn a_changed_invisible_time_holds_the_message_back_and_the_old_receipt_goes_stale() {
    let c = cluster().await;
    let topic = "pop-api-change";
    c.create_topic(topic, 2).await;
    send(&c, topic, "A", &["x"]).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    let req = request(topic, Duration::from_secs(1), Duration::from_millis(300));
    let got = pop_until(&pop, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&["x"]));
    let old = got[0].receipt.clone();

    let changed = pop
        .change_invisible_time(GROUP, topic, &old, Duration::from_secs(4))
        .await
        .unwrap();
    assert_eq!(changed.invisible_time, 4000);
    assert!(changed.pop_time > old.pop_time);
    // The old receipt is stale: acking with it changes nothing.
    pop.ack(GROUP, topic, &old).await.unwrap();

    // Held back past the first invisible time; back once after the new one.
    let held_until = Instant::now() + Duration::from_millis(2500);
    let early = pop_until(&pop, &req, 1, Duration::from_millis(2500)).await;
    assert!(early.is_empty(), "back too early: {:?}", bodies(&early));
    assert!(Instant::now() >= held_until - Duration::from_millis(400));
    let back = pop_until(&pop, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&back), each_once(&["x"]));
    assert_eq!(back[0].message.reconsume_times, 1);
    pop.ack(GROUP, topic, &back[0].receipt).await.unwrap();
    pop.shutdown().await;
    c.stop().await;
}

#[tokio::test]
async fn a_dead_lettered_message_is_in_the_groups_dlq_and_not_redelivered() {
    let c = cluster().await;
    let topic = "pop-api-dlq";
    c.create_topic(topic, 1).await;
    send(&c, topic, "A", &["dead", "alive"]).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    let req = request(topic, Duration::from_secs(1), Duration::from_millis(300));
    let got = pop_until(&pop, &req, 2, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&["dead", "alive"]));
    for m in &got {
        if m.message.body == b"dead"[..] {
            pop.send_to_dead_letter_queue(
                GROUP,
                topic,
                &m.receipt,
                m.message.commit_log_offset,
                &m.message.msg_id,
            )
            .await
            .unwrap();
        }
        pop.ack(GROUP, topic, &m.receipt).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(pop.pop(BROKER, &req).await.unwrap().messages.is_empty());

    let admin = Admin::start(c.client_config()).await.unwrap();
    let dead = admin.dead_letter_messages(GROUP, 10).await.unwrap();
    let dead_bodies: Vec<&[u8]> = dead.iter().map(|m| &m.body[..]).collect();
    assert_eq!(dead_bodies, vec![&b"dead"[..]]);
    assert_eq!(dead[0].msg_id, first_id(&got, "dead"));
    assert_eq!(dead[0].queue.topic, dlq_topic(GROUP));
    admin.shutdown().await;
    pop.shutdown().await;
    c.stop().await;
}

#[tokio::test]
async fn the_broker_filters_by_tag_and_an_empty_long_poll_waits_its_poll_time() {
    let c = cluster().await;
    let topic = "pop-api-filter";
    c.create_topic(topic, 2).await;
    send(&c, topic, "A", &["a1", "a2"]).await;
    send(&c, topic, "B", &["b1"]).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    let mut req = request(topic, Duration::from_secs(30), Duration::from_millis(300));
    req.selector = MessageSelector::by_tag("B");
    let got = pop_until(&pop, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&["b1"]));
    assert_eq!(got[0].message.tags(), Some("B"));

    // Nothing else matches: the pop waits its poll time, then answers "not found".
    req.poll_time = Duration::from_millis(1500);
    let began = Instant::now();
    let empty = pop.pop(BROKER, &req).await.unwrap();
    let waited = began.elapsed();
    assert_eq!(empty.status, PopStatus::PollingNotFound);
    assert!(empty.messages.is_empty());
    assert!(
        waited >= Duration::from_millis(1200) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );

    // A message arriving during the long poll ends it early.
    let sender = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        send(&c, topic, "B", &["b2"]).await;
    };
    req.poll_time = Duration::from_secs(5);
    let began = Instant::now();
    let (woken, ()) = tokio::join!(pop.pop(BROKER, &req), sender);
    assert_eq!(bodies(&woken.unwrap().messages), each_once(&["b2"]));
    assert!(began.elapsed() < Duration::from_secs(4));
    pop.shutdown().await;
    c.stop().await;
}

#[tokio::test]
async fn refusals_keep_the_brokers_code() {
    let c = cluster().await;
    c.create_topic("pop-api-known", 1).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    // Learn the broker's address through a topic that exists, then pop one that does not.
    assert_eq!(
        pop.readable_brokers("pop-api-known").await.unwrap(),
        [BROKER]
    );
    let req = request(
        "pop-api-no-such-topic",
        Duration::from_secs(1),
        Duration::ZERO,
    );
    let err = pop.pop(BROKER, &req).await.unwrap_err();
    assert_eq!(err.response_code(), Some(17), "TOPIC_NOT_EXIST: {err}");
    pop.shutdown().await;
    c.stop().await;
}

#[tokio::test]
async fn a_batch_ack_acks_every_receipt_of_several_queues_and_pops() {
    let c = cluster().await;
    let topic = "pop-api-batch-ack";
    c.create_topic(topic, 4).await;
    let names = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];
    send(&c, topic, "A", &names).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    let mut req = request(topic, Duration::from_secs(1), Duration::from_millis(300));
    // Two pops of up to 4, so the receipts span several queues and two pop times.
    req.max_msg_nums = 4;
    let got = pop_until(&pop, &req, 8, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&names));
    let receipts: Vec<_> = got
        .iter()
        .filter(|m| m.message.body != b"b0"[..])
        .map(|m| m.receipt.clone())
        .collect();
    pop.batch_ack(GROUP, topic, &receipts).await.unwrap();
    // Only the message left out of the batch comes back.
    let again = pop_until(&pop, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&again), each_once(&["b0"]));
    pop.batch_ack(GROUP, topic, &[again[0].receipt.clone()])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(pop.pop(BROKER, &req).await.unwrap().messages.is_empty());
    pop.shutdown().await;
    c.stop().await;
}

#[tokio::test]
async fn an_orderly_pop_hands_a_queue_out_again_only_after_its_invisible_time_with_attempt_plus_one(
) {
    let c = cluster().await;
    let topic = "pop-api-fifo";
    c.create_topic(topic, 1).await;
    send(&c, topic, "A", &["o0", "o1", "o2"]).await;
    let pop = PopClient::start(c.client_config()).await.unwrap();
    let mut req = request(topic, Duration::from_secs(1), Duration::from_millis(300));
    req.order = true;
    let first = pop_until(&pop, &req, 3, Duration::from_secs(10)).await;
    assert_eq!(bodies(&first), each_once(&["o0", "o1", "o2"]));
    assert!(first.iter().all(|m| m.message.reconsume_times == 0));
    // The queue is in flight: nothing more until its invisible time passes, then the same
    // messages again, in order, from the same queue (not the retry topic), attempt 2.
    let blocked = pop.pop(BROKER, &req).await.unwrap();
    assert!(
        blocked.messages.is_empty(),
        "{:?}",
        bodies(&blocked.messages)
    );
    let again = pop_until(&pop, &req, 3, Duration::from_secs(10)).await;
    let order: Vec<String> = again
        .iter()
        .map(|m| String::from_utf8(m.message.body.to_vec()).unwrap())
        .collect();
    assert_eq!(order, ["o0", "o1", "o2"]);
    for m in &again {
        assert_eq!(
            m.message.reconsume_times, 1,
            "attempt 2 from orderCountInfo"
        );
        assert_eq!(
            m.receipt.retry, "0",
            "FIFO messages come back from their own queue"
        );
    }
    pop.batch_ack(
        GROUP,
        topic,
        &again.iter().map(|m| m.receipt.clone()).collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(pop.pop(BROKER, &req).await.unwrap().messages.is_empty());
    pop.shutdown().await;
    c.stop().await;
}
