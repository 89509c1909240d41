//! GET_ALL_PRODUCER_INFO (328): every producer connection by group, which Apache's exporter
//! turns into its producer metrics (`DefaultMQAdminExt.getAllProducerInfo`).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rmq_remoting::body::running::{ProducerInfo, ProducerTableInfo};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::admin::json_answer;
use super::handler;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(
        RequestCode::GET_ALL_PRODUCER_INFO,
        handler(ctx, all_producer_info),
    )
}

async fn all_producer_info(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut table = ProducerTableInfo::default();
    for group in ctx.clients.producer_group_names() {
        let mut members: Vec<ProducerInfo> = ctx
            .clients
            .producers(&group)
            .into_iter()
            .map(|channel| {
                // Heartbeat times are monotonic; Java reports wall-clock milliseconds.
                let seen = wall
                    .checked_sub(now.saturating_duration_since(channel.last_update))
                    .unwrap_or(UNIX_EPOCH);
                ProducerInfo {
                    client_id: channel.client_id,
                    language: channel.language,
                    last_update_timestamp: seen
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                    remote_ip: format!("/{}", channel.conn.peer_addr()),
                    version: channel.version,
                }
            })
            .collect();
        if !members.is_empty() {
            members.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            table.data.insert(group, members);
        }
    }
    Ok(json_answer(&table))
}
