//! Offset requests: a group's committed position, and a queue's min/max offsets, earliest store
//! time and offset by timestamp.

use std::sync::Arc;

use rmq_remoting::header::broker::{
    BoundaryType, GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader,
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, QueueRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::handler;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(
            RequestCode::QUERY_CONSUMER_OFFSET,
            handler(ctx, query_consumer_offset),
        )
        .route(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            handler(ctx, update_consumer_offset),
        )
        .route(RequestCode::GET_MAX_OFFSET, handler(ctx, max_offset))
        .route(RequestCode::GET_MIN_OFFSET, handler(ctx, min_offset))
        .route(
            RequestCode::GET_EARLIEST_MSG_STORETIME,
            handler(ctx, earliest_time),
        )
        .route(
            RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
            handler(ctx, search_offset),
        )
}

fn offset(offset: i64) -> RemotingCommand {
    RemotingCommand::success_with_header(&OffsetResponseHeader { offset })
}

async fn query_consumer_offset(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: QueryConsumerOffsetRequestHeader = req.decode_header()?;
    if let Some(committed) = ctx.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
        return Ok(offset(committed));
    }
    // A new group on a queue that still starts at 0 reads it from the beginning, as RocketMQ
    // does while the queue's data is in memory; otherwise the consumer picks its start.
    if ctx.store.min_offset_in_queue(&h.topic, h.queue_id) <= 0
        || h.set_zero_if_not_found == Some(true)
    {
        return Ok(offset(0));
    }
    Err(CommandError::new(
        ResponseCode::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

async fn update_consumer_offset(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: UpdateConsumerOffsetRequestHeader = req.decode_header()?;
    if ctx.topics.get(&h.topic).is_none() {
        return Err(CommandError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    }
    ctx.offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(RemotingCommand::success())
}

async fn max_offset(ctx: Arc<BrokerContext>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: GetMaxOffsetRequestHeader = req.decode_header()?;
    Ok(offset(ctx.store.max_offset_in_queue(&h.topic, h.queue_id)))
}

async fn min_offset(ctx: Arc<BrokerContext>, _: Connection, req: RemotingCommand) -> HandlerResult {
    let h: QueueRequestHeader = req.decode_header()?;
    Ok(offset(ctx.store.min_offset_in_queue(&h.topic, h.queue_id)))
}

async fn earliest_time(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: QueueRequestHeader = req.decode_header()?;
    match ctx.store.earliest_message_time(&h.topic, h.queue_id) {
        Some(timestamp) => Ok(RemotingCommand::success_with_header(
            &GetEarliestMsgStoretimeResponseHeader { timestamp },
        )),
        None => Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("no message in {}:{}", h.topic, h.queue_id),
        )),
    }
}

async fn search_offset(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: SearchOffsetRequestHeader = req.decode_header()?;
    let by_time = |t: i64| ctx.store.offset_in_queue_by_time(&h.topic, h.queue_id, t);
    Ok(offset(
        match h.boundary_type.unwrap_or(BoundaryType::Lower) {
            BoundaryType::Lower => by_time(h.timestamp),
            BoundaryType::Upper => upper_boundary(
                by_time(h.timestamp.saturating_add(1)),
                ctx.store.min_offset_in_queue(&h.topic, h.queue_id),
            ),
        },
    ))
}

/// 5.x's UPPER boundary: the last offset stored at or before the time, from `after` (the first
/// offset stored after it). As Apache's ConsumeQueue answers, 0 when no message is that old
/// (even when the queue's minimum offset is higher) and the last offset when all are.
fn upper_boundary(after: i64, min_offset: i64) -> i64 {
    if after <= min_offset {
        0
    } else {
        after - 1
    }
}

#[cfg(test)]
mod tests {
    use super::upper_boundary;

    #[test]
    fn the_upper_boundary_is_the_offset_before_the_first_later_one_or_zero() {
        // Offsets 3..10, the first stored after the time is 6: the last at or before is 5.
        assert_eq!(upper_boundary(6, 3), 5);
        // Every message is older: the last offset.
        assert_eq!(upper_boundary(10, 3), 9);
        // None is that old (or the queue is empty): 0, as Apache answers.
        assert_eq!(upper_boundary(3, 3), 0);
        assert_eq!(upper_boundary(0, 0), 0);
    }
}
