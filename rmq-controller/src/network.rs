//! Raft messages between controllers, carried as remoting commands with code
//! `RMQ_CONTROLLER_RAFT` (1901) on each controller's peer port: the body is the JSON of a
//! [`RaftRpc`], the answer's body the JSON of openraft's result.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use rmq_remoting::transport::{RemotingClient, TransportError};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::types::{Raft, TypeConfig};

/// One Raft RPC as it travels between controllers.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftRpc {
    /// RequestVote.
    Vote(VoteRequest<u64>),
    /// AppendEntries (also the leader's heartbeat).
    Append(AppendEntriesRequest<TypeConfig>),
    /// One chunk of a snapshot.
    Snapshot(InstallSnapshotRequest<TypeConfig>),
}

/// Opens links to the other controllers over one shared remoting client.
#[derive(Clone)]
pub struct Network {
    client: Arc<RemotingClient>,
    /// Pause before retrying an unreachable peer; short, so a restarted peer rejoins fast.
    retry: Duration,
}

impl Network {
    /// A network sending through `client`.
    pub fn new(client: Arc<RemotingClient>, retry: Duration) -> Self {
        Network { client, retry }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerLink;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerLink {
        PeerLink {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
            retry: self.retry,
        }
    }
}

/// The link to one peer controller.
pub struct PeerLink {
    client: Arc<RemotingClient>,
    target: u64,
    addr: String,
    retry: Duration,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

impl PeerLink {
    async fn call<T, E>(&self, rpc: RaftRpc, option: &RPCOption) -> RpcResult<T, E>
    where
        T: DeserializeOwned,
        E: DeserializeOwned + std::error::Error,
    {
        let body =
            serde_json::to_vec(&rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let request = RemotingCommand::request_without_header(RequestCode::RMQ_CONTROLLER_RAFT)
            .with_body(body);
        let response = self
            .client
            .invoke(&self.addr, request, option.hard_ttl())
            .await
            .map_err(|e| match e {
                TransportError::Timeout { .. } => RPCError::Network(NetworkError::new(&e)),
                other => RPCError::Unreachable(Unreachable::new(&other)),
            })?;
        if response.code != ResponseCode::SUCCESS.as_i32() {
            let refused = CommandError::new(
                ResponseCode::from_i32(response.code).unwrap_or(ResponseCode::SYSTEM_ERROR),
                response.remark.unwrap_or_default(),
            );
            return Err(RPCError::Network(NetworkError::new(&refused)));
        }
        let result: Result<T, RaftError<u64, E>> = serde_json::from_slice(&response.body)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerLink {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        self.call(RaftRpc::Append(rpc), &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        self.call(RaftRpc::Snapshot(rpc), &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        self.call(RaftRpc::Vote(rpc), &option).await
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(self.retry))
    }
}

/// Answers a 1901 request from a peer controller by handing it to the local Raft node.
pub async fn serve_rpc(
    raft: &Raft,
    request: &RemotingCommand,
) -> Result<RemotingCommand, CommandError> {
    let rpc: RaftRpc = serde_json::from_slice(&request.body).map_err(|e| {
        CommandError::new(
            ResponseCode::CONTROLLER_INVALID_REQUEST,
            format!("the Raft message is malformed: {e}"),
        )
    })?;
    let body = match rpc {
        RaftRpc::Vote(req) => serde_json::to_vec(&raft.vote(req).await),
        RaftRpc::Append(req) => serde_json::to_vec(&raft.append_entries(req).await),
        RaftRpc::Snapshot(req) => serde_json::to_vec(&raft.install_snapshot(req).await),
    }
    .map_err(|e| CommandError::new(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    Ok(RemotingCommand::success().with_body(body))
}
