//! One controller node: the Raft member, the replicated replica table, the local heartbeat
//! table, and the helpers request handlers and failover share.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, ForwardToLeader, RaftError};
use openraft::{BasicNode, SnapshotPolicy};
use rmq_remoting::transport::{serve, RemotingClient, Router, TransportConfig};
use rmq_remoting::{CommandError, ResponseCode};
use tokio::net::TcpListener;

use crate::config::{ControllerConfig, Peer, PeerConfigError};
use crate::liveness::Liveness;
use crate::log_store::{LogOpenError, LogStore};
use crate::network::Network;
use crate::replicas::Command;
use crate::state_machine::{SnapshotLoadError, StateMachine};
use crate::types::Raft;

/// How long a write or a leadership check may wait for a Raft majority.
const RAFT_WAIT: Duration = Duration::from_secs(3);

/// Why a controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] PeerConfigError),
    /// The Raft log could not be opened.
    #[error(transparent)]
    Log(#[from] LogOpenError),
    /// The snapshot could not be loaded.
    #[error(transparent)]
    Snapshot(#[from] SnapshotLoadError),
    /// openraft refused the settings or failed to start.
    #[error("cannot start the Raft node: {0}")]
    Raft(String),
}

/// A running controller node; shared by handlers and background tasks.
pub struct Controller {
    pub(crate) raft: Raft,
    pub(crate) state: StateMachine,
    pub(crate) liveness: Liveness,
    pub(crate) peers: Vec<Peer>,
    pub(crate) me: Peer,
    /// Settings; the runtime-updatable keys change through UPDATE_CONTROLLER_CONFIG.
    pub(crate) settings: RwLock<ControllerConfig>,
    /// Outgoing connections: Raft peers and role-change notifications to brokers.
    pub(crate) client: Arc<RemotingClient>,
    pub(crate) started: Instant,
    /// Set once shutdown begins: the connections it closes are not brokers dying.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
}

impl Controller {
    /// Opens the store, starts the Raft node and, on the lowest-numbered peer with an empty
    /// store, initializes the group's membership from `controllerDLegerPeers`.
    pub async fn start(config: ControllerConfig, origin: &str) -> Result<Arc<Self>, StartError> {
        config.validate(origin)?;
        let peers = config.peers(origin)?;
        let me = config.self_peer(&peers, origin)?.clone();
        let dir = config.store_dir();
        let log = LogStore::open(&dir)?;
        let state = StateMachine::open(&dir)?;
        let raft_config = openraft::Config {
            cluster_name: config.controller_dleger_group.clone(),
            heartbeat_interval: config.raft_heartbeat_interval,
            election_timeout_min: config.raft_election_timeout_min,
            election_timeout_max: config.raft_election_timeout_max,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.raft_snapshot_logs.max(1)),
            max_in_snapshot_log_to_keep: config.raft_snapshot_logs.max(1),
            ..Default::default()
        }
        .validate()
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let client = Arc::new(RemotingClient::new(
            TransportConfig {
                connect_timeout: Duration::from_millis(config.raft_heartbeat_interval.max(200)),
                ..TransportConfig::default()
            },
            Router::new(),
        ));
        let network = Network::new(
            client.clone(),
            Duration::from_millis(config.raft_heartbeat_interval),
        );
        let raft = Raft::new(me.id, Arc::new(raft_config), network, log, state.clone())
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        let lowest = peers.iter().map(|p| p.id).min();
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        if lowest == Some(me.id) && !initialized {
            let members: BTreeMap<u64, BasicNode> = peers
                .iter()
                .map(|p| (p.id, BasicNode::new(&p.addr)))
                .collect();
            if let Err(e) = raft.initialize(members).await {
                tracing::warn!(error = %e, "Raft membership already initialized");
            } else {
                tracing::info!(peers = %config.controller_dleger_peers, "Raft membership initialized");
            }
        }
        Ok(Arc::new(Controller {
            raft,
            state,
            liveness: Liveness::default(),
            peers,
            me,
            settings: RwLock::new(config),
            client,
            started: Instant::now(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// This node's peer address, where [`Self::serve`] should listen.
    pub fn peer_addr(&self) -> &str {
        &self.me.addr
    }

    /// Serves brokers, admin tools and peer controllers on `listener` until `shutdown`, with
    /// the failure-detection tasks running alongside; then stops the Raft node.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let tasks = crate::failover::spawn_background(&self);
        let stopping = self.clone();
        let shutdown = async move {
            shutdown.await;
            stopping
                .stopping
                .store(true, std::sync::atomic::Ordering::Release);
        };
        serve(
            listener,
            crate::processor::router(&self),
            TransportConfig::default(),
            shutdown,
        )
        .await;
        for task in tasks {
            task.abort();
        }
        self.shutdown().await;
    }

    /// The index of the last Raft entry dropped from this node's log after a snapshot; for
    /// monitoring and tests of log compaction.
    pub fn last_purged_index(&self) -> Option<u64> {
        self.raft.metrics().borrow().purged.map(|l| l.index)
    }

    /// This node's id in `controllerDLegerPeers` (`n0`).
    pub fn self_name(&self) -> &str {
        &self.me.name
    }

    /// The router for the controller's codes, for embedding the controller in another
    /// server's listener (the background tasks must then be started with
    /// [`Self::spawn_background`]).
    pub fn router(self: &Arc<Self>) -> Router {
        crate::processor::router(self)
    }

    /// Starts scanning for silent brokers and watching for leadership changes; the handles
    /// are aborted to stop them.
    pub fn spawn_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        crate::failover::spawn_background(self)
    }

    /// Stops the Raft node.
    pub async fn shutdown(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Release);
        self.client.close_all().await;
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "Raft node did not stop cleanly");
        }
    }

    /// A copy of the current settings.
    pub(crate) fn settings(&self) -> ControllerConfig {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True while this node leads the Raft group.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.me.id)
    }

    /// The current leader, as far as this node knows.
    pub(crate) fn leader(&self) -> Option<&Peer> {
        let leader = self.raft.metrics().borrow().current_leader?;
        self.peers.iter().find(|p| p.id == leader)
    }

    /// CONTROLLER_NOT_LEADER, naming the leader when known so the caller can go there.
    pub(crate) fn not_leader(
        &self,
        hint: Option<&ForwardToLeader<u64, BasicNode>>,
    ) -> CommandError {
        let leader = hint
            .and_then(|f| f.leader_node.as_ref().map(|n| n.addr.clone()))
            .or_else(|| self.leader().map(|p| p.addr.clone()));
        let remark = match leader {
            Some(addr) => format!(
                "this controller ({}) is not the leader; the leader is {addr}",
                self.me.addr
            ),
            None => format!(
                "this controller ({}) is not the leader and no leader is elected yet",
                self.me.addr
            ),
        };
        CommandError::new(ResponseCode::CONTROLLER_NOT_LEADER, remark)
    }

    /// Confirms with a majority that this node still leads, so what it reads is current.
    pub(crate) async fn ensure_leader(&self) -> Result<(), CommandError> {
        if !self.is_leader() {
            return Err(self.not_leader(None));
        }
        match tokio::time::timeout(RAFT_WAIT, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(
                f,
            )))) => Err(self.not_leader(Some(&f))),
            Ok(Err(e)) => Err(CommandError::new(ResponseCode::SYSTEM_ERROR, e.to_string())),
            Err(_) => Err(no_majority()),
        }
    }

    /// Replicates `command` and returns what applying it said.
    pub(crate) async fn write(&self, command: Command) -> Result<(), CommandError> {
        match tokio::time::timeout(RAFT_WAIT, self.raft.client_write(command)).await {
            Ok(Ok(response)) => response.data.map_err(|refusal| {
                CommandError::new(
                    ResponseCode::from_i32(refusal.code).unwrap_or(ResponseCode::SYSTEM_ERROR),
                    refusal.remark,
                )
            }),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(self.not_leader(Some(&f)))
            }
            Ok(Err(e)) => Err(CommandError::new(ResponseCode::SYSTEM_ERROR, e.to_string())),
            Err(_) => Err(no_majority()),
        }
    }

    /// Whether replica `id` of `broker_name` is heard from now.
    pub(crate) fn is_alive(&self, broker_name: &str, id: i64) -> bool {
        self.liveness.is_alive(broker_name, id, Instant::now())
    }
}

fn no_majority() -> CommandError {
    CommandError::new(
        ResponseCode::SYSTEM_ERROR,
        format!("not committed within {RAFT_WAIT:?}: a majority of controllers is not reachable"),
    )
}
