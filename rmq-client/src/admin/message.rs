//! What a console shows about messages beyond single queries: a topic's messages stored in a
//! time range (newest first, bounded), the groups that consume a topic, and whether each of
//! them has consumed a given message (Apache's "message track").

use std::collections::BTreeSet;

use rmq_remoting::body::client::{MessageModel, MessageQueue};
use rmq_remoting::header::broker::{OffsetResponseHeader, TopicRequestHeader};
use rmq_remoting::{RemotingCommand, RequestCode};
use serde::Deserialize;

use super::Admin;
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;

/// Messages asked for per pull while reading a time range.
const PAGE: i32 = 32;

/// QUERY_TOPIC_CONSUME_BY_WHO answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupList {
    #[serde(default)]
    group_list: BTreeSet<String>,
}

/// Where a message stands for one consumer group, judged from the group's committed offset on
/// the message's queue (Apache's `TrackType`, without its "unknown").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackType {
    /// The group's offset on the queue is past the message.
    Consumed,
    /// The group has not committed past the message (yet).
    NotConsumedYet,
    /// The group consumes by broadcasting: each member keeps its offsets itself, so the broker
    /// cannot tell.
    Broadcasting,
}

/// One consumer group's view of one message: its track and whether a member is online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTrack {
    /// The consumer group.
    pub group: String,
    /// Consumed or not, by the group's offsets.
    pub track: TrackType,
    /// Whether the group has a member connected now (a push consumer is needed for a resend
    /// with CONSUME_MESSAGE_DIRECTLY).
    pub online: bool,
    /// The online members' client ids.
    pub clients: Vec<String>,
}

impl Admin {
    /// The offset of the first message of `mq` stored at or after `timestamp` (ms), the
    /// queue's end when there is none (SEARCH_OFFSET_BY_TIMESTAMP to the queue's master).
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp: i64) -> Result<i64> {
        self.instance.update_route(&mq.topic).await?;
        let addr = self
            .instance
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))?;
        self.search_offset_on(&addr, mq, timestamp).await
    }

    /// [`Admin::search_offset`] asked of the broker at `addr`.
    pub(super) async fn search_offset_on(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64> {
        let req = crate::consumer::search_offset_request(mq, timestamp);
        let resp = self.broker_call(addr, req).await?;
        let h: OffsetResponseHeader = resp.decode_header().map_err(|e| ClientError::Protocol {
            addr: addr.to_owned(),
            reason: format!("SEARCH_OFFSET_BY_TIMESTAMP answer: {e}"),
        })?;
        Ok(h.offset)
    }

    /// The newest messages of `topic` stored in `[begin, end]` (ms), at most `max`, newest
    /// first. Each queue is read only over its last `max` offsets before `end` (found with
    /// SEARCH_OFFSET_BY_TIMESTAMP), so the cost is bounded by `max` and the number of queues,
    /// not by the topic's size.
    pub async fn query_messages_by_time(
        &self,
        topic: &str,
        begin: i64,
        end: i64,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>> {
        let stats = self.topic_stats(topic).await?;
        let window = i64::try_from(max).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for (mq, bounds) in &stats.offset_table {
            if bounds.max_offset <= bounds.min_offset {
                continue;
            }
            // everything before the first offset stored after `end` is a candidate; Apache's
            // brokers answer the offset whose store time is nearest, which may be the last one
            // in the range, so one more is read (the time filter drops it when it is outside)
            let upper = if end >= bounds.last_update_timestamp {
                bounds.max_offset
            } else {
                (self.search_offset(mq, end.saturating_add(1)).await? + 1).min(bounds.max_offset)
            };
            let lower = self
                .search_offset(mq, begin)
                .await?
                .max(upper.saturating_sub(window))
                .max(bounds.min_offset);
            let mut offset = lower;
            while offset < upper {
                let want = i32::try_from(upper - offset).unwrap_or(PAGE).min(PAGE);
                let page = self.pull_messages(mq, offset, want).await?;
                let Some(last) = page.last() else { break };
                offset = last.queue_offset + 1;
                out.extend(page.into_iter().filter(|m| {
                    m.queue_offset < upper && (begin..=end).contains(&m.store_timestamp)
                }));
            }
        }
        out.sort_by(|a, b| {
            (b.store_timestamp, b.commit_log_offset).cmp(&(a.store_timestamp, a.commit_log_offset))
        });
        out.truncate(max);
        Ok(out)
    }

    /// The groups that consume `topic`: those with committed offsets on it and those whose
    /// online members subscribe to it (QUERY_TOPIC_CONSUME_BY_WHO to each master of the topic).
    pub async fn topic_consumer_groups(&self, topic: &str) -> Result<BTreeSet<String>> {
        let route = self.topic_route(topic).await?;
        let header = TopicRequestHeader {
            topic: topic.to_owned(),
        };
        let mut all = BTreeSet::new();
        for (_, addr) in Self::masters(&route.broker_datas) {
            let req = RemotingCommand::request(RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &header);
            let list: GroupList = self.broker_json(&addr, req, "group list").await?;
            all.extend(list.group_list);
        }
        Ok(all)
    }

    /// For every group consuming the message's topic, whether it consumed `msg`: its committed
    /// offset on the message's queue is past the message's queue offset. Retry and dead-letter
    /// groups' own topics are not followed.
    pub async fn message_track(&self, msg: &ReceivedMessage) -> Result<Vec<MessageTrack>> {
        let groups = self.topic_consumer_groups(&msg.topic).await?;
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            let (online, clients, broadcasting) = match self.consumer_connections(&group).await {
                Ok(conn) => (
                    true,
                    conn.connection_set
                        .iter()
                        .map(|c| c.client_id.clone())
                        .collect(),
                    conn.message_model == Some(MessageModel::Broadcasting),
                ),
                Err(_) => (false, Vec::new(), false),
            };
            let track = if broadcasting {
                TrackType::Broadcasting
            } else {
                let stats = self.consume_stats(&group, Some(&msg.topic)).await?;
                let consumed = stats
                    .offset_table
                    .get(&msg.queue)
                    .is_some_and(|progress| progress.consumer_offset > msg.queue_offset);
                if consumed {
                    TrackType::Consumed
                } else {
                    TrackType::NotConsumedYet
                }
            };
            out.push(MessageTrack {
                group,
                track,
                online,
                clients,
            });
        }
        Ok(out)
    }
}
