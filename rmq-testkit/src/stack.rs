//! An in-process name server and broker on `127.0.0.1:0` with a temporary store: the local
//! stack for tests of the client-side crates (starter, demos), over real TCP.

use std::path::Path;
use std::time::Duration;

use rmq_broker::{Broker, BrokerConfig};
use rmq_namesrv::{NameServer, NamesrvConfig};
use rmq_remoting::header::broker::CreateTopicRequestHeader;
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::StoreConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const CALL: Duration = Duration::from_secs(3);

/// A name server and one broker (`broker-a`) registered with it. Panics when something cannot
/// start: this is test support, and a stack that cannot start fails the test.
pub struct LocalStack {
    /// The name server's `host:port`.
    pub namesrv: String,
    /// The broker's `host:port`.
    pub broker: String,
    admin: RemotingClient,
    namesrv_stop: watch::Sender<bool>,
    namesrv_task: Option<JoinHandle<()>>,
    broker_config: BrokerConfig,
    broker_stop: watch::Sender<bool>,
    broker_task: Option<JoinHandle<()>>,
    dir: tempfile::TempDir,
}

/// Serves a broker on `listener` with its store under `dir` until the returned sender fires.
fn spawn_broker(
    config: BrokerConfig,
    dir: &Path,
    listener: TcpListener,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let addr = listener.local_addr().expect("address");
    let mut store = StoreConfig::with_root(dir.join("store"));
    store.mapped_file_size_commit_log = 8 * 1024 * 1024;
    store.mapped_file_size_consume_queue = 60_000;
    let broker = Broker::open(config, store, addr).expect("a broker");
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(broker.serve(listener, async move {
        let _ = stopped.changed().await;
    }));
    (stop, task)
}

/// Signals a server to stop and waits (10 s at most) for it to finish.
async fn stop_server(stop: &watch::Sender<bool>, task: Option<JoinHandle<()>>) {
    let _ = stop.send(true);
    if let Some(task) = task {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
}

impl LocalStack {
    /// Starts both servers and waits until the broker's auto-create template topic is routable.
    pub async fn start() -> LocalStack {
        LocalStack::start_with(|_| {}).await
    }

    /// Like [`LocalStack::start`], with the broker's settings adjusted by `tweak` first.
    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> LocalStack {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (namesrv_stop, mut namesrv_stopped) = watch::channel(false);
        let ns_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let namesrv = ns_listener.local_addr().expect("address").to_string();
        let ns = NameServer::new(&NamesrvConfig {
            listen_port: 0,
            kv_config_path: dir.path().join("kvConfig.json"),
            ..NamesrvConfig::default()
        })
        .expect("a name server");
        let namesrv_task = tokio::spawn(ns.serve(ns_listener, async move {
            let _ = namesrv_stopped.changed().await;
        }));
        let broker_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let broker_addr = broker_listener.local_addr().expect("address");
        let mut broker_config = BrokerConfig {
            namesrv_addr: namesrv.clone(),
            broker_name: "broker-a".into(),
            broker_ip1: "127.0.0.1".into(),
            listen_port: broker_addr.port(),
            ..BrokerConfig::default()
        };
        tweak(&mut broker_config);
        let (broker_stop, broker_task) =
            spawn_broker(broker_config.clone(), dir.path(), broker_listener);
        let stack = LocalStack {
            namesrv,
            broker: broker_addr.to_string(),
            admin: RemotingClient::new(TransportConfig::default(), Router::new()),
            namesrv_stop,
            namesrv_task: Some(namesrv_task),
            broker_config,
            broker_stop,
            broker_task: Some(broker_task),
            dir,
        };
        stack.wait_for_route("TBW102").await;
        stack
    }

    /// The stack's temporary directory (the broker's store is `store/` inside it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `topic` with `queues` queues and waits for its route, so consumers started
    /// afterwards find it at once (instead of at their next route poll).
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
        let resp = self
            .admin
            .invoke(&self.broker, req, CALL)
            .await
            .expect("UPDATE_AND_CREATE_TOPIC answered");
        assert_eq!(resp.code, 0, "topic creation refused: {:?}", resp.remark);
        self.wait_for_route(topic).await;
    }

    /// Waits (up to 20 s) until the name server has a route for `topic`.
    pub async fn wait_for_route(&self, topic: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let header = GetRouteInfoRequestHeader {
                topic: topic.into(),
                accept_standard_json_only: None,
            };
            let req = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
            if matches!(self.admin.invoke(&self.namesrv, req, CALL).await,
                Ok(r) if r.code == ResponseCode::SUCCESS.as_i32())
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no route for {topic} after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the broker gracefully and starts it again on the same port and store.
    pub async fn restart_broker(&mut self) {
        stop_server(&self.broker_stop, self.broker_task.take()).await;
        let listener = TcpListener::bind(&self.broker).await.expect("bind");
        let (stop, task) = spawn_broker(self.broker_config.clone(), self.dir.path(), listener);
        self.broker_stop = stop;
        self.broker_task = Some(task);
    }

    /// Stops the broker, then the name server, and waits for both to finish (before the
    /// temporary directory goes).
    pub async fn stop(mut self) {
        stop_server(&self.broker_stop, self.broker_task.take()).await;
        stop_server(&self.namesrv_stop, self.namesrv_task.take()).await;
    }
}
