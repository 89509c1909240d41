//! ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME: a popped message is done, or hidden longer.
//! A receipt whose checkpoint already ended (acked, revived, or replaced by a later change)
//! is answered SUCCESS and changes nothing, as Apache answers it.

use std::sync::Arc;

use rmq_remoting::body::pop::{BatchAck, BatchAckMessageRequestBody};
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    ExtraInfo,
};
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};

use super::order::{OrderAck, ORDER_REVIVE_QID};
use super::state::QueueKey;
use super::{acked_queue, popped_topic};
use crate::schedule::now_ms;
use crate::state::BrokerContext;
use rmq_store::MessageArrivingListener;

pub(super) async fn ack(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: AckMessageRequestHeader = req.decode_header()?;
    let (key, info) = acked_queue(&ctx, &h.consumer_group, &h.topic, h.queue_id, &h.extra_info)?;
    if crate::role::is_slave(&ctx) {
        // As Apache's slave: the ack cannot be stored, the answer is SUCCESS all the same.
        return Ok(RemotingCommand::success());
    }
    if info.revive_qid == ORDER_REVIVE_QID {
        ack_orderly(&ctx, &conn, &key, h.offset, info.pop_time)?;
    } else {
        finish(&ctx, &key, h.offset, info.pop_time);
    }
    Ok(RemotingCommand::success())
}

/// Acks one message of an orderly pop (Apache's `ackOrderly`): the group's consumer offset
/// moves to its pop's first message still in flight, and pops parked on the queue wake up.
/// An offset the group already moved past is answered SUCCESS; one the pop never handed out
/// MESSAGE_ILLEGAL, as Apache answers them.
fn ack_orderly(
    ctx: &BrokerContext,
    conn: &Connection,
    key: &QueueKey,
    offset: i64,
    pop_time: i64,
) -> Result<(), CommandError> {
    let old = ctx
        .offsets
        .query(&key.group, &key.topic, key.queue_id)
        .unwrap_or(-1);
    if offset < old {
        return Ok(());
    }
    let acked = ctx.pop.ack_orderly(key, offset, pop_time, |next| {
        ctx.offsets
            .commit(&key.group, &key.topic, key.queue_id, next)
    });
    match acked {
        OrderAck::Next(_) => {
            let max = ctx.store.max_offset_in_queue(&key.topic, key.queue_id);
            ctx.arrivals.arriving(&key.topic, key.queue_id, max, 0, 0);
            Ok(())
        }
        OrderAck::Stale => Ok(()),
        OrderAck::Unknown => Err(CommandError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "offset is illegal, key:{}@{}@{}, old:{old}, commit:{offset}, next:-1, {}",
                key.topic,
                key.group,
                key.queue_id,
                conn.peer_addr()
            ),
        )),
    }
}

/// BATCH_ACK_MESSAGE: every offset set in each ack's bit set is acked as ACK_MESSAGE acks one.
/// A body without acks is answered NO_MESSAGE, as Apache's `AckMessageProcessor` answers it;
/// an ack naming an unknown topic or queue is skipped, as Apache skips it.
pub(super) async fn batch_ack(
    ctx: Arc<BrokerContext>,
    conn: Connection,
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
    if crate::role::is_slave(&ctx) {
        return Ok(RemotingCommand::success());
    }
    for one in &body.acks {
        batch_ack_one(&ctx, &conn, one)?;
    }
    Ok(RemotingCommand::success())
}

fn batch_ack_one(
    ctx: &BrokerContext,
    conn: &Connection,
    one: &BatchAck,
) -> Result<(), CommandError> {
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
    let key = QueueKey::new(&one.consumer_group, topic, one.queue_id);
    for offset in one.offsets() {
        if one.revive_queue_id == ORDER_REVIVE_QID {
            ack_orderly(ctx, conn, &key, offset, one.pop_time)?;
        } else {
            finish(ctx, &key, offset, one.pop_time);
        }
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
    if crate::role::is_slave(&ctx) {
        // Apache's slave cannot store the new checkpoint and answers SYSTEM_ERROR.
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the broker[{}] is a slave: invisible times change on the master",
                ctx.broker_addr()
            ),
        ));
    }
    if info.revive_qid == ORDER_REVIVE_QID {
        return Ok(change_orderly(&ctx, &key, &h, &info));
    }
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

/// CHANGE_MESSAGE_INVISIBLETIME of an orderly receipt (Apache's order path): the message
/// becomes visible `invisibleTime` ms from now; the receipt keeps its pop time, so the answer
/// is the old `popTime` and the invisible time counted from it. A message the group already
/// moved past, or a stale receipt, changes nothing.
fn change_orderly(
    ctx: &BrokerContext,
    key: &QueueKey,
    h: &ChangeInvisibleTimeRequestHeader,
    info: &ExtraInfo,
) -> RemotingCommand {
    let visible_at = now_ms() + h.invisible_time;
    let old = ctx
        .offsets
        .query(&key.group, &key.topic, key.queue_id)
        .unwrap_or(-1);
    if h.offset >= old
        && !ctx
            .pop
            .change_orderly(key, h.offset, info.pop_time, visible_at)
    {
        tracing::debug!(
            group = key.group,
            topic = key.topic,
            queue = key.queue_id,
            offset = h.offset,
            "orderly invisible-time change of a receipt no longer in flight"
        );
    }
    RemotingCommand::success_with_header(&ChangeInvisibleTimeResponseHeader {
        pop_time: info.pop_time,
        invisible_time: visible_at - info.pop_time,
        revive_qid: info.revive_qid,
    })
}
