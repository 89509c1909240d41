//! An in-process name server and broker on 127.0.0.1:0 with temp dirs, and helpers to wait for
//! what the tests expect.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_broker::{Broker, BrokerConfig};
use rmq_client::{
    ClientConfig, ConsumeContext, ConsumeStatus, ConsumerConfig, Producer, ReceivedMessage,
};
use rmq_namesrv::{NameServer, NamesrvConfig};
use rmq_remoting::header::broker::CreateTopicRequestHeader;
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::StoreConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;

const CALL: Duration = Duration::from_secs(3);

/// A name server and one broker (`broker-a`) registered with it.
pub struct Cluster {
    pub namesrv: String,
    pub broker: String,
    admin: RemotingClient,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    broker_config: BrokerConfig,
    broker_stop: watch::Sender<bool>,
    broker_task: Option<tokio::task::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

/// Runs a broker on `listener` until `stop` changes.
fn spawn_broker(
    config: BrokerConfig,
    dir: &std::path::Path,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let addr: SocketAddr = listener.local_addr().unwrap();
    let mut store = StoreConfig::with_root(dir.join("store"));
    store.mapped_file_size_commit_log = 8 * 1024 * 1024;
    store.mapped_file_size_consume_queue = 60_000;
    let broker = Broker::open(config, store, addr).unwrap();
    tokio::spawn(broker.serve(listener, async move {
        let _ = stop.changed().await;
    }))
}

impl Cluster {
    pub async fn start() -> Cluster {
        Cluster::start_with(|_| {}).await
    }

    /// Starts a cluster whose broker settings `tweak` adjusts.
    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> Cluster {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let (stop, stopped) = watch::channel(false);
        let ns_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let namesrv = ns_listener.local_addr().unwrap().to_string();
        let ns = NameServer::new(&NamesrvConfig {
            listen_port: 0,
            kv_config_path: dir.path().join("kvConfig.json"),
            ..NamesrvConfig::default()
        })
        .unwrap();
        let mut ns_stop = stopped.clone();
        let ns_task = tokio::spawn(ns.serve(ns_listener, async move {
            let _ = ns_stop.changed().await;
        }));
        let broker_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let broker_addr: SocketAddr = broker_listener.local_addr().unwrap();
        let mut config = BrokerConfig {
            namesrv_addr: namesrv.clone(),
            broker_name: "broker-a".into(),
            broker_ip1: "127.0.0.1".into(),
            listen_port: broker_addr.port(),
            ..BrokerConfig::default()
        };
        tweak(&mut config);
        let (broker_stop, broker_stopped) = watch::channel(false);
        let broker_task = spawn_broker(config.clone(), dir.path(), broker_listener, broker_stopped);
        let cluster = Cluster {
            namesrv,
            broker: broker_addr.to_string(),
            admin: RemotingClient::new(TransportConfig::default(), Router::new()),
            stop,
            tasks: vec![ns_task],
            broker_config: config,
            broker_stop,
            broker_task: Some(broker_task),
            dir,
        };
        cluster.wait_for_route("TBW102").await;
        cluster
    }

    /// Creates `topic` with `queues` queues on the broker and waits for its route.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let header = CreateTopicRequestHeader {
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
        };
        let req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
        let resp = self.admin.invoke(&self.broker, req, CALL).await.unwrap();
        assert_eq!(resp.code, 0, "{:?}", resp.remark);
        self.wait_for_route(topic).await;
    }

    /// Waits until the name server knows `topic`.
    pub async fn wait_for_route(&self, topic: &str) {
        wait_until(&format!("a route for {topic}"), || async {
            let header = GetRouteInfoRequestHeader {
                topic: topic.into(),
                accept_standard_json_only: None,
            };
            let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
            matches!(self.admin.invoke(&self.namesrv, req, CALL).await,
                Ok(r) if r.code == ResponseCode::SUCCESS.as_i32())
        })
        .await;
    }

    /// Client settings with short periods so tests run fast.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            namesrv_addr: self.namesrv.clone(),
            client_ip: "127.0.0.1".into(),
            poll_name_server_interval: Duration::from_millis(500),
            heartbeat_broker_interval: Duration::from_secs(2),
            persist_consumer_offset_interval: Duration::from_millis(500),
            rebalance_interval: Duration::from_secs(1),
            ..ClientConfig::default()
        }
    }

    /// Consumer settings for `group` with a short local retry delay.
    pub fn consumer_config(&self, group: &str) -> ConsumerConfig {
        ConsumerConfig {
            consumer_group: group.into(),
            local_retry_delay: Duration::from_millis(300),
            local_offset_store_dir: self.dir.path().join("offsets"),
            ..ConsumerConfig::default()
        }
    }

    pub async fn producer(&self, group: &str) -> Producer {
        Producer::builder()
            .client_config(self.client_config())
            .producer_group(group)
            .start()
            .await
            .unwrap()
    }

    /// Stops the broker gracefully and starts it again on the same port and store.
    pub async fn restart_broker(&mut self) {
        let _ = self.broker_stop.send(true);
        if let Some(task) = self.broker_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let listener = TcpListener::bind(&self.broker).await.unwrap();
        let (broker_stop, broker_stopped) = watch::channel(false);
        self.broker_stop = broker_stop;
        self.broker_task = Some(spawn_broker(
            self.broker_config.clone(),
            self.dir.path(),
            listener,
            broker_stopped,
        ));
    }

    pub async fn stop(mut self) {
        let _ = self.broker_stop.send(true);
        if let Some(task) = self.broker_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

/// Polls `cond` every 50 ms for up to 20 s; panics naming `what` if it never holds.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a listener saw, shared with the test.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<ReceivedMessage>>>);

impl Received {
    /// A listener that records every message and succeeds.
    pub fn listener(
        &self,
    ) -> impl Fn(&[ReceivedMessage], &ConsumeContext) -> ConsumeStatus + Send + Sync + 'static {
        let seen = self.0.clone();
        move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            seen.lock().unwrap().extend_from_slice(msgs);
            ConsumeStatus::ConsumeSuccess
        }
    }

    pub fn all(&self) -> Vec<ReceivedMessage> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn ids(&self) -> HashSet<String> {
        self.all().into_iter().map(|m| m.msg_id).collect()
    }

    /// Waits until every id in `ids` has been received.
    pub async fn wait_for(&self, ids: &HashSet<String>) {
        wait_until(&format!("{} messages", ids.len()), || async {
            ids.is_subset(&self.ids())
        })
        .await;
    }
}

/// The queues assigned to `consumer`, its retry topic's queues left out.
pub fn own_queues(consumer: &rmq_client::PushConsumer) -> Vec<rmq_client::MessageQueue> {
    consumer
        .assigned_queues()
        .into_iter()
        .filter(|q| !q.topic.starts_with("%RETRY%"))
        .collect()
}

/// Polls `consumer` until `n` messages arrived (panics after 20 s); may return a few more.
pub async fn poll_n(consumer: &rmq_client::LitePullConsumer, n: usize) -> Vec<ReceivedMessage> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while all.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} polled",
            all.len()
        );
        all.extend(consumer.poll(Duration::from_millis(300)).await.unwrap());
    }
    all
}
