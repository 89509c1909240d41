//! 5.x POP consumption (docs/pop.md): the broker hands a group's consumers messages from any
//! queue and hides each for an invisible time; a message not acked in time is revived into the
//! group's pop retry topic with its reconsume count incremented.

mod ack;
mod fifo;
mod message;
mod notify;
pub mod order;
mod peek;
pub mod polling;
pub mod revive;
pub mod state;

use std::sync::Arc;

use rmq_remoting::body::topic::perm;
use rmq_remoting::body::topic::TopicConfig;
use rmq_remoting::header::broker::ExtraInfo;
use rmq_remoting::transport::{Connection, Router};
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
        .route(RequestCode::PEEK_MESSAGE, handler(ctx, peek::peek))
        .route(
            RequestCode::NOTIFICATION,
            handler(ctx, notify::notification),
        )
        .route(
            RequestCode::POLLING_INFO,
            handler(ctx, notify::polling_info),
        )
        .route(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            handler(ctx, ack::change_invisible_time),
        )
}

/// The checks POP_MESSAGE, PEEK_MESSAGE, NOTIFICATION and POLLING_INFO share, with Apache's
/// codes and remarks: the broker and the topic are readable, the queue exists, the group
/// exists (created if `autoCreateSubscriptionGroup`) and may consume.
fn check_consumable(
    ctx: &BrokerContext,
    conn: &Connection,
    topic: &str,
    queue_id: i32,
    group: &str,
) -> Result<TopicConfig, CommandError> {
    if ctx.live.broker_permission() & perm::READ == 0 {
        return Err(CommandError::new(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] peeking message is forbidden",
                ctx.broker_addr()
            ),
        ));
    }
    let Some(config) = ctx.topics.get(topic) else {
        return Err(CommandError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if config.perm & perm::READ == 0 {
        return Err(CommandError::new(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{topic}] peeking message is forbidden"),
        ));
    }
    if queue_id >= config.read_queue_nums {
        return Err(CommandError::new(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                config.read_queue_nums,
                conn.peer_addr()
            ),
        ));
    }
    let Some(settings) = ctx.groups.get_or_create(group) else {
        return Err(CommandError::new(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{group}] does not exist, create it with `mqadmin updateSubGroup`"
            ),
        ));
    };
    if !settings.consume_enable {
        return Err(CommandError::new(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {group}"),
        ));
    }
    Ok(config)
}

/// The queues a request for `queue_id` of `topic` reads: all of them for -1.
fn requested_queues(topic: &TopicConfig, queue_id: i32) -> Vec<i32> {
    if queue_id < 0 {
        (0..topic.read_queue_nums).collect()
    } else {
        vec![queue_id]
    }
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
    ctx.topic_changes.announce();
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
    let key = QueueKey::new(group, topic, queue_id);
    Ok((key, info))
}

/// Where the group's next pop of a queue starts (Apache's `getPopOffset` in PEEK and
/// NOTIFICATION): past its consumer offset (the queue's first message without one) and past
/// every message popped so far.
fn pop_offset(ctx: &BrokerContext, group: &str, topic: &str, queue_id: i32) -> i64 {
    let committed = ctx
        .offsets
        .query(group, topic, queue_id)
        .filter(|o| *o >= 0)
        .unwrap_or_else(|| ctx.store.min_offset_in_queue(topic, queue_id));
    let key = QueueKey::new(group, topic, queue_id);
    let popped = ctx.pop.lock().next_offset(&key).unwrap_or(-1);
    committed.max(popped)
}
