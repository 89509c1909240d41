//! HEART_BEAT, UNREGISTER_CLIENT and GET_CONSUMER_LIST_BY_GROUP: who is connected, in which
//! groups, subscribed to what.

use std::sync::Arc;
use std::time::Instant;

use rmq_remoting::body::client::{GetConsumerListByGroupResponseBody, HeartbeatData};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::handler;
use crate::clients::ClientChannel;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::HEART_BEAT, handler(ctx, heartbeat))
        .route(RequestCode::UNREGISTER_CLIENT, handler(ctx, unregister))
        .route(
            RequestCode::GET_CONSUMER_LIST_BY_GROUP,
            handler(ctx, consumer_list),
        )
}

async fn heartbeat(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let data: HeartbeatData = fastjson::from_slice(&req.body).map_err(|e| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the HEART_BEAT body is invalid: {e}"),
        )
    })?;
    let channel = ClientChannel {
        conn: conn.clone(),
        client_id: data.client_id.clone(),
        language: req.language.name().to_owned(),
        version: req.version,
        last_update: Instant::now(),
    };
    for consumer in &data.consumer_data_set {
        if let Some(group) = ctx.groups.get_or_create(&consumer.group_name) {
            if group.retry_queue_nums > 0 {
                match ctx
                    .topics
                    .get_or_create_retry_topic(&consumer.group_name, group.retry_queue_nums)
                {
                    // Admin tools find a group's broker through its retry topic's route.
                    Ok((_, true)) => {
                        ctx.topic_changes.announce();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(group = %consumer.group_name, error = %e, "cannot create the retry topic")
                    }
                }
            }
        }
        let joined = ctx.clients.register_consumer(consumer, channel.clone());
        if joined {
            tracing::info!(group = %consumer.group_name, client = %data.client_id, "consumer joined");
            if ctx.live.notify_consumer_ids_changed_enable() {
                ctx.clients
                    .notify_consumer_ids_changed(&consumer.group_name)
                    .await;
            }
        }
    }
    for producer in &data.producer_data_set {
        ctx.clients
            .register_producer(&producer.group_name, channel.clone());
    }
    Ok(RemotingCommand::success())
}

async fn unregister(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: UnregisterClientRequestHeader = req.decode_header()?;
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        ctx.clients.unregister_producer(group, conn.id());
    }
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if ctx.clients.unregister_consumer(group, conn.id())
            && ctx.live.notify_consumer_ids_changed_enable()
        {
            tracing::info!(group, client = %h.client_id, "consumer left");
            ctx.clients.notify_consumer_ids_changed(group).await;
        }
    }
    Ok(RemotingCommand::success())
}

async fn consumer_list(
    ctx: Arc<BrokerContext>,
    _conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumerListByGroupRequestHeader = req.decode_header()?;
    let consumer_id_list = ctx.clients.consumer_ids(&h.consumer_group);
    if consumer_id_list.is_empty() {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        ));
    }
    let body = GetConsumerListByGroupResponseBody { consumer_id_list };
    Ok(RemotingCommand::success().with_body(fastjson::to_vec(&body, KeyStyle::Fastjson)))
}
