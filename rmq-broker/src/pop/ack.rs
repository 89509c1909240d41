//! ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME: a popped message is done, or hidden longer.
//! A receipt whose checkpoint already ended (acked, revived, or replaced by a later change)
//! is answered SUCCESS and changes nothing, as Apache answers it.

use std::sync::Arc;

use rmq_remoting::body::pop::{BatchAck, BatchAckMessageRequestBody};
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};

use super::state::QueueKey;
use super::{acked_queue, popped_topic};
use crate::schedule::now_ms;
use crate::state::BrokerContext;

pub(super) async fn ack(
    ctx: Arc<BrokerContext>,
    _conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: AckMessageRequestHeader = req.decode_header()?;
    let (key, info) = acked_queue(&ctx, &h.consumer_group, &h.topic, h.queue_id, &h.extra_info)?;
    finish(&ctx, &key, h.offset, info.pop_time);
    Ok(RemotingCommand::success())
}

/// BATCH_ACK_MESSAGE: every offset set in each ack's bit set is acked as ACK_MESSAGE acks one.
/// A body without acks is answered NO_MESSAGE, as Apache's `AckMessageProcessor` answers it;
/// an ack naming an unknown topic or queue is skipped, as Apache skips it.
pub(super) async fn batch_ack(
    ctx: Arc<BrokerContext>,
    _conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let body: BatchAckMessageRequestBody = if req.body.is_empty() {
        BatchAckMessageRequestBody::default()
    } else {
        fastjson::from_slice(&req.body).map_err(|e| {
            CommandError::new(
                ResponseCode::SYSTEM_ERROR,
                format!("BatchAckMessageRequestBody cannot be read: {e}"),
            )
        })?
    };
    if body.acks.is_empty() {
        return Ok(RemotingCommand::response(ResponseCode::NO_MESSAGE, None));
    }
    for one in &body.acks {
        batch_ack_one(&ctx, one)?;
    }
    Ok(RemotingCommand::success())
}

fn batch_ack_one(ctx: &BrokerContext, one: &BatchAck) -> Result<(), CommandError> {
    let Some(topic) = popped_topic(&one.topic, &one.consumer_group, &one.retry) else {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("retry mark [{}] is not 0, 1 or 2", one.retry),
        ));
    };
    let known = ctx
        .topics
        .get(&topic)
        .is_some_and(|c| one.queue_id >= 0 && one.queue_id < c.read_queue_nums);
    if !known {
        tracing::warn!(
            group = one.consumer_group,
            topic,
            queue = one.queue_id,
            "batch ack of an unknown topic or queue skipped"
        );
        return Ok(());
    }
    let key = QueueKey {
        group: one.consumer_group.clone(),
        topic,
        queue_id: one.queue_id,
    };
    for offset in one.offsets() {
        finish(ctx, &key, offset, one.pop_time);
    }
    Ok(())
}

/// Ends the checkpoint of `offset` popped at `pop_time` and moves the group's offset on.
fn finish(ctx: &BrokerContext, key: &QueueKey, offset: i64, pop_time: i64) {
    match ctx.pop.finish(key, offset, pop_time) {
        Some(committed) => ctx
            .offsets
            .commit(&key.group, &key.topic, key.queue_id, committed),
        None => tracing::debug!(
            group = key.group,
            topic = key.topic,
            queue = key.queue_id,
            offset,
            "ack of a receipt no longer in flight"
        ),
    }
}

pub(super) async fn change_invisible_time(
    ctx: Arc<BrokerContext>,
    _conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: ChangeInvisibleTimeRequestHeader = req.decode_header()?;
    if h.invisible_time < 0 {
        return Err(CommandError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!("invisibleTime {} is negative", h.invisible_time),
        ));
    }
    let (key, info) = acked_queue(&ctx, &h.consumer_group, &h.topic, h.queue_id, &h.extra_info)?;
    // Strictly later than the old receipt's, so the old receipt can never ack the new one.
    let now = now_ms().max(info.pop_time + 1);
    if ctx
        .pop
        .change(&key, h.offset, info.pop_time, now, h.invisible_time)
        .is_none()
    {
        tracing::debug!(
            group = key.group,
            topic = key.topic,
            queue = key.queue_id,
            offset = h.offset,
            "invisible-time change of a receipt no longer in flight"
        );
    }
    Ok(RemotingCommand::success_with_header(
        &ChangeInvisibleTimeResponseHeader {
            pop_time: now,
            invisible_time: h.invisible_time,
            revive_qid: info.revive_qid,
        },
    ))
}
