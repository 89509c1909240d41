//! GET_BROKER_CONFIG and UPDATE_BROKER_CONFIG: the broker's settings as properties text, and
//! runtime changes limited to the allowlist of [`crate::live_config`] (docs/admin-safety.md).

use std::sync::Arc;

use rmq_config::Settings;
use rmq_remoting::body::topic::DataVersion;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use serde::Serialize;

use super::handler;
use crate::live_config::UpdateError;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::GET_BROKER_CONFIG, handler(ctx, broker_config))
        .route(
            RequestCode::UPDATE_BROKER_CONFIG,
            handler(ctx, update_broker_config),
        )
}

/// GET_BROKER_CONFIG response header: the configuration's version, as a DataVersion JSON text.
#[derive(Serialize)]
struct GetBrokerConfigResponseHeader {
    version: String,
}

fn version_text(version: &DataVersion) -> String {
    String::from_utf8_lossy(&fastjson::to_vec(version, KeyStyle::Fastjson)).into_owned()
}

async fn broker_config(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let (config, version) = ctx.live.current();
    let text = rmq_config::remote::properties_text(
        config
            .values()
            .into_iter()
            .chain(ctx.store.config().values()),
    );
    let header = GetBrokerConfigResponseHeader {
        version: version_text(&version),
    };
    Ok(RemotingCommand::success_with_header(&header).with_body(text.into_bytes()))
}

/// Applies the request's properties all or nothing. A refused key answers NO_PERMISSION, as
/// Apache 5.x answers a key of its `configBlackList`, with a remark naming every refused key
/// and why; a bad value answers INVALID_PARAMETER. A permission change registers at once with
/// a new topic-table version, so name servers take the new queue permissions (as Apache does).
async fn update_broker_config(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let text = String::from_utf8_lossy(&req.body);
    let properties = rmq_config::properties::parse(&text);
    let moved = ctx.live.update(&properties).map_err(|e| {
        let code = match e {
            UpdateError::Refused(_) => ResponseCode::NO_PERMISSION,
            UpdateError::Invalid { .. } => ResponseCode::INVALID_PARAMETER,
            UpdateError::Persist { .. } => ResponseCode::SYSTEM_ERROR,
        };
        tracing::warn!(peer = %conn.peer_addr(), refused = %e, "UPDATE_BROKER_CONFIG refused");
        CommandError::new(code, e.to_string())
    })?;
    tracing::info!(peer = %conn.peer_addr(), changed = ?moved, "broker settings changed at run time");
    if moved.iter().any(|k| k == "brokerPermission") {
        // Re-putting the broker's own topic moves the topic table's version, so name servers
        // replace the queue permissions they hold instead of keeping the old ones.
        if let Some(own) = ctx.topics.get(&ctx.config.broker_name) {
            ctx.topics.put(own).map_err(|e| {
                CommandError::new(
                    ResponseCode::SYSTEM_ERROR,
                    format!("the permission changed but the topic table could not be written: {e}"),
                )
            })?;
        }
        ctx.topic_changes.announce();
    }
    Ok(RemotingCommand::success())
}
