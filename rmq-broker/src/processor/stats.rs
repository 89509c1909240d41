//! What `mqadmin consumerProgress`, `statsAll` and `brokerConsumeStats` ask a broker:
//! GET_CONSUME_STATS (208), VIEW_BROKER_STATS_DATA (315) and GET_BROKER_CONSUME_STATS (317),
//! answered from the offsets and from `crate::stats` as Apache 4.9.7 answers them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::body::stats::{
    BrokerStatsData, BrokerStatsItem, ConsumeStats, ConsumeStatsList, OffsetWrapper,
};
use rmq_remoting::body::topic::TopicConfig;
use rmq_remoting::header::broker::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::admin::json_answer;
use super::handler;
use crate::state::BrokerContext;
use crate::stats::{Window, WindowFigures};

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::GET_CONSUME_STATS, handler(ctx, consume_stats))
        .route(
            RequestCode::VIEW_BROKER_STATS_DATA,
            handler(ctx, view_broker_stats_data),
        )
        .route(
            RequestCode::GET_BROKER_CONSUME_STATS,
            handler(ctx, broker_consume_stats),
        )
}

/// GET_CONSUME_STATS: a group's progress per queue of one topic or of every topic it has
/// offsets in, and its consumption rate.
async fn consume_stats(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumeStatsRequestHeader = req.decode_header()?;
    let group = &h.consumer_group;
    let topics = match h.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(topic) => BTreeSet::from([topic.to_owned()]),
        // As Java: the topics the group has committed offsets in.
        None => ctx.offsets.topics_of_group(group).into_iter().collect(),
    };
    let mut stats = ConsumeStats::default();
    for topic in reported_topics(&ctx, group, topics) {
        // Apache reports the read queues here (and the write queues in 317).
        let progress = topic_progress(&ctx, group, &topic, topic.read_queue_nums);
        stats.consume_tps += progress.consume_tps;
        stats.offset_table.extend(progress.offset_table);
    }
    Ok(json_answer(&stats))
}

/// The topics of `names` that exist and that `group` reports: an online group only what it
/// subscribes to now (Java does the same).
fn reported_topics(
    ctx: &BrokerContext,
    group: &str,
    names: impl IntoIterator<Item = String>,
) -> Vec<TopicConfig> {
    let online = ctx.clients.consumer_group(group);
    names
        .into_iter()
        .filter(|name| {
            !online
                .as_ref()
                .is_some_and(|g| !g.subscriptions.is_empty() && !g.subscriptions.contains_key(name))
        })
        .filter_map(|name| ctx.topics.get(&name))
        .collect()
}

/// `group`'s progress in the first `queues` queues of `topic`, and its consumption rate
/// there (the minute window of GROUP_GET_NUMS, Apache's `tpsGroupGetNums`).
fn topic_progress(
    ctx: &BrokerContext,
    group: &str,
    topic: &TopicConfig,
    queues: i32,
) -> ConsumeStats {
    let name = &topic.topic_name;
    let mut stats = ConsumeStats {
        consume_tps: ctx.stats.consume_tps(group, name),
        ..ConsumeStats::default()
    };
    for queue_id in 0..queues {
        let broker_offset = ctx.store.max_offset_in_queue(name, queue_id).max(0);
        let consumer_offset = ctx.offsets.query(group, name, queue_id).unwrap_or(0).max(0);
        let last_timestamp = if consumer_offset > 0 {
            ctx.store
                .message_store_timestamp(name, queue_id, consumer_offset - 1)
                .unwrap_or(0)
        } else {
            0
        };
        // 5.x's figure: where the group's last pull left off, never behind its commit.
        let pull_offset = ctx
            .stats
            .pull_offsets
            .get(group, name, queue_id)
            .map_or(consumer_offset, |pulled| pulled.max(consumer_offset));
        stats.offset_table.insert(
            MessageQueue::new(name, &ctx.config.broker_name, queue_id),
            OffsetWrapper {
                broker_offset,
                consumer_offset,
                last_timestamp,
                pull_offset,
            },
        );
    }
    stats
}

/// VIEW_BROKER_STATS_DATA: one statistic's last minute, hour and day.
async fn view_broker_stats_data(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: ViewBrokerStatsDataRequestHeader = req.decode_header()?;
    let Some(item) = ctx.stats.item(&h.stats_name, &h.stats_key) else {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        ));
    };
    let window = |w: Window| {
        let WindowFigures {
            sum, tps, avgpt, ..
        } = item.figures(w);
        BrokerStatsItem {
            avgpt,
            sum: i64::try_from(sum).unwrap_or(i64::MAX),
            tps,
        }
    };
    Ok(json_answer(&BrokerStatsData {
        stats_day: window(Window::Day),
        stats_hour: window(Window::Hour),
        stats_minute: window(Window::Minute),
    }))
}

/// GET_BROKER_CONSUME_STATS: every subscription group's progress in the topics it has offsets
/// in (only ordered topics if asked), over the topics' write queues, and the total backlog.
async fn broker_consume_stats(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumeStatsInBrokerHeader = req.decode_header()?;
    let only_ordered = h.is_order.unwrap_or(false);
    let mut list = ConsumeStatsList {
        broker_addr: ctx.broker_addr(),
        ..ConsumeStatsList::default()
    };
    for group in ctx.groups.snapshot().subscription_group_table.into_keys() {
        let topics = reported_topics(&ctx, &group, ctx.offsets.topics_of_group(&group));
        let per_topic: Vec<ConsumeStats> = topics
            .iter()
            .filter(|topic| !only_ordered || topic.order)
            .map(|topic| topic_progress(&ctx, &group, topic, topic.write_queue_nums))
            .collect();
        list.total_diff += per_topic
            .iter()
            .flat_map(|s| s.offset_table.values())
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum::<i64>();
        list.consume_stats_list
            .push(BTreeMap::from([(group, per_topic)]));
    }
    Ok(json_answer(&list))
}
