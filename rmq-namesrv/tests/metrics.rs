//! The real `mqnamesrv` with `metricsExporterType=PROM`, scraped over real HTTP: request
//! latency counts the requests made, by request and response code, with the node's labels and
//! `metricsLabel`'s; the registry gauges read an empty registry.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use rmq_metrics::Series;
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

const T: Duration = Duration::from_secs(5);

async fn scrape(port: u16) -> BTreeMap<Series, f64> {
    rmq_metrics::parse_text(&rmq_testkit::scrape_metrics(port).await).unwrap()
}

fn samples_named<'a>(
    samples: &'a BTreeMap<Series, f64>,
    name: &'a str,
) -> impl Iterator<Item = (&'a BTreeMap<String, String>, f64)> + 'a {
    samples
        .iter()
        .filter(move |((n, _), _)| n == name)
        .map(|((_, labels), v)| (labels, *v))
}

#[tokio::test]
async fn request_latency_counts_every_request_by_code() {
    let dir = tempfile::tempdir().unwrap();
    let port = rmq_testkit::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"));
    command
        .args(["--listenPort", "0", "--bindAddress", "127.0.0.1"])
        .args([
            "--metricsExporterType",
            "PROM",
            "--metricsLabel",
            "env:test",
        ])
        .args(["--metricsPromExporterPort", &port.to_string()])
        .arg("--kvConfigPath")
        .arg(dir.path().join("kv.json"));
    let server = ServerProcess::start(command);
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    for i in 0..7 {
        let request = RemotingCommand::request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: format!("Nowhere{i}"),
                accept_standard_json_only: None,
            },
        );
        let answer = client.invoke(&server.addr, request, T).await.unwrap();
        assert_eq!(answer.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
    }
    let samples = scrape(port).await;
    let counts: Vec<_> =
        samples_named(&samples, "rocketmq_rpc_latency_milliseconds_count").collect();
    assert_eq!(counts.len(), 1, "{counts:?}");
    let (labels, count) = &counts[0];
    assert_eq!(*count, 7.0);
    for (key, value) in [
        ("request_code", "get_routeinfo_by_topic"),
        ("response_code", "topic_not_exist"),
        ("node_type", "namesrv"),
        ("node_id", server.addr.as_str()),
        ("env", "test"),
    ] {
        assert_eq!(
            labels.get(key).map(String::as_str),
            Some(value),
            "{labels:?}"
        );
    }
    let topics: Vec<_> = samples_named(&samples, "rmq_namesrv_topics").collect();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].1, 0.0);
    assert_eq!(samples_named(&samples, "rmq_namesrv_brokers").count(), 0);
    server.stop(T);
}
