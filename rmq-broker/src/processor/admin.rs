//! What `mqadmin`, `DefaultMQAdminExt` and the dashboard ask a broker in ordinary use: topic and
//! subscription-group management, runtime and configuration reports, consumption progress,
//! connections, and resetting a group's offsets to a point in time (docs/remoting-protocol.md §6.11,
//! docs/behaviour.md §5.10 and §8).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_remoting::body::client::{
    Connection as ClientConnection, ConsumerConnection, MessageQueue, ProducerConnection,
};
use rmq_remoting::body::route::TopicList;
use rmq_remoting::body::stats::{
    ConsumerOffsetSerializeWrapper, QueryConsumeTimeSpanBody, QueueTimeSpan, ResetOffsetBody,
    ResetOffsetBodyForC, SubscriptionGroupConfig, TopicOffset, TopicStatsTable,
};
use rmq_remoting::body::topic::TopicConfig;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
    QueryConsumeTimeSpanRequestHeader, ResetOffsetRequestHeader, TopicRequestHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use serde::Serialize;

use super::handler;
use crate::state::BrokerContext;
use crate::topics::{is_java_system_topic, validate_topic_name, JAVA_SYSTEM_TOPICS, TIMER_TOPIC};

/// What `GET_BROKER_RUNTIME_INFO` reports as the broker's version (the release whose protocol
/// rmq speaks, matching the `version` ordinal in every command it sends).
pub(super) const BROKER_VERSION_DESC: &str = "V4_9_8";

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(
            RequestCode::UPDATE_AND_CREATE_TOPIC,
            handler(ctx, update_and_create_topic),
        )
        .route(
            RequestCode::DELETE_TOPIC_IN_BROKER,
            handler(ctx, delete_topic),
        )
        .route(
            RequestCode::GET_ALL_TOPIC_CONFIG,
            handler(ctx, all_topic_config),
        )
        .route(
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
            handler(ctx, update_and_create_group),
        )
        .route(
            RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
            handler(ctx, all_group_config),
        )
        .route(
            RequestCode::DELETE_SUBSCRIPTIONGROUP,
            handler(ctx, delete_group),
        )
        .route(
            RequestCode::GET_BROKER_RUNTIME_INFO,
            handler(ctx, super::runtime_info::runtime_info),
        )
        .route(RequestCode::GET_TOPIC_STATS_INFO, handler(ctx, topic_stats))
        .route(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            handler(ctx, consumer_connections),
        )
        .route(
            RequestCode::GET_PRODUCER_CONNECTION_LIST,
            handler(ctx, producer_connections),
        )
        .route(
            RequestCode::GET_ALL_CONSUMER_OFFSET,
            handler(ctx, all_consumer_offsets),
        )
        .route(
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
            handler(ctx, reset_offset),
        )
        .route(
            RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
            handler(ctx, topic_consumed_by),
        )
        .route(
            RequestCode::QUERY_CONSUME_TIME_SPAN,
            handler(ctx, consume_time_span),
        )
        .route(
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
            handler(ctx, system_topics),
        )
}

fn refuse(code: ResponseCode, remark: impl Into<String>) -> CommandError {
    CommandError::new(code, remark)
}

/// A success carrying `body` as fastjson (unquoted integer keys, raw object keys).
pub(super) fn json_answer<T: Serialize>(body: &T) -> RemotingCommand {
    RemotingCommand::success().with_body(fastjson::to_vec(body, KeyStyle::Fastjson))
}

fn millis_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn now_millis() -> i64 {
    millis_since_epoch(SystemTime::now())
}

pub(super) fn boot_millis(ctx: &BrokerContext) -> i64 {
    millis_since_epoch(ctx.boot_time)
}

