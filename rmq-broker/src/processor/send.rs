//! SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE: check, append, answer with the ids.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::topic::{perm, TopicConfig};
use rmq_remoting::header::broker::{SendMessageRequestHeader, SendMessageResponseHeader};
use rmq_remoting::message::{self, keys};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::{PutMessage, PutResult, PutStatus, StoreError};

use super::{handler, send_back};
use crate::schedule;
use crate::state::BrokerContext;
use crate::stats::in_flight::Family;
use crate::topics::{
    validate_topic_name, AUTO_CREATE_TOPIC, RETRY_GROUP_TOPIC_PREFIX, SCHEDULE_TOPIC, TIMER_TOPIC,
};
use crate::transaction;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::SEND_MESSAGE, handler(ctx, send))
        .route(RequestCode::SEND_MESSAGE_V2, handler(ctx, send))
        .route(RequestCode::SEND_BATCH_MESSAGE, handler(ctx, send))
}

fn refuse(code: ResponseCode, remark: impl Into<String>) -> CommandError {
    CommandError::new(code, remark)
}

/// The queue a send to `topic` writes to: `requested`, or a random writable queue when it is
/// negative. Refuses a topic without write permission (NO_PERMISSION) and a queue id beyond the
/// topic's queues (SYSTEM_ERROR), with Apache's remarks; sends and replies share it.
pub(super) fn writable_queue(
    topic: &TopicConfig,
    requested: i32,
    producer: SocketAddr,
) -> Result<i32, CommandError> {
    if topic.perm & perm::WRITE == 0 {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!(
                "the topic[{}] sending message is forbidden (perm {})",
                topic.topic_name, topic.perm
            ),
        ));
    }
    let queue_limit = topic.write_queue_nums.max(topic.read_queue_nums);
    let queue_id = if requested < 0 {
        fastrand::i32(0..topic.write_queue_nums.max(1))
    } else {
        requested
    };
    if queue_id >= queue_limit {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "request queueId[{queue_id}] is illegal, topic {} has {queue_limit} queues. Producer: {producer}",
                topic.topic_name
            ),
        ));
    }
    Ok(queue_id)
}

