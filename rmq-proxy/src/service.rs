//! The tonic `MessagingService`: each RPC passes ACL (auth.rs, when `enableACL`), then hands
//! its request to the module that serves it.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use crate::auth::{Caller, Touches};
use crate::context::ProxyContext;
use crate::proto::v2::messaging_service_server::MessagingService;
use crate::proto::v2::*;
use crate::{heartbeat, receive, route, send, telemetry};

/// The gRPC service over one [`ProxyContext`].
#[derive(Clone)]
pub struct Service {
    ctx: Arc<ProxyContext>,
}

impl Service {
    /// A service answering from `ctx`.
    pub fn new(ctx: Arc<ProxyContext>) -> Service {
        Service { ctx }
    }

    /// Refuses `request` when ACL is on and its caller may not send it (PERMISSION_DENIED, as
    /// Apache's interceptor answers before the RPC runs).
    fn authorize<M: Touches>(&self, request: &Request<M>) -> Result<(), Status> {
        match &self.ctx.acl {
            Some(acl) => acl.check(&Caller::of(request), request.get_ref()),
            None => Ok(()),
        }
    }
}

#[tonic::async_trait]
impl MessagingService for Service {
    async fn query_route(
        &self,
        request: Request<QueryRouteRequest>,
    ) -> Result<Response<QueryRouteResponse>, Status> {
        self.authorize(&request)?;
        route::query_route(&self.ctx, request).await
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        self.authorize(&request)?;
        heartbeat::heartbeat(&self.ctx, request).await
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<SendMessageResponse>, Status> {
        self.authorize(&request)?;
        send::send_message(&self.ctx, request).await
    }

    async fn query_assignment(
        &self,
        request: Request<QueryAssignmentRequest>,
    ) -> Result<Response<QueryAssignmentResponse>, Status> {
        self.authorize(&request)?;
        receive::query_assignment(&self.ctx, request).await
    }

    type ReceiveMessageStream = receive::ReceiveStream;

    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        self.authorize(&request)?;
        receive::receive_message(&self.ctx, request).await
    }

    async fn ack_message(
        &self,
        request: Request<AckMessageRequest>,
    ) -> Result<Response<AckMessageResponse>, Status> {
        self.authorize(&request)?;
        receive::ack_message(&self.ctx, request).await
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<ForwardMessageToDeadLetterQueueResponse>, Status> {
        self.authorize(&request)?;
        receive::forward_message_to_dead_letter_queue(&self.ctx, request).await
    }

    async fn end_transaction(
        &self,
        request: Request<EndTransactionRequest>,
    ) -> Result<Response<EndTransactionResponse>, Status> {
        self.authorize(&request)?;
        send::end_transaction(&self.ctx, request).await
    }

    type TelemetryStream = telemetry::TelemetryStream;

    async fn telemetry(
        &self,
        request: Request<Streaming<TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        telemetry::telemetry(&self.ctx, request).await
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> Result<Response<NotifyClientTerminationResponse>, Status> {
        self.authorize(&request)?;
        heartbeat::notify_client_termination(&self.ctx, request).await
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> Result<Response<ChangeInvisibleDurationResponse>, Status> {
        self.authorize(&request)?;
        receive::change_invisible_duration(&self.ctx, request).await
    }
}
