//! GET_TOPIC_CONFIG (351, RocketMQ 5): one topic's settings on this broker, which the 5.x admin
//! client's `examineTopicConfig` and Apache's dashboard (topic status and config pages, sending a
//! test message) ask for instead of the whole table; GET_SUBSCRIPTIONGROUP_CONFIG (352): one
//! group's, which Apache's 5.x proxy reads before it pops (orderly or not, maximum attempts
//! before the dead-letter queue).

use std::sync::Arc;

use rmq_remoting::header::broker::{GetSubscriptionGroupConfigRequestHeader, TopicRequestHeader};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::admin::json_answer;
use super::handler;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::GET_TOPIC_CONFIG, handler(ctx, topic_config))
        .route(
            RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
            handler(ctx, group_config),
        )
}

/// Answers Java's `SubscriptionGroupConfig` (created first if `autoCreateSubscriptionGroup`, as
/// Apache's `findSubscriptionGroupConfig`), or SUBSCRIPTION_GROUP_NOT_EXIST with Apache's remark.
async fn group_config(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetSubscriptionGroupConfigRequestHeader = req.decode_header()?;
    match ctx.groups.get_or_create(&h.group) {
        Some(config) => Ok(json_answer(&config)),
        None => Err(CommandError::new(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "No group in this broker",
        )),
    }
}

/// Answers Java's `TopicConfigAndQueueMapping`: the topic's `TopicConfig` fields, without a
/// `mappingDetail` because rmq has no static topics (the `lo` flag asks for that mapping).
async fn topic_config(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: TopicRequestHeader = req.decode_header()?;
    match ctx.topics.get(&h.topic) {
        Some(config) => Ok(json_answer(&config)),
        None => Err(CommandError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        )),
    }
}
