//! What `mqadmin` asks the store to clean: DELETE_EXPIRED_COMMITLOG (`deleteExpiredCommitLog`:
//! one retention pass now, whatever `deleteWhen` says), CLEAN_EXPIRED_CONSUMEQUEUE
//! (`cleanExpiredCQ`: drop the queues whose every message is gone) and CLEAN_UNUSED_TOPIC
//! (`cleanUnusedTopic`: drop the queues of topics the broker no longer has).

use std::sync::Arc;

use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use rmq_store::{MessageStore, SCHEDULE_TOPIC, TIMER_TOPIC};

use super::handler;
use crate::state::BrokerContext;
use crate::transaction::{HALF_TOPIC, OP_TOPIC};

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(
            RequestCode::DELETE_EXPIRED_COMMITLOG,
            handler(ctx, delete_expired_commit_log),
        )
        .route(
            RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
            handler(ctx, clean_expired_consume_queues),
        )
        .route(
            RequestCode::CLEAN_UNUSED_TOPIC,
            handler(ctx, clean_unused_topics),
        )
}

/// Topics whose queues the broker tracks progress in itself (delayed delivery, timers,
/// transactions): never dropped, since a queue restarting at offset 0 would hide messages
/// from that progress.
const INTERNAL_TOPICS: &[&str] = &[SCHEDULE_TOPIC, TIMER_TOPIC, HALF_TOPIC, OP_TOPIC];

/// Runs `work` on the store on a blocking thread (it deletes files).
async fn on_store<T: Send + 'static>(
    ctx: &BrokerContext,
    what: &'static str,
    work: impl FnOnce(&MessageStore) -> rmq_store::Result<T> + Send + 'static,
) -> Result<T, CommandError> {
    let failed = |why: String| {
        CommandError::new(ResponseCode::SYSTEM_ERROR, format!("{what} failed: {why}"))
    };
    let store = ctx.store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))
}

/// As Apache's `cleanExpiredConsumerQueue`: a queue whose last entry points below the commit
/// log's minimum offset is dropped (rmq's retention pass already drops the files below it, but
/// keeps each queue's last file).
async fn clean_expired_consume_queues(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let dropped = on_store(&ctx, "cleaning expired consume queues", |store| {
        store.clean_expired_consume_queues(INTERNAL_TOPICS)
    })
    .await?;
    tracing::info!(queues = ?dropped, "expired consume queues dropped at an admin's request");
    Ok(RemotingCommand::success())
}

/// As Apache's `cleanUnusedTopic`: the queues of every topic missing from the topic table go.
async fn clean_unused_topics(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let in_use: std::collections::HashSet<String> = ctx.topics.names().into_iter().collect();
    let dropped = on_store(&ctx, "cleaning unused topics", move |store| {
        store.clean_unused_topics(&|topic| {
            in_use.contains(topic) || INTERNAL_TOPICS.contains(&topic)
        })
    })
    .await?;
    tracing::info!(queues = ?dropped, "consume queues of unused topics dropped at an admin's request");
    Ok(RemotingCommand::success())
}

/// Apache flags the files for its clean-up service and answers at once; rmq runs the pass on a
/// blocking thread and answers when it is done, so the caller sees the files gone.
async fn delete_expired_commit_log(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let deleted = on_store(&ctx, "deleting expired commit-log files", |store| {
        store.clean_expired_files_now()
    })
    .await?;
    tracing::info!(
        files = deleted,
        "expired commit-log files deleted at an admin's request"
    );
    Ok(RemotingCommand::success())
}
