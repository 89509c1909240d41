//! Test support for the proxy over real gRPC and real remoting: an in-process rmq name server and
//! broker (rmq-testkit) and the proxy serving on 127.0.0.1:0, with tonic's generated client.

#![allow(dead_code)] // each test binary uses its own part of this support

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use rmq_broker::config::BrokerConfig;
use rmq_client::{Admin, ClientConfig, Credentials, MessageQueue, ReceivedMessage};
use rmq_proxy::proto::v2::{
    self, messaging_service_client::MessagingServiceClient, settings::PubSub,
    telemetry_command::Command, ClientType,
};
use rmq_proxy::{ProxyConfig, ProxyContext};
use rmq_remoting::body::topic::TopicConfig;
use rmq_testkit::LocalStack;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Request;

/// The client id every request of the tests carries.
pub const CLIENT_ID: &str = "proxy-test-client";

/// An admin client of the name server at `namesrv` (signing with `credentials` when the
/// servers check ACL), to create topics and groups and look at what was stored.
pub async fn admin(namesrv: &str, credentials: Option<Credentials>) -> Admin {
    Admin::start(ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        client_ip: "127.0.0.1".into(),
        credentials,
        ..ClientConfig::default()
    })
    .await
    .unwrap()
}

/// A read-write topic of 4 queues, with the 5.x message type `kind` when given.
pub fn topic_config(topic: &str, kind: Option<&str>) -> TopicConfig {
    TopicConfig {
        order: false,
        perm: 6,
        read_queue_nums: 4,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_name: topic.into(),
        topic_sys_flag: 0,
        write_queue_nums: 4,
        attributes: kind.map(|kind| HashMap::from([("message.type".to_owned(), kind.to_owned())])),
    }
}

/// Serves a proxy with `config` on an ephemeral port of 127.0.0.1 (its `grpc_server_port` is
/// set to it): a client of it, its address, and the sender that stops it.
pub async fn serve(
    mut config: ProxyConfig,
) -> (
    MessagingServiceClient<Channel>,
    SocketAddr,
    oneshot::Sender<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.grpc_server_port = addr.port();
    let ctx = ProxyContext::start(config).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(rmq_proxy::serve(ctx, listener, async move {
        let _ = stopped.await;
    }));
    let client = MessagingServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    (client, addr, stop)
}

/// Name server, broker and proxy, and a gRPC client of the proxy.
pub struct Proxied {
    /// The in-process name server and broker.
    pub servers: LocalStack,
    /// A client of the proxy.
    pub client: MessagingServiceClient<Channel>,
    /// The proxy's address.
    pub addr: SocketAddr,
    /// An admin client of the servers, to look at what was stored.
    pub admin: Admin,
    stop: Option<oneshot::Sender<()>>,
}

impl Proxied {
    /// Starts the servers (broker settings adjusted by `tweak`) and the proxy.
    pub async fn start(tweak: impl FnOnce(&mut BrokerConfig)) -> Proxied {
        Proxied::start_with(tweak, |_| {}).await
    }

    /// Like [`Proxied::start`], with the proxy's settings adjusted by `tweak_proxy` too.
    pub async fn start_with(
        tweak: impl FnOnce(&mut BrokerConfig),
        tweak_proxy: impl FnOnce(&mut ProxyConfig),
    ) -> Proxied {
        let servers = LocalStack::start_with(tweak).await;
        let mut config = ProxyConfig {
            namesrv_addr: servers.namesrv.clone(),
            topic_config_cache_refresh_seconds: 0,
            ..ProxyConfig::default()
        };
        tweak_proxy(&mut config);
        let (client, addr, stop) = serve(config).await;
        let admin = admin(&servers.namesrv, None).await;
        Proxied {
            servers,
            client,
            addr,
            admin,
            stop: Some(stop),
        }
    }

    /// Creates `topic` (4 queues) with the 5.x message type `kind` and waits for its route.
    pub async fn typed_topic(&self, topic: &str, kind: &str) {
        self.admin
            .create_topic(&self.servers.broker, &topic_config(topic, Some(kind)))
            .await
            .unwrap();
        self.servers.wait_for_route(topic).await;
    }

    /// Every message stored in `topic`'s 4 queues, in queue then offset order.
    pub async fn stored(&self, topic: &str) -> Vec<ReceivedMessage> {
        let mut all = Vec::new();
        for queue in 0..4 {
            let mq = MessageQueue::new(topic, "broker-a", queue);
            let mut offset = 0;
            loop {
                let batch = self.admin.pull_messages(&mq, offset, 32).await.unwrap();
                let Some(last) = batch.last() else { break };
                offset = last.queue_offset + 1;
                all.extend(batch);
            }
        }
        all
    }

    /// Opens a telemetry stream and announces `settings`; returns the proxy's answer and the
    /// stream's two ends (commands to send, commands received).
    pub async fn announce(
        &mut self,
        settings: v2::Settings,
    ) -> (
        v2::TelemetryCommand,
        mpsc::Sender<v2::TelemetryCommand>,
        tonic::Streaming<v2::TelemetryCommand>,
    ) {
        let (tx, rx) = mpsc::channel(8);
        tx.send(v2::TelemetryCommand {
            status: None,
            command: Some(Command::Settings(settings)),
        })
        .await
        .unwrap();
        let mut inbound = self
            .client
            .telemetry(request(ReceiverStream::new(rx)))
            .await
            .unwrap()
            .into_inner();
        let answer = tokio::time::timeout(Duration::from_secs(10), inbound.message())
            .await
            .expect("settings answered within 10 s")
            .unwrap()
            .expect("an answer");
        (answer, tx, inbound)
    }

    /// Sends `msg` alone through the proxy; the proxy's answer.
    pub async fn send_one(&mut self, msg: v2::Message) -> v2::SendMessageResponse {
        self.client
            .send_message(request(v2::SendMessageRequest {
                messages: vec![msg],
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// Stops the proxy and the servers.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.admin.shutdown().await;
        self.servers.stop().await;
    }
}

/// `message` as a request of the test client.
pub fn request<T>(message: T) -> Request<T> {
    request_as(CLIENT_ID, message)
}

/// `message` as a request of the client `client_id`.
pub fn request_as<T>(client_id: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("x-mq-client-id", client_id.parse().unwrap());
    request
}

/// A resource named `name`.
pub fn resource(name: &str) -> v2::Resource {
    v2::Resource {
        resource_namespace: String::new(),
        name: name.into(),
    }
}

/// A producer's settings for `topics`.
pub fn producer_settings(topics: &[&str]) -> v2::Settings {
    v2::Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(PubSub::Publishing(v2::Publishing {
            topics: topics.iter().map(|t| resource(t)).collect(),
            max_body_size: 0,
            validate_message_type: true,
        })),
        ..Default::default()
    }
}

/// A message of `topic` with `body` and id `id`; the caller sets type-specific properties.
pub fn message(topic: &str, body: &str, id: &str) -> v2::Message {
    v2::Message {
        topic: Some(resource(topic)),
        user_properties: HashMap::new(),
        system_properties: Some(v2::SystemProperties {
            message_id: id.into(),
            message_type: v2::MessageType::Normal as i32,
            ..Default::default()
        }),
        body: body.as_bytes().to_vec(),
    }
}

/// The code of a status.
pub fn code(status: Option<&v2::Status>) -> v2::Code {
    status
        .and_then(|s| v2::Code::try_from(s.code).ok())
        .unwrap_or(v2::Code::Unspecified)
}
