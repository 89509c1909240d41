//! The long-polling pull loop of one assigned queue (Java `PullMessageService`,
//! `DefaultMQPushConsumerImpl.pullMessage` and `PullAPIWrapper`).
//!
//! Each pull goes to the broker of the queue's group that the previous answer suggested
//! (`suggestWhichBrokerId`, the master at first), else to any broker of the group: while the
//! master is out of the route, consumers read from a slave, and return to the master as soon as
//! the route lists it again (a slave suggests the master unless told otherwise). A pull to a
//! slave carries no commit offset; the offset store commits to the master when there is one.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::client::{MessageModel, MessageQueue};
use rmq_remoting::body::route::MASTER_ID;
use rmq_remoting::header::broker::PullMessageRequestHeader;
use rmq_remoting::ResponseCode;

use super::process_queue::ProcessQueue;
use super::{ConsumerInner, Listener};
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;
use crate::pull_api::{self, PullStatus, FLAG_COMMIT_OFFSET, FLAG_SUBSCRIPTION, FLAG_SUSPEND};
/// Pause before pulling again from a slave that cannot serve the offset yet (PULL_RETRY_IMMEDIATELY
/// with no progress: it is behind its master). Java pulls again at once; this keeps a consumer
/// from spinning on a slave that catches up slowly.
const SLAVE_BEHIND_DELAY: Duration = Duration::from_millis(100);
/// Pause when the queue's cache is over a threshold (Java's flow-control delay).
const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);
/// Pause after a broker FLOW_CONTROL (215) answer.
const BROKER_FLOW_CONTROL_DELAY: Duration = Duration::from_millis(20);
/// Pause of an orderly queue's pulls while its broker lock is missing (Java: 3 s).
const NOT_LOCKED_DELAY: Duration = Duration::from_secs(3);
/// How long a queue whose offset was illegal stays dropped before it is re-created, so that
/// in-flight listener calls can finish (Java: 10 s).
const OFFSET_ILLEGAL_DELAY: Duration = Duration::from_secs(10);

/// What one pull produced.
enum PullOutcome {
    /// Messages (possibly none left after client-side tag filtering).
    Found {
        next: i64,
        msgs: Vec<ReceivedMessage>,
    },
    /// Nothing new (19) or nothing matching (20): continue from `next`; `stalled` when a slave
    /// asked for a retry at the same offset.
    Nothing { next: i64, stalled: bool },
    /// The offset is out of range (21); `next` is the broker's correction.
    OffsetIllegal { next: i64 },
}

/// Pulls `mq` from `offset` until the queue is dropped or the consumer stops.
pub(crate) async fn pull_loop(
    consumer: Arc<ConsumerInner>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    mut offset: i64,
) {
    let stop = consumer.stop_pulling.clone();
    let cfg = &consumer.config;
    let mut throttled: u64 = 0;
    loop {
        if pq.is_dropped() || stop.is_cancelled() {
            return;
        }
        if consumer.locks_queues() && !pq.orderly.holds_lock() {
            // Java pauses 3 s; the queue is pulled again once its lock is renewed.
            if pause(&stop, NOT_LOCKED_DELAY).await {
                return;
            }
            continue;
        }
        let count = pq.count();
        let mib = pq.bytes() / (1024 * 1024);
        let span = pq.span();
        if count > cfg.pull_threshold_for_queue
            || mib > cfg.pull_threshold_size_for_queue
            || span > cfg.consume_concurrently_max_span
        {
            if throttled % 1000 == 0 {
                tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, count, mib, span,
                    "the cached messages exceed a threshold, so do flow control");
            }
            throttled += 1;
            if pause(&stop, FLOW_CONTROL_DELAY).await {
                return;
            }
            continue;
        }
        let began = std::time::Instant::now();
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            r = consumer.pull_once(&mq, offset) => r,
        };
        let found = match &outcome {
            Ok(PullOutcome::Found { msgs, .. }) => msgs.len(),
            _ => 0,
        };
        consumer.status.pulled(&mq, began.elapsed(), found);
        match outcome {
            Ok(PullOutcome::Found { next, msgs }) => {
                offset = next;
                if msgs.is_empty() {
                    consumer.correct_offset(&mq, &pq, next);
                } else {
                    pq.put(&msgs);
                    consumer.dispatch(&mq, &pq, msgs);
                }
                if !cfg.pull_interval.is_zero() && pause(&stop, cfg.pull_interval).await {
                    return;
                }
            }
            Ok(PullOutcome::Nothing { next, stalled }) => {
                offset = next;
                consumer.correct_offset(&mq, &pq, next);
                if stalled && pause(&stop, SLAVE_BEHIND_DELAY).await {
                    return;
                }
            }
            Ok(PullOutcome::OffsetIllegal { next }) => {
                tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, requested = offset, correction = next,
                    "PULL_OFFSET_MOVED: the offset is illegal; adopting the correction offset");
                pq.set_dropped();
                tokio::spawn(recreate_after_offset_illegal(
                    consumer.clone(),
                    mq,
                    pq,
                    next,
                ));
                return;
            }
            Err(e) => {
                let delay = if e.response_code() == Some(ResponseCode::FLOW_CONTROL.as_i32()) {
                    BROKER_FLOW_CONTROL_DELAY
                } else {
                    tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, error = %e, "pull failed");
                    cfg.pull_time_delay_when_exception
                };
                if pause(&stop, delay).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps for `delay`; true if the consumer stopped meanwhile.
