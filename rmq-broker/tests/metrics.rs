//! The real `mqbroker` with `metricsExporterType=PROM`, scraped over real HTTP: the counters
//! equal what was sent and consumed, message sizes add up to the bytes stored, lag is what was
//! left uncommitted (in flight, or ready when not pulled yet), and a producer whose
//! clock is minutes off is warned about once and shows in the skew gauge.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmq_metrics::Series;
use rmq_remoting::body::route::KvTable;
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::UpdateConsumerOffsetRequestHeader;
use rmq_remoting::message::decode_record;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};

mod common;
use common::{create_topic, free_port, mqbroker, name_server, pull_message, send_message};
use rmq_testkit::ServerProcess;

const T: Duration = Duration::from_secs(5);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn client() -> RemotingClient {
    RemotingClient::new(TransportConfig::default(), Router::new())
}

/// A broker serving metrics on a port of its own, logging to `dir/broker.log`.
fn broker(namesrv: &str, dir: &std::path::Path, extra: &[&str]) -> (ServerProcess, u16) {
    let port = free_port();
    let port_arg = port.to_string();
    let mut args = vec![
        "--metricsExporterType",
        "PROM",
        "--metricsPromExporterHost",
        "127.0.0.1",
        "--metricsPromExporterPort",
        &port_arg,
    ];
    args.extend_from_slice(extra);
    let command = mqbroker(namesrv, "broker-m", &dir.join("store"), &args);
    let server = ServerProcess::start_logging_to(command, &dir.join("broker.log"));
    (server, port)
}

/// GET /metrics over a plain TCP connection, parsed.
async fn scrape(port: u16) -> BTreeMap<Series, f64> {
    rmq_metrics::parse_text(&rmq_testkit::scrape_metrics(port).await).unwrap()
}

