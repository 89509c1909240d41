//! `rmq-local` serves RocketMQ 5's gRPC protocol beside the stack: the boot line names the
//! port, and a gRPC client (rmq-proxy's generated one) gets a route for a topic the local broker
//! created, through the proxy's own endpoint, and TOPIC_NOT_FOUND for one it did not.

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

fn route(topic: &str) -> tonic::Request<v2::QueryRouteRequest> {
    let mut request = tonic::Request::new(v2::QueryRouteRequest {
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
    });
    request
        .metadata_mut()
        .insert("x-mq-client-id", "local-grpc-test".parse().unwrap());
    request
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
            let topic = rmq_remoting::body::topic::TopicConfig {
                order: false,
                perm: 6,
                read_queue_nums: 2,
                topic_filter_type: "SINGLE_TAG".into(),
                topic_name: "LocalGrpc".into(),
                topic_sys_flag: 0,
                write_queue_nums: 2,
                attributes: None,
            };
            admin.create_topic(&broker, &topic).await.unwrap();
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
    admin.shutdown().await;
}
