//! ReceiveMessage as Apache's proxy serves it (`ReceiveMessageActivity` and its stream writer):
//! the long-polling time from the request bounded by the proxy's limits and the client's
//! deadline, one POP_MESSAGE to the named (else the next readable) broker, then the stream:
//! a status, one response per message, and a delivery timestamp. Messages whose tag does not
//! match are acked, and messages past the client's max delivery attempts go to the group's
//! dead-letter queue instead of to the client.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rmq_client::{ClientError, MessageSelector, PopRequest, PopStatus};
use rmq_remoting::message::TagSubscription;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response};

use super::ack::{ack_one, dead_letter};
use super::receipt::ReceiptHandle;
use super::ReceiveStream;
use crate::context::ProxyContext;
use crate::convert::{now_ms, timestamp, to_proto};
use crate::proto::v2::{
    receive_message_response::Content, settings::PubSub, Code, FilterType, ReceiveMessageRequest,
    ReceiveMessageResponse, Settings, Status, Subscription,
};
use crate::{props, settings, status, validate};

/// Most messages one pop may ask for (Java `ProxyUtils.MAX_MSG_NUMS_FOR_POP_REQUEST`).
const MAX_MSG_NUMS: i32 = 32;
/// Invisible time a message not written to its client gets, so it comes back soon (Java's
/// stream writer `NACK_INVISIBLE_TIME`).
const NACK_INVISIBLE_TIME: Duration = Duration::from_secs(1);
/// Attempts when the merged settings carry no retry policy (they always do for consumers).
const DEFAULT_MAX_ATTEMPTS: i32 = 17;
/// The Java SDK's default request timeout, for a client that announced none.
const DEFAULT_REQUEST_TIMEOUT_MS: i64 = 3000;
/// The stream's capacity: the status, a full batch and the closing timestamp.
const STREAM_CAPACITY: usize = MAX_MSG_NUMS as usize + 2;

/// Milliseconds of a protobuf duration.
pub(super) fn duration_ms(d: &prost_types::Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos / 1_000_000))
}

/// Apache's `GrpcValidator.validateInvisibleTime`: at least `min`, at most the proxy's maximum.
pub(super) fn check_invisible_time(
    ctx: &ProxyContext,
    invisible_ms: i64,
    min: i64,
) -> Result<(), Status> {
    if invisible_ms < min {
        return Err(status::of(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too small. min is {min}"),
        ));
    }
    let max = ctx.config.max_invisible_time_mills;
    if max > 0 && invisible_ms > max {
        return Err(status::of(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too large. max is {max}"),
        ));
    }
    Ok(())
}

/// The time left before the client's deadline (the `grpc-timeout` header), ms.
fn remaining_ms(metadata: &MetadataMap) -> Option<i64> {
    let text = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = digits.parse().ok()?;
    Some(match unit {
        "H" => n.saturating_mul(3_600_000),
        "M" => n.saturating_mul(60_000),
        "S" => n.saturating_mul(1000),
        "m" => n,
        "u" => n / 1000,
        "n" => n / 1_000_000,
        _ => return None,
    })
}

/// What one receive asks the broker for, after Apache's checks.
struct Plan {
    client_id: String,
    group: String,
    topic: String,
    broker: Option<String>,
    pop: PopRequest,
    tags: TagSubscription,
    max_attempts: i32,
    /// The proxy renews the delivered messages (renew.rs).
    auto_renew: bool,
}

/// The long-polling time (Apache: the request's, else the deadline minus half the client's
/// request timeout; within the proxy's min and max; cut to the deadline when shorter).
fn polling_ms(
    ctx: &ProxyContext,
    request: &ReceiveMessageRequest,
    remaining: i64,
    request_timeout_ms: i64,
) -> Result<i64, Status> {
    let cfg = &ctx.config;
    let min = cfg.grpc_client_consumer_min_long_polling_timeout_millis;
    let mut polling = match &request.long_polling_timeout {
        Some(d) => duration_ms(d),
        None => remaining - request_timeout_ms / 2,
    };
    polling = polling
        .max(min)
        .min(cfg.grpc_client_consumer_max_long_polling_timeout_millis);
    if polling > remaining {
        if remaining < min {
            return Err(status::of(
                Code::IllegalPollingTime,
                "The deadline time remaining is not enough for polling, please check network condition",
            ));
        }
        polling = remaining;
    }
    Ok(polling)
}

/// The client's settings as Apache's `getClientSettings` gives them: what it announced on its
/// telemetry stream merged with its group's configuration (max attempts = the group's
/// `retryMaxTimes` + 1, FIFO from `consumeMessageOrderly`).
async fn client_settings(ctx: &ProxyContext, client_id: &str, group: &str) -> Settings {
    let raw = ctx
        .sessions
        .settings(client_id)
        .unwrap_or_else(|| Settings {
            pub_sub: Some(PubSub::Subscription(Subscription::default())),
            ..Settings::default()
        });
    let group_config = ctx.cluster.group_config(group).await;
    settings::answer(&ctx.config, &raw, group_config.as_ref())
}

