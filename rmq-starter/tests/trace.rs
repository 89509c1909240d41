//! Message trace through the starter: `rocketmq.producer.enable-msg-trace` traces the
//! template's sends, `rocketmq.consumer.enable-msg-trace` is the default of every listener's
//! `enable_msg_trace`, and a listener that says `enable_msg_trace = false` writes nothing.

use std::sync::Mutex;
use std::time::Duration;

use rmq_client::{Admin, ClientConfig, TraceType, TraceView, RMQ_SYS_TRACE_TOPIC};
use rmq_starter::{rocketmq_listener, ConsumeResult, RocketMQListener};
use rmq_testkit::LocalStack;

mod common;
use common::wait_for;

static TRACED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static UNTRACED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Traced through `rocketmq.consumer.enable-msg-trace: true`.
#[derive(Default)]
#[rocketmq_listener(topic = "traced", consumer_group = "traced-group")]
struct Traced;

impl RocketMQListener<String> for Traced {
    async fn on_message(&self, message: String) -> ConsumeResult {
        TRACED.lock().unwrap().push(message);
        Ok(())
    }
}

/// Opts out whatever the default.
#[derive(Default)]
#[rocketmq_listener(
    topic = "traced",
    consumer_group = "untraced-group",
    enable_msg_trace = false
)]
struct Untraced;

impl RocketMQListener<String> for Untraced {
    async fn on_message(&self, message: String) -> ConsumeResult {
        UNTRACED.lock().unwrap().push(message);
        Ok(())
    }
}

/// (step, group) of every record.
fn steps(views: &[TraceView]) -> Vec<(TraceType, String)> {
    let mut s: Vec<_> = views
        .iter()
        .map(|v| (v.record.trace_type, v.record.group.clone()))
        .collect();
    s.sort();
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn listeners_and_the_template_write_traces_when_switched_on() {
    let stack = LocalStack::start_with(|c| c.trace_topic_enable = true).await;
    stack.create_topic("traced", 2).await;
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "rocketmq:\n  name-server: {}\n  producer:\n    group: trace-producer\n    enable-msg-trace: true\n  consumer:\n    enable-msg-trace: true\nlogging:\n  level:\n    root: warn\n",
        stack.namesrv
    );
    let app = common::start_app("trace-test", dir.path(), &yml).await;
    let template = &app.template;

    let mut ids = Vec::new();
    for i in 0..2 {
        let sent = template
            .sync_send("traced:t", format!("m{i}"))
            .await
            .unwrap();
        ids.push(sent.msg_id);
    }
    wait_for("both listeners got both messages", || {
        TRACED.lock().unwrap().len() == 2 && UNTRACED.lock().unwrap().len() == 2
    })
    .await;

    let admin = Admin::start(ClientConfig {
        namesrv_addr: stack.namesrv.clone(),
        ..ClientConfig::default()
    })
    .await
    .unwrap();
    let expected = vec![
        (TraceType::Pub, "trace-producer".to_owned()),
        (TraceType::SubBefore, "traced-group".to_owned()),
        (TraceType::SubAfter, "traced-group".to_owned()),
    ];
    for id in &ids {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while admin
            .query_trace(RMQ_SYS_TRACE_TOPIC, id)
            .await
            .unwrap()
            .len()
            < 3
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no full trace of {id}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Time for records that should not exist (the untraced listener's, duplicates) to arrive.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    for id in &ids {
        let views = admin.query_trace(RMQ_SYS_TRACE_TOPIC, id).await.unwrap();
        assert_eq!(steps(&views), expected, "trace of {id}");
    }
    admin.shutdown().await;
    app.stop().await;
    stack.stop().await;
}
