//! NOTIFICATION and POLLING_INFO (Apache's `NotificationProcessor`, `PollingInfoProcessor`):
//! whether a pop of the group would find a message now (waiting up to `pollTime` for one), and
//! how many of the group's pops are parked on a queue.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::header::broker::{
    NotificationRequestHeader, NotificationResponseHeader, PollingInfoRequestHeader,
    PollingInfoResponseHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::RemotingCommand;
use tokio::time::Instant;

use super::state::QueueKey;
use super::{check_consumable, polling, pop_offset, requested_queues, retry_topic};
use crate::schedule::now_ms;
use crate::state::BrokerContext;

pub(super) async fn notification(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: NotificationRequestHeader = req.decode_header()?;
    let topic = check_consumable(&ctx, &conn, &h.topic, h.queue_id, &h.consumer_group)?;
    let queues = requested_queues(&topic, h.queue_id);
    let retry = retry_topic(&h.consumer_group, &h.topic);
    let answer = |has_msg, polling_full| {
        RemotingCommand::success_with_header(&NotificationResponseHeader {
            has_msg,
            polling_full,
        })
    };
    let deadline = Instant::now() + Duration::from_millis(u64::try_from(h.poll_time).unwrap_or(0));
    let mut arrivals = polling::subscribe(&ctx, &h.topic, &queues, &retry);
    let mut parked = None;
    loop {
        if has_message(&ctx, &h, &queues, &retry) {
            return Ok(answer(true, false));
        }
        if Instant::now() >= deadline {
            return Ok(answer(false, false));
        }
        if parked.is_none() {
            parked = polling::park(&ctx, &h.topic, &h.consumer_group, h.queue_id);
            if parked.is_none() {
                return Ok(answer(false, true));
            }
        }
        if !polling::wait(&ctx, &conn, &mut arrivals, deadline).await {
            return Ok(answer(has_message(&ctx, &h, &queues, &retry), false));
        }
    }
}

/// Whether a pop would find a message in the retry topic or one of `queues` (no filter, as
/// Apache's). For a FIFO notification a queue blocked by the group's orderly pop has none.
fn has_message(
    ctx: &BrokerContext,
    h: &NotificationRequestHeader,
    queues: &[i32],
    retry: &str,
) -> bool {
    let order = h.order == Some(true);
    let waiting = |topic: &str, queue_id: i32| {
        ctx.store.max_offset_in_queue(topic, queue_id)
            > pop_offset(ctx, &h.consumer_group, topic, queue_id)
    };
    let in_retry = ctx.topics.get(retry).is_some() && waiting(retry, 0);
    in_retry
        || queues.iter().any(|&queue_id| {
            if order {
                let key = QueueKey::new(&h.consumer_group, &h.topic, queue_id);
                let blocked = ctx
                    .pop
                    .lock()
                    .order_blocked(&key, h.attempt_id.as_deref(), now_ms());
                if blocked {
                    return false;
                }
            }
            waiting(&h.topic, queue_id)
        })
}

pub(super) async fn polling_info(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: PollingInfoRequestHeader = req.decode_header()?;
    check_consumable(&ctx, &conn, &h.topic, h.queue_id, &h.consumer_group)?;
    let parked = ctx
        .pop
        .parked
        .count(&h.topic, &h.consumer_group, h.queue_id);
    Ok(RemotingCommand::success_with_header(
        &PollingInfoResponseHeader {
            polling_num: i32::try_from(parked).unwrap_or(i32::MAX),
        },
    ))
}
