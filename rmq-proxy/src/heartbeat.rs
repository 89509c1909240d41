//! Heartbeat and NotifyClientTermination: a client's liveness and its goodbye, answered as
//! Apache's proxy answers them (a client must have sent its settings on the telemetry stream
//! first; a consumer must name a valid group).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::context::ProxyContext;
use crate::proto::v2::{
    self, settings::PubSub, ClientType, Code, HeartbeatRequest, HeartbeatResponse,
    NotifyClientTerminationRequest, NotifyClientTerminationResponse, Settings,
};
use crate::{session, status, validate};

/// Heartbeat.
pub async fn heartbeat(
    ctx: &Arc<ProxyContext>,
    request: Request<HeartbeatRequest>,
) -> Result<Response<HeartbeatResponse>, Status> {
    status::answer(beat(ctx, request).map(|()| HeartbeatResponse {
        status: Some(status::ok()),
    }))
}

fn beat(ctx: &ProxyContext, request: Request<HeartbeatRequest>) -> Result<(), v2::Status> {
    let client_id = session::client_id(request.metadata())?;
    ctx.sessions.touch(&client_id);
    let settings = ctx.sessions.settings(&client_id);
    check_client(settings.as_ref(), request.get_ref().group.as_ref())
}

/// NotifyClientTermination.
pub async fn notify_client_termination(
    ctx: &Arc<ProxyContext>,
    request: Request<NotifyClientTerminationRequest>,
) -> Result<Response<NotifyClientTerminationResponse>, Status> {
    status::answer(
        goodbye(ctx, request).map(|()| NotifyClientTerminationResponse {
            status: Some(status::ok()),
        }),
    )
}

fn goodbye(
    ctx: &Arc<ProxyContext>,
    request: Request<NotifyClientTerminationRequest>,
) -> Result<(), v2::Status> {
    let client_id = session::client_id(request.metadata())?;
    let settings = ctx.sessions.remove(&client_id);
    crate::receive::client_gone(ctx, &client_id);
    check_client(settings.as_ref(), request.get_ref().group.as_ref())
}

/// A client the proxy can serve: it announced settings, as a producer or as a consumer of a
/// valid group.
fn check_client(
    settings: Option<&Settings>,
    group: Option<&v2::Resource>,
) -> Result<(), v2::Status> {
    let Some(settings) = settings else {
        return Err(status::of(
            Code::UnrecognizedClientType,
            "cannot find client settings for this client",
        ));
    };
    let kind = settings
        .client_type
        .and_then(|t| ClientType::try_from(t).ok())
        .unwrap_or(ClientType::Unspecified);
    match (kind, settings.pub_sub.as_ref()) {
        (ClientType::Producer, _) => Ok(()),
        (ClientType::PushConsumer | ClientType::SimpleConsumer, Some(PubSub::Subscription(_))) => {
            validate::consumer_group(group).map(drop)
        }
        _ => Err(status::of(Code::UnrecognizedClientType, kind.as_str_name())),
    }
}
