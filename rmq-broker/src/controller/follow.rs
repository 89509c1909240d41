//! A controller-mode slave following its master: before each replication connection it fetches
//! the master's epoch history (GET_BROKER_EPOCH_CACHE), cuts its own log after the last point
//! both share, adopts the master's history and then copies with a hello naming the epoch.

use std::sync::Arc;
use std::time::Duration;

use rmq_ha::epoch::consistent_point;
use rmq_ha::Hello;
use rmq_remoting::body::controller::EpochEntryCache;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::{RemotingCommand, RequestCode};
use serde::{Deserialize, Serialize};

use super::client::ControllerClient;
use crate::registration::MasterInfo;
use crate::state::BrokerContext;

/// Pause between two attempts.
const RETRY: Duration = Duration::from_millis(100);

/// rmq's addition to the GET_BROKER_EPOCH_CACHE answer: where the master's HA port is, so a
/// slave need not wait for a name server to learn it. Apache's brokers ignore unknown fields.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EpochCacheHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ha_server_addr: Option<String>,
}

/// The answer to GET_BROKER_EPOCH_CACHE: this replica's history and log end.
pub(crate) fn epoch_cache_answer(ctx: &BrokerContext) -> RemotingCommand {
    let Some(shared) = ctx.controller.as_ref() else {
        return RemotingCommand::response(
            rmq_remoting::ResponseCode::SYSTEM_ERROR,
            Some("this broker is not in controller mode (enableControllerMode=false): it keeps no epoch history".to_owned()),
        );
    };
    let cache = EpochEntryCache {
        cluster_name: ctx.config.broker_cluster_name.clone(),
        broker_name: ctx.config.broker_name.clone(),
        // As Apache's: 0 on the master, the controller id on a slave.
        broker_id: if ctx.role().decided {
            ctx.role().broker_id
        } else {
            shared.broker_id.load(std::sync::atomic::Ordering::Acquire)
        },
        epoch_list: shared.epochs.entries(),
        max_offset: ctx.store.max_phy_offset(),
    };
    let header = EpochCacheHeader {
        ha_server_addr: Some(ctx.replication.ha_server_addr.clone()),
    };
    RemotingCommand::success_with_header(&header)
        .with_body(fastjson::to_vec(&cache, KeyStyle::Fastjson))
}

/// Follows `master_addr` in `epoch` until aborted (the role changes).
pub(super) async fn run(
    ctx: Arc<BrokerContext>,
    client: Arc<ControllerClient>,
    master_addr: String,
    epoch: i32,
    id: i64,
) {
    let Some(ha) = ctx.replication.client.clone() else {
        return;
    };
    let mut failures = 0u32;
    loop {
        match prepare(&ctx, &client, &master_addr, epoch).await {
            Ok(ha_addr) => {
                ctx.master.send_replace(Some(MasterInfo {
                    master_addr: master_addr.clone(),
                    ha_server_addr: Some(ha_addr.clone()),
                }));
                let hello = Hello {
                    broker_id: id,
                    master_epoch: epoch,
                };
                match ha.follow(&ha_addr, hello).await {
                    Ok(why) => tracing::info!(master = %ha_addr, "HA: replication ended: {why}"),
                    Err(why) => tracing::debug!(master = %ha_addr, "HA: cannot replicate: {why}"),
                }
                failures = 0;
            }
            Err(why) => {
                if failures % 50 == 0 {
                    tracing::info!(master = %master_addr, epoch, "controller mode: not following yet: {why}");
                }
                failures += 1;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Checks this replica's history against the master's and cuts what they do not share;
/// returns the master's HA address.
async fn prepare(
    ctx: &BrokerContext,
    client: &ControllerClient,
    master_addr: &str,
    epoch: i32,
) -> Result<String, String> {
    let shared = ctx.controller.as_ref().ok_or("not in controller mode")?;
    let request = RemotingCommand::request_without_header(RequestCode::GET_BROKER_EPOCH_CACHE);
    let response = client
        .invoke_broker(master_addr, request)
        .await
        .ok_or("the master does not answer")?;
    if response.code != 0 {
        return Err(format!(
            "the master answered {}: {}",
            response.code,
            response.remark.unwrap_or_default()
        ));
    }
    let cache: EpochEntryCache =
        fastjson::from_slice(&response.body).map_err(|e| format!("bad epoch history: {e}"))?;
    let master_epoch = cache.epoch_list.last().map_or(0, |e| e.epoch);
    if master_epoch != epoch {
        return Err(format!(
            "the master is at epoch {master_epoch}, not {epoch} yet"
        ));
    }
    let ha_addr = response
        .decode_header::<EpochCacheHeader>()
        .ok()
        .and_then(|h| h.ha_server_addr)
        .ok_or("the master did not say where its HA port is")?;
    let local = shared.epochs.entries();
    let local_end = ctx.store.max_phy_offset();
    let point = consistent_point(&local, local_end, &cache.epoch_list, cache.max_offset);
    let cut = match point {
        Some(p) => p,
        // No shared epoch: what this replica holds is another history (or, with no epochs at
        // all, one replicated before controller mode, kept if the master is not behind it).
        None if local.is_empty() && local_end <= cache.max_offset => local_end,
        None => 0,
    };
    if cut < local_end {
        tracing::warn!(
            master = %master_addr,
            epoch,
            "controller mode: this replica holds {} bytes the new master does not share (from offset {cut}); cutting them",
            local_end - cut
        );
        ctx.store
            .truncate_to(cut)
            .map_err(|e| format!("cannot cut the log at {cut}: {e}"))?;
    }
    shared
        .epochs
        .adopt(&cache.epoch_list)
        .map_err(|e| e.to_string())?;
    Ok(ha_addr)
}
