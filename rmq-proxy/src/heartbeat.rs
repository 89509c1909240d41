//! Heartbeat and NotifyClientTermination: a client's liveness and its goodbye.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::context::ProxyContext;
use crate::proto::v2::{
    HeartbeatRequest, HeartbeatResponse, NotifyClientTerminationRequest,
    NotifyClientTerminationResponse,
};

/// Heartbeat.
pub async fn heartbeat(
    _ctx: &Arc<ProxyContext>,
    _request: Request<HeartbeatRequest>,
) -> Result<Response<HeartbeatResponse>, Status> {
    Err(Status::unimplemented("Heartbeat: in progress"))
}

/// NotifyClientTermination.
pub async fn notify_client_termination(
    _ctx: &Arc<ProxyContext>,
    _request: Request<NotifyClientTerminationRequest>,
) -> Result<Response<NotifyClientTerminationResponse>, Status> {
    Err(Status::unimplemented(
        "NotifyClientTermination: in progress",
    ))
}