fn system_topic_refusal(topic: &str) -> CommandError {
    refuse(
        ResponseCode::SYSTEM_ERROR,
        format!(
            "The topic[{topic}] is conflicted with system topic; the broker manages it itself."
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Topics
// ---------------------------------------------------------------------------------------------

async fn update_and_create_topic(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    crate::role::refuse_admin_write(&ctx)?;
    let h: CreateTopicRequestHeader = req.decode_header()?;
    validate_topic_name(&h.topic).map_err(|why| refuse(ResponseCode::SYSTEM_ERROR, why))?;
    if h.topic == ctx.config.broker_cluster_name {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the topic[{}] is conflict with system reserved words: it is this broker's cluster name",
                h.topic
            ),
        ));
    }
    if is_java_system_topic(&h.topic) {
        return Err(system_topic_refusal(&h.topic));
    }
    if h.read_queue_nums < 0 || h.write_queue_nums < 0 {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the topic[{}] cannot have a negative queue count (readQueueNums={}, writeQueueNums={})",
                h.topic, h.read_queue_nums, h.write_queue_nums
            ),
        ));
    }
    let existing = ctx.topics.get(&h.topic);
    let current = existing
        .as_ref()
        .and_then(|t| t.attributes.clone())
        .unwrap_or_default();
    let attributes = crate::topic_attributes::alter(
        existing.is_none(),
        &current,
        h.attributes.as_deref().unwrap_or(""),
    )
    .map_err(|r| refuse(r.code, r.remark))?;
    let attributes = (!attributes.is_empty()).then_some(attributes);
    let config = TopicConfig {
        order: h.order,
        perm: h.perm,
        read_queue_nums: h.read_queue_nums,
        topic_filter_type: h.topic_filter_type,
        topic_name: h.topic.clone(),
        topic_sys_flag: h.topic_sys_flag,
        write_queue_nums: h.write_queue_nums,
        attributes,
    };
    ctx.topics.put(config).map_err(|e| {
        refuse(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot persist the topic[{}]: {e}", h.topic),
        )
    })?;
    tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums, perm = h.perm, "topic created or updated by an admin");
    // As Apache's broker, answer once the name servers were told: a tool that creates a topic
    // and then reads its route (Apache's proxy checks it three times without pausing) must find
    // it. A registration already under way may have read the table before the change, so this
    // may wait for it and the next one.
    let change = ctx.topic_changes.announce();
    if !ctx
        .topic_changes
        .wait_registered(change, 2 * crate::registration::REGISTER_TIMEOUT)
        .await
    {
        tracing::warn!(topic = %h.topic, "the name servers were not told of the topic in time; the next registration will");
    }
    Ok(RemotingCommand::success())
}

async fn delete_topic(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    crate::role::refuse_admin_write(&ctx)?;
    let h: TopicRequestHeader = req.decode_header()?;
    if h.topic.is_empty() {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            "the topic to delete is empty",
        ));
    }
    if is_java_system_topic(&h.topic) {
        return Err(system_topic_refusal(&h.topic));
    }
    let existed = ctx.topics.remove(&h.topic).map_err(|e| {
        refuse(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot persist the deletion of topic[{}]: {e}", h.topic),
        )
    })?;
    ctx.offsets.remove_topic(&h.topic);
    if existed {
        tracing::info!(topic = %h.topic, "topic deleted by an admin");
        ctx.topic_changes.announce();
    }
    Ok(RemotingCommand::success())
}

async fn all_topic_config(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    Ok(json_answer(&ctx.topics.snapshot()))
}

/// What Java's `getSystemTopic()` lists: `TopicValidator`'s system topics whether or not they
/// exist yet (consoles classify topics by this list), and the topics this broker created for
/// itself.
fn system_topic_names(ctx: &BrokerContext) -> BTreeSet<String> {
    let cluster = &ctx.config.broker_cluster_name;
    let own = [
        TIMER_TOPIC.to_owned(),
        cluster.clone(),
        ctx.config.broker_name.clone(),
        format!("{cluster}_REPLY_TOPIC"),
    ]
    .into_iter()
    .filter(|t| ctx.topics.get(t).is_some());
    JAVA_SYSTEM_TOPICS
        .iter()
        .map(|t| (*t).to_owned())
        .chain(own)
        .collect()
}

async fn system_topics(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    Ok(json_answer(&TopicList {
        topic_list: system_topic_names(&ctx),
        broker_addr: None,
    }))
}

async fn topic_stats(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: TopicRequestHeader = req.decode_header()?;
    let Some(topic) = ctx.topics.get(&h.topic) else {
        return Err(refuse(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "topic[{}] not exist on broker {}",
                h.topic, ctx.config.broker_name
            ),
        ));
    };
    let mut table = TopicStatsTable::default();
    for queue_id in 0..topic.write_queue_nums {
        let min_offset = ctx.store.min_offset_in_queue(&h.topic, queue_id).max(0);
        let max_offset = ctx.store.max_offset_in_queue(&h.topic, queue_id).max(0);
        let last_update_timestamp = if max_offset > 0 {
            ctx.store
                .message_store_timestamp(&h.topic, queue_id, max_offset - 1)
                .unwrap_or(0)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue::new(&h.topic, &ctx.config.broker_name, queue_id),
            TopicOffset {
                last_update_timestamp,
                max_offset,
                min_offset,
            },
        );
    }
    Ok(json_answer(&table))
}

// ---------------------------------------------------------------------------------------------
// Subscription groups and consumption
// ---------------------------------------------------------------------------------------------

async fn update_and_create_group(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    crate::role::refuse_admin_write(&ctx)?;
    let config: SubscriptionGroupConfig = fastjson::from_slice(&req.body).map_err(|e| {
        refuse(
            ResponseCode::SYSTEM_ERROR,
            format!("the UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body is not a SubscriptionGroupConfig: {e}"),
        )
    })?;
    if config.group_name.trim().is_empty() {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            "the subscription group's groupName is empty",
        ));
    }
    let name = config.group_name.clone();
    ctx.groups.put(config).map_err(|e| {
        refuse(
            ResponseCode::SYSTEM_ERROR,
            format!("cannot persist the subscription group [{name}]: {e}"),
        )
    })?;
    tracing::info!(group = %name, "subscription group created or updated by an admin");
    Ok(RemotingCommand::success())
}

