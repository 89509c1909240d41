//! A graceful stop loses nothing: messages in flight when the application stops are either
//! acknowledged (their listener call finished and the offset was committed) or delivered
//! again to the next instance of the group.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use rmq_starter::{rocketmq_listener, ConsumeResult, ReceivedMessage, RocketMQListener};
use rmq_testkit::LocalStack;

mod common;

/// Message ids whose listener call completed.
static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Slow enough that a stop always finds calls in flight.
#[derive(Default)]
#[rocketmq_listener(topic = "slow", consumer_group = "slow-group", consume_thread_max = 4)]
struct SlowListener;

impl RocketMQListener<ReceivedMessage> for SlowListener {
    async fn on_message(&self, message: ReceivedMessage) -> ConsumeResult {
        tokio::time::sleep(Duration::from_millis(100)).await;
        DONE.lock().unwrap().push(message.msg_id);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_in_flight_at_shutdown_are_acknowledged_or_redelivered() {
    const N: usize = 60;
    let stack = LocalStack::start().await;
    stack.create_topic("slow", 4).await;
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "rocketmq:\n  name-server: {}\n  producer:\n    group: slow-producer\nlogging:\n  level:\n    root: warn\n",
        stack.namesrv
    );

    let app = common::start_app("shutdown-test", dir.path(), &yml).await;
    let template = &app.template;
    let mut sent = HashSet::new();
    for i in 0..N {
        let result = template.sync_send("slow", format!("m{i}")).await.unwrap();
        sent.insert(result.msg_id);
    }
    // Stop while the listener is busy: 4 at a time, 100 ms each, so far from done.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while DONE.lock().unwrap().len() < 8 {
        assert!(tokio::time::Instant::now() < deadline, "nothing consumed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;
    let after_first = DONE.lock().unwrap().len();
    assert!(
        after_first < N,
        "the first instance finished everything; no stop in flight"
    );

    // A second instance of the group picks up everything not acknowledged.
    let app = common::start_app("shutdown-test", dir.path(), &yml).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done: HashSet<String> = DONE.lock().unwrap().iter().cloned().collect();
        if sent.is_subset(&done) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lost {} of {N} messages",
            sent.difference(&done).count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
    stack.stop().await;

    // At least once, with the repeats visible: only a message in flight at the stop may come
    // twice (finished by the first instance after its offset was last committed).
    let mut counts: HashMap<String, usize> = HashMap::new();
    for id in DONE.lock().unwrap().iter() {
        *counts.entry(id.clone()).or_default() += 1;
    }
    let deliveries: usize = counts.values().sum();
    println!(
        "shutdown: {N} sent, {deliveries} deliveries, {} repeats",
        deliveries - counts.len()
    );
    assert!(
        counts.values().all(|&c| c <= 2),
        "a message was consumed more than twice: {counts:?}"
    );
    assert!(
        counts.keys().all(|id| sent.contains(id)),
        "consumed a message never sent"
    );
}
