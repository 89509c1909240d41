//! `rmq-local --cluster 2m-2s-sync` and `--cluster controller` as a user runs them: one
//! process, its brokers (and controllers) and a name server on free ports; the route must show
//! every group with its master and slaves, and Ctrl-C (SIGINT) must stop everything cleanly.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rmq_remoting::body::route::TopicRouteData;
use rmq_remoting::header::broker::SendMessageRequestHeader;
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{fastjson, RemotingCommand, RequestCode, ResponseCode};

/// Kills the cluster if the test fails before stopping it.
struct Cluster(Child);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Offset of `--controllerPortBase` from `--brokerPortBase`: the controllers listen on
/// B+100, B+90 and B+80, clear of the brokers' ports.
const CONTROLLERS_ABOVE_BROKERS: u16 = 100;

/// A port base B such that every broker port of the modes (B, B+10, B+20, B+30), its
/// replication port (+1) and its fast channel (-2), and the controllers' ports, are free now.
fn free_port_base() -> u16 {
    for _ in 0..200 {
        // below Linux's ephemeral range (32768+), where the name server's port 0 lands
        let base = 20_002 + fastrand_u16() % 12_000;
        let all_free = [-2i32, 0, 1, 8, 10, 11, 18, 20, 21, 28, 30, 31, 80, 90, 100]
            .iter()
            .all(|d| TcpListener::bind(("0.0.0.0", (i32::from(base) + d) as u16)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no free port range found");
}

fn fastrand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (nanos ^ std::process::id().wrapping_mul(2_654_435_761)) as u16
}

/// Starts the cluster of `mode` and returns it with the lines it printed up to "cluster ready".
fn start(mode: &str, data: &std::path::Path) -> (Cluster, Vec<String>) {
    let base = free_port_base();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rmq-local"));
    command
        .args(["--cluster", mode, "--namesrvPort", "0"])
        .args(["--brokerPortBase", &base.to_string()])
        .arg("--data")
        .arg(data)
        // several stores: keep their files small
        .args(["--mappedFileSizeCommitLog", "4194304"]);
    if mode == "controller" {
        let controllers = base + CONTROLLERS_ABOVE_BROKERS;
        command.args(["--controllerPortBase", &controllers.to_string()]);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rmq-local");
    let stdout = child.stdout.take().expect("stdout is piped");
    let cluster = Cluster(child);
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read rmq-local's output");
        let done = line.contains("Ctrl-C stops");
        lines.push(line);
        if done {
            assert!(
                lines.iter().any(|l| l.contains("cluster ready")),
                "rmq-local started but not every broker got ready: {lines:?}"
            );
            return (cluster, lines);
        }
    }
    panic!("rmq-local ended before the cluster was ready; it printed {lines:?}");
}

async fn route(namesrv: &str, topic: &str) -> Option<TopicRouteData> {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: None,
    };
    let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
    let resp = client
        .invoke(namesrv, req, Duration::from_secs(3))
        .await
        .ok()?;
    client.close_all().await;
    if resp.code != ResponseCode::SUCCESS.as_i32() {
        return None;
    }
    fastjson::from_slice(&resp.body).ok()
}

/// One SEND_MESSAGE to `broker`; the response code.
async fn send(broker: &str, topic: &str) -> Option<i32> {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let header = SendMessageRequestHeader {
        producer_group: "cluster_test_pg".to_owned(),
        topic: topic.to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 0,
        flag: 0,
        properties: None,
        reconsume_times: None,
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        bname: None,
    };
    let req = RemotingCommand::request(RequestCode::SEND_MESSAGE, &header).with_body("hello");
    let resp = client
        .invoke(broker, req, Duration::from_secs(3))
        .await
        .ok();
    client.close_all().await;
    resp.map(|r| r.code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_masters_two_slaves_in_one_process() {
    let data = tempfile::tempdir().unwrap();
    let (mut cluster, lines) = start("2m-2s-sync", data.path());
    let text = lines.join("\n");
    let namesrv = namesrv_of(&lines);
    let brokers = broker_lines(&lines);
    assert_eq!(brokers.len(), 4, "{text}");
    for w in &brokers {
        assert!(w.contains(&"HA"), "no HA address in {w:?}");
        let (role, id) = (w[1], w[3]);
        assert!(
            (role == "SYNC_MASTER" && id == "0") || (role == "SLAVE" && id == "1"),
            "{w:?}"
        );
    }

    // The route of TBW102 (on every broker) lists both groups, each with master and slave,
    // at the addresses printed.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(r) = route(&namesrv, "TBW102").await {
            let complete = ["broker-a", "broker-b"].iter().all(|name| {
                r.broker_datas
                    .iter()
                    .any(|b| b.broker_name == *name && b.broker_addrs.len() == 2)
            });
            if complete {
                for w in &brokers {
                    let id: i64 = w[3].parse().unwrap();
                    let group = r
                        .broker_datas
                        .iter()
                        .find(|b| b.broker_name == w[0])
                        .unwrap();
                    assert_eq!(
                        group.broker_addrs.get(&id).map(String::as_str),
                        Some(w[4]),
                        "{r:?}"
                    );
                }
                last = None;
                break;
            }
            last = Some(r);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last.get_or_insert_with(TopicRouteData::default);
    }
    assert!(
        last.is_none(),
        "route never showed two groups with master and slave: {last:?}\n{text}"
    );

    // Each SYNC_MASTER answers SUCCESS, not SLAVE_NOT_AVAILABLE (11): its slave in the same
    // process replicates from it ...
    for w in brokers.iter().filter(|w| w[1] == "SYNC_MASTER") {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut code = None;
        while Instant::now() < deadline {
            code = send(w[4], "ClusterSmoke").await;
            if code == Some(ResponseCode::SUCCESS.as_i32()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            code,
            Some(ResponseCode::SUCCESS.as_i32()),
            "send to {w:?}\n{text}"
        );
    }

    // ... and each slave refuses sends (SERVICE_NOT_AVAILABLE, 14, as Apache's slaves do).
    for w in brokers.iter().filter(|w| w[1] == "SLAVE") {
        assert_eq!(send(w[4], "ClusterSmoke").await, Some(14), "send to {w:?}");
    }

    // Ctrl-C stops every broker and the name server, cleanly.
    interrupt(&mut cluster);
    assert_clean_stores(
        &data.path().join("2m-2s-sync"),
        &["broker-a", "broker-a-s", "broker-b", "broker-b-s"],
    );
}

/// The name server's address from the summary.
fn namesrv_of(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("name server"))
        .map(|a| a.trim().to_owned())
        .unwrap_or_else(|| panic!("no name-server line in {lines:?}"))
}

/// Every broker's line of the summary, split: name, role, "brokerId", id, address, "HA", HA
/// address, "store", store.
fn broker_lines(lines: &[String]) -> Vec<Vec<&str>> {
    lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.first().is_some_and(|n| n.starts_with("broker-")))
        .collect()
}

/// SIGINT, as Ctrl-C sends it; the process must exit successfully within 20 s.
fn interrupt(cluster: &mut Cluster) {
    let pid = cluster.0.id() as libc::pid_t;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = cluster.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "rmq-local still running 20 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "rmq-local exited with {status}");
}

/// Each of `stores` under `dir` holds a commit log and was closed cleanly (no abort file).
fn assert_clean_stores(dir: &std::path::Path, stores: &[&str]) {
    for store in stores {
        let dir = dir.join(store);
        assert!(
            dir.join("commitlog").is_dir(),
            "no store in {}",
            dir.display()
        );
        assert!(
            !dir.join("abort").exists(),
            "{store} did not shut down cleanly"
        );
    }
}

/// Controller mode: three controllers elect a master among broker-a's three replicas; the
/// route names it (brokerId 0) and both slaves by the time the cluster is ready, and a message
/// sent through the name server is stored on the master and can be read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_mode_elects_a_master_and_serves_messages() {
    let data = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let (mut cluster, lines) = start("controller", data.path());
    let ready_after = t0.elapsed();
    let text = lines.join("\n");
    let namesrv = namesrv_of(&lines);

    // Three controllers, exactly one of them the Raft leader.
    let controllers: Vec<&String> = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("controller "))
        .collect();
    assert_eq!(controllers.len(), 3, "{text}");
    assert_eq!(
        controllers
            .iter()
            .filter(|l| l.contains("Raft leader"))
            .count(),
        1,
        "{text}"
    );

    // One master (brokerId 0) and two slaves with distinct ids the controller gave them.
    let brokers = broker_lines(&lines);
    assert_eq!(brokers.len(), 3, "{text}");
    assert!(brokers.iter().all(|w| w[0] == "broker-a"), "{text}");
    let masters: Vec<&Vec<&str>> = brokers
        .iter()
        .filter(|w| w[1] == "SYNC_MASTER" && w[3] == "0")
        .collect();
    assert_eq!(masters.len(), 1, "{text}");
    let master = masters[0][4];
    let mut slave_ids: Vec<i64> = brokers
        .iter()
        .filter(|w| w[1] == "SLAVE")
        .map(|w| w[3].parse().unwrap())
        .collect();
    slave_ids.sort_unstable();
    slave_ids.dedup();
    assert_eq!(slave_ids.len(), 2, "{text}");
    assert!(slave_ids.iter().all(|id| *id > 0), "{text}");

    // "cluster ready" means the name server already routes to all three.
    let r = route(&namesrv, "TBW102")
        .await
        .unwrap_or_else(|| panic!("no route for TBW102\n{text}"));
    let group = r
        .broker_datas
        .iter()
        .find(|b| b.broker_name == "broker-a")
        .unwrap_or_else(|| panic!("no broker-a in {r:?}"));
    assert_eq!(group.broker_addrs.len(), 3, "{r:?}");
    assert_eq!(
        group.broker_addrs.get(&0).map(String::as_str),
        Some(master),
        "{r:?}"
    );
    for w in &brokers {
        let id: i64 = w[3].parse().unwrap();
        assert_eq!(
            group.broker_addrs.get(&id).map(String::as_str),
            Some(w[4]),
            "{r:?}"
        );
    }
    println!("controller mode: master {master} in the route {ready_after:?} after the start");

    // A message through the name server: SEND_OK from the master (every in-sync replica has
    // it), then read back from its queue at its offset.
    let client = rmq_client::ClientConfig {
        namesrv_addr: namesrv.clone(),
        ..rmq_client::ClientConfig::default()
    };
    let producer = rmq_client::Producer::builder()
        .client_config(client.clone())
        .producer_group("controller_smoke_pg")
        .start()
        .await
        .unwrap();
    let body = format!("controller mode {}", std::process::id());
    let sent = producer
        .send(rmq_client::Message::new("ControllerSmoke", body.clone()))
        .await
        .unwrap_or_else(|e| panic!("send failed: {e}\n{text}"));
    assert_eq!(sent.status, rmq_client::SendStatus::SendOk, "{sent:?}");
    assert_eq!(sent.message_queue.broker_name, "broker-a");
    // The send created the topic from TBW102's route; the master registers it with the name
    // server right after, and a fresh client can only find the queue once it has.
    let deadline = Instant::now() + Duration::from_secs(10);
    while route(&namesrv, "ControllerSmoke").await.is_none() {
        assert!(
            Instant::now() < deadline,
            "ControllerSmoke never got a route\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = rmq_client::Admin::start(client).await.unwrap();
    let read = admin
        .query_message_by_offset(&sent.message_queue, sent.queue_offset)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("nothing at {sent:?}"));
    assert_eq!(read.body.as_ref(), body.as_bytes());
    producer.shutdown().await;
    admin.shutdown().await;

    interrupt(&mut cluster);
    let dir = data.path().join("controller");
    assert_clean_stores(&dir, &["broker-n0", "broker-n1", "broker-n2"]);
    for n in 0..3 {
        let store = dir.join(format!("controller-n{n}"));
        assert!(
            std::fs::read_dir(&store).is_ok_and(|mut d| d.next().is_some()),
            "controller n{n} kept nothing in {}",
            store.display()
        );
    }
}