async fn all_group_config(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    Ok(json_answer(&ctx.groups.snapshot()))
}

async fn delete_group(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    crate::role::refuse_admin_write(&ctx)?;
    let h: DeleteSubscriptionGroupRequestHeader = req.decode_header()?;
    ctx.groups.remove(&h.group_name).map_err(|e| {
        refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "cannot persist the deletion of subscription group [{}]: {e}",
                h.group_name
            ),
        )
    })?;
    if h.clean_offset == Some(true) {
        ctx.offsets.remove_group(&h.group_name);
    }
    Ok(RemotingCommand::success())
}

async fn consume_time_span(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: QueryConsumeTimeSpanRequestHeader = req.decode_header()?;
    let Some(topic) = ctx.topics.get(&h.topic) else {
        return Err(refuse(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "[QueryConsumeTimeSpan] topic[{}] not exist on this broker",
                h.topic
            ),
        ));
    };
    let now = now_millis();
    let mut body = QueryConsumeTimeSpanBody::default();
    for queue_id in 0..topic.write_queue_nums {
        let store_time = |offset: i64| {
            ctx.store
                .message_store_timestamp(&h.topic, queue_id, offset)
        };
        let min_offset = ctx.store.min_offset_in_queue(&h.topic, queue_id);
        let max_offset = ctx.store.max_offset_in_queue(&h.topic, queue_id);
        let min_time_stamp = store_time(min_offset).unwrap_or(0);
        let max_time_stamp = if max_offset > 0 {
            store_time(max_offset - 1).unwrap_or(0)
        } else {
            0
        };
        let consumer_offset = ctx
            .offsets
            .query(&h.group, &h.topic, queue_id)
            .unwrap_or(min_offset)
            .max(min_offset);
        let consume_time_stamp = if consumer_offset > min_offset {
            store_time(consumer_offset - 1).unwrap_or(min_time_stamp)
        } else {
            min_time_stamp
        };
        let delay_time = if consumer_offset < max_offset {
            store_time(consumer_offset).map_or(0, |next| (now - next).max(0))
        } else {
            0
        };
        body.consume_time_span_set.push(QueueTimeSpan {
            consume_time_stamp,
            delay_time,
            max_time_stamp,
            message_queue: MessageQueue::new(&h.topic, &ctx.config.broker_name, queue_id),
            min_time_stamp,
        });
    }
    Ok(json_answer(&body))
}

/// QUERY_TOPIC_CONSUME_BY_WHO answer (`GroupList`): the groups consuming a topic.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupList {
    group_list: BTreeSet<String>,
}

async fn topic_consumed_by(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: TopicRequestHeader = req.decode_header()?;
    let mut group_list: BTreeSet<String> =
        ctx.offsets.groups_of_topic(&h.topic).into_iter().collect();
    for group in ctx.clients.consumer_group_names() {
        if ctx
            .clients
            .consumer_group(&group)
            .is_some_and(|g| g.subscriptions.contains_key(&h.topic))
        {
            group_list.insert(group);
        }
    }
    Ok(json_answer(&GroupList { group_list }))
}

async fn all_consumer_offsets(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    Ok(json_answer(&ConsumerOffsetSerializeWrapper {
        data_version: None,
        offset_table: ctx.offsets.snapshot().offset_table,
    }))
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

fn connection_of(channel: &crate::clients::ClientChannel) -> ClientConnection {
    ClientConnection {
        client_addr: channel.conn.peer_addr().to_string(),
        client_id: channel.client_id.clone(),
        language: channel.language.clone(),
        version: channel.version,
    }
}

async fn consumer_connections(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumerConnectionListRequestHeader = req.decode_header()?;
    let Some(group) = ctx.clients.consumer_group(&h.consumer_group) else {
        return Err(refuse(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!(
                "the consumer group[{}] not online: no consumer of it is connected to this broker",
                h.consumer_group
            ),
        ));
    };
    let mut connection_set: Vec<ClientConnection> =
        group.channels.values().map(connection_of).collect();
    connection_set.sort();
    Ok(json_answer(&ConsumerConnection {
        connection_set,
        consume_from_where: Some(group.consume_from_where),
        consume_type: Some(group.consume_type),
        message_model: Some(group.message_model),
        subscription_table: group.subscriptions,
    }))
}

async fn producer_connections(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetProducerConnectionListRequestHeader = req.decode_header()?;
    let mut connection_set: Vec<ClientConnection> = ctx
        .clients
        .producers(&h.producer_group)
        .iter()
        .map(connection_of)
        .collect();
    if connection_set.is_empty() {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the producer group[{}] not exist: no producer of it is connected to this broker",
                h.producer_group
            ),
        ));
    }
    connection_set.sort();
    Ok(json_answer(&ProducerConnection { connection_set }))
}

