//! Concurrent consumption (Java `ConsumeMessageConcurrentlyService`): listener calls on the
//! consume thread pool, offsets advanced to the smallest in-flight offset, failed messages retried.
//!
//! Retries: in clustering mode a failed message is sent back to the broker
//! (CONSUMER_SEND_MSG_BACK), which redelivers it through `%RETRY%<group>` after a delay, or
//! moves it to `%DLQ%<group>` after `maxReconsumeTimes` retries. When that request fails, the
//! consumer publishes a copy to `%RETRY%<group>` itself with the next delay level, as Java
//! does. When that fails too, the message stays in flight (holding the committed offset back)
//! and is handed to the listener again locally after `local_retry_delay` with its reconsume
//! count increased, Java's last resort; after `maxReconsumeTimes` local retries it is dropped
//! with an error log. Broadcasting
//! consumers never retry (as Java: "BROADCASTING, the message consume failed, drop it").

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_remoting::body::client::{MessageModel, MessageQueue};
use rmq_remoting::header::broker::ConsumerSendMsgBackRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::process_queue::ProcessQueue;
use super::status::CallTally;
use super::{ConsumeContext, ConsumeStatus, ConsumerInner, Listener};
use crate::error::{ClientError, Result};
use crate::message::{Message, ReceivedMessage};
use crate::producer::Producer;
use crate::trace::ConsumeReturn;
use rmq_remoting::message::keys;

/// A pulled batch of one queue on its way through the consume pool: built once per batch, so
/// a listener call costs no allocation for its context. It holds a token of `consume_tasks`
/// until its last message is handled, so shutdown waits for it.
///
/// Successful calls are committed and counted when the batch is dropped, after its last
/// call: one process-queue update, offset update and rate update per batch instead of per
/// message. The committed offset still never passes a message in flight; it only moves a
/// batch at a time.
pub(crate) struct ConsumeBatch {
    consumer: Arc<ConsumerInner>,
    pq: Arc<ProcessQueue>,
    ctx: ConsumeContext,
    done: Mutex<BatchDone>,
    _token: tokio_util::task::task_tracker::TaskTrackerToken,
}

/// What the calls of a batch did so far.
#[derive(Default)]
struct BatchDone {
    /// Offsets consumed successfully, to commit.
    offsets: Vec<i64>,
    calls: CallTally,
}

impl Drop for ConsumeBatch {
    fn drop(&mut self) {
        let done = std::mem::take(self.done.get_mut().unwrap_or_else(|e| e.into_inner()));
        let mq = &self.ctx.queue;
        if !done.offsets.is_empty() {
            self.consumer.commit_consumed(mq, &self.pq, done.offsets);
        }
        self.consumer.status.consumed_calls(mq, &done.calls);
    }
}

impl super::pool::ConsumeRun for ConsumeBatch {
    /// One listener call. A success is noted for the batch's commit; any other outcome goes
    /// back to the runtime, where retries may need the network. Calls that have not started
    /// when the consumer stops or the queue is dropped are abandoned: their messages stay
    /// uncommitted and are delivered again to whoever owns the queue next.
    fn consume(self: &Arc<Self>, msgs: &mut Vec<ReceivedMessage>) {
        let me = &self.consumer;
        if self.pq.is_dropped() || me.stop_consuming.is_cancelled() {
            return;
        }
        let Listener::Concurrently(listener) = &me.listener else {
            return;
        };
        let mq = &self.ctx.queue;
        let traced = me.trace_before(msgs);
        let mut panicked = false;
        let began = std::time::Instant::now();
        let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            listener.consume(msgs, &self.ctx)
        }))
        .unwrap_or_else(|_| {
            tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, "the listener panicked; reconsume later");
            panicked = true;
            ConsumeStatus::ReconsumeLater
        });
        let ok = status == ConsumeStatus::ConsumeSuccess;
        me.trace_after(&traced, msgs.len(), ConsumeReturn::of(ok, panicked));
        let (done_count, failed) = if ok { (msgs.len(), 0) } else { (0, msgs.len()) };
        {
            let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            done.calls.add(began.elapsed(), done_count, failed);
            if ok {
                done.offsets.extend(msgs.iter().map(|m| m.queue_offset));
                return;
            }
        }
        let batch = self.clone();
        let msgs = std::mem::take(msgs);
        me.runtime.spawn(async move {
            let me = &batch.consumer;
            me.process_result(&batch.ctx.queue, &batch.pq, msgs, status)
                .await;
        });
    }
}

impl ConsumerInner {
    /// Hands freshly pulled messages to the listener in calls of up to
    /// `consumeMessageBatchMaxSize` messages.
    pub(crate) fn submit(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
    ) {
        self.spawn_consume(mq.clone(), pq.clone(), msgs, Duration::ZERO);
    }

