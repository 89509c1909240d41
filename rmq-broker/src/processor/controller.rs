//! The two requests of controller mode a broker serves: GET_BROKER_EPOCH_CACHE (a slave, or
//! `mqadmin getBrokerEpoch`, reads this replica's epoch history) and NOTIFY_BROKER_ROLE_CHANGED
//! (the controller announces a new master; `docs/replication.md`, "Failover").

use std::sync::Arc;

use rmq_remoting::body::controller::SyncStateSet;
use rmq_remoting::fastjson;
use rmq_remoting::header::controller::MasterInfoHeader;
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::handler;
use crate::controller::{epoch_cache_answer, RoleNotice};
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(
            RequestCode::GET_BROKER_EPOCH_CACHE,
            handler(ctx, |ctx, _, _| async move { Ok(epoch_cache_answer(&ctx)) }),
        )
        .route(
            RequestCode::NOTIFY_BROKER_ROLE_CHANGED,
            handler(ctx, role_changed),
        )
}

async fn role_changed(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    request: RemotingCommand,
) -> HandlerResult {
    let Some(shared) = ctx.controller.as_ref() else {
        return Ok(RemotingCommand::response(
            ResponseCode::SYSTEM_ERROR,
            Some("this broker is not in controller mode (enableControllerMode=false)".to_owned()),
        ));
    };
    let master: MasterInfoHeader = request.decode_header()?;
    let sync_set: SyncStateSet = fastjson::from_slice(&request.body).unwrap_or_default();
    tracing::info!(
        from = %conn.peer_addr(),
        master = ?master.master_address,
        epoch = ?master.master_epoch,
        "controller mode: the controller announces a role change"
    );
    shared
        .notices
        .send_replace(Some(RoleNotice { master, sync_set }));
    Ok(RemotingCommand::success())
}
