//! Request handlers, one module per family; each module adds its routes to the router.

mod admin;
mod broker_config;
mod client;
mod controller;
mod forward;
mod group_offsets;
mod lock;
mod metadata;
mod offsets;
mod producer_info;
mod pull;
mod query;
mod reply;
mod runtime_info;
mod send;
mod send_back;
mod stats;
mod store_admin;
mod topic_config;

pub(crate) use send::{store_refusal, SendProperties};

use std::sync::Arc;

use rmq_remoting::transport::Router;

use crate::state::BrokerContext;

/// The router serving every broker command.
pub(crate) fn router(ctx: &Arc<BrokerContext>) -> Router {
    // First, so requests a later guard (ACL) refuses are audited too.
    let router = Router::new().guard(rmq_remoting::audit::guard(crate::audit::ADMIN_CODES));
    let router = send::register(router, ctx);
    let router = send_back::register(router, ctx);
    let router = reply::register(router, ctx);
    let router = pull::register(router, ctx);
    let router = client::register(router, ctx);
    let router = offsets::register(router, ctx);
    let router = admin::register(router, ctx);
    let router = broker_config::register(router, ctx);
    let router = store_admin::register(router, ctx);
    let router = group_offsets::register(router, ctx);
    let router = stats::register(router, ctx);
    let router = forward::register(router, ctx);
    let router = topic_config::register(router, ctx);
    let router = producer_info::register(router, ctx);
    let router = metadata::register(router, ctx);
    let router = query::register(router, ctx);
    let router = lock::register(router, ctx);
    let router = controller::register(router, ctx);
    let router = crate::transaction::end::register(router, ctx);
    let router = crate::filter::register(router, ctx);
    let router = crate::pop::register(router, ctx);
    let closing = ctx.clone();
    router.on_close(move |conn| {
        let ctx = closing.clone();
        let changed = ctx.clients.connection_closed(conn.id());
        if !changed.is_empty() && ctx.live.notify_consumer_ids_changed_enable() {
            tokio::spawn(async move {
                for group in changed {
                    ctx.clients.notify_consumer_ids_changed(&group).await;
                }
            });
        }
    })
}

/// Adapts `async fn(ctx, conn, request)` to a transport handler bound to the shared context.
pub(crate) use rmq_remoting::transport::with_state as handler;