async fn plan(
    ctx: &ProxyContext,
    request: &Request<ReceiveMessageRequest>,
) -> Result<Plan, Status> {
    let client_id = crate::session::client_id(request.metadata())?;
    let req = request.get_ref();
    let queue = req.message_queue.as_ref();
    let topic = validate::topic(queue.and_then(|q| q.topic.as_ref()))?.to_owned();
    let group = validate::consumer_group(req.group.as_ref())?.to_owned();
    let settings = client_settings(ctx, &client_id, &group).await;
    let fifo = match &settings.pub_sub {
        Some(PubSub::Subscription(sub)) => sub.fifo.unwrap_or(false),
        _ => false,
    };
    let max_attempts = settings
        .backoff_policy
        .as_ref()
        .map_or(DEFAULT_MAX_ATTEMPTS, |p| p.max_attempts);
    let request_timeout_ms = settings
        .request_timeout
        .as_ref()
        .map_or(DEFAULT_REQUEST_TIMEOUT_MS, duration_ms);
    let remaining = remaining_ms(request.metadata()).unwrap_or(i64::MAX / 2);
    let polling = polling_ms(ctx, req, remaining, request_timeout_ms)?;
    let auto_renew = req.auto_renew && ctx.config.enable_proxy_auto_renew;
    let invisible_ms = if auto_renew {
        // The proxy renews these itself (renew.rs), starting from its default.
        ctx.config.default_invisible_time_mills
    } else {
        let asked = req.invisible_duration.as_ref().map_or(0, duration_ms);
        check_invisible_time(ctx, asked, ctx.config.min_invisible_time_mills_for_recv)?;
        asked
    };
    let filter = req.filter_expression.clone().unwrap_or_default();
    let (selector, tags) = if filter.r#type == FilterType::Sql as i32 {
        (
            MessageSelector::by_sql(filter.expression.clone()),
            TagSubscription::parse(None),
        )
    } else {
        (
            MessageSelector::by_tag(filter.expression.clone()),
            TagSubscription::parse(Some(&filter.expression)),
        )
    };
    let broker = queue
        .and_then(|q| q.broker.as_ref())
        .map(|b| b.name.trim().to_owned())
        .filter(|b| !b.is_empty());
    Ok(Plan {
        client_id,
        pop: PopRequest {
            group: group.clone(),
            topic: topic.clone(),
            queue_id: -1,
            max_msg_nums: req.batch_size.min(MAX_MSG_NUMS),
            invisible_time: Duration::from_millis(u64::try_from(invisible_ms).unwrap_or(0)),
            poll_time: Duration::from_millis(u64::try_from(polling).unwrap_or(0)),
            // Java `ConsumeInitMode.MAX`: a group without a position starts at the end.
            init_mode: 1,
            selector,
            order: fifo,
            attempt_id: req.attempt_id.clone(),
        },
        group,
        topic,
        broker,
        tags,
        max_attempts,
        auto_renew,
    })
}

/// The broker to pop from: the one the client named if it holds readable queues of the
/// topic, else the next readable one in turn (Apache's `ReceiveMessageQueueSelector`).
async fn choose_broker(ctx: &ProxyContext, plan: &Plan) -> Result<String, ClientError> {
    let brokers = ctx.receive.pop.readable_brokers(&plan.topic).await?;
    if let Some(named) = &plan.broker {
        if brokers.contains(named) {
            return Ok(named.clone());
        }
    }
    if brokers.is_empty() {
        return Err(ClientError::NoRoute(plan.topic.clone()));
    }
    let i = ctx.receive.next_broker.fetch_add(1, Ordering::Relaxed);
    Ok(brokers[i % brokers.len()].clone())
}

fn status_response(status: Status) -> ReceiveMessageResponse {
    ReceiveMessageResponse {
        content: Some(Content::Status(status)),
    }
}

/// ReceiveMessage: checks the request, then pops and streams from a task of its own.
pub(super) async fn receive_message(
    ctx: &Arc<ProxyContext>,
    request: Request<ReceiveMessageRequest>,
) -> Result<Response<ReceiveStream>, tonic::Status> {
    let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
    match plan(ctx, &request).await {
        Ok(plan) => {
            tokio::spawn(pop_and_write(ctx.clone(), plan, tx));
        }
        Err(status) => {
            // The channel has room: these two sends cannot wait.
            let _ = tx.try_send(Ok(status_response(status)));
            let _ = tx.try_send(Ok(closing_timestamp()));
        }
    }
    let stream: ReceiveStream = Box::pin(ReceiverStream::new(rx));
    Ok(Response::new(stream))
}

fn closing_timestamp() -> ReceiveMessageResponse {
    ReceiveMessageResponse {
        content: Some(Content::DeliveryTimestamp(timestamp(now_ms()))),
    }
}

type Sender = mpsc::Sender<Result<ReceiveMessageResponse, tonic::Status>>;

