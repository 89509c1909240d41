//! ACL 1.0 through the gRPC proxy (docs/grpc-proxy.md, "ACL"): an in-process rmq name server
//! and broker with `aclEnable=true`, the proxy with `enableACL=true` on the same temporary
//! ROCKETMQ_HOME (one `plain_acl.yml`), signing toward the broker with its own account
//! (`enableAclRpcHookForClusterMode`), and tonic's client signing as the 5.x SDKs sign. The
//! right keys send and receive; a wrong secret, an unknown key, a missing permission and a
//! missing header are refused with PERMISSION_DENIED, and nothing refused is stored; an edit
//! of the file takes effect without a restart.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rmq_broker::config::BrokerConfig;
use rmq_client::{Admin, Credentials, MessageQueue};
use rmq_proxy::proto::v2::{
    self, messaging_service_client::MessagingServiceClient, receive_message_response::Content,
    settings::PubSub, telemetry_command::Command, Code,
};
use rmq_proxy::ProxyConfig;
use rmq_testkit::LocalStack;
use sha1::Sha1;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

mod common;
use common::{admin, message, producer_settings, request, resource, topic_config};

const TOPIC: &str = "AclTopic";
const OTHER_TOPIC: &str = "AclOtherTopic";
const GROUP: &str = "AclGroup";

/// The proxy's own account (admin, as Apache advises for its inner client), a producer that
/// may publish to AclTopic only, a consumer that may consume AclTopic as AclGroup only.
/// (interop/grpc/acl.sh copies the same file.)
const PLAIN_ACL: &str = include_str!("fixtures/plain_acl.yml");

/// The signed time; Apache's proxy does not check its age, nor does rmq's.
const DATE_TIME: &str = "20261206T231500Z";

/// How a test request is signed.
#[derive(Clone, Copy)]
enum Keys {
    Signed(&'static str, &'static str),
    Unsigned,
}

const PRODUCER: Keys = Keys::Signed("producer1", "producerSecret1");
const CONSUMER: Keys = Keys::Signed("consumer1", "consumerSecret1");