/// The value of the one sample of `name` whose labels include `labels`.
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_counters_equal_what_was_sent_and_consumed() {
    let ns = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = broker(&ns, dir.path(), &[]);
    let c = client();
    let created = c
        .invoke(&server.addr, create_topic("Metered", 4), T)
        .await
        .unwrap();
    assert_eq!(created.code, 0, "{:?}", created.remark);

    // 4 queues × a different count each, bodies of different sizes.
    let mut sent_per_queue = [0_i64; 4];
    for i in 0..37 {
        let queue = (i % 7) % 4;
        let body = vec![b'x'; 10 + i as usize * 7];
        let answer = c
            .invoke(
                &server.addr,
                send_message("Metered", queue, body, now_ms()),
                T,
            )
            .await
            .unwrap();
        assert_eq!(answer.code, 0, "{:?}", answer.remark);
        sent_per_queue[queue as usize] += 1;
    }

    // Consume everything, adding up the stored records as the broker returns them.
    let (mut consumed, mut consumed_bytes) = (0_u64, 0_u64);
    for (queue, sent) in sent_per_queue.iter().enumerate() {
        let mut offset = 0;
        while offset < *sent {
            let pulled = c
                .invoke(
                    &server.addr,
                    pull_message("cg", "Metered", queue as i32, offset),
                    T,
                )
                .await
                .unwrap();
            assert_eq!(pulled.code, 0, "{:?}", pulled.remark);
            let mut rest = &pulled.body[..];
            while !rest.is_empty() {
                let record = decode_record(rest, true).unwrap();
                consumed += 1;
                consumed_bytes += u64::from(record.total_size as u32);
                offset = record.queue_offset + 1;
                rest = &rest[record.total_size as usize..];
            }
        }
    }
    assert_eq!(consumed, 37);
    // Commit all but one message of queue 1 and all but 2 of queue 3: the lag is 3.
    for (queue, sent) in sent_per_queue.iter().enumerate() {
        let behind = [0, 1, 0, 2][queue];
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: "Metered".into(),
            queue_id: queue as i32,
            commit_offset: sent - behind,
            bname: None,
        };
        let answer = c
            .invoke(
                &server.addr,
                RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &header),
                T,
            )
            .await
            .unwrap();
        assert_eq!(answer.code, 0, "{:?}", answer.remark);
    }

    let samples = scrape(port).await;
    let topic = [("topic", "Metered")];
    let common = [
        ("cluster", "DefaultCluster"),
        ("node_type", "broker"),
        ("node_id", "broker-m"),
    ];
    assert_eq!(value(&samples, "rocketmq_messages_in_total", &common), 37.0);
    assert_eq!(value(&samples, "rocketmq_messages_in_total", &topic), 37.0);
    assert_eq!(
        value(&samples, "rocketmq_throughput_in_total", &topic),
        consumed_bytes as f64,
        "bytes in are the stored records, as consumed"
    );
    assert_eq!(value(&samples, "rocketmq_message_size_count", &topic), 37.0);
    assert_eq!(
        value(&samples, "rocketmq_message_size_sum", &topic),
        consumed_bytes as f64
    );
    let small = [("topic", "Metered"), ("le", "1024.0")];
    assert_eq!(
        value(&samples, "rocketmq_message_size_bucket", &small),
        37.0
    );
    let out = [("topic", "Metered"), ("consumer_group", "cg")];
    assert_eq!(value(&samples, "rocketmq_messages_out_total", &out), 37.0);
    assert_eq!(
        value(&samples, "rocketmq_throughput_out_total", &out),
        consumed_bytes as f64
    );
    assert_eq!(value(&samples, "rocketmq_consumer_lag_messages", &out), 3.0);
    let lag_ms = value(&samples, "rocketmq_consumer_lag_latency_milliseconds", &out);
    assert!((0.0..60_000.0).contains(&lag_ms), "{lag_ms}");
    // Everything was pulled: the 3 uncommitted messages are in flight, none is ready.
    assert_eq!(
        value(&samples, "rocketmq_consumer_inflight_messages", &out),
        3.0
    );
    assert_eq!(
        value(&samples, "rocketmq_consumer_ready_messages", &out),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "rocketmq_consumer_queueing_latency_milliseconds",
            &out
        ),
        0.0
    );
    let send_rpc = [
        ("request_code", "send_message_v2"),
        ("response_code", "success"),
        ("protocol_type", "remoting"),
    ];
    assert_eq!(
        value(
            &samples,
            "rocketmq_rpc_latency_milliseconds_count",
            &send_rpc
        ),
        37.0
    );
    let inf = [send_rpc.as_slice(), &[("le", "+Inf")]].concat();
    assert_eq!(
        value(&samples, "rocketmq_rpc_latency_milliseconds_bucket", &inf),
        37.0
    );
    assert_eq!(value(&samples, "rocketmq_broker_permission", &[]), 6.0);
    // Nothing is being served while the scrape runs.
    assert_eq!(
        value(
            &samples,
            "rocketmq_processor_watermark",
            &[("processor", "send")]
        ),
        0.0
    );
    assert!(value(&samples, "rocketmq_topic_number", &[]) >= 1.0);
    assert!(value(&samples, "rocketmq_storage_size_bytes", &[]) > 0.0);
    // The counters count, they are not constants: a second round doubles them.
    for i in 0..37 {
        let answer = c
            .invoke(
                &server.addr,
                send_message("Metered", i % 4, vec![b'y'; 5], now_ms()),
                T,
            )
            .await
            .unwrap();
        assert_eq!(answer.code, 0, "{:?}", answer.remark);
    }
    let again = scrape(port).await;
    assert_eq!(value(&again, "rocketmq_messages_in_total", &topic), 74.0);
    assert_eq!(value(&again, "rocketmq_consumer_lag_messages", &out), 40.0);
    assert_eq!(
        value(&again, "rocketmq_consumer_ready_messages", &out),
        37.0
    );
    assert_eq!(
        value(&again, "rocketmq_consumer_inflight_messages", &out),
        3.0
    );
    assert!(
        server.stop(T).is_some(),
        "the broker did not stop on SIGTERM within {T:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_with_a_skewed_clock_is_warned_once_and_measured() {
    let ns = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = broker(&ns, dir.path(), &["--clockSkewWarnThresholdMillis", "5000"]);
    let c = client();
    // Three minutes behind, ten times; then in step (never recorded on its own).
    for _ in 0..10 {
        let answer = c
            .invoke(
                &server.addr,
                send_message("Skewed", -1, b"s".to_vec(), now_ms() - 180_000),
                T,
            )
            .await
            .unwrap();
        assert_eq!(answer.code, 0, "{:?}", answer.remark);
    }
    let samples = scrape(port).await;
    let skew = value(
        &samples,
        "rmq_producer_clock_skew_milliseconds",
        &[("client_host", "127.0.0.1")],
    );
    assert!((-185_000.0..=-179_000.0).contains(&skew), "{skew}");
    // The console reads the same figure from GET_BROKER_RUNTIME_INFO.
    let info = c
        .invoke(
            &server.addr,
            RemotingCommand::request_without_header(RequestCode::GET_BROKER_RUNTIME_INFO),
            T,
        )
        .await
        .unwrap();
    let info: KvTable = fastjson::from_slice(&info.body).unwrap();
    let listed = &info.table["producerClockSkewMillis"];
    let (host, millis) = listed.split_once('=').unwrap();
    assert_eq!(host, "127.0.0.1", "{listed}");
    let millis: i64 = millis.parse().unwrap();
    assert!((-185_000..=-179_000).contains(&millis), "{listed}");
    // Back in step: the gauge follows the host's latest send.
    let answer = c
        .invoke(
            &server.addr,
            send_message("Skewed", -1, b"s".to_vec(), now_ms()),
            T,
        )
        .await
        .unwrap();
    assert_eq!(answer.code, 0, "{:?}", answer.remark);
    let samples = scrape(port).await;
    let skew = value(
        &samples,
        "rmq_producer_clock_skew_milliseconds",
        &[("client_host", "127.0.0.1")],
    );
    assert!((-5_000.0..=1_000.0).contains(&skew), "{skew}");
    assert!(
        server.stop(T).is_some(),
        "the broker did not stop on SIGTERM within {T:?}"
    );
    let log = std::fs::read_to_string(dir.path().join("broker.log")).unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("the clock of producer host 127.0.0.1"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("behind"), "{}", warnings[0]);
    assert!(warnings[0].contains("chrony"), "{}", warnings[0]);
}
