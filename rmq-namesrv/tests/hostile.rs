//! The real `mqnamesrv` under hostile peers (issue 15, item 4): ten thousand idle connections,
//! peers that never read, 16 MiB headers, malformed and 2 GiB frames, a connection storm. A
//! well-behaved client keeps being answered, memory stays bounded, every cap hit is logged,
//! and `maxConnections` refuses what is beyond it.

use std::path::Path;
use std::process::Command;

use rmq_testkit::hostile::{self, Scale, Target};
use rmq_testkit::ServerProcess;

fn mqnamesrv(dir: &Path, extra: &[&str]) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"));
    command
        .args(["--listenPort", "0", "--bindAddress", "127.0.0.1"])
        .arg("--kvConfigPath")
        .arg(dir.join("kvConfig.json"))
        .args(extra);
    ServerProcess::start_logging_to(command, &dir.join("namesrv.log"))
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("namesrv.log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_name_server_serves_well_behaved_clients_with_bounded_memory_under_hostile_peers() {
    let dir = tempfile::tempdir().unwrap();
    let server = mqnamesrv(dir.path(), &["--writeStallTimeoutMillis", "2000"]);
    let target = Target::name_server(&server.addr, server.pid());
    let scale = Scale::ci();
    hostile::ensure_open_files(&scale);
    eprintln!("{}", hostile::Report::heading());
    let reports = hostile::run_all(&target, &scale, |r| eprintln!("{}", r.row())).await;
    hostile::assert_ci(&reports, &scale);
    assert!(
        hostile::rss_kib(server.pid()).is_some(),
        "the name server died"
    );
    let log = log_of(dir.path());
    for expected in [
        "exceeds the maximum of 16777216 bytes (frameMaxLength)",
        "within writeStallTimeoutMillis",
    ] {
        assert!(
            log.contains(expected),
            "no log line with {expected:?}:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed_at_once_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let server = mqnamesrv(dir.path(), &["--maxConnections", "100"]);
    hostile::assert_connection_cap_of_100(&server.addr, || log_of(dir.path())).await;
}