    /// Queues listener calls on the consume pool, after `delay`. Calls that have not started
    /// when the consumer stops or the queue is dropped are abandoned.
    fn spawn_consume(
        self: &Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
        delay: Duration,
    ) {
        let Some(pool) = self.pool.clone() else {
            return;
        };
        let batch = Arc::new(ConsumeBatch {
            consumer: self.clone(),
            pq,
            ctx: ConsumeContext { queue: mq },
            done: Mutex::new(BatchDone {
                offsets: Vec::with_capacity(msgs.len()),
                calls: CallTally::default(),
            }),
            _token: self.consume_tasks.token(),
        });
        if delay.is_zero() {
            pool.submit(batch, msgs);
            return;
        }
        let stop = self.stop_consuming.clone();
        self.consume_tasks.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(delay) => pool.submit(batch, msgs),
            }
        });
    }

    /// Marks `done` consumed and moves the queue's offset to the smallest one still in flight.
    fn commit_consumed(
        &self,
        mq: &MessageQueue,
        pq: &ProcessQueue,
        done: impl IntoIterator<Item = i64>,
    ) {
        let commit = pq.remove(done);
        if commit >= 0 && !pq.is_dropped() {
            self.offsets.update(mq, commit, true);
        }
    }

    /// Java `processConsumeResult`: commit what succeeded, retry what failed.
    async fn process_result(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
        status: ConsumeStatus,
    ) {
        let mut retry_locally = Vec::new();
        if status == ConsumeStatus::ReconsumeLater {
            match self.config.message_model {
                MessageModel::Broadcasting => {
                    for m in &msgs {
                        tracing::warn!(msg_id = %m.msg_id, "BROADCASTING, the message consume failed, drop it");
                    }
                }
                MessageModel::Clustering => {
                    for m in &msgs {
                        let Err(e) = self
                            .send_back(m, 0, self.config.effective_max_reconsume_times())
                            .await
                        else {
                            continue;
                        };
                        tracing::debug!(msg_id = %m.msg_id, error = %e, "send-back failed; publishing to the retry topic");
                        if let Err(e) = self.publish_retry(m).await {
                            tracing::debug!(msg_id = %m.msg_id, error = %e, "publishing to the retry topic failed; retrying locally");
                            retry_locally.push(m.clone());
                        }
                    }
                }
            }
        }
        let max = self.config.effective_max_reconsume_times();
        let (retry, give_up): (Vec<_>, Vec<_>) = retry_locally
            .into_iter()
            .partition(|m| m.reconsume_times < max);
        for m in &give_up {
            tracing::error!(msg_id = %m.msg_id, reconsume_times = m.reconsume_times,
                "the message failed maxReconsumeTimes times and cannot be dead-lettered; dropping it");
        }
        let done = msgs
            .iter()
            .map(|m| m.queue_offset)
            .filter(|o| !retry.iter().any(|r| r.queue_offset == *o));
        self.commit_consumed(mq, pq, done);
        if !retry.is_empty() {
            let retry = retry
                .into_iter()
                .map(|mut m| {
                    m.reconsume_times += 1;
                    m
                })
                .collect();
            self.spawn_consume(mq.clone(), pq.clone(), retry, self.config.local_retry_delay);
        }
    }

    /// Java's fallback when the broker would not take a message back: publish a copy to the
    /// group's retry topic through the inner producer, with the id, body and properties kept,
    /// the original topic in RETRY_TOPIC and the next delay level (3 + reconsume times).
    async fn publish_retry(&self, msg: &ReceivedMessage) -> Result<()> {
        let producer = self
            .retry_producer
            .get_or_init(|| async { Producer::inner_for(self.instance.clone()) })
            .await;
        let origin = msg
            .property(keys::ORIGIN_MESSAGE_ID)
            .unwrap_or(&msg.msg_id)
            .to_owned();
        let mut copy = Message::new(self.retry_topic.clone(), msg.body.clone()).with_flag(msg.flag);
        for (name, value) in &msg.properties {
            if ![keys::MIN_OFFSET, keys::MAX_OFFSET, keys::TRAN_MSG].contains(&name.as_str()) {
                copy = copy.with_system_property(name, value);
            }
        }
        let copy = copy
            .with_system_property(keys::RETRY_TOPIC, &msg.topic)
            .with_system_property(keys::ORIGIN_MESSAGE_ID, &origin)
            .with_system_property(keys::RECONSUME_TIME, &(msg.reconsume_times + 1).to_string())
            .with_system_property(
                keys::MAX_RECONSUME_TIMES,
                &self.config.effective_max_reconsume_times().to_string(),
            )
            .with_delay_level(3 + msg.reconsume_times);
        producer.send(copy).await.map(drop)
    }

    /// CONSUMER_SEND_MSG_BACK to the broker that stored the message: `delay_level` 0 lets the
    /// broker pick the next retry level, -1 sends it straight to `%DLQ%<group>`.
    pub(crate) async fn send_back(
        &self,
        msg: &ReceivedMessage,
        delay_level: i32,
        max_reconsume_times: i32,
    ) -> Result<()> {
        let addr = self
            .instance
            .master_addr(&msg.queue.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(msg.queue.broker_name.clone()))?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.config.consumer_group.clone(),
            delay_level,
            origin_msg_id: Some(msg.msg_id.clone()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(max_reconsume_times),
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
        self.instance
            .invoke(&addr, req, self.instance.config().mq_client_api_timeout)
            .await
            .map(drop)
    }
}
