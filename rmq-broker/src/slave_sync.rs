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

/// Copies the master's metadata until stopped; runs on slaves only (`role::run_while`).
pub(crate) async fn run(ctx: Arc<BrokerContext>) {
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
    report(
        master,
        "topic config",
        sync_topics(ctx, client, master).await,
    );
    report(
        master,
        "consumer offset",
        sync_consumer_offsets(ctx, client, master).await,
    );
    report(
        master,
        "delay offset",
        sync_delay_offsets(ctx, client, master).await,
    );
    report(
        master,
        "Subscription Group",
        sync_groups(ctx, client, master).await,
    );
}

/// Logs one table's copy: a replaced table at info with Apache's sentence, a failure as a
/// warning.
fn report(master: &str, table: &str, outcome: Result<bool, SyncError>) {
    match outcome {
        Ok(true) => tracing::info!(master, "Update slave {table} from master"),
        Ok(false) => {}
        Err(e) => tracing::warn!(master, error = %e, "cannot copy the master's {table}"),
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

/// Offsets are merged each round (Apache copies them every time); never reported as replaced.
async fn sync_consumer_offsets(
    ctx: &BrokerContext,
    client: &RemotingClient,
    master: &str,
) -> Result<bool, SyncError> {
    let table: ConsumerOffsetSerializeWrapper =
        fetch(client, master, RequestCode::GET_ALL_CONSUMER_OFFSET).await?;
    ctx.offsets.merge_from_master(table.offset_table)?;
    Ok(false)
}

/// Delay progress moves all the time; like offsets, never reported as replaced.
async fn sync_delay_offsets(
    ctx: &BrokerContext,
    client: &RemotingClient,
    master: &str,
) -> Result<bool, SyncError> {
    let table: DelayOffsetSerializeWrapper =
        fetch(client, master, RequestCode::GET_ALL_DELAY_OFFSET).await?;
    ctx.schedule_progress
        .replace_levels_with_master(table.offset_table)?;
    Ok(false)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;
    use crate::consumer_offsets::ConsumerOffsets;
    use crate::schedule::progress::ScheduleProgress;
    use crate::subscription_groups::SubscriptionGroups;
    use crate::topics::TopicTable;

    /// What an Apache 4.9.7 master answers, as its classes serialize (fastjson, fields sorted).
    const TOPICS: &[u8] = br#"{"dataVersion":{"counter":3,"timestamp":1718000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}"#;
    const OFFSETS: &[u8] = br#"{"offsetTable":{"TopicTest@cg":{0:118,1:97}}}"#;
    const DELAY: &[u8] = br#"{"offsetTable":{1:5,3:0}}"#;
    const GROUPS: &[u8] = br#"{"dataVersion":{"counter":1,"timestamp":1718000000001},"subscriptionGroupTable":{"cg":{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"groupName":"cg","notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}}}"#;

    #[test]
    fn an_apache_masters_tables_replace_ours_as_slave_synchronize_does() {
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig {
            broker_name: "broker-a".into(),
            ..BrokerConfig::default()
        };
        let topics = TopicTable::open(dir.path().join("topics.json"), &config).unwrap();
        let master: TopicConfigSerializeWrapper = fastjson::from_slice(TOPICS).unwrap();
        assert!(topics.replace_with_master(master.clone()).unwrap());
        assert!(!topics.replace_with_master(master).unwrap(), "same version");
        assert_eq!(topics.names(), vec!["TopicTest".to_owned()]);
        assert_eq!(topics.data_version().counter, 3);
        let reopened = TopicTable::open(dir.path().join("topics.json"), &config).unwrap();
        assert_eq!(reopened.get("TopicTest").unwrap().read_queue_nums, 4);

        let offsets = ConsumerOffsets::open(dir.path().join("consumerOffset.json")).unwrap();
        offsets.commit("cg", "TopicTest", 0, 1);
        offsets.commit("own", "TopicTest", 0, 3);
        let master: ConsumerOffsetSerializeWrapper = fastjson::from_slice(OFFSETS).unwrap();
        offsets.merge_from_master(master.offset_table).unwrap();
        assert_eq!(offsets.query("cg", "TopicTest", 1), Some(97));
        assert_eq!(offsets.query("own", "TopicTest", 0), Some(3), "kept");
        let reopened = ConsumerOffsets::open(dir.path().join("consumerOffset.json")).unwrap();
        assert_eq!(reopened.query("cg", "TopicTest", 0), Some(118), "persisted");

        let progress = ScheduleProgress::open(dir.path().join("delayOffset.json")).unwrap();
        progress.set_level_offset(2, 9);
        progress.set_timer_offset(4);
        let master: DelayOffsetSerializeWrapper = fastjson::from_slice(DELAY).unwrap();
        progress
            .replace_levels_with_master(master.offset_table)
            .unwrap();
        let reopened = ScheduleProgress::open(dir.path().join("delayOffset.json")).unwrap();
        assert_eq!((reopened.level_offset(1), reopened.level_offset(2)), (5, 0));
        assert_eq!(
            reopened.timer_offset(),
            4,
            "the timer's progress stays ours"
        );

        let groups =
            SubscriptionGroups::open(dir.path().join("subscriptionGroup.json"), true).unwrap();
        groups.get_or_create("local-only");
        let master: SubscriptionGroupWrapper = fastjson::from_slice(GROUPS).unwrap();
        assert!(groups.replace_with_master(master).unwrap());
        assert!(groups.get("local-only").is_none());
        assert_eq!(
            groups.get("cg").unwrap().which_broker_when_consume_slowly,
            1
        );
    }
}
