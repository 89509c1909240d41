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
use crate::schedule::{self, DeliveryProperties};
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
            ctx.topic_changes.announce();
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
            ctx.topic_changes.announce();
        }
        topic
    };
    let queue_id = writable_queue(&topic, header.queue_id, producer)?;
    let properties = header.properties.as_deref().unwrap_or_default();
    let props = SendProperties::read(properties);
    let half = props.is_half();
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
                    &message::merge_batch_properties(&item.properties, properties),
                    &ctx.config.broker_cluster_name,
                    false,
                ),
                ..base.clone()
            })
            .collect();
        if messages
            .iter()
            .any(|m| DeliveryProperties::read(&m.properties).asks_delay())
        {
            return Err(refuse(
                ResponseCode::MESSAGE_ILLEGAL,
                "a batch cannot be delayed (DELAY or TIMER_* property); send delayed messages one by one",
            ));
        }
        let stored_topic = base.topic.clone();
        (ctx.store.put_messages(messages).await, None, stored_topic)
    } else {
        let uniq = props.uniq_key.map(str::to_owned);
        // Apache re-encodes half messages and messages delayed by level with every property
        // they were sent with, so `WAIT=true` stays on them (and on their delivered copies).
        let by_level = props.delivery.delay_level().is_ok_and(|level| level > 0);
        let mut single = PutMessage {
            properties: stored_properties(
                properties,
                &ctx.config.broker_cluster_name,
                !(half || by_level),
            ),
            ..base
        };
        if half {
            single = transaction::to_half(single);
        } else {
            let now = schedule::now_ms();
            let illegal = |why| refuse(ResponseCode::MESSAGE_ILLEGAL, why);
            schedule::park(
                &mut single,
                props.delivery.asked(now).map_err(illegal)?,
                &ctx.store.config().message_delay_level,
                Duration::from_secs(ctx.config.timer_max_delay_sec),
                now,
            )
            .map_err(illegal)?;
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
    let kind = crate::metrics::MessageType::of(&props);
    crate::metrics::on_put(
        &ctx,
        &stored_topic,
        kind,
        result.msg_num,
        result.wrote_bytes,
    );
    Ok(answer(&result, queue_id, uniq_key))
}

/// The properties of a sent message that the send path reads (transaction, unique key, message
/// group, delivery), taken in one pass over the properties text as borrowed slices of it: the
/// send path read them key by key before, about twenty scans of the text per message.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SendProperties<'a> {
    /// `TRAN_MSG`: `true` on a transactional half message.
    pub(crate) tran_msg: Option<&'a str>,
    /// `UNIQ_KEY`: the client's message id, answered as the transaction id.
    pub(crate) uniq_key: Option<&'a str>,
    /// `__SHARDINGKEY`: the 5.x message group of a FIFO message.
    pub(crate) sharding_key: Option<&'a str>,
    /// The delay level and timer requests.
    pub(crate) delivery: DeliveryProperties<'a>,
}

impl<'a> SendProperties<'a> {
    /// Reads them from a properties string (the last occurrence of a key wins, as in Java).
    pub(crate) fn read(properties: &'a str) -> Self {
        let mut found = Self::default();
        for (name, value) in message::iter_pairs(properties) {
            if found.delivery.offer(name, value) {
                continue;
            }
            match name {
                keys::TRAN_MSG => found.tran_msg = Some(value),
                keys::UNIQ_KEY => found.uniq_key = Some(value),
                SHARDING_KEY => found.sharding_key = Some(value),
                _ => {}
            }
        }
        found
    }

    /// Whether the send is a transactional half message (Java tests the property, not the
    /// sysFlag).
    pub(crate) fn is_half(&self) -> bool {
        self.tran_msg == Some("true")
    }
}

/// Java's `MessageConst.PROPERTY_SHARDING_KEY`: the 5.x message group.
const SHARDING_KEY: &str = "__SHARDINGKEY";

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
    use rmq_remoting::message::{keys, property_value};

    use super::{store_refusal, stored_properties, ResponseCode, SendProperties, StoreError};

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

    #[test]
    fn send_properties_read_in_one_pass_what_property_value_reads_key_by_key() {
        let text = "TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}U1\u{2}DELAY\u{1}\u{2}__SHARDINGKEY\u{1}g\u{2}\
                    UNIQ_KEY\u{1}U2\u{2}TIMER_DELAY_MS\u{1}5\u{2}DELAY\u{1}3\u{2}TIMER_OUT_MS\u{1}9";
        let p = SendProperties::read(text);
        assert!(p.is_half());
        assert!(!SendProperties::read("TRAN_MSG\u{1}false").is_half());
        for (name, value) in [
            (keys::TRAN_MSG, p.tran_msg),
            (keys::UNIQ_KEY, p.uniq_key),
            ("__SHARDINGKEY", p.sharding_key),
            (keys::DELAY, p.delivery.delay),
            (keys::TIMER_OUT_MS, p.delivery.timer_out_ms),
            (keys::TIMER_DELAY_MS, p.delivery.timer_requests[3]),
            (keys::TIMER_DELIVER_MS, p.delivery.timer_requests[0]),
        ] {
            assert_eq!(value, property_value(text, name), "{name}");
        }
    }
}
