//! The `message_type` label of the broker's incoming-message metrics on the real `mqbroker`,
//! scraped over HTTP: sends are classified as Apache 5.3's broker classifies them (a prepared
//! transaction, a sharding key = FIFO, a delay or timer property, else normal), and the counts
//! per type add up to what was sent.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_metrics::Series;
use rmq_remoting::message::encode_properties;
use rmq_remoting::RemotingCommand;

use crate::common::{create_topic, free_port, mqbroker, name_server, send_message, Caller};
use rmq_testkit::ServerProcess;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn send_with(topic: &str, properties: &[(&str, &str)]) -> RemotingCommand {
    let mut request = send_message(topic, 0, b"typed".to_vec(), now_ms());
    request
        .ext_fields
        .insert("i".into(), encode_properties(properties.iter().copied()));
    request
}

/// Sum of `name` over samples whose `message_type` is `kind`, and over those also on `topic`.
fn count(samples: &BTreeMap<Series, f64>, name: &str, kind: &str, topic: Option<&str>) -> f64 {
    samples
        .iter()
        .filter(|((n, labels), _)| {
            n == name
                && labels.get("message_type").map(String::as_str) == Some(kind)
                && topic.is_none_or(|t| labels.get("topic").map(String::as_str) == Some(t))
        })
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test]
async fn incoming_messages_are_counted_by_their_5x_message_type() {
    let ns = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_arg = port.to_string();
    let broker = ServerProcess::start(mqbroker(
        &ns,
        "broker-typed",
        dir.path(),
        &[
            "--metricsExporterType",
            "PROM",
            "--metricsPromExporterHost",
            "127.0.0.1",
            "--metricsPromExporterPort",
            &port_arg,
        ],
    ));
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("Typed", 1)).await;
    for _ in 0..3 {
        c.ok(send_with("Typed", &[("WAIT", "true")])).await;
    }
    for group in ["g1", "g2"] {
        c.ok(send_with("Typed", &[("__SHARDINGKEY", group)])).await;
    }
    c.ok(send_with("Typed", &[("TIMER_DELAY_SEC", "60")])).await;
    c.ok(send_with(
        "Typed",
        &[("TRAN_MSG", "true"), ("PGROUP", "pg")],
    ))
    .await;

    let samples = rmq_metrics::parse_text(&rmq_testkit::scrape_metrics(port).await).unwrap();
    let name = "rocketmq_messages_in_total";
    assert_eq!(count(&samples, name, "normal", Some("Typed")), 3.0);
    assert_eq!(count(&samples, name, "fifo", Some("Typed")), 2.0);
    // Delayed and half messages are counted under the topic they are stored in, as the stats.
    assert_eq!(count(&samples, name, "delay", None), 1.0);
    assert_eq!(count(&samples, name, "transaction", None), 1.0);
    let sizes = "rocketmq_message_size_count";
    assert_eq!(count(&samples, sizes, "fifo", Some("Typed")), 2.0);
    assert_eq!(count(&samples, sizes, "normal", Some("Typed")), 3.0);
}
