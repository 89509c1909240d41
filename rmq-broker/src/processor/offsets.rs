//! Offset requests: a group's committed position, and a queue's min/max offsets, earliest store
//! time and offset by timestamp.

use std::sync::Arc;

use rmq_remoting::header::broker::{
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
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
    // The store finds the first message stored at or after the time (BoundaryType LOWER, what
    // clients send); a 5.x admin asking for UPPER gets the same answer for now.
    Ok(offset(ctx.store.offset_in_queue_by_time(
        &h.topic,
        h.queue_id,
        h.timestamp,
    )))
}
