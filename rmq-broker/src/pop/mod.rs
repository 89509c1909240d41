//! 5.x POP consumption (docs/pop.md): the broker hands a group's consumers messages from any
//! queue and hides each for an invisible time; a message not acked in time is revived into the
//! group's pop retry topic with its reconsume count incremented.

mod ack;
mod fifo;
mod message;
pub mod order;
pub mod revive;
pub mod state;

use std::sync::Arc;

use rmq_remoting::body::topic::perm;
use rmq_remoting::header::broker::ExtraInfo;
use rmq_remoting::transport::Router;
use rmq_remoting::{CommandError, RequestCode, ResponseCode};

use crate::processor::handler;
use crate::state::BrokerContext;
use state::QueueKey;

/// The group's pop retry topic for `topic` (Apache's `KeyBuilder.buildPopRetryTopicV1`, the
/// naming Apache 5.3 uses while `enableRetryTopicV2` is off, its default).
pub fn retry_topic(group: &str, topic: &str) -> String {
    format!("%RETRY%{group}_{topic}")
}

/// The topic a receipt's `retry` mark names for a normal topic and group (Java's
/// `ExtraInfoUtil.getRealTopic`): `0` the topic, `1` the V1 and `2` the V2 pop retry topic.
fn popped_topic(topic: &str, group: &str, retry: &str) -> Option<String> {
    match retry {
        "0" => Some(topic.to_owned()),
        "1" => Some(retry_topic(group, topic)),
        "2" => Some(format!("%RETRY%{group}+{topic}")),
        _ => None,
    }
}

/// Adds the POP routes.
pub(crate) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::POP_MESSAGE, handler(ctx, message::pop))
        .route(RequestCode::ACK_MESSAGE, handler(ctx, ack::ack))
        .route(RequestCode::BATCH_ACK_MESSAGE, handler(ctx, ack::batch_ack))
        .route(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            handler(ctx, ack::change_invisible_time),
        )
}

/// The pop retry topic, created (one queue, readable and writable) on first use.
fn ensure_retry_topic(ctx: &BrokerContext, name: &str) -> Result<(), CommandError> {
    if ctx.topics.get(name).is_some() {
        return Ok(());
    }
    let config = crate::topics::topic_settings(name, 1, perm::READ | perm::WRITE);
    ctx.topics.put(config).map_err(|e| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot create the pop retry topic {name}: {e}"),
        )
    })?;
    ctx.topics_changed.notify_one();
    Ok(())
}

/// The queue an ack or change names, after checking its receipt.
fn acked_queue(
    ctx: &BrokerContext,
    group: &str,
    topic: &str,
    queue_id: i32,
    extra_info: &str,
) -> Result<(QueueKey, ExtraInfo), CommandError> {
    let Some(info) = ExtraInfo::parse(extra_info) else {
        return Err(CommandError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!("extraInfo [{extra_info}] is not a pop receipt"),
        ));
    };
    let Some(config) = ctx.topics.get(topic) else {
        return Err(CommandError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if queue_id < 0 || queue_id >= config.read_queue_nums {
        return Err(CommandError::new(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "queueId{queue_id} is illegal, topic:{topic}, topicConfig.readQueueNums:{}",
                config.read_queue_nums
            ),
        ));
    }
    let key = QueueKey {
        group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id,
    };
    Ok((key, info))
}
