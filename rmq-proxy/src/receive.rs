//! The receive side of the proxy, as Apache's proxy serves it in cluster mode (docs/grpc-proxy.md,
//! "Receiving"): ReceiveMessage pops from a broker (POP_MESSAGE over remoting, rmq-client's
//! `PopClient`) and streams the messages with their receipt handles; AckMessage,
//! ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue decode the handle to reach the
//! message's broker again; QueryAssignment tells push consumers which brokers to receive from.

mod ack;
mod assignment;
mod receipt;
mod renew;
mod stream;

use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use rmq_client::{ClientConfig, PopClient};
use tonic::{Request, Response, Status};

use crate::config::ProxyConfig;
use crate::context::ProxyContext;
use crate::proto::v2::{
    AckMessageRequest, AckMessageResponse, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse, QueryAssignmentRequest, QueryAssignmentResponse,
    ReceiveMessageRequest, ReceiveMessageResponse,
};

pub use receipt::ReceiptHandle;
pub use renew::Renewals;

/// The stream ReceiveMessage answers with: a status, the messages, then a delivery timestamp.
pub type ReceiveStream =
    Pin<Box<dyn Stream<Item = Result<ReceiveMessageResponse, Status>> + Send + 'static>>;

/// What the receive side keeps for the proxy's lifetime (part of [`ProxyContext`]): the
/// remoting client that pops, acks and sends back, the round-robin position for receives
/// that name no broker, and the messages the proxy renews for push consumers.
pub struct ReceiveState {
    pop: PopClient,
    next_broker: AtomicUsize,
    renewals: Renewals,
}

impl ReceiveState {
    /// Connects the receive side's remoting client to the proxy's name servers.
    pub async fn start(config: &ProxyConfig) -> Result<ReceiveState, rmq_client::ClientError> {
        let client = ClientConfig {
            namesrv_addr: config.namesrv_addr.clone(),
            mq_client_api_timeout: Duration::from_secs(3),
            // Toward brokers with ACL on: the proxy's own account (auth.rs).
            credentials: crate::auth::broker_credentials(config)
                .map_err(rmq_client::ClientError::Config)?,
            ..ClientConfig::default()
        };
        Ok(ReceiveState {
            pop: PopClient::start(client).await?,
            next_broker: AtomicUsize::new(0),
            renewals: Renewals::default(),
        })
    }
}

/// Starts the background renewal of push consumers' messages (renew.rs), for as long as `ctx`
/// lives.
pub fn start_renewal(ctx: &Arc<ProxyContext>) {
    renew::spawn(ctx);
}

/// A client said goodbye: the messages the proxy renewed for it are given back soon.
pub fn client_gone(ctx: &Arc<ProxyContext>, client_id: &str) {
    renew::client_gone(ctx, client_id);
}

/// The client id of a request, empty when it sent none (then no renewed message is its).
fn client_of<T>(request: &Request<T>) -> String {
    crate::session::client_id(request.metadata()).unwrap_or_default()
}

/// ReceiveMessage (server streaming).
pub async fn receive_message(
    ctx: &Arc<ProxyContext>,
    request: Request<ReceiveMessageRequest>,
) -> Result<Response<ReceiveStream>, Status> {
    stream::receive_message(ctx, request).await
}

/// AckMessage: every entry acked on its broker, one result per entry.
pub async fn ack_message(
    ctx: &Arc<ProxyContext>,
    request: Request<AckMessageRequest>,
) -> Result<Response<AckMessageResponse>, Status> {
    Ok(Response::new(
        ack::ack_message(ctx, &client_of(&request), request.into_inner()).await,
    ))
}

/// ChangeInvisibleDuration: answers the message's new receipt handle.
pub async fn change_invisible_duration(
    ctx: &Arc<ProxyContext>,
    request: Request<ChangeInvisibleDurationRequest>,
) -> Result<Response<ChangeInvisibleDurationResponse>, Status> {
    Ok(Response::new(
        ack::change_invisible_duration(ctx, &client_of(&request), request.into_inner()).await,
    ))
}

/// ForwardMessageToDeadLetterQueue: the message goes to the group's DLQ and is acked.
pub async fn forward_message_to_dead_letter_queue(
    ctx: &Arc<ProxyContext>,
    request: Request<ForwardMessageToDeadLetterQueueRequest>,
) -> Result<Response<ForwardMessageToDeadLetterQueueResponse>, Status> {
    Ok(Response::new(
        ack::forward_to_dead_letter_queue(ctx, &client_of(&request), request.into_inner()).await,
    ))
}

/// QueryAssignment: the brokers (FIFO groups: the queues) a push consumer receives from.
pub async fn query_assignment(
    ctx: &Arc<ProxyContext>,
    request: Request<QueryAssignmentRequest>,
) -> Result<Response<QueryAssignmentResponse>, Status> {
    Ok(Response::new(
        assignment::query_assignment(ctx, request.into_inner()).await,
    ))
}
