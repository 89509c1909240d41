//! QUERY_MESSAGE and VIEW_MESSAGE_BY_ID: find stored messages by key, by unique id, or by
//! physical offset (docs/remoting-protocol.md §6.9).

use std::sync::Arc;

use bytes::BytesMut;
use rmq_remoting::header::broker::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use rmq_remoting::message::store_timestamp_at;
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::handler;
use crate::state::BrokerContext;
use crate::stats::in_flight::Family;

/// Most messages one key query returns (Java's `maxMsgsNumBatch`).
const MAX_QUERY_NUM: usize = 64;
/// Messages returned for a unique-key query (Java's `defaultQueryMaxNum`): the same id may be
/// stored more than once when a producer retried.
const UNIQUE_KEY_QUERY_NUM: usize = 32;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::QUERY_MESSAGE, handler(ctx, query_message))
        .route(RequestCode::VIEW_MESSAGE_BY_ID, handler(ctx, view_message))
}

async fn query_message(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let _serving = ctx.stats.in_flight.enter(Family::Query);
    let h: QueryMessageRequestHeader = req.decode_header()?;
    let max = if h.unique_key_query == Some(true) {
        UNIQUE_KEY_QUERY_NUM
    } else {
        usize::try_from(h.max_num).unwrap_or(0).min(MAX_QUERY_NUM)
    };
    let found = ctx
        .store
        .query_message(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp);
    if found.is_empty() {
        return Err(CommandError::new(
            ResponseCode::QUERY_NOT_FOUND,
            format!(
                "can not find message with key [{}] in topic [{}] between {} and {}, maybe the key or the time range is not correct",
                h.key, h.topic, h.begin_timestamp, h.end_timestamp
            ),
        ));
    }
    let mut body = BytesMut::with_capacity(found.iter().map(|b| b.len()).sum());
    let mut newest = 0;
    for record in &found {
        body.extend_from_slice(record.as_slice());
        newest = newest.max(store_timestamp_at(record.as_slice()).unwrap_or(0));
    }
    // The store indexes every record as it is appended, so the index has reached the end of
    // the commit log; the newest hit's store time stands in for the index's last update.
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: newest,
        index_last_update_phyoffset: ctx.store.max_phy_offset(),
    };
    Ok(RemotingCommand::success_with_header(&header).with_body(body.freeze()))
}

async fn view_message(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let _serving = ctx.stats.in_flight.enter(Family::Query);
    let h: ViewMessageRequestHeader = req.decode_header()?;
    match ctx.store.look_message_by_offset(h.offset) {
        Some(record) => {
            Ok(RemotingCommand::success()
                .with_body(bytes::Bytes::copy_from_slice(record.as_slice())))
        }
        None => Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "can not find message by the offset, {} (the commit log holds {}..{})",
                h.offset,
                ctx.store.min_phy_offset(),
                ctx.store.max_phy_offset()
            ),
        )),
    }
}
