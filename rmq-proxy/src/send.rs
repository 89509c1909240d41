//! SendMessage and EndTransaction. A gRPC message becomes a RocketMQ message as Apache's proxy
//! builds it (its `SendMessageActivity`): the client's message id as `UNIQ_KEY`, the topic as
//! producer group (`PGROUP`), a FIFO message group as `__SHARDINGKEY` on the queue its hash
//! picks, a delivery timestamp as `TIMER_DELIVER_MS`, a transactional message as a half message
//! (`TRAN_MSG`). The topic's `message.type` must match the message's, as in Apache's proxy.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use rmq_client::{ClientError, Message, SendResult, SendStatus};
use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::message::{java_string_hash, keys};
use tonic::{Request, Response, Status};

use crate::context::ProxyContext;
use crate::convert;
use crate::message_type::TopicMessageType;
use crate::props;
use crate::proto::v2::{
    self, Code, Encoding, EndTransactionRequest, EndTransactionResponse, SendMessageRequest,
    SendMessageResponse, SendResultEntry,
};
use crate::{session, status, validate};

/// SendMessage.
pub async fn send_message(
    ctx: &Arc<ProxyContext>,
    request: Request<SendMessageRequest>,
) -> Result<Response<SendMessageResponse>, Status> {
    status::answer(send(ctx, request).await)
}

/// EndTransaction.
pub async fn end_transaction(
    ctx: &Arc<ProxyContext>,
    request: Request<EndTransactionRequest>,
) -> Result<Response<EndTransactionResponse>, Status> {
    let outcome = async {
        let client_id = session::client_id(request.metadata())?;
        ctx.sessions.touch(&client_id);
        ctx.transactions.end(ctx, request.get_ref()).await
    }
    .await;
    status::answer(outcome.map(|()| EndTransactionResponse {
        status: Some(status::ok()),
    }))
}

/// A message ready for the remoting side, with what decides how it is sent.
struct Outgoing {
    message: Message,
    group: Option<String>,
    kind: TopicMessageType,
}

