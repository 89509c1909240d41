//! DELETE_EXPIRED_COMMITLOG (`mqadmin deleteExpiredCommitLog`): one retention pass now,
//! whatever `deleteWhen` says. Commit-log files older than `fileReservedTime` go, and the
//! consume queues and index follow them, as in the periodic pass.

use std::sync::Arc;

use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::handler;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(
        RequestCode::DELETE_EXPIRED_COMMITLOG,
        handler(ctx, delete_expired_commit_log),
    )
}

/// Apache flags the files for its clean-up service and answers at once; rmq runs the pass on a
/// blocking thread and answers when it is done, so the caller sees the files gone.
async fn delete_expired_commit_log(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let store = ctx.store.clone();
    let failed = |why: String| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("deleting expired commit-log files failed: {why}"),
        )
    };
    let deleted = tokio::task::spawn_blocking(move || store.clean_expired_files_now())
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))?;
    tracing::info!(
        files = deleted,
        "expired commit-log files deleted at an admin's request"
    );
    Ok(RemotingCommand::success())
}
