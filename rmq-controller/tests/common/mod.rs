//! A controller cluster of in-process nodes on real TCP, and fake broker replicas that
//! heartbeat to it and record the role-change notifications they receive.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_controller::{Controller, ControllerConfig};
use rmq_remoting::header::controller::*;
use rmq_remoting::header::namesrv::BrokerHeartbeatRequestHeader;
use rmq_remoting::transport::{serve, Connection, RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub const CLUSTER: &str = "DefaultCluster";

/// One controller node.
pub struct Node {
    pub addr: String,
    pub dir: PathBuf,
    running: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
        Arc<Controller>,
    )>,
}

/// A controller group in one process.
pub struct Cluster {
    pub nodes: Vec<Node>,
    peers: String,
    snapshot_logs: u64,
    _root: tempfile::TempDir,
    pub client: RemotingClient,
}

impl Cluster {
    /// Starts `n` nodes on free 127.0.0.1 ports.
    pub async fn start(n: usize, snapshot_logs: u64) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let addrs: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        let peers = rmq_controller::peer_list(&addrs);
        let mut cluster = Cluster {
            nodes: addrs
                .iter()
                .enumerate()
                .map(|(i, a)| Node {
                    addr: a.clone(),
                    dir: root.path().join(format!("n{i}")),
                    running: None,
                })
                .collect(),
            peers,
            snapshot_logs,
            _root: root,
            client: RemotingClient::new(TransportConfig::default(), Router::new()),
        };
        for (i, listener) in listeners.into_iter().enumerate() {
            cluster.run(i, listener).await;
        }
        cluster
    }

    pub fn config(&self, i: usize) -> ControllerConfig {
        ControllerConfig {
            controller_dleger_peers: self.peers.clone(),
            controller_dleger_self_id: format!("n{i}"),
            controller_store_path: self.nodes[i].dir.display().to_string(),
            scan_not_active_broker_interval: 100,
            raft_snapshot_logs: self.snapshot_logs,
            ..ControllerConfig::default()
        }
    }

    async fn run(&mut self, i: usize, listener: TcpListener) {
        let controller = Controller::start(self.config(i), "test").await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = controller.clone();
        let task = tokio::spawn(async move {
            serving
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
        });
        self.nodes[i].running = Some((stop, task, controller));
    }

    /// Restarts a stopped node on its old port and store.
    pub async fn restart(&mut self, i: usize) {
        let listener = TcpListener::bind(&self.nodes[i].addr).await.unwrap();
        self.run(i, listener).await;
    }

    /// Stops a node: its listener, connections and Raft node go.
    pub async fn stop(&mut self, i: usize) {
        if let Some((stop, task, _)) = self.nodes[i].running.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
        self.client.close_all().await;
    }

    pub fn controller(&self, i: usize) -> &Arc<Controller> {
        &self.nodes[i].running.as_ref().unwrap().2
    }

    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].running.is_some())
            .collect()
    }

    /// Waits until a running node reports itself leader over TCP; returns its index.
    pub async fn leader(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            for i in self.running() {
                let answer = self
                    .call(
                        &self.nodes[i].addr,
                        RequestCode::CONTROLLER_GET_METADATA_INFO,
                        &NoHeader {},
                        vec![],
                    )
                    .await;
                if let Ok(answer) = answer {
                    let h: GetMetaDataResponseHeader = answer.decode_header().unwrap();
                    if h.is_leader {
                        return i;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no controller leader within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn call<H: serde::Serialize>(
        &self,
        addr: &str,
        code: RequestCode,
        header: &H,
        body: Vec<u8>,
    ) -> Result<RemotingCommand, rmq_remoting::transport::TransportError> {
        call(&self.client, addr, code, header, body).await
    }
}

/// One request with a five-second timeout.
pub async fn call<H: serde::Serialize>(
    client: &RemotingClient,
    addr: &str,
    code: RequestCode,
    header: &H,
    body: Vec<u8>,
) -> Result<RemotingCommand, rmq_remoting::transport::TransportError> {
    {
        client
            .invoke(
                addr,
                RemotingCommand::request(code, header).with_body(body),
                Duration::from_secs(5),
            )
            .await
    }
}

#[derive(serde::Serialize)]
pub struct NoHeader {}

/// What a fake replica reports in its heartbeats.
#[derive(Clone, Copy)]
pub struct Progress {
    pub epoch: i32,
    pub max_offset: i64,
    pub priority: i32,
}

/// A fake broker replica: it listens for NOTIFY_BROKER_ROLE_CHANGED and heartbeats to every
/// controller over its own connections.
pub struct Replica {
    pub broker_name: String,
    pub id: i64,
    pub addr: String,
    pub notified: mpsc::UnboundedReceiver<(MasterInfoHeader, Instant)>,
    heartbeats: Option<(tokio::task::JoinHandle<()>, Arc<RemotingClient>)>,
    server: tokio::task::JoinHandle<()>,
}

impl Replica {
    /// Applies for an id and registers through the controller at `leader`.
    pub async fn join(client: &RemotingClient, leader: &str, broker_name: &str) -> Replica {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let next = call(
            client,
            leader,
            RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
            &GetNextBrokerIdRequestHeader {
                cluster_name: CLUSTER.into(),
                broker_name: broker_name.into(),
            },
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(next.code, 0, "{:?}", next.remark);
        let h: GetNextBrokerIdResponseHeader = next.decode_header().unwrap();
        let id = h.next_broker_id.unwrap();
        let applied = call(
            client,
            leader,
            RequestCode::CONTROLLER_APPLY_BROKER_ID,
            &ApplyBrokerIdRequestHeader {
                cluster_name: CLUSTER.into(),
                broker_name: broker_name.into(),
                applied_broker_id: id,
                register_check_code: format!("{addr};1"),
            },
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(applied.code, 0, "{:?}", applied.remark);
        let (tx, notified) = mpsc::unbounded_channel();
        let router = Router::new().route(
            RequestCode::NOTIFY_BROKER_ROLE_CHANGED,
            move |_: Connection, req: RemotingCommand| {
                let tx = tx.clone();
                async move {
                    let h: MasterInfoHeader = req.decode_header()?;
                    let _ = tx.send((h, Instant::now()));
                    Ok(RemotingCommand::success())
                }
            },
        );
        let server = tokio::spawn(serve(
            listener,
            router,
            TransportConfig::default(),
            std::future::pending(),
        ));
        Replica {
            broker_name: broker_name.into(),
            id,
            addr,
            notified,
            heartbeats: None,
            server,
        }
    }

    /// Starts heartbeating to every controller every 100 ms with a 1 s timeout.
    pub fn start_heartbeats(&mut self, controllers: Vec<String>, progress: Progress) {
        self.heartbeat_every(controllers, progress, Duration::from_millis(100), 1000);
    }

    /// Starts heartbeating every `interval`, announcing `timeout_ms`.
    pub fn heartbeat_every(
        &mut self,
        controllers: Vec<String>,
        progress: Progress,
        interval: Duration,
        timeout_ms: i64,
    ) {
        let client = Arc::new(RemotingClient::new(
            TransportConfig::default(),
            Router::new(),
        ));
        let header = BrokerHeartbeatRequestHeader {
            cluster_name: CLUSTER.into(),
            broker_addr: self.addr.clone(),
            broker_name: self.broker_name.clone(),
            broker_id: Some(self.id),
            epoch: Some(progress.epoch),
            max_offset: Some(progress.max_offset),
            confirm_offset: Some(progress.max_offset),
            heartbeat_timeout_mills: Some(timeout_ms),
            election_priority: Some(progress.priority),
        };
        let sender = client.clone();
        let task = tokio::spawn(async move {
            loop {
                for addr in &controllers {
                    let request = RemotingCommand::request(RequestCode::BROKER_HEARTBEAT, &header);
                    let _ = sender
                        .invoke(addr, request, Duration::from_millis(500))
                        .await;
                }
                tokio::time::sleep(interval).await;
            }
        });
        self.heartbeats = Some((task, client));
    }

    /// Stops heartbeating and closes the connections at once, as a killed process would.
    pub async fn kill_heartbeats(&mut self) {
        if let Some((task, client)) = self.heartbeats.take() {
            task.abort();
            client.close_all().await;
        }
    }

    /// Stops heartbeating but keeps the connections open, as a stopped (SIGSTOP) process.
    pub fn freeze_heartbeats(&mut self) {
        if let Some((task, client)) = self.heartbeats.take() {
            task.abort();
            std::mem::forget(client);
        }
    }

    /// Registers with the controller at `addr`.
    pub async fn register(&self, cluster: &Cluster, addr: &str) -> RemotingCommand {
        cluster
            .call(
                addr,
                RequestCode::CONTROLLER_REGISTER_BROKER,
                &RegisterBrokerToControllerRequestHeader {
                    cluster_name: CLUSTER.into(),
                    broker_name: self.broker_name.clone(),
                    broker_id: self.id,
                    broker_address: self.addr.clone(),
                    invoke_time: 0,
                },
                vec![],
            )
            .await
            .unwrap()
    }

    /// Asks the controller at `addr` to elect (this replica preferred, or designated).
    pub async fn elect(&self, cluster: &Cluster, addr: &str, designate: bool) -> RemotingCommand {
        elect(&cluster.client, addr, &self.broker_name, self.id, designate).await
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
        if let Some((task, _)) = &self.heartbeats {
            task.abort();
        }
    }
}

pub async fn elect(
    client: &RemotingClient,
    addr: &str,
    broker_name: &str,
    id: i64,
    designate: bool,
) -> RemotingCommand {
    call(
        client,
        addr,
        RequestCode::CONTROLLER_ELECT_MASTER,
        &ElectMasterRequestHeader {
            cluster_name: CLUSTER.into(),
            broker_name: broker_name.into(),
            broker_id: id,
            designate_elect: designate,
            invoke_time: None,
        },
        vec![],
    )
    .await
    .unwrap()
}

/// The group's master info as the controller at `addr` answers it.
pub async fn replica_info(
    cluster: &Cluster,
    addr: &str,
    broker_name: &str,
) -> (i32, MasterInfoHeader) {
    let answer = cluster
        .call(
            addr,
            RequestCode::CONTROLLER_GET_REPLICA_INFO,
            &GetReplicaInfoRequestHeader {
                broker_name: broker_name.into(),
            },
            vec![],
        )
        .await
        .unwrap();
    (answer.code, answer.decode_header().unwrap_or_default())
}

pub fn ok(code: i32) -> bool {
    code == ResponseCode::SUCCESS.as_i32()
}
