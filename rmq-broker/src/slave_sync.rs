//! A slave's metadata follows its master (Apache RocketMQ's `SlaveSynchronize`): 3 s after the
//! start and every 10 s after, and at once whenever a registration answer names a new master,
//! the slave asks the master for its topics, consumer offsets, delay progress and subscription
//! groups (GET_ALL_TOPIC_CONFIG, GET_ALL_CONSUMER_OFFSET, GET_ALL_DELAY_OFFSET,
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG, in Apache's order) and makes them its own, persisted:
//!
//! - topics and groups are replaced whole when the master's data version differs from ours,
//!   and take the master's version (which the slave then registers with);
//! - consumer offsets take the master's for every `topic@group` the master knows, keeping
//!   the others (what consumers committed here while the master was away);
//! - delay-level progress is replaced whole; the timer's filing progress stays ours.
//!
//! The requests go to the master's client address, which both rmq and Apache masters serve. A
//! master that cannot be reached or answers an error is logged and asked again next period:
//! the slave keeps serving what it has.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::stats::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, SubscriptionGroupWrapper,
};
use rmq_remoting::body::topic::TopicConfigSerializeWrapper;
use rmq_remoting::fastjson;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig, TransportError};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::state::BrokerContext;

/// Apache's initial delay of the sync task.
const FIRST_SYNC: Duration = Duration::from_secs(3);
/// Apache's period of the sync task.
const PERIOD: Duration = Duration::from_secs(10);
/// Apache's timeout of each of the four requests.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Why one table could not be copied this time.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("cannot reach the master: {0}")]
    Transport(#[from] TransportError),
    #[error("the master refused (code {code}): {remark}")]
    Refused { code: i32, remark: String },
    #[error("the master's answer is not what Apache sends: {0}")]
    Body(String),
    #[error("cannot persist the copy: {0}")]
    Persist(#[from] std::io::Error),
}

/// Copies the master's metadata until the broker stops; returns at once on a master.
pub(crate) async fn run(ctx: Arc<BrokerContext>) {
    if !crate::role::is_slave(&ctx) {
        return;
    }
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let mut master = ctx.master.subscribe();
    let mut next = Instant::now() + FIRST_SYNC;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {
                next = (next + PERIOD).max(Instant::now());
            }
            changed = master.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = ctx.stopping.cancelled() => return,
        }
        let addr = master
            .borrow_and_update()
            .as_ref()
            .map(|m| m.master_addr.clone());
        match addr {
            Some(addr) if addr != ctx.broker_addr() => sync_all(&ctx, &client, &addr).await,
            _ => {}
        }
    }
}

/// One round: the four tables in Apache's order, each on its own (one failing does not keep
/// the others from being copied).
async fn sync_all(ctx: &BrokerContext, client: &RemotingClient, master: &str) {
    match sync_topics(ctx, client, master).await {
        Ok(true) => tracing::info!(master, "Update slave topic config from master"),
        Ok(false) => {}
        Err(e) => tracing::warn!(master, error = %e, "cannot copy the master's topics"),
    }
    match sync_consumer_offsets(ctx, client, master).await {
        Ok(()) => tracing::debug!(master, "Update slave consumer offset from master"),
        Err(e) => tracing::warn!(master, error = %e, "cannot copy the master's consumer offsets"),
    }
    match sync_delay_offsets(ctx, client, master).await {
        Ok(()) => tracing::debug!(master, "Update slave delay offset from master"),
        Err(e) => tracing::warn!(master, error = %e, "cannot copy the master's delay progress"),
    }
    match sync_groups(ctx, client, master).await {
        Ok(true) => tracing::info!(master, "Update slave Subscription Group from master"),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(master, error = %e, "cannot copy the master's subscription groups")
        }
    }
}

/// Sends `code` (no header, like Apache's slave) and decodes the answer's JSON body.
async fn fetch<T: DeserializeOwned>(
    client: &RemotingClient,
    master: &str,
    code: RequestCode,
) -> Result<T, SyncError> {
    let request = RemotingCommand::request_without_header(code);
    let response = client.invoke(master, request, CALL_TIMEOUT).await?;
    if response.code != ResponseCode::SUCCESS.as_i32() {
        return Err(SyncError::Refused {
            code: response.code,
            remark: response.remark.unwrap_or_default(),
        });
    }
    fastjson::from_slice(&response.body).map_err(|e| SyncError::Body(e.to_string()))
}

async fn sync_topics(
    ctx: &BrokerContext,
    client: &RemotingClient,
    master: &str,
) -> Result<bool, SyncError> {
    let table: TopicConfigSerializeWrapper =
        fetch(client, master, RequestCode::GET_ALL_TOPIC_CONFIG).await?;
    Ok(ctx.topics.replace_with_master(table)?)
}

async fn sync_consumer_offsets(
    ctx: &BrokerContext,
    client: &RemotingClient,
    master: &str,
) -> Result<(), SyncError> {
    let table: ConsumerOffsetSerializeWrapper =
        fetch(client, master, RequestCode::GET_ALL_CONSUMER_OFFSET).await?;
    Ok(ctx.offsets.merge_from_master(table.offset_table)?)
}

async fn sync_delay_offsets(
    ctx: &BrokerContext,
    client: &RemotingClient,
    master: &str,
) -> Result<(), SyncError> {
    let table: DelayOffsetSerializeWrapper =
        fetch(client, master, RequestCode::GET_ALL_DELAY_OFFSET).await?;
    Ok(ctx
        .schedule_progress
        .replace_levels_with_master(table.offset_table)?)
}

async fn sync_groups(
    ctx: &BrokerContext,
    client: &RemotingClient,
    master: &str,
) -> Result<bool, SyncError> {
    let table: SubscriptionGroupWrapper = fetch(
        client,
        master,
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
    )
    .await?;
    Ok(ctx.groups.replace_with_master(table)?)
}