async fn pause(stop: &tokio_util::sync::CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(delay) => false,
    }
}

/// Java's OFFSET_ILLEGAL handling: store the corrected offset, drop the queue, and let the next
/// rebalance create it again from that offset.
async fn recreate_after_offset_illegal(
    consumer: Arc<ConsumerInner>,
    mq: MessageQueue,
    pq: Arc<ProcessQueue>,
    next: i64,
) {
    if pause(&consumer.stop_pulling, OFFSET_ILLEGAL_DELAY).await {
        return;
    }
    consumer.offsets.update(&mq, next, false);
    consumer
        .offsets
        .persist(std::slice::from_ref(&mq), false)
        .await;
    {
        let mut queues = consumer.queues();
        if queues.get(&mq).is_some_and(|cur| Arc::ptr_eq(cur, &pq)) {
            queues.remove(&mq);
        }
    }
    consumer.instance.rebalance_soon();
}

impl ConsumerInner {
    /// With nothing in flight, the committed offset can follow the pull offset past messages
    /// that were filtered out (Java `correctTagsOffset`).
    fn correct_offset(&self, mq: &MessageQueue, pq: &ProcessQueue, next: i64) {
        if pq.count() == 0 && !pq.is_dropped() {
            match self.listener {
                Listener::Lite(_) => self.note_consumed(mq, next),
                _ => self.offsets.update(mq, next, true),
            }
        }
    }

    /// The broker id `mq` is pulled from next (Java `recalculatePullFromWhichNode`).
    pub(crate) fn pull_from_which_node(&self, mq: &MessageQueue) -> i64 {
        self.pull_from_which_node
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(mq)
            .copied()
            .unwrap_or(MASTER_ID)
    }

    fn set_pull_from_which_node(&self, mq: &MessageQueue, broker_id: i64) {
        let mut table = self
            .pull_from_which_node
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if table.insert(mq.clone(), broker_id).unwrap_or(MASTER_ID) != broker_id {
            tracing::info!(
                topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id,
                broker_id,
                "the broker suggests pulling this queue from another broker id next"
            );
        }
    }

    /// One PULL_MESSAGE round trip.
    async fn pull_once(&self, mq: &MessageQueue, offset: i64) -> Result<PullOutcome> {
        let sub = self
            .subscriptions
            .get(&mq.topic)
            .ok_or_else(|| ClientError::State(format!("not subscribed to {}", mq.topic)))?;
        let node = self.pull_from_which_node(mq);
        let broker = match self
            .instance
            .find_broker_in_subscribe(&mq.broker_name, node, false)
        {
            Some(found) => found,
            None => {
                if let Err(e) = self.instance.update_route(&mq.topic).await {
                    tracing::debug!(topic = %mq.topic, error = %e, "route lookup failed");
                }
                self.instance
                    .find_broker_in_subscribe(&mq.broker_name, node, false)
                    .ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))?
            }
        };
        let commit_offset = match self.config.message_model {
            MessageModel::Clustering => self.offsets.read_memory(mq).unwrap_or(0),
            MessageModel::Broadcasting => 0,
        };
        let mut sys_flag = FLAG_SUSPEND | FLAG_SUBSCRIPTION;
        if commit_offset > 0 && !broker.slave {
            sys_flag |= FLAG_COMMIT_OFFSET;
        }
        let header = PullMessageRequestHeader {
            consumer_group: self.config.consumer_group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: self.config.pull_batch_size,
            sys_flag,
            commit_offset,
            suspend_timeout_millis: self.config.broker_suspend_max_time.as_millis() as i64,
            subscription: Some(sub.data.sub_string.clone()),
            sub_version: sub.data.sub_version,
            expression_type: Some(sub.data.expression_type.clone()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: None,
        };
        let result = pull_api::pull(
            &self.instance,
            &broker.addr,
            mq,
            &header,
            sub.filter.as_ref(),
            &self.retry_topic,
            self.config.consumer_timeout_when_suspend,
        )
        .await?;
        self.set_pull_from_which_node(mq, result.suggest_which_broker_id);
        let next = result.next_begin_offset;
        Ok(match result.status {
            PullStatus::Found => PullOutcome::Found {
                next,
                msgs: result.msgs,
            },
            PullStatus::NoNewMsg => PullOutcome::Nothing {
                next,
                stalled: false,
            },
            PullStatus::RetryImmediately => PullOutcome::Nothing {
                next,
                stalled: next == offset,
            },
            PullStatus::OffsetIllegal => PullOutcome::OffsetIllegal { next },
        })
    }
}
