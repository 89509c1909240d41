//! ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME: a popped message is done, or hidden longer.
//! A receipt whose checkpoint already ended (acked, revived, or replaced by a later change)
//! is answered SUCCESS and changes nothing, as Apache answers it.

use std::sync::Arc;

use rmq_remoting::header::broker::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};

use super::acked_queue;
use crate::schedule::now_ms;
use crate::state::BrokerContext;

pub(super) async fn ack(
    ctx: Arc<BrokerContext>,
    _conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: AckMessageRequestHeader = req.decode_header()?;
    let (key, info) = acked_queue(&ctx, &h.consumer_group, &h.topic, h.queue_id, &h.extra_info)?;
    match ctx.pop.finish(&key, h.offset, info.pop_time) {
        Some(committed) => ctx
            .offsets
            .commit(&key.group, &key.topic, key.queue_id, committed),
        None => tracing::debug!(
            group = key.group,
            topic = key.topic,
            queue = key.queue_id,
            offset = h.offset,
            "ack of a receipt no longer in flight"
        ),
    }
    Ok(RemotingCommand::success())
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