// ---------------------------------------------------------------------------------------------
// Resetting offsets
// ---------------------------------------------------------------------------------------------

/// Where one queue's offset goes on a reset: `found` (the offset for the requested time) when
/// forced, when it moves the group backwards, or when the group has no offset there yet;
/// otherwise the group stays where it is (unforced resets never skip messages).
fn reset_target(committed: Option<i64>, found: i64, force: bool) -> i64 {
    let found = found.max(0);
    match committed {
        Some(current) if !force && found >= current => current,
        _ => found,
    }
}

async fn reset_offset(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: ResetOffsetRequestHeader = req.decode_header()?;
    let Some(topic) = ctx.topics.get(&h.topic) else {
        return Err(refuse(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                h.topic
            ),
        ));
    };
    let queues: Vec<i32> = if h.queue_id >= 0 {
        if h.queue_id >= topic.write_queue_nums.max(topic.read_queue_nums) {
            return Err(refuse(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "[reset-offset] queueId {} is out of range: topic {} has {} queues on this broker",
                    h.queue_id, h.topic, topic.write_queue_nums
                ),
            ));
        }
        vec![h.queue_id]
    } else {
        (0..topic.write_queue_nums).collect()
    };
    let mut body = ResetOffsetBody::default();
    for queue_id in queues {
        let min = ctx.store.min_offset_in_queue(&h.topic, queue_id);
        let max = ctx.store.max_offset_in_queue(&h.topic, queue_id);
        let found = match h.offset {
            // 5.x: an explicit offset for one queue.
            Some(offset) if h.queue_id >= 0 => offset.clamp(min, max),
            _ if h.timestamp == -1 => max,
            _ => ctx
                .store
                .offset_in_queue_by_time(&h.topic, queue_id, h.timestamp),
        };
        let committed = ctx.offsets.query(&h.group, &h.topic, queue_id);
        let target = reset_target(committed, found, h.is_force);
        ctx.offsets.commit(&h.group, &h.topic, queue_id, target);
        body.offset_table.insert(
            MessageQueue::new(&h.topic, &ctx.config.broker_name, queue_id),
            target,
        );
    }
    tracing::info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, force = h.is_force, "consumer offsets reset by an admin");
    push_reset_to_consumers(&ctx, &h, &body).await;
    Ok(json_answer(&body))
}

/// Tells every connected consumer of the group to adopt the new offsets now
/// (RESET_CONSUMER_CLIENT_OFFSET, oneway); C++ clients get the list form they can parse.
async fn push_reset_to_consumers(
    ctx: &BrokerContext,
    h: &ResetOffsetRequestHeader,
    body: &ResetOffsetBody,
) {
    let Some(group) = ctx.clients.consumer_group(&h.group) else {
        return;
    };
    let header = ResetOffsetRequestHeader {
        topic: h.topic.clone(),
        group: h.group.clone(),
        timestamp: h.timestamp,
        is_force: h.is_force,
        queue_id: h.queue_id,
        offset: None,
    };
    let for_java = fastjson::to_vec(body, KeyStyle::Fastjson);
    let for_cpp = fastjson::to_vec(&ResetOffsetBodyForC::from(body), KeyStyle::Standard);
    for channel in group.channels.values() {
        let payload = if channel.language == "CPP" {
            for_cpp.clone()
        } else {
            for_java.clone()
        };
        let request = RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET, &header)
            .with_body(payload);
        if let Err(err) = channel.conn.invoke_oneway(request).await {
            tracing::warn!(group = %h.group, client = %channel.client_id, error = %err, "cannot push the offset reset to a consumer; it will pick the offsets up after a restart");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unforced_resets_only_move_backwards() {
        // The time points before the group: go back.
        assert_eq!(reset_target(Some(100), 40, false), 40);
        // The time points past the group: stay, nothing is skipped.
        assert_eq!(reset_target(Some(100), 140, false), 100);
        assert_eq!(reset_target(Some(100), 100, false), 100);
    }

    #[test]
    fn forced_resets_move_either_way() {
        assert_eq!(reset_target(Some(100), 140, true), 140);
        assert_eq!(reset_target(Some(100), 40, true), 40);
    }

    #[test]
    fn a_queue_without_an_offset_takes_the_found_one_and_negatives_become_zero() {
        assert_eq!(reset_target(None, 7, false), 7);
        assert_eq!(reset_target(None, -1, true), 0);
        assert_eq!(reset_target(Some(5), -1, false), 0);
    }
}
