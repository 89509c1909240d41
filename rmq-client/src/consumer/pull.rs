//! The long-polling pull loop of one assigned queue (Java `PullMessageService`,
//! `DefaultMQPushConsumerImpl.pullMessage` and `PullAPIWrapper`).

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::client::{MessageModel, MessageQueue};
use rmq_remoting::header::broker::PullMessageRequestHeader;
use rmq_remoting::ResponseCode;

use super::process_queue::ProcessQueue;
use super::{ConsumerInner, Listener};
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;
use crate::pull_api::{self, PullStatus, FLAG_COMMIT_OFFSET, FLAG_SUBSCRIPTION, FLAG_SUSPEND};
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
    /// Nothing new (19) or nothing matching (20): continue from `next`.
    Nothing { next: i64 },
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
                tracing::warn!(queue = ?mq, count, mib, span,
                    "the cached messages exceed a threshold, so do flow control");
            }
            throttled += 1;
            if pause(&stop, FLOW_CONTROL_DELAY).await {
                return;
            }
            continue;
        }
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            r = consumer.pull_once(&mq, offset) => r,
        };
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
            Ok(PullOutcome::Nothing { next }) => {
                offset = next;
                consumer.correct_offset(&mq, &pq, next);
            }
            Ok(PullOutcome::OffsetIllegal { next }) => {
                tracing::warn!(queue = ?mq, requested = offset, correction = next,
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
                    tracing::warn!(queue = ?mq, error = %e, "pull failed");
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

    /// One PULL_MESSAGE round trip.
    async fn pull_once(&self, mq: &MessageQueue, offset: i64) -> Result<PullOutcome> {
        let sub = self
            .subscriptions
            .get(&mq.topic)
            .ok_or_else(|| ClientError::State(format!("not subscribed to {}", mq.topic)))?;
        let addr = self
            .instance
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))?;
        let commit_offset = match self.config.message_model {
            MessageModel::Clustering => self.offsets.read_memory(mq).unwrap_or(0),
            MessageModel::Broadcasting => 0,
        };
        let mut sys_flag = FLAG_SUSPEND | FLAG_SUBSCRIPTION;
        if commit_offset > 0 {
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
            &addr,
            mq,
            &header,
            sub.filter.as_ref(),
            &self.retry_topic,
            self.config.consumer_timeout_when_suspend,
        )
        .await?;
        let next = result.next_begin_offset;
        Ok(match result.status {
            PullStatus::Found => PullOutcome::Found {
                next,
                msgs: result.msgs,
            },
            PullStatus::NoNewMsg => PullOutcome::Nothing { next },
            PullStatus::OffsetIllegal => PullOutcome::OffsetIllegal { next },
        })
    }
}
