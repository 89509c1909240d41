//! Telemetry: each client's bidirectional command stream. The client sends its Settings (and
//! again when they change); the proxy answers with the settings the client must use (the Java
//! SDK blocks its start until then) and keeps the stream to push commands later, such as
//! transaction check-backs (RecoverOrphanedTransactionCommand). Thread-stack and
//! verify-message results are accepted and dropped: rmq's proxy never asks for them.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::context::ProxyContext;
use crate::message_type::TopicMessageType;
use crate::proto::v2::{
    self, settings::PubSub, telemetry_command::Command, Code, Settings, TelemetryCommand,
};
use crate::session::{self, TelemetrySender};
use crate::{settings, status, validate};

/// The proxy's side of a telemetry stream.
pub type TelemetryStream =
    Pin<Box<dyn Stream<Item = Result<TelemetryCommand, Status>> + Send + 'static>>;

/// Commands waiting to be written to one client; a full queue drops check-backs (the broker
/// asks again).
const OUTBOUND_QUEUE: usize = 64;

/// Telemetry.
pub async fn telemetry(
    ctx: &Arc<ProxyContext>,
    request: Request<Streaming<TelemetryCommand>>,
) -> Result<Response<TelemetryStream>, Status> {
    let client_id =
        session::client_id(request.metadata()).map_err(|s| Status::invalid_argument(s.message))?;
    ctx.sessions.touch(&client_id);
    // ACL decides every command of the stream, as Apache's interceptor does (auth.rs).
    let caller = crate::auth::Caller::of(&request);
    let mut inbound = request.into_inner();
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let ctx = ctx.clone();
    tokio::spawn(async move {
        while let Some(item) = inbound.next().await {
            let command = match item {
                Ok(command) => command,
                Err(e) => {
                    tracing::debug!(client_id, error = %e, "telemetry stream broke");
                    break;
                }
            };
            if let Some(Err(refusal)) = ctx.acl.as_ref().map(|acl| acl.check(&caller, &command)) {
                let _ = tx.send(Err(refusal)).await;
                break;
            }
            ctx.sessions.touch(&client_id);
            if let Err(refusal) = on_command(&ctx, &client_id, command, &tx).await {
                let _ = tx.send(Err(refusal)).await;
                break;
            }
        }
        ctx.sessions.stream_closed(&client_id, &tx);
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
}

async fn on_command(
    ctx: &Arc<ProxyContext>,
    client_id: &str,
    command: TelemetryCommand,
    tx: &TelemetrySender,
) -> Result<(), Status> {
    match command.command {
        Some(Command::Settings(raw)) => {
            let answer = announce(ctx, client_id, raw, tx).await.map_err(|s| {
                // Apache: a 4xxxx refusal ends the stream with INVALID_ARGUMENT, others INTERNAL.
                let text = format!("process client telemetryCommand failed. {}", s.message);
                if (Code::BadRequest as i32..Code::InternalError as i32).contains(&s.code) {
                    Status::invalid_argument(text)
                } else {
                    Status::internal(text)
                }
            })?;
            let reply = TelemetryCommand {
                status: Some(status::ok()),
                command: Some(Command::Settings(answer)),
            };
            tx.send(Ok(reply))
                .await
                .map_err(|_| Status::cancelled("the client left"))
        }
        Some(Command::ThreadStackTrace(_)) | Some(Command::VerifyMessageResult(_)) => Ok(()),
        other => {
            tracing::debug!(client_id, command = ?other, "telemetry command ignored");
            Ok(())
        }
    }
}

/// Validates and records a client's settings; returns what the proxy answers.
async fn announce(
    ctx: &Arc<ProxyContext>,
    client_id: &str,
    raw: Settings,
    tx: &TelemetrySender,
) -> Result<Settings, v2::Status> {
    let group = match raw.pub_sub.as_ref() {
        Some(PubSub::Publishing(publishing)) => {
            for topic in &publishing.topics {
                let name = validate::topic(Some(topic))?;
                // The brokers check transactions back with the proxy: register the topic's group.
                if ctx.cluster.topic_type(name).await == TopicMessageType::Transaction {
                    ctx.transactions
                        .producer(ctx, name)
                        .await
                        .map_err(|e| status::from_client_error(&e))?;
                }
            }
            None
        }
        Some(PubSub::Subscription(subscription)) => {
            let group = validate::consumer_group(subscription.group.as_ref())?;
            ctx.cluster.group_config(group).await
        }
        None => {
            return Err(status::of(
                Code::BadRequest,
                "there is no publishing or subscription data in settings",
            ))
        }
    };
    let answer = settings::answer(&ctx.config, &raw, group.as_ref());
    ctx.sessions.announce(client_id, raw, tx.clone());
    Ok(answer)
}