/// `message` as a request of the test client, signed as the Java SDK's `Signature.sign` does.
fn signed<T>(keys: Keys, message: T) -> Request<T> {
    let mut req = request(message);
    let Keys::Signed(ak, sk) = keys else {
        return req;
    };
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(DATE_TIME.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let header =
        format!("MQv2-HMAC-SHA1 Credential={ak}, SignedHeaders=x-mq-date-time, Signature={hex}");
    let metadata = req.metadata_mut();
    metadata.insert("x-mq-date-time", DATE_TIME.parse().unwrap());
    metadata.insert("authorization", header.parse().unwrap());
    req
}

struct Stack {
    servers: LocalStack,
    client: MessagingServiceClient<Channel>,
    admin: Admin,
    home: tempfile::TempDir,
    stop: oneshot::Sender<()>,
}

async fn start() -> Stack {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    std::fs::write(home.path().join("conf").join("plain_acl.yml"), PLAIN_ACL).unwrap();
    let home_text = home.path().display().to_string();
    let servers = LocalStack::start_with(|b: &mut BrokerConfig| {
        b.acl_enable = true;
        b.rocketmq_home = home_text.clone();
    })
    .await;
    let credentials = Credentials::new("proxyInner", "proxySecret1");
    let admin = admin(&servers.namesrv, Some(credentials)).await;
    for topic in [TOPIC, OTHER_TOPIC] {
        let config = topic_config(topic, None);
        admin.create_topic(&servers.broker, &config).await.unwrap();
        servers.wait_for_route(topic).await;
    }
    let config = ProxyConfig {
        namesrv_addr: servers.namesrv.clone(),
        topic_config_cache_refresh_seconds: 0,
        min_invisible_time_mills_for_recv: 1000,
        grpc_client_consumer_min_long_polling_timeout_millis: 300,
        enable_acl: true,
        rocketmq_home: home_text.clone(),
        enable_acl_rpc_hook_for_cluster_mode: true,
        inner_client_authentication_credentials:
            r#"{"accessKey":"proxyInner","secretKey":"proxySecret1"}"#.into(),
        ..ProxyConfig::default()
    };
    let (client, _addr, stop) = common::serve(config).await;
    Stack {
        servers,
        client,
        admin,
        home,
        stop,
    }
}

impl Stack {
    async fn send(&mut self, keys: Keys, topic: &str, body: &str) -> Result<Code, Status> {
        let id = format!("acl-{body}");
        let answer: Response<v2::SendMessageResponse> = self
            .client
            .send_message(signed(
                keys,
                v2::SendMessageRequest {
                    messages: vec![message(topic, body, &id)],
                },
            ))
            .await?;
        Ok(common::code(answer.into_inner().status.as_ref()))
    }

    /// Bodies stored in `topic`, counted (read with the admin account).
    async fn stored(&self, topic: &str) -> BTreeMap<String, usize> {
        let mut all = BTreeMap::new();
        for queue in 0..4 {
            let mq = MessageQueue::new(topic, "broker-a", queue);
            for m in self.admin.pull_messages(&mq, 0, 32).await.unwrap() {
                *all.entry(String::from_utf8(m.body.to_vec()).unwrap())
                    .or_default() += 1;
            }
        }
        all
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.admin.shutdown().await;
        self.servers.stop().await;
    }
}

fn receive_request(group: &str, topic: &str) -> v2::ReceiveMessageRequest {
    v2::ReceiveMessageRequest {
        group: Some(resource(group)),
        message_queue: Some(v2::MessageQueue {
            topic: Some(resource(topic)),
            id: -1,
            permission: v2::Permission::ReadWrite as i32,
            broker: None,
            accept_message_types: Vec::new(),
        }),
        filter_expression: None,
        batch_size: 32,
        invisible_duration: Some(prost_types::Duration {
            seconds: 30,
            nanos: 0,
        }),
        auto_renew: false,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: 0,
            nanos: 500_000_000,
        }),
        attempt_id: None,
    }
}

/// The bodies one ReceiveMessage call delivers.
async fn receive(
    client: &mut MessagingServiceClient<Channel>,
    keys: Keys,
    req: v2::ReceiveMessageRequest,
) -> Result<Vec<String>, Status> {
    let mut stream = client
        .receive_message(signed(keys, req))
        .await?
        .into_inner();
    let mut bodies = Vec::new();
    while let Some(item) = stream.message().await? {
        if let Some(Content::Message(m)) = item.content {
            bodies.push(String::from_utf8(m.body).unwrap());
        }
    }
    Ok(bodies)
}

/// Opens a telemetry stream signed with `keys` and announces publishing settings for AclTopic:
/// the proxy's first answer, or its refusal.
async fn announce_publishing(
    client: &mut MessagingServiceClient<Channel>,
    keys: Keys,
) -> Result<v2::TelemetryCommand, Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tx.send(v2::TelemetryCommand {
        status: None,
        command: Some(Command::Settings(producer_settings(&[TOPIC]))),
    })
    .await
    .unwrap();
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut inbound = client.telemetry(signed(keys, stream)).await?.into_inner();
    inbound
        .message()
        .await?
        .ok_or_else(|| Status::unknown("telemetry stream closed with no answer"))
}

fn assert_denied<T: std::fmt::Debug>(result: Result<T, Status>, text: &str) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains(text), "{status:?}");
    assert!(!status.message().contains("Secret1"), "never a secret");
}

