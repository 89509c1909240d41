//! The receive side of the proxy: ReceiveMessage, AckMessage, ChangeInvisibleDuration,
//! ForwardMessageToDeadLetterQueue and QueryAssignment. Not served yet: every call is answered
//! NOT_IMPLEMENTED (unary) or UNIMPLEMENTED (the receive stream).

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use crate::config::ProxyConfig;
use crate::context::ProxyContext;
use crate::proto::v2::{
    AckMessageRequest, AckMessageResponse, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, Code, ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse, QueryAssignmentRequest, QueryAssignmentResponse,
    ReceiveMessageRequest, ReceiveMessageResponse,
};
use crate::status;

/// The stream ReceiveMessage answers with: the messages, then a status.
pub type ReceiveStream =
    Pin<Box<dyn Stream<Item = Result<ReceiveMessageResponse, Status>> + Send + 'static>>;

/// What the receive side keeps for the proxy's lifetime (part of [`ProxyContext`]).
pub struct ReceiveState {}

impl ReceiveState {
    /// Builds the receive side's state when the proxy starts.
    pub async fn start(_config: &ProxyConfig) -> Result<ReceiveState, rmq_client::ClientError> {
        Ok(ReceiveState {})
    }
}

/// ReceiveMessage (server streaming).
pub async fn receive_message(
    _ctx: &Arc<ProxyContext>,
    _request: Request<ReceiveMessageRequest>,
) -> Result<Response<ReceiveStream>, Status> {
    Err(Status::unimplemented("ReceiveMessage is not served yet"))
}

/// AckMessage.
pub async fn ack_message(
    _ctx: &Arc<ProxyContext>,
    _request: Request<AckMessageRequest>,
) -> Result<Response<AckMessageResponse>, Status> {
    Ok(Response::new(AckMessageResponse {
        status: Some(status::of(
            Code::NotImplemented,
            "AckMessage is not served yet",
        )),
        entries: Vec::new(),
    }))
}

/// ChangeInvisibleDuration.
pub async fn change_invisible_duration(
    _ctx: &Arc<ProxyContext>,
    _request: Request<ChangeInvisibleDurationRequest>,
) -> Result<Response<ChangeInvisibleDurationResponse>, Status> {
    Ok(Response::new(ChangeInvisibleDurationResponse {
        status: Some(status::of(
            Code::NotImplemented,
            "ChangeInvisibleDuration is not served yet",
        )),
        receipt_handle: String::new(),
    }))
}

/// ForwardMessageToDeadLetterQueue.
pub async fn forward_message_to_dead_letter_queue(
    _ctx: &Arc<ProxyContext>,
    _request: Request<ForwardMessageToDeadLetterQueueRequest>,
) -> Result<Response<ForwardMessageToDeadLetterQueueResponse>, Status> {
    Ok(Response::new(ForwardMessageToDeadLetterQueueResponse {
        status: Some(status::of(
            Code::NotImplemented,
            "ForwardMessageToDeadLetterQueue is not served yet",
        )),
    }))
}

/// QueryAssignment.
pub async fn query_assignment(
    _ctx: &Arc<ProxyContext>,
    _request: Request<QueryAssignmentRequest>,
) -> Result<Response<QueryAssignmentResponse>, Status> {
    Ok(Response::new(QueryAssignmentResponse {
        status: Some(status::of(
            Code::NotImplemented,
            "QueryAssignment is not served yet",
        )),
        assignments: Vec::new(),
    }))
}
