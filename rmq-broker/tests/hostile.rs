//! The real `mqbroker` under hostile peers (issue 15, item 4): ten thousand idle connections,
//! peers that never read, 16 MiB headers, malformed and 2 GiB frames, a connection storm, and
//! a peer parking more long-polling pulls than `maxInFlightPerConnection`. A well-behaved
//! client keeps being answered, memory stays bounded, every cap hit is logged, and
//! `maxConnections` refuses what is beyond it.

use std::path::Path;
use std::time::Duration;

use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::ResponseCode;
use rmq_testkit::hostile::{self, Scale, Target};
use rmq_testkit::ServerProcess;

mod common;
use common::{create_topic, mqbroker, name_server};

fn start_broker(namesrv: &str, dir: &Path, extra: &[&str]) -> ServerProcess {
    let command = mqbroker(namesrv, "hostile", &dir.join("store"), extra);
    ServerProcess::start_logging_to(command, &dir.join("broker.log"))
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("broker.log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_serves_well_behaved_clients_with_bounded_memory_under_hostile_peers() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_broker(
        &namesrv,
        dir.path(),
        &[
            "--writeStallTimeoutMillis",
            "2000",
            "--maxInFlightPerConnection",
            "16",
        ],
    );
    let admin = RemotingClient::new(TransportConfig::default(), Router::new());
    let created = admin
        .invoke(
            &server.addr,
            create_topic("HostileParked", 1),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(created.code, ResponseCode::SUCCESS.as_i32(), "{created:?}");
    let target = Target::broker(&server.addr, server.pid(), "HostileParked");
    let scale = Scale::ci();
    hostile::ensure_open_files(&scale);
    eprintln!("{}", hostile::Report::heading());
    let reports = hostile::run_all(&target, &scale, |r| eprintln!("{}", r.row())).await;
    hostile::assert_ci(&reports, &scale);
    assert_eq!(reports.len(), 6, "every scenario runs against a broker");
    assert!(hostile::rss_kib(server.pid()).is_some(), "the broker died");
    let log = log_of(dir.path());
    for expected in [
        "exceeds the maximum of 16777216 bytes (frameMaxLength)",
        "within writeStallTimeoutMillis",
        "has maxInFlightPerConnection requests in flight",
    ] {
        assert!(
            log.contains(expected),
            "no log line with {expected:?}:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed_at_once_and_logged() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_broker(&namesrv, dir.path(), &["--maxConnections", "100"]);
    hostile::assert_connection_cap_of_100(&server.addr, || log_of(dir.path())).await;
}