async fn send(ctx: Arc<BrokerContext>, conn: Connection, req: RemotingCommand) -> HandlerResult {
    let _serving = ctx.stats.in_flight.enter(Family::Send);
    let header = SendMessageRequestHeader::from_command(&req)?;
    crate::role::refuse_send(&ctx)?;
    let producer = conn.peer_addr();
    ctx.clock_skew
        .check_now(producer.ip(), header.born_timestamp);
    if ctx.live.broker_permission() & perm::WRITE == 0 {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden (brokerPermission={})",
                ctx.broker_addr(),
                ctx.live.broker_permission()
            ),
        ));
    }
    validate_topic_name(&header.topic).map_err(|why| refuse(ResponseCode::SYSTEM_ERROR, why))?;
    if [
        AUTO_CREATE_TOPIC,
        SCHEDULE_TOPIC,
        TIMER_TOPIC,
        transaction::HALF_TOPIC,
        transaction::OP_TOPIC,
        transaction::DISCARD_TOPIC,
    ]
    .contains(&header.topic.as_str())
    {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!(
                "Sending message to topic[{}] is forbidden: it is a system topic.",
                header.topic
            ),
        ));
    }
    let topic = if header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        let (topic, created) = ctx
            .topics
            .get_or_create_retry_topic(&header.topic[RETRY_GROUP_TOPIC_PREFIX.len()..], 1)
            .map_err(|e| {
                refuse(
                    ResponseCode::SYSTEM_ERROR,
                    format!("cannot create the retry topic {}: {e}", header.topic),
                )
            })?;
        if created {
            ctx.topics_changed.notify_one();
        }
        topic
    } else {
        let default_topic = if header.default_topic.is_empty() {
            AUTO_CREATE_TOPIC
        } else {
            &header.default_topic
        };
        let (topic, created) = ctx
            .topics
            .get_or_create_for_send(
                &header.topic,
                default_topic,
                header.default_topic_queue_nums,
                0,
            )
            .map_err(|why| refuse(ResponseCode::TOPIC_NOT_EXIST, why))?;
        if created {
            ctx.topics_changed.notify_one();
        }
        topic
    };
    let queue_id = writable_queue(&topic, header.queue_id, producer)?;
    let properties = header.properties.clone().unwrap_or_default();
    let half = transaction::is_half_message(&properties);
    if half && ctx.live.reject_transaction_message() {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden (rejectTransactionMessage=true)",
                ctx.broker_addr()
            ),
        ));
    }
    let (topic_name, queue_id) = match retry_exhausted(&ctx, &header)? {
        Some(dead_letter) => dead_letter,
        None => (header.topic.clone(), queue_id),
    };
    let base = PutMessage {
        topic: topic_name,
        queue_id,
        flag: header.flag,
        body: req.body.clone(),
        properties: String::new(),
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: producer,
        store_host: ctx.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    };
    let batch = req.code == RequestCode::SEND_BATCH_MESSAGE.as_i32() || header.batch;
    let (result, uniq_key, stored_topic) = if batch {
        let items = message::decode_batch(&req.body).map_err(|e| {
            refuse(
                ResponseCode::MESSAGE_ILLEGAL,
                format!("the batch body is invalid: {e}"),
            )
        })?;
        if half {
            return Err(refuse(
                ResponseCode::MESSAGE_ILLEGAL,
                "a batch cannot hold transactional messages; send them one by one",
            ));
        }
        if items.is_empty() {
            return Err(refuse(
                ResponseCode::MESSAGE_ILLEGAL,
                "the batch holds no message",
            ));
        }
        let messages: Vec<PutMessage> = items
            .into_iter()
            .map(|item| PutMessage {
                body: item.body,
                flag: item.flag,
                properties: stored_properties(
                    &message::merge_batch_properties(&item.properties, &properties),
                    &ctx.config.broker_cluster_name,
                    false,
                ),
                ..base.clone()
            })
            .collect();
        if messages.iter().any(wants_delay) {
            return Err(refuse(
                ResponseCode::MESSAGE_ILLEGAL,
                "a batch cannot be delayed (DELAY or TIMER_* property); send delayed messages one by one",
            ));
        }
        let stored_topic = base.topic.clone();
        (ctx.store.put_messages(messages).await, None, stored_topic)
    } else {
        let uniq = message::property_value(&properties, keys::UNIQ_KEY).map(str::to_owned);
        // Apache re-encodes half messages and messages delayed by level with every property
        // they were sent with, so `WAIT=true` stays on them (and on their delivered copies).
        let by_level = message::property_value(&properties, keys::DELAY)
            .and_then(|level| level.trim().parse::<i32>().ok())
            .is_some_and(|level| level > 0);
        let mut single = PutMessage {
            properties: stored_properties(
                &properties,
                &ctx.config.broker_cluster_name,
                !(half || by_level),
            ),
            ..base
        };
        if half {
            single = transaction::to_half(single);
        } else {
            schedule::divert(
                &mut single,
                &ctx.store.config().message_delay_level,
                Duration::from_secs(ctx.config.timer_max_delay_sec),
                schedule::now_ms(),
            )
            .map_err(|why| refuse(ResponseCode::MESSAGE_ILLEGAL, why))?;
        }
        // Counted under the topic stored: the half or schedule topic when diverted, as Apache.
        let stored_topic = single.topic.clone();
        (ctx.store.put_message(single).await, uniq, stored_topic)
    };
    let result = result.map_err(store_refusal)?;
    ctx.stats.on_put(
        &stored_topic,
        result.msg_num as u64,
        u64::try_from(result.wrote_bytes).unwrap_or(0),
    );
    let kind = crate::metrics::MessageType::of(&properties);
    crate::metrics::on_put(
        &ctx,
        &stored_topic,
        kind,
        result.msg_num,
        result.wrote_bytes,
    );
    Ok(answer(&result, queue_id, uniq_key))
}

/// Whether a batch item asks for later delivery.
fn wants_delay(msg: &PutMessage) -> bool {
    let p = &msg.properties;
    message::property_value(p, keys::DELAY).is_some_and(|level| level.trim() != "0")
        || [
            keys::TIMER_DELIVER_MS,
            keys::START_DELIVER_TIME,
            keys::TIMER_DELAY_SEC,
            keys::TIMER_DELAY_MS,
        ]
        .iter()
        .any(|k| message::property_value(p, k).is_some())
}

/// A message a consumer re-sends to its retry topic after `maxReconsumeTimes` failures goes to
/// the group's dead-letter queue instead (Java `handleRetryAndDLQ`): the new topic and queue.
fn retry_exhausted(
    ctx: &BrokerContext,
    header: &SendMessageRequestHeader,
) -> Result<Option<(String, i32)>, CommandError> {
    let Some(group) = header.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok(None);
    };
    let settings = send_back::group_settings(ctx, group)?;
    let max = header
        .max_reconsume_times
        .unwrap_or(settings.retry_max_times);
    if header.reconsume_times.unwrap_or(0) < max {
        return Ok(None);
    }
    send_back::dead_letter_queue(ctx, group).map(Some)
}

