//! CONSUMER_SEND_MSG_BACK: a consumer failed a message; store it again for the group's retry
//! topic after a delay (level 3 + times already retried, unless the consumer names one), or in
//! the group's dead-letter topic once it was retried `maxReconsumeTimes` times or the consumer
//! asks for it (negative level). The message keeps its id (UNIQ_KEY), body and properties;
//! RETRY_TOPIC remembers the topic it was first sent to, ORIGIN_MESSAGE_ID its first offset id.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::stats::SubscriptionGroupConfig;
use rmq_remoting::header::broker::ConsumerSendMsgBackRequestHeader;
use rmq_remoting::message::{
    decode_record, edit_properties, encode_offset_msg_id, keys, property_value,
};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::PutMessage;

use super::handler;
use super::send::store_refusal;
use crate::schedule::{divert, now_ms};
use crate::state::BrokerContext;
use crate::stats::in_flight::Family;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(RequestCode::CONSUMER_SEND_MSG_BACK, handler(ctx, send_back))
}

/// The group's settings, or the SUBSCRIPTION_GROUP_NOT_EXIST refusal.
pub(super) fn group_settings(
    ctx: &BrokerContext,
    group: &str,
) -> Result<SubscriptionGroupConfig, CommandError> {
    ctx.groups.get_or_create(group).ok_or_else(|| {
        CommandError::new(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{group}] does not exist on this broker; create it with \
                 `mqadmin updateSubGroup -g {group}` or set autoCreateSubscriptionGroup=true"
            ),
        )
    })
}

/// The group's dead-letter topic (created readable and writable on first use) and queue.
pub(super) fn dead_letter_queue(
    ctx: &BrokerContext,
    group: &str,
) -> Result<(String, i32), CommandError> {
    let (topic, created) = ctx.topics.get_or_create_dlq_topic(group).map_err(|e| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot create the dead-letter topic of group {group}: {e}"),
        )
    })?;
    if created {
        ctx.topic_changes.announce();
    }
    Ok((topic.topic_name, 0))
}

async fn send_back(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let _serving = ctx.stats.in_flight.enter(Family::Send);
    let header: ConsumerSendMsgBackRequestHeader = req.decode_header()?;
    let group = group_settings(&ctx, &header.group)?;
    if group.retry_queue_nums <= 0 {
        // The group opted out of retries (Java answers success and drops the message).
        return Ok(RemotingCommand::success());
    }
    crate::role::refuse_send_back(&ctx)?;
    let Some(buffer) = ctx.store.look_message_by_offset(header.offset) else {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "look message by offset failed, {}: the message is no longer stored",
                header.offset
            ),
        ));
    };
    let record = decode_record(buffer.as_slice(), false).map_err(|e| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {}: {e}", header.offset),
        )
    })?;
    let max_reconsume_times = header.max_reconsume_times.unwrap_or(group.retry_max_times);
    let dead = header.delay_level < 0 || record.reconsume_times >= max_reconsume_times;
    let (topic, queue_id) = if dead {
        dead_letter_queue(&ctx, &header.group)?
    } else {
        let (topic, created) = ctx
            .topics
            .get_or_create_retry_topic(&header.group, group.retry_queue_nums)
            .map_err(|e| {
                CommandError::new(
                    ResponseCode::SYSTEM_ERROR,
                    format!(
                        "cannot create the retry topic of group {}: {e}",
                        header.group
                    ),
                )
            })?;
        if created {
            ctx.topic_changes.announce();
        }
        (
            topic.topic_name,
            fastrand::i32(0..topic.write_queue_nums.max(1)),
        )
    };
    let retry_topic = property_value(record.properties, keys::RETRY_TOPIC)
        .unwrap_or(record.topic)
        .to_owned();
    let origin_id = property_value(record.properties, keys::ORIGIN_MESSAGE_ID)
        .map(str::to_owned)
        .unwrap_or_else(|| encode_offset_msg_id(record.store_host, record.physical_offset));
    // Apache 4.9.7 marks a dead letter with DELAY=0 and a retry with its level; the parked
    // copy's REAL_TOPIC / REAL_QID stay (a retry's are set anew when it is parked again).
    let delay = if dead {
        0
    } else if header.delay_level > 0 {
        header.delay_level
    } else {
        3 + record.reconsume_times
    };
    let delay_text = delay.to_string();
    let set = [
        (keys::RETRY_TOPIC, retry_topic.as_str()),
        (keys::ORIGIN_MESSAGE_ID, origin_id.as_str()),
        (keys::WAIT, "false"),
        (keys::DELAY, delay_text.as_str()),
    ];
    // Apache 4.9.7 knows no delivery times: a retry waits by level only.
    let remove = [
        keys::TIMER_DELIVER_MS,
        keys::START_DELIVER_TIME,
        keys::TIMER_DELAY_SEC,
        keys::TIMER_DELAY_MS,
    ];
    let mut msg = PutMessage {
        topic,
        queue_id,
        properties: edit_properties(record.properties, &set, &remove),
        reconsume_times: record.reconsume_times + 1,
        ..PutMessage::from_record(&record, ctx.store_host)
    };
    divert(
        &mut msg,
        &ctx.store.config().message_delay_level,
        Duration::from_secs(ctx.config.timer_max_delay_sec),
        now_ms(),
    )
    .map_err(|why| CommandError::new(ResponseCode::MESSAGE_ILLEGAL, why))?;
    if dead {
        tracing::info!(group = header.group, consumer = %conn.peer_addr(), origin_id,
            reconsume_times = record.reconsume_times, "message moved to the dead-letter queue");
    }
    // Apache counts the put of a retry parked in the schedule topic under that topic.
    let scheduled = msg.topic == crate::topics::SCHEDULE_TOPIC;
    let result = ctx.store.put_message(msg).await.map_err(store_refusal)?;
    if scheduled {
        ctx.stats.on_topic_put(
            crate::topics::SCHEDULE_TOPIC,
            1,
            u64::try_from(result.wrote_bytes).unwrap_or(0),
        );
    }
    ctx.stats.on_send_back(&header.group, &retry_topic, 1);
    Ok(RemotingCommand::success())
}
