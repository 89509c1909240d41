//! PEEK_MESSAGE: the next messages a pop of the group would take from a queue (and the group's
//! pop retry topic), without hiding them or moving anything (Apache's `PeekMessageProcessor`).

use std::sync::Arc;

use bytes::BytesMut;
use rmq_remoting::header::broker::{PeekMessageRequestHeader, PopMessageResponseHeader};
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::{RemotingCommand, ResponseCode};
use rmq_store::{AcceptAll, GetMessageStatus};

use super::{check_consumable, pop_offset, requested_queues, retry_topic};

use crate::state::BrokerContext;

pub(super) async fn peek(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: PeekMessageRequestHeader = req.decode_header()?;
    let topic = check_consumable(&ctx, &conn, &h.topic, h.queue_id, &h.consumer_group)?;
    let queues = requested_queues(&topic, h.queue_id);
    let retry = retry_topic(&h.consumer_group, &h.topic);
    let mut reads: Vec<(&str, i32)> = queues.iter().map(|&q| (h.topic.as_str(), q)).collect();
    if ctx.topics.get(&retry).is_some() {
        // Apache reads the retry topic first in one peek of five, else after the topic.
        let at = if fastrand::u8(0..5) == 0 {
            0
        } else {
            reads.len()
        };
        reads.insert(at, (retry.as_str(), 0));
    }
    let max = usize::try_from(h.max_msg_nums).unwrap_or(0);
    let max_bytes = ctx.store.config().max_transfer_bytes_on_message_in_memory;
    let mut body = BytesMut::new();
    let (mut count, mut rest) = (0usize, 0i64);
    for (topic, queue_id) in reads {
        let offset = pop_offset(&ctx, &h.consumer_group, topic, queue_id);
        rest += ctx.store.max_offset_in_queue(topic, queue_id) - offset;
        if count >= max {
            continue;
        }
        let mut result =
            ctx.store
                .get_message(topic, queue_id, offset, max - count, max_bytes, &AcceptAll);
        if matches!(
            result.status,
            GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly
        ) {
            result = ctx.store.get_message(
                topic,
                queue_id,
                result.next_begin_offset,
                max - count,
                max_bytes,
                &AcceptAll,
            );
        }
        count += result.messages.len();
        for buffer in &result.messages {
            body.extend_from_slice(buffer.as_slice());
        }
    }
    let mut response = RemotingCommand::success_with_header(&PopMessageResponseHeader {
        pop_time: 0,
        invisible_time: 0,
        revive_qid: 0,
        rest_num: rest,
        start_offset_info: None,
        msg_offset_info: None,
        order_count_info: None,
    });
    if count > 0 {
        response.remark = Some("FOUND".to_owned());
        response.body = body.freeze();
    } else {
        response.code = ResponseCode::PULL_NOT_FOUND.as_i32();
        response.remark = Some("NO_MESSAGE_IN_QUEUE".to_owned());
    }
    Ok(response)
}