/// Pops, sorts out what not to deliver, and writes the stream; messages the client can no
/// longer be given get a short invisible time so they come back soon.
async fn pop_and_write(ctx: Arc<ProxyContext>, plan: Plan, tx: Sender) {
    let result = match choose_broker(&ctx, &plan).await {
        Ok(broker) => ctx.receive.pop.pop(&broker, &plan.pop).await,
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(r) if r.status == PopStatus::Found => Ok(r.messages),
        Ok(r) if r.status == PopStatus::PollingFull => {
            Err(status::of(Code::TooManyRequests, "polling full"))
        }
        Ok(_) => Err(status::of(Code::MessageNotFound, "no new message")),
        Err(e) => Err(status::from_client_error(&e)),
    };
    let popped = match outcome {
        Ok(popped) => popped,
        Err(status) => {
            let _ = tx.send(Ok(status_response(status))).await;
            let _ = tx.send(Ok(closing_timestamp())).await;
            return;
        }
    };
    let mut deliver = Vec::with_capacity(popped.len());
    for m in popped {
        let handle = ReceiptHandle::new(m.receipt.clone(), m.message.commit_log_offset);
        if !plan.tags.all
            && !m
                .message
                .tags()
                .is_some_and(|t| plan.tags.tags.iter().any(|s| s == t))
        {
            // The broker filters by tag hash; a hash collision is acked here (Apache's NO_MATCH).
            if let Err(status) = ack_one(&ctx, &plan.group, &plan.topic, &handle).await {
                tracing::warn!(group = %plan.group, topic = %plan.topic, code = status.code, "unmatched message not acked");
            }
        } else if m.message.reconsume_times >= plan.max_attempts {
            // As Apache's proxy: not delivered either way; if the forward failed, the message
            // comes back after its invisible time and is forwarded then.
            if let Err(status) =
                dead_letter(&ctx, &plan.group, &plan.topic, &handle, &m.message.msg_id).await
            {
                tracing::warn!(group = %plan.group, topic = %plan.topic, msg_id = %m.message.msg_id,
                    code = status.code, message = %status.message, "dead-letter forward failed; it is tried again when the message comes back");
            }
        } else {
            deliver.push((m, handle));
        }
    }
    if deliver.is_empty() {
        let _ = tx
            .send(Ok(status_response(status::of(
                Code::MessageNotFound,
                "no match message",
            ))))
            .await;
        let _ = tx.send(Ok(closing_timestamp())).await;
        return;
    }
    let renewals = &ctx.receive.renewals;
    let mut unsent: Vec<ReceiptHandle> = Vec::new();
    let mut open = if plan.auto_renew && !ctx.sessions.contains(&plan.client_id) {
        // Apache's proxy renews for a client it knows only; it answers this and nacks.
        let text = format!("The client [{}] is disconnected.", plan.client_id);
        let _ = tx
            .send(Ok(status_response(status::of(Code::MessageNotFound, text))))
            .await;
        false
    } else {
        tx.send(Ok(status_response(status::ok()))).await.is_ok()
    };
    for (mut m, handle) in deliver {
        if open {
            // Apache's proxy puts its handle where the broker's receipt was.
            m.message
                .properties
                .insert(props::POP_CK.to_owned(), handle.encode());
            let message = to_proto(&m.message);
            let response = ReceiveMessageResponse {
                content: Some(Content::Message(message)),
            };
            // Remembered before the client can see it, so its ack always finds it.
            if plan.auto_renew {
                let reconsumed = m.message.reconsume_times;
                let id = &m.message.msg_id;
                renewals.remember(
                    &plan.client_id,
                    &plan.group,
                    &plan.topic,
                    id,
                    &handle,
                    reconsumed,
                );
            }
            open = tx.send(Ok(response)).await.is_ok();
            if open {
                continue;
            }
            if plan.auto_renew {
                renewals
                    .take(&plan.client_id, &plan.group, &m.message.msg_id, &handle)
                    .await;
            }
        }
        unsent.push(handle);
    }
    if open {
        let _ = tx.send(Ok(closing_timestamp())).await;
        return;
    }
    tracing::info!(client_id = %plan.client_id, group = %plan.group, count = unsent.len(),
        "the client went away before its messages were written; they come back in 1 s");
    for handle in unsent {
        if let Err(e) = ctx
            .receive
            .pop
            .change_invisible_time(&plan.group, &plan.topic, &handle.info, NACK_INVISIBLE_TIME)
            .await
        {
            tracing::debug!(error = %e, "nack of an unwritten message failed; it comes back after its invisible time");
        }
    }
    let _ = tx.send(Ok(closing_timestamp())).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_are_read_in_every_unit() {
        let mut m = MetadataMap::new();
        for (text, ms) in [
            ("20S", 20_000),
            ("1500m", 1500),
            ("2M", 120_000),
            ("3000000u", 3000),
        ] {
            m.insert("grpc-timeout", text.parse().unwrap());
            assert_eq!(remaining_ms(&m), Some(ms), "{text}");
        }
        m.insert("grpc-timeout", "x".parse().unwrap());
        assert_eq!(remaining_ms(&m), None);
    }
}
