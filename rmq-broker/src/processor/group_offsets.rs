//! CLONE_GROUP_OFFSET (`mqadmin cloneGroupOffset`): a new consumer group starts where another
//! one is, topic by topic, as Apache 4.9's AdminBrokerProcessor does it.

use std::sync::Arc;

use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{RemotingCommand, RequestCode};
use serde::Deserialize;

use super::handler;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(
        RequestCode::CLONE_GROUP_OFFSET,
        handler(ctx, clone_group_offset),
    )
}

/// CLONE_GROUP_OFFSET request header (Apache's `CloneGroupOffsetRequestHeader`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloneGroupOffsetHeader {
    src_group: String,
    dest_group: String,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    offline: bool,
}

/// Copies `srcGroup`'s committed offsets to `destGroup` for `topic`, or for every topic
/// `srcGroup` has offsets in when `topic` is blank. As Apache: a topic this broker does not
/// have is skipped, and unless `offline`, so is a topic the source group's online consumers do
/// not subscribe to (when it has online consumers). Answers SUCCESS either way.
async fn clone_group_offset(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: CloneGroupOffsetHeader = req.decode_header()?;
    let topics = match h.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(topic) => vec![topic.to_owned()],
        None => ctx.offsets.topics_of_group(&h.src_group),
    };
    let online = ctx.clients.consumer_group(&h.src_group);
    let mut cloned = Vec::new();
    for topic in topics {
        if ctx.topics.get(&topic).is_none() {
            tracing::warn!(%topic, "cloneGroupOffset: the topic does not exist on this broker; skipped");
            continue;
        }
        let subscribed = online
            .as_ref()
            .is_none_or(|g| g.subscriptions.is_empty() || g.subscriptions.contains_key(&topic));
        if !h.offline && !subscribed {
            tracing::warn!(%topic, group = %h.src_group, "cloneGroupOffset: the online group does not subscribe to the topic; skipped");
            continue;
        }
        for (queue_id, offset) in ctx.offsets.queues(&h.src_group, &topic) {
            ctx.offsets.commit(&h.dest_group, &topic, queue_id, offset);
        }
        cloned.push(topic);
    }
    tracing::info!(src = %h.src_group, dest = %h.dest_group, topics = ?cloned, "consumer offsets cloned by an admin");
    Ok(RemotingCommand::success())
}
