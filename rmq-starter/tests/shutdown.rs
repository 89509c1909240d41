//! A graceful stop loses nothing: messages in flight when the application stops are either
//! acknowledged (their listener call finished and the offset was committed) or delivered
//! again to the next instance of the group.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use rmq_starter::{
    rocketmq_listener, Application, ConsumeResult, PropertySources, ReceivedMessage,
    RocketMQListener, RocketMQTemplate,
};
use rmq_testkit::LocalStack;

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

/// Runs the application until `stop` fires; hands out the template once started.
fn start_app(
    dir: &std::path::Path,
) -> (
    tokio::task::JoinHandle<Result<(), rmq_starter::StarterError>>,
    tokio::sync::oneshot::Receiver<RocketMQTemplate>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (template_tx, template_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sources = PropertySources {
        dir: dir.to_path_buf(),
        env: vec![],
        args: vec!["--server.port=0".into()],
    };
    let app = tokio::spawn(
        Application::new("shutdown-test")
            .sources(sources)
            .run_until(
                move |ctx| {
                    let _ = template_tx.send(ctx.template()?);
                    Ok(axum::Router::new())
                },
                async move {
                    let _ = stop_rx.await;
                },
            ),
    );
    (app, template_rx, stop_tx)
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_in_flight_at_shutdown_are_acknowledged_or_redelivered() {
    const N: usize = 60;
    let stack = LocalStack::start().await;
    stack.create_topic("slow", 4).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("application.yml"),
        format!(
            "rocketmq:\n  name-server: {}\n  producer:\n    group: slow-producer\nlogging:\n  level:\n    root: warn\n",
            stack.namesrv
        ),
    )
    .unwrap();

    let (app, template, stop) = start_app(dir.path());
    let template = template.await.expect("first instance started");
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
    stop.send(()).unwrap();
    app.await.unwrap().unwrap();
    let after_first = DONE.lock().unwrap().len();
    assert!(
        after_first < N,
        "the first instance finished everything; no stop in flight"
    );

    // A second instance of the group picks up everything not acknowledged.
    let (app, template, stop) = start_app(dir.path());
    template.await.expect("second instance started");
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
    stop.send(()).unwrap();
    app.await.unwrap().unwrap();
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
