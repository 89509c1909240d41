//! LOCK_BATCH_MQ and UNLOCK_BATCH_MQ: orderly consumers take exclusive ownership of queues
//! before consuming them (docs/remoting-protocol.md §6.8).

use std::sync::Arc;
use std::time::Instant;

use rmq_remoting::body::client::{
    LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::transport::{HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use serde::de::DeserializeOwned;

use super::handler;
use crate::rebalance_lock::RebalanceLocks;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    // The lock table is only consulted by these two commands, so it lives with their routes.
    let locks = Arc::new(RebalanceLocks::default());
    let for_lock = locks.clone();
    router
        .route(
            RequestCode::LOCK_BATCH_MQ,
            handler(ctx, move |_, _, req| {
                let locks = for_lock.clone();
                async move { lock_batch(&locks, &req) }
            }),
        )
        .route(
            RequestCode::UNLOCK_BATCH_MQ,
            handler(ctx, move |_, _, req| {
                let locks = locks.clone();
                async move { unlock_batch(&locks, &req) }
            }),
        )
}

fn body<T: DeserializeOwned>(req: &RemotingCommand, what: &str) -> Result<T, CommandError> {
    fastjson::from_slice(&req.body).map_err(|e| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the {what} body is invalid: {e}"),
        )
    })
}

fn lock_batch(locks: &RebalanceLocks, req: &RemotingCommand) -> HandlerResult {
    let request: LockBatchRequestBody = body(req, "LOCK_BATCH_MQ")?;
    let lock_ok_mq_set = locks.try_lock_batch(
        &request.consumer_group,
        &request.mq_set,
        &request.client_id,
        Instant::now(),
    );
    let answer = LockBatchResponseBody { lock_ok_mq_set };
    Ok(RemotingCommand::success().with_body(fastjson::to_vec(&answer, KeyStyle::Fastjson)))
}

fn unlock_batch(locks: &RebalanceLocks, req: &RemotingCommand) -> HandlerResult {
    let request: UnlockBatchRequestBody = body(req, "UNLOCK_BATCH_MQ")?;
    locks.unlock_batch(&request.consumer_group, &request.mq_set, &request.client_id);
    Ok(RemotingCommand::success())
}