#[tokio::test]
async fn signed_clients_pass_and_the_rest_are_refused() {
    let mut s = start().await;

    // The right keys: a route, the producer's settings, a send; the message is stored once.
    let route = s
        .client
        .query_route(signed(
            PRODUCER,
            v2::QueryRouteRequest {
                topic: Some(resource(TOPIC)),
                endpoints: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(common::code(route.status.as_ref()), Code::Ok);
    assert_eq!(s.send(PRODUCER, TOPIC, "allowed").await.unwrap(), Code::Ok);

    // Refusals, none of which reaches the broker.
    assert_denied(
        s.send(
            Keys::Signed("producer1", "wrongSecret1"),
            TOPIC,
            "bad-secret",
        )
        .await,
        "Check signature failed for accessKey=producer1",
    );
    assert_denied(
        s.send(Keys::Signed("stranger1", "whatever1"), TOPIC, "unknown")
            .await,
        "No acl config for stranger1",
    );
    assert_denied(
        s.send(CONSUMER, TOPIC, "consumer-sends").await,
        "topic:AclTopic: accessKey=consumer1 needs PUB, has SUB",
    );
    assert_denied(
        s.send(PRODUCER, OTHER_TOPIC, "other-topic").await,
        "topic:AclOtherTopic: accessKey=producer1 needs PUB, has DENY",
    );
    assert_denied(
        s.send(Keys::Unsigned, TOPIC, "unsigned").await,
        "No accessKey is configured",
    );
    let mut no_date = signed(
        PRODUCER,
        v2::SendMessageRequest {
            messages: vec![message(TOPIC, "no-date", "acl-no-date")],
        },
    );
    no_date.metadata_mut().remove("x-mq-date-time");
    assert_denied(
        s.client.send_message(no_date).await,
        "Check signature failed",
    );
    let mut garbled = signed(
        PRODUCER,
        v2::SendMessageRequest {
            messages: vec![message(TOPIC, "garbled", "acl-garbled")],
        },
    );
    garbled
        .metadata_mut()
        .insert("authorization", "MQv2-HMAC-SHA1".parse().unwrap());
    assert_denied(s.client.send_message(garbled).await, "authorization header");
    assert_eq!(
        s.stored(TOPIC).await,
        BTreeMap::from([("allowed".to_owned(), 1)])
    );
    assert!(s.stored(OTHER_TOPIC).await.is_empty());

    // The consumer: a group it may not use is refused, its own group receives the message.
    assert_denied(
        receive(
            &mut s.client,
            CONSUMER,
            receive_request("OtherGroup", TOPIC),
        )
        .await,
        "group:OtherGroup: accessKey=consumer1 needs SUB, has DENY",
    );
    assert_denied(
        receive(&mut s.client, PRODUCER, receive_request(GROUP, TOPIC)).await,
        "accessKey=producer1 needs SUB",
    );
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.is_empty() && tokio::time::Instant::now() < deadline {
        got = receive(&mut s.client, CONSUMER, receive_request(GROUP, TOPIC))
            .await
            .unwrap();
    }
    assert_eq!(got, ["allowed"]);

    // Telemetry: each command is decided; publishing settings from the consumer close the
    // stream with PERMISSION_DENIED, the producer's are answered.
    let answer = announce_publishing(&mut s.client, PRODUCER)
        .await
        .expect("settings answered");
    assert!(matches!(
        answer.command,
        Some(Command::Settings(v2::Settings {
            pub_sub: Some(PubSub::Publishing(_)),
            ..
        }))
    ));
    let refused = announce_publishing(&mut s.client, CONSUMER).await;
    assert_denied(refused, "accessKey=consumer1 needs PUB");

    // A change of the file is in force within about half a second, with no restart: here a
    // global whitelist that lets this (unsigned) client send.
    let conf = s.home.path().join("conf");
    std::fs::write(
        conf.join("new.yml"),
        format!("globalWhiteRemoteAddresses:\n  - 127.0.0.1\n{PLAIN_ACL}"),
    )
    .unwrap();
    std::fs::rename(conf.join("new.yml"), conf.join("plain_acl.yml")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match s.send(Keys::Unsigned, TOPIC, "whitelisted").await {
            Ok(code) => {
                assert_eq!(code, Code::Ok);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::PermissionDenied);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "not reloaded in 5 s"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert_eq!(
        s.stored(TOPIC).await,
        BTreeMap::from([("allowed".to_owned(), 1), ("whitelisted".to_owned(), 1)])
    );

    s.stop().await;
}