/// The properties as RocketMQ stores them: the producer's, with `CLUSTER` set to this broker's
/// cluster and, for single messages, without `WAIT=true` (the default, not worth storing;
/// `WAIT=false` stays so the store still honours it; Java keeps it in batch messages).
/// Producers may or may not end the string with a separator; the result is rebuilt pair by
/// pair, joined like Java's `messageProperties2String`.
fn stored_properties(client: &str, cluster: &str, drop_wait_true: bool) -> String {
    let mut stored = String::with_capacity(client.len() + cluster.len() + 16);
    let mut has_cluster = false;
    for pair in client.split(message::PROPERTY_SEPARATOR) {
        let (name, value) = pair
            .split_once(message::NAME_VALUE_SEPARATOR)
            .unwrap_or(("", ""));
        if pair.is_empty() || drop_wait_true && name == keys::WAIT && value == "true" {
            continue;
        }
        has_cluster |= name == keys::CLUSTER && !value.is_empty();
        push_property(&mut stored, pair);
    }
    if !has_cluster {
        push_property(&mut stored, keys::CLUSTER);
        stored.push(message::NAME_VALUE_SEPARATOR);
        stored.push_str(cluster);
    }
    stored
}

/// Appends `text` to a properties string, after a separator unless it is the first pair.
fn push_property(stored: &mut String, text: &str) {
    if !stored.is_empty() {
        stored.push(message::PROPERTY_SEPARATOR);
    }
    stored.push_str(text);
}

fn answer(result: &PutResult, queue_id: i32, uniq_key: Option<String>) -> RemotingCommand {
    let code = match result.status {
        PutStatus::PutOk => ResponseCode::SUCCESS,
        PutStatus::FlushDiskTimeout => ResponseCode::FLUSH_DISK_TIMEOUT,
        PutStatus::FlushSlaveTimeout => ResponseCode::FLUSH_SLAVE_TIMEOUT,
        PutStatus::SlaveNotAvailable => ResponseCode::SLAVE_NOT_AVAILABLE,
    };
    let header = SendMessageResponseHeader {
        msg_id: result.msg_id.clone(),
        queue_id,
        queue_offset: result.queue_offset,
        transaction_id: uniq_key,
        batch_uniq_id: None,
        recall_handle: None,
        delay_time: None,
        msg_region: "DefaultRegion".to_owned(),
        trace_on: true,
    };
    let mut response = RemotingCommand::success_with_header(&header);
    response.code = code.as_i32();
    response
}

/// Maps a store refusal to the code the Java client understands, keeping the store's
/// actionable explanation as the remark. The store classifies its errors as RocketMQ's
/// `PutMessageStatus` does; the answer follows Apache's mapping of those statuses.
pub(crate) fn store_refusal(err: StoreError) -> CommandError {
    let code = match err.put_status_name() {
        "MESSAGE_ILLEGAL" | "PROPERTIES_SIZE_EXCEEDED" => ResponseCode::MESSAGE_ILLEGAL,
        "SERVICE_NOT_AVAILABLE" => ResponseCode::SERVICE_NOT_AVAILABLE,
        _ => ResponseCode::SYSTEM_ERROR,
    };
    refuse(code, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::{store_refusal, stored_properties, ResponseCode, StoreError};

    /// A store stopped by a failed sync answers a send with SERVICE_NOT_AVAILABLE (14), as
    /// Apache answers a store failure; a Java producer retries that on another broker. The remark
    /// is the store's text: the file, the errno, and what the operator does.
    #[test]
    fn a_failed_sync_refuses_sends_with_service_not_available_and_says_why() {
        let err = StoreError::SyncFailed {
            path: "/data/store/commitlog/00000000000000000000".into(),
            errno: 5,
            errno_name: "EIO",
            cause: "Input/output error (os error 5)".into(),
        };
        let refused = store_refusal(err);
        assert_eq!(refused.code, ResponseCode::SERVICE_NOT_AVAILABLE);
        for needle in [
            "commitlog/00000000000000000000",
            "EIO",
            "errno 5",
            "restart",
        ] {
            assert!(
                refused.remark.contains(needle),
                "{needle}: {}",
                refused.remark
            );
        }
    }

    #[test]
    fn stored_properties_drop_wait_true_and_add_the_cluster_whatever_the_last_separator() {
        let without_trailing = "KEYS\u{1}k\u{2}WAIT\u{1}true\u{2}TAGS\u{1}a";
        let with_trailing = "KEYS\u{1}k\u{2}WAIT\u{1}true\u{2}TAGS\u{1}a\u{2}";
        let expected = "KEYS\u{1}k\u{2}TAGS\u{1}a\u{2}CLUSTER\u{1}DefaultCluster";
        for client in [without_trailing, with_trailing] {
            assert_eq!(stored_properties(client, "DefaultCluster", true), expected);
        }
        let batch = stored_properties("WAIT\u{1}true", "C", false);
        assert_eq!(batch, "WAIT\u{1}true\u{2}CLUSTER\u{1}C");
        let keep_false = stored_properties("WAIT\u{1}false", "C", true);
        assert_eq!(keep_false, "WAIT\u{1}false\u{2}CLUSTER\u{1}C");
        assert_eq!(stored_properties("", "C", true), "CLUSTER\u{1}C");
        assert_eq!(
            stored_properties("CLUSTER\u{1}X", "C", true),
            "CLUSTER\u{1}X"
        );
    }
}
