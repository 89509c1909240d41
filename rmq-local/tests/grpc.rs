//! `rmq-local` serves RocketMQ 5's gRPC protocol beside the stack: the boot line names the
//! port, and a gRPC client (rmq-proxy's generated one) gets a route for a topic the local broker
//! created, through the proxy's own endpoint, and TOPIC_NOT_FOUND for one it did not. The proxy
//! reaches its broker in process (docs/grpc-proxy.md, "Local mode"): after a send through it,
//! the broker lists the proxy's producer at 127.0.0.1 port 0 (no socket), and no TCP socket of
//! the rmq-local process is connected to the broker's port (the check sees the test's own).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rmq_client::{Admin, ClientConfig};
use rmq_proxy::proto::v2::{self, messaging_service_client::MessagingServiceClient, Code};

struct Local(Child);

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn with_client_id<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-mq-client-id", "local-grpc-test".parse().unwrap());
    request
}

fn route(topic: &str) -> tonic::Request<v2::QueryRouteRequest> {
    with_client_id(v2::QueryRouteRequest {
        topic: Some(v2::Resource {
            resource_namespace: String::new(),
            name: topic.into(),
        }),
        endpoints: Some(v2::Endpoints {
            scheme: v2::AddressScheme::IPv4 as i32,
            addresses: vec![v2::Address {
                host: "127.0.0.1".into(),
                port: 0,
            }],
        }),
    })
}

/// A transactional message (a half message: the proxy registers the topic's transactional
/// producer with the broker before sending it).
fn half_message(topic: &str) -> tonic::Request<v2::SendMessageRequest> {
    with_client_id(v2::SendMessageRequest {
        messages: vec![v2::Message {
            topic: Some(v2::Resource {
                resource_namespace: String::new(),
                name: topic.into(),
            }),
            user_properties: HashMap::new(),
            system_properties: Some(v2::SystemProperties {
                message_id: "0100000000000000000000000001".into(),
                message_type: v2::MessageType::Transaction as i32,
                ..Default::default()
            }),
            body: b"in process".to_vec(),
        }],
    })
}

/// Established TCP connections of process `pid` whose remote port is `port` (its sockets' inodes
/// looked up in the kernel's connection tables).
fn tcp_connections_to(pid: u32, port: u16) -> usize {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("list the process's file descriptors")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut count = 0;
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(state), Some(inode)) =
                (fields.get(2), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let remote_port = remote
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            if remote_port == Some(port) && *state == "01" && inodes.contains(*inode) {
                count += 1;
            }
        }
    }
    count
}

/// A plain topic of two queues.
fn topic_config(name: &str) -> rmq_remoting::body::topic::TopicConfig {
    rmq_remoting::body::topic::TopicConfig {
        order: false,
        perm: 6,
        read_queue_nums: 2,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_name: name.into(),
        topic_sys_flag: 0,
        write_queue_nums: 2,
        attributes: None,
    }
}

#[tokio::test]
async fn the_local_stack_serves_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rmq-local"))
        .args([
            "--namesrvPort",
            "0",
            "--listenPort",
            "0",
            "--consolePort",
            "off",
        ])
        .args(["--grpcPort", "0", "--mappedFileSizeCommitLog", "4194304"])
        .arg("--data")
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rmq-local");
    let stdout = child.stdout.take().expect("stdout is piped");
    let local_pid = child.id();
    let _local = Local(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the boot line");
    let port = |what: &str| -> String {
        line.split(what)
            .nth(1)
            .and_then(|rest| rest.split([',', ' ']).next())
            .unwrap_or_else(|| panic!("no {what} in the boot line: {line}"))
            .to_owned()
    };
    let grpc = port("gRPC on ");
    let namesrv = port("name server on ");
    let admin = Admin::start(ClientConfig {
        namesrv_addr: namesrv,
        ..ClientConfig::default()
    })
    .await
    .unwrap();
    let mut client = MessagingServiceClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    // Once the broker has registered, create a topic on it and ask for its route over gRPC.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let master = admin
            .cluster_master_addrs("DefaultCluster")
            .await
            .ok()
            .and_then(|m| m.first().cloned());
        if let Some(broker) = master {
            admin
                .create_topic(&broker, &topic_config("LocalGrpc"))
                .await
                .unwrap();
            let answer = client
                .query_route(route("LocalGrpc"))
                .await
                .unwrap()
                .into_inner();
            if answer.status.as_ref().map(|s| s.code) == Some(Code::Ok as i32) {
                assert_eq!(answer.message_queues.len(), 2);
                let endpoints = answer.message_queues[0]
                    .broker
                    .as_ref()
                    .and_then(|b| b.endpoints.as_ref())
                    .unwrap();
                // Through the proxy: its own port.
                assert_eq!(
                    endpoints.addresses[0].port.to_string(),
                    grpc.rsplit(':').next().unwrap()
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no route for LocalGrpc through gRPC in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let unknown = client
        .query_route(route("NoSuchTopic"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unknown.status.unwrap().code, Code::TopicNotFound as i32);

    // In process: a half message through the proxy, whose transactional producer heartbeats to
    // the broker first; the broker sees that producer's connection at port 0.
    let broker = port("broker on ");
    let tx_topic = rmq_remoting::body::topic::TopicConfig {
        topic_name: "LocalGrpcTx".into(),
        attributes: Some(HashMap::from([(
            "message.type".to_owned(),
            "TRANSACTION".to_owned(),
        )])),
        ..topic_config("LocalGrpcTx")
    };
    admin.create_topic(&broker, &tx_topic).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = client
            .query_route(route("LocalGrpcTx"))
            .await
            .unwrap()
            .into_inner();
        if answer.status.as_ref().map(|s| s.code) == Some(Code::Ok as i32) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no route for LocalGrpcTx in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let sent = client
        .send_message(half_message("LocalGrpcTx"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        sent.status.as_ref().map(|s| s.code),
        Some(Code::Ok as i32),
        "{sent:?}"
    );
    let producers = admin
        .producer_connections("LocalGrpcTx", "LocalGrpcTx")
        .await
        .unwrap();
    let addrs: Vec<&str> = producers.iter().map(|c| c.client_addr.as_str()).collect();
    assert_eq!(
        addrs,
        ["127.0.0.1:0"],
        "the proxy's producer as the broker sees it"
    );
    let broker_port: u16 = broker.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        tcp_connections_to(std::process::id(), broker_port) > 0,
        "this test's admin client is connected to the broker over TCP: the check must see it"
    );
    assert_eq!(
        tcp_connections_to(local_pid, broker_port),
        0,
        "rmq-local's proxy must not reach its broker over TCP"
    );
    admin.shutdown().await;
}