async fn send(
    ctx: &Arc<ProxyContext>,
    request: Request<SendMessageRequest>,
) -> Result<SendMessageResponse, v2::Status> {
    let client_id = session::client_id(request.metadata())?;
    ctx.sessions.touch(&client_id);
    let remote = request.remote_addr();
    let request = request.into_inner();
    let first = request
        .messages
        .first()
        .ok_or_else(|| status::of(Code::MessageCorrupted, "no message to send"))?;
    let topic = validate::topic(first.topic.as_ref())?.to_owned();
    let mut outgoing = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        if message.topic != first.topic {
            return Err(status::of(
                Code::MessageCorrupted,
                "topic in message is not same",
            ));
        }
        outgoing.push(build(ctx, message, &topic, remote)?);
    }
    let checked = ctx.config.enable_topic_message_type_check
        && !topic.starts_with("%RETRY%")
        && !topic.starts_with("%DLQ%")
        && outgoing[0].message.property(props::TRANSFER_FLAG).is_none();
    if checked {
        ctx.cluster
            .topic_type(&topic)
            .await
            .check(outgoing[0].kind)?;
    }
    // Apache keys the queue on the message group only for a request of one message.
    let single = outgoing.len() == 1;
    let mut entries = Vec::with_capacity(outgoing.len());
    if !single && outgoing.iter().all(batchable) {
        // As Apache's proxy: one SEND_BATCH_MESSAGE to one queue, answered with one entry (the
        // ids comma-joined, the first message's offset).
        let messages = outgoing.into_iter().map(|o| o.message).collect();
        let entry = match ctx.cluster.producer().send_batch(messages).await {
            Ok(result) => entry_of(&result),
            Err(e) => SendResultEntry {
                status: Some(status::from_client_error(&e)),
                ..Default::default()
            },
        };
        return Ok(SendMessageResponse {
            status: entry.status.clone(),
            entries: vec![entry],
        });
    }
    for item in outgoing {
        let entry = match deliver(ctx, &topic, item, single).await {
            Ok(result) => entry_of(&result),
            Err(e) => SendResultEntry {
                status: Some(status::from_client_error(&e)),
                ..Default::default()
            },
        };
        entries.push(entry);
    }
    let mut codes: Vec<i32> = entries
        .iter()
        .filter_map(|e| e.status.as_ref().map(|s| s.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let overall = match codes.as_slice() {
        [] => status::of(Code::InternalServerError, "send status is empty"),
        [_] if entries.len() == 1 => entries[0].status.clone().unwrap_or_else(status::ok),
        [code] => {
            let code = Code::try_from(*code).unwrap_or(Code::InternalServerError);
            status::of(code, code.as_str_name())
        }
        _ => status::of(Code::MultipleResults, "MULTIPLE_RESULTS"),
    };
    Ok(SendMessageResponse {
        status: Some(overall),
        entries,
    })
}

/// Whether a message of a request of several goes in a batch. Apache's proxy batches every
/// such request; rmq's sends half messages, messages with a delivery time and GZIP bodies one by
/// one, because a batch carries one sys flag for all (compression, transaction) and Apache's
/// broker neither stores a batched half message nor delays a batched timer message
/// (docs/grpc-proxy.md, "Sending").
fn batchable(item: &Outgoing) -> bool {
    matches!(item.kind, TopicMessageType::Normal | TopicMessageType::Fifo)
        && !item.message.body_compressed()
}

/// Sends one message: a half message through the topic's transactional producer, a FIFO
/// message to the queue its group hashes to, others to the queue the producer picks.
async fn deliver(
    ctx: &Arc<ProxyContext>,
    topic: &str,
    item: Outgoing,
    single: bool,
) -> Result<SendResult, ClientError> {
    if item.kind == TopicMessageType::Transaction {
        let producer = ctx.transactions.producer(ctx, topic).await?;
        let result = producer.producer().send(item.message).await?;
        ctx.transactions.remember(
            topic,
            &result.msg_id,
            &result.offset_msg_id,
            result.queue_offset,
        );
        return Ok(result);
    }
    let producer = ctx.cluster.producer();
    match item.group.filter(|_| single) {
        Some(group) => {
            producer
                .send_with_selector(item.message, &consistent_queue, &group)
                .await
        }
        None => producer.send(item.message).await,
    }
}

/// The entry of a stored message: OK with its id, or the persistence code of a partial store.
fn entry_of(result: &SendResult) -> SendResultEntry {
    let failed = |code: Code, what: &str| SendResultEntry {
        status: Some(status::of(
            code,
            format!("send message failed, sendStatus={what}"),
        )),
        ..Default::default()
    };
    match result.status {
        SendStatus::SendOk => SendResultEntry {
            status: Some(status::ok()),
            message_id: result.msg_id.clone(),
            transaction_id: result.msg_id.clone(),
            offset: result.queue_offset,
            recall_handle: String::new(),
        },
        SendStatus::FlushDiskTimeout => {
            failed(Code::MasterPersistenceTimeout, "FLUSH_DISK_TIMEOUT")
        }
        SendStatus::FlushSlaveTimeout => {
            failed(Code::SlavePersistenceTimeout, "FLUSH_SLAVE_TIMEOUT")
        }
        SendStatus::SlaveNotAvailable => failed(Code::HaNotAvailable, "SLAVE_NOT_AVAILABLE"),
    }
}

/// The queue of a message group: Guava's `Hashing.consistentHash` of the group's Java hash
/// over the writable queues, as Apache's proxy picks it.
fn consistent_queue(queues: &[MessageQueue], _msg: &Message, group: &str) -> Option<MessageQueue> {
    let buckets = i32::try_from(queues.len()).ok().filter(|n| *n > 0)?;
    let index = consistent_hash(i64::from(java_string_hash(group)), buckets);
    queues.get(usize::try_from(index).ok()?).cloned()
}

/// Guava's `Hashing.consistentHash(long, int)` (a linear congruential walk).
fn consistent_hash(input: i64, buckets: i32) -> i32 {
    let mut state = input;
    let mut candidate: i32 = 0;
    loop {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        let next_double = f64::from(((state as u64) >> 33) as i32 + 1) / f64::from(1u32 << 31);
        let next = ((f64::from(candidate) + 1.0) / next_double) as i32;
        if next >= 0 && next < buckets {
            candidate = next;
        } else {
            return candidate;
        }
    }
}

/// Builds the RocketMQ message of `message`, with Apache's checks and their codes.
fn build(
    ctx: &ProxyContext,
    message: &v2::Message,
    topic: &str,
    remote: Option<SocketAddr>,
) -> Result<Outgoing, v2::Status> {
    let config = &ctx.config;
    let system = message.system_properties.clone().unwrap_or_default();
    if config.enable_message_body_empty_check && message.body.is_empty() {
        return Err(status::of(
            Code::MessageBodyEmpty,
            "message body cannot be empty",
        ));
    }
    if config.max_message_size > 0 && message.body.len() as i64 > config.max_message_size {
        return Err(status::of(
            Code::MessageBodyTooLarge,
            format!(
                "message body cannot exceed the max {}",
                config.max_message_size
            ),
        ));
    }
    let mut out = Message::new(topic, Bytes::from(message.body.clone()));
    if system.body_encoding == Encoding::Gzip as i32 {
        // Apache's proxy stores the body as sent, with the COMPRESSED flag: consumers inflate it.
        out = out.with_compressed_body();
    }
    let property_error = |code: Code, text: String| Err(status::of(code, text));
    if message.user_properties.len() as i64 > config.user_property_max_num {
        return property_error(
            Code::MessagePropertiesTooLarge,
            format!(
                "too many user properties, max is {}",
                config.user_property_max_num
            ),
        );
    }
    let mut size: i64 = 0;
    let mut user: Vec<(&String, &String)> = message.user_properties.iter().collect();
    user.sort();
    for (key, value) in user {
        if props::is_system(key) {
            return property_error(
                Code::IllegalMessagePropertyKey,
                format!("property is used by system: {key}"),
            );
        }
        if validate::has_control_character(key) {
            return property_error(
                Code::IllegalMessagePropertyKey,
                "the key of property cannot contain control character".into(),
            );
        }
        if validate::has_control_character(value) {
            return property_error(
                Code::IllegalMessagePropertyKey,
                "the value of property cannot contain control character".into(),
            );
        }
        size += (key.len() + value.len()) as i64;
        out = out.with_property(key.clone(), value.clone());
    }
    let tag = system.tag.clone().unwrap_or_default();
    validate::tag(&tag)?;
    if !tag.is_empty() {
        out = out.with_tags(tag.clone());
    }
    size += tag.len() as i64;
    for key in &system.keys {
        if !key.is_empty() && key.trim().is_empty() {
            return property_error(
                Code::IllegalMessageKey,
                "key cannot be the char sequence of whitespace".into(),
            );
        }
        if validate::has_control_character(key) {
            return property_error(
                Code::IllegalMessageKey,
                "key cannot contain control character".into(),
            );
        }
        size += key.len() as i64;
    }
    if !system.keys.is_empty() {
        out = out.with_keys(&system.keys);
    }
    if size > config.max_user_property_size {
        return property_error(
            Code::MessagePropertiesTooLarge,
            format!(
                "the total size of user property is too large, max is {}",
                config.max_user_property_size
            ),
        );
    }
    if system.message_id.trim().is_empty() {
        return property_error(Code::IllegalMessageId, "message id cannot be empty".into());
    }
    out = out.with_system_property(keys::UNIQ_KEY, &system.message_id);
    if system.message_type == v2::MessageType::Transaction as i32 {
        out = out.with_system_property(keys::TRAN_MSG, "true");
        if let Some(recovery) = &system.orphaned_transaction_recovery_duration {
            let seconds = recovery.seconds;
            if config.max_transaction_recovery_second > 0
                && seconds > config.max_transaction_recovery_second
            {
                return property_error(
                    Code::BadRequest,
                    format!(
                        "the max transaction recovery time of message is too large, max is {}",
                        config.max_transaction_recovery_second
                    ),
                );
            }
            out = out
                .with_system_property(props::CHECK_IMMUNITY_TIME_IN_SECONDS, &seconds.to_string());
        }
    }
    if let Some(delivery) = &system.delivery_timestamp {
        let at = convert::millis(delivery);
        if config.max_delay_time_mills > 0 && at - convert::now_ms() > config.max_delay_time_mills {
            return property_error(
                Code::IllegalDeliveryTime,
                format!(
                    "the max delay time of message is too large, max is {}",
                    config.max_delay_time_mills
                ),
            );
        }
        out = out.with_system_property(keys::TIMER_DELIVER_MS, &at.to_string());
    }
    out = out
        .with_system_property(
            keys::RECONSUME_TIME,
            &system.delivery_attempt.unwrap_or(0).to_string(),
        )
        .with_system_property(keys::PGROUP, topic);
    let group = system.message_group.clone().filter(|g| !g.is_empty());
    if let Some(group) = &group {
        if group.trim().is_empty() {
            return property_error(
                Code::IllegalMessageGroup,
                "message group cannot be the char sequence of whitespace".into(),
            );
        }
        if config.max_message_group_size > 0 && group.len() as i64 >= config.max_message_group_size
        {
            return property_error(
                Code::IllegalMessageGroup,
                format!(
                    "message group exceed the max size {}",
                    config.max_message_group_size
                ),
            );
        }
        if validate::has_control_character(group) {
            return property_error(
                Code::IllegalMessageGroup,
                "message group cannot contain control character".into(),
            );
        }
        out = out.with_system_property(props::SHARDING_KEY, group);
    }
    if let Some(trace) = system.trace_context.as_ref().filter(|t| !t.is_empty()) {
        out = out.with_system_property(props::TRACE_CONTEXT, trace);
    }
    let born_host = if system.born_host.trim().is_empty() {
        remote.map(|a| a.to_string()).unwrap_or_default()
    } else {
        system.born_host.clone()
    };
    if !born_host.trim().is_empty() {
        out = out.with_system_property(props::BORN_HOST, &born_host);
    }
    if let Some(born) = &system.born_timestamp {
        out = out.with_system_property(props::BORN_TIMESTAMP, &convert::millis(born).to_string());
    }
    let kind = TopicMessageType::of_message(|name| out.property(name).is_some());
    Ok(Outgoing {
        message: out,
        group,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistent_hash_matches_guava() {
        // Hashing.consistentHash(group.hashCode(), n) printed by Guava 32.0.1.
        for (group, of8, of3) in [
            ("g0", 0, 0),
            ("g1", 6, 0),
            ("order-7", 4, 0),
            ("group-A", 2, 2),
            ("x", 4, 1),
        ] {
            let hash = i64::from(java_string_hash(group));
            assert_eq!(consistent_hash(hash, 8), of8, "{group} of 8");
            assert_eq!(consistent_hash(hash, 3), of3, "{group} of 3");
        }
    }
}
