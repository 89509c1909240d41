//! Talking to the controllers: find the Raft leader (writes go there), send a request to it and
//! look the leader up again when it moved, and heartbeat every controller (each one judges
//! liveness on its own; a closed heartbeat connection tells it at once that this broker died).

use std::sync::Mutex;
use std::time::Duration;

use rmq_remoting::header::controller::GetMetaDataResponseHeader;
use rmq_remoting::header::namesrv::BrokerHeartbeatRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

/// Time allowed for one controller request.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a controller request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ControllerError {
    /// No controller answered or none knows a leader (an election, or the majority is down).
    #[error("no controller leader reachable among {0}")]
    NoLeader(String),
    /// The leader answered with an error code.
    #[error("controller answered {code}: {remark}")]
    Refused {
        /// The response code.
        code: i32,
        /// Its remark.
        remark: String,
    },
}

/// The broker's connections to the controllers.
pub(crate) struct ControllerClient {
    addrs: Vec<String>,
    client: RemotingClient,
    leader: Mutex<Option<String>>,
}

impl ControllerClient {
    /// A client for the controllers at `addrs` (`controllerAddr`).
    pub(crate) fn new(addrs: Vec<String>) -> Self {
        ControllerClient {
            addrs,
            client: RemotingClient::new(TransportConfig::default(), Router::new()),
            leader: Mutex::new(None),
        }
    }

    fn known_leader(&self) -> Option<String> {
        self.leader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_leader(&self, leader: Option<String>) {
        *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = leader;
    }

    /// Asks each controller who leads (CONTROLLER_GET_METADATA_INFO) until one knows.
    async fn find_leader(&self) -> Option<String> {
        for addr in &self.addrs {
            let request =
                RemotingCommand::request_without_header(RequestCode::CONTROLLER_GET_METADATA_INFO);
            let Ok(response) = self.client.invoke(addr, request, CALL_TIMEOUT).await else {
                continue;
            };
            let leader = response
                .decode_header::<GetMetaDataResponseHeader>()
                .ok()
                .and_then(|h| h.controller_leader_address)
                .filter(|a| !a.is_empty());
            if leader.is_some() {
                self.set_leader(leader.clone());
                return leader;
            }
        }
        None
    }

    /// Sends `request` to the leader, finding it first if needed and once more if the one known
    /// has moved (CONTROLLER_NOT_LEADER or a broken connection). A success answer is returned;
    /// any other code is an error carrying it.
    pub(crate) async fn call(
        &self,
        request: RemotingCommand,
    ) -> Result<RemotingCommand, ControllerError> {
        for _ in 0..2 {
            let leader = match self.known_leader() {
                Some(l) => l,
                None => match self.find_leader().await {
                    Some(l) => l,
                    None => break,
                },
            };
            match self
                .client
                .invoke(&leader, request.clone(), CALL_TIMEOUT)
                .await
            {
                Ok(r) if r.code == ResponseCode::CONTROLLER_NOT_LEADER.as_i32() => {
                    self.set_leader(None)
                }
                Ok(r) if r.code == 0 => return Ok(r),
                Ok(r) => {
                    return Err(ControllerError::Refused {
                        code: r.code,
                        remark: r.remark.unwrap_or_default(),
                    })
                }
                Err(e) => {
                    tracing::debug!(controller = %leader, error = %e, "controller call failed");
                    self.set_leader(None);
                }
            }
        }
        Err(ControllerError::NoLeader(self.addrs.join(";")))
    }

    /// Sends a heartbeat to every controller (each tracks liveness itself).
    pub(crate) async fn heartbeat_all(&self, header: &BrokerHeartbeatRequestHeader) {
        let calls = self.addrs.iter().map(|addr| {
            let request = RemotingCommand::request(RequestCode::BROKER_HEARTBEAT, header);
            async move {
                if let Err(e) = self.client.invoke(addr, request, CALL_TIMEOUT).await {
                    tracing::debug!(controller = %addr, error = %e, "heartbeat to controller failed");
                }
            }
        });
        futures::future::join_all(calls).await;
    }

    /// A plain remoting call to another broker (the master's epoch history).
    pub(crate) async fn invoke_broker(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        self.client.invoke(addr, request, CALL_TIMEOUT).await.ok()
    }
}
