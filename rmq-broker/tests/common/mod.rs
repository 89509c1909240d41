//! Support shared by the broker's integration tests.
#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rmq_namesrv::{NameServer, NamesrvConfig};
use rmq_remoting::header::broker::CreateTopicRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_testkit::ServerProcess;

/// Consume-queue file size of every broker the tests start (small: they write few messages per
/// queue); the replication tests open the stores afterwards with the same size.
pub const CONSUME_QUEUE_FILE: u64 = 60_000;

/// An in-process name server on an ephemeral port (with its KV file in a temporary directory)
/// that runs until the test's runtime ends; returns its address.
pub async fn name_server() -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = NamesrvConfig {
        kv_config_path: dir.path().join("kv.json"),
        ..NamesrvConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = NameServer::new(&config).unwrap();
    tokio::spawn(async move {
        let _dir = dir;
        server.serve(listener, std::future::pending()).await;
    });
    addr
}

/// The `mqbroker` command of every test that runs the real binary: registered with `namesrv`
/// as group `broker_name` on 127.0.0.1, storing under `store`, with small files (4 MiB commit
/// log) so a test does not map gigabytes. `--listenPort` (default 0, an ephemeral port) and
/// `--mappedFileSizeCommitLog` are added only when `extra` does not give them; `extra` comes
/// last.
pub fn mqbroker<S: AsRef<str>>(
    namesrv: &str,
    broker_name: &str,
    store: &Path,
    extra: &[S],
) -> Command {
    let given = |key: &str| extra.iter().any(|arg| arg.as_ref() == key);
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqbroker"));
    command
        .args(["-n", namesrv, "--brokerIP1", "127.0.0.1"])
        .args(["--brokerName", broker_name]);
    for (key, default) in [
        ("--listenPort", "0"),
        ("--mappedFileSizeCommitLog", "4194304"),
    ] {
        if !given(key) {
            command.args([key, default]);
        }
    }
    command
        .args([
            "--mappedFileSizeConsumeQueue",
            &CONSUME_QUEUE_FILE.to_string(),
        ])
        .arg("--storePathRootDir")
        .arg(store)
        .args(extra.iter().map(AsRef::as_ref));
    command
}

/// A started `mqbroker` (see [`mqbroker`]) with a temporary store of its own, for tests that
/// never restart a broker; the process stops before its store is deleted.
pub struct BrokerProcess {
    pub server: ServerProcess,
    pub dir: tempfile::TempDir,
}

impl BrokerProcess {
    /// A broker of group `broker_name`, brokerId 0 unless `extra` says otherwise.
    pub fn start(namesrv: &str, broker_name: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let command = mqbroker(namesrv, broker_name, dir.path(), extra);
        BrokerProcess {
            server: ServerProcess::start(command),
            dir,
        }
    }

    /// A SLAVE (brokerId 1) of group `broker_name`.
    pub fn slave(namesrv: &str, broker_name: &str, extra: &[&str]) -> Self {
        let mut args = vec!["--brokerRole", "SLAVE", "--brokerId", "1"];
        args.extend_from_slice(extra);
        Self::start(namesrv, broker_name, &args)
    }

    /// Its client address, from the boot line.
    pub fn addr(&self) -> &str {
        &self.server.addr
    }
}

/// UPDATE_AND_CREATE_TOPIC of `topic` with `queues` read and write queues, read-write, the way
/// `mqadmin updateTopic` sends it: how every test creates its topics.
pub fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: None,
            force: None,
        },
    )
}

/// HEART_BEAT of `client_id` as a clustering consumer of `group` subscribed to every tag of
/// `topic` (and as a producer of `producer_group` when given), the way a Java client sends it.
pub fn consumer_heartbeat(
    client_id: &str,
    group: &str,
    topic: &str,
    producer_group: Option<&str>,
) -> RemotingCommand {
    use rmq_remoting::body::client::{
        ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
        SubscriptionData,
    };
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: ConsumeFromWhere::LastOffset,
            consume_type: ConsumeType::Passively,
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![SubscriptionData {
                class_filter_mode: false,
                code_set: vec![],
                expression_type: "TAG".into(),
                filter_class_source: None,
                sub_string: "*".into(),
                sub_version: 1,
                tags_set: vec![],
                topic: topic.into(),
            }],
            unit_mode: false,
        }],
        heartbeat_fingerprint: None,
        producer_data_set: producer_group
            .map(|g| ProducerData {
                group_name: g.into(),
            })
            .into_iter()
            .collect(),
        without_sub: None,
    };
    let body = rmq_remoting::fastjson::to_vec(&data, rmq_remoting::fastjson::KeyStyle::Fastjson);
    RemotingCommand::request_without_header(RequestCode::HEART_BEAT).with_body(body)
}

/// A client bound to one broker, for tests that send it many requests and expect answers.
pub struct Caller {
    /// The broker's address.
    pub addr: String,
    client: rmq_remoting::transport::RemotingClient,
}

impl Caller {
    /// A fresh client connection to the broker at `addr`.
    pub fn new(addr: impl Into<String>) -> Self {
        use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
        Caller {
            addr: addr.into(),
            client: RemotingClient::new(TransportConfig::default(), Router::new()),
        }
    }

    /// Sends `request` and returns whatever the broker answered (within 5 s).
    pub async fn call(&self, request: RemotingCommand) -> RemotingCommand {
        let limit = Duration::from_secs(5);
        self.client
            .invoke(&self.addr, request, limit)
            .await
            .unwrap()
    }

    /// Sends and expects success, returning the response.
    pub async fn ok(&self, request: RemotingCommand) -> RemotingCommand {
        let response = self.call(request).await;
        assert_eq!(response.code, 0, "{:?}", response.remark);
        response
    }

    /// Sends and parses the successful answer's body.
    pub async fn body<B: serde::de::DeserializeOwned>(&self, request: RemotingCommand) -> B {
        let response = self.ok(request).await;
        rmq_remoting::fastjson::from_slice(&response.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&response.body)))
    }
}

/// Polls `check` every 200 ms until it returns `Some`, which it returns; panics naming `what`
/// after `limit`. Brokers copy, register and replicate on their own schedules, so tests wait
/// for an outcome instead of sleeping; a yes/no check ends in `.then_some(())`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[allow(unused_imports)] // like the rest: each test binary uses a different part
pub use rmq_testkit::free_port;

/// SEND_MESSAGE_V2 of `body` to `topic`/`queue_id`, born `born_ms`, the way a Java producer
/// sends a plain message.
pub fn send_message(topic: &str, queue_id: i32, body: Vec<u8>, born_ms: i64) -> RemotingCommand {
    let header = rmq_remoting::header::broker::SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: born_ms,
        flag: 0,
        properties: Some(rmq_remoting::message::encode_properties([("WAIT", "true")])),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        bname: None,
    };
    RemotingCommand::request(RequestCode::SEND_MESSAGE_V2, &header).with_body(body)
}

/// PULL_MESSAGE of up to 32 messages of `topic`/`queue_id` from `offset` for `group`,
/// subscribing to every tag, answered at once (no long polling, no offset commit).
pub fn pull_message(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    let header = rmq_remoting::header::broker::PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 0x4,
        commit_offset: 0,
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
        bname: None,
    };
    RemotingCommand::request(RequestCode::PULL_MESSAGE, &header)
}
