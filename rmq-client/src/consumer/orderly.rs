//! Orderly consumption (Java `ConsumeMessageOrderlyService` and the locking half of
//! `RebalanceImpl`): a clustering consumer owns a queue only while it holds the queue's lock on
//! the broker (LOCK_BATCH_MQ, renewed every 20 s, released with UNLOCK_BATCH_MQ), and hands
//! the queue's messages to the listener one batch at a time, in queue order. A failed batch is
//! retried locally after `suspendCurrentQueueTimeMillis`; offsets advance only past batches that
//! succeeded (or whose messages went to the dead-letter queue after `maxReconsumeTimes`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_remoting::body::client::{
    LockBatchRequestBody, LockBatchResponseBody, MessageModel, MessageQueue, UnlockBatchRequestBody,
};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::process_queue::ProcessQueue;
use super::{ConsumerInner, Listener};
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;
use crate::trace::ConsumeReturn;

/// How often an orderly consumer renews its queue locks (Java's
/// `rocketmq.client.rebalance.lockInterval`).
pub(crate) const LOCK_RENEW_INTERVAL: Duration = Duration::from_secs(20);
/// A lock not renewed for this long is treated as lost by the client (Java's
/// `rocketmq.client.rebalance.lockMaxLiveTime`); brokers keep it for 60 s.
const LOCK_MAX_LIVE_TIME: Duration = Duration::from_secs(30);
/// Pause before a queue whose lock is missing is tried again.
const RELOCK_DELAY: Duration = Duration::from_millis(500);
/// How long a rebalance waits for a running batch before it keeps a lost queue one more round.
const DROP_WAIT: Duration = Duration::from_secs(1);

/// What an orderly listener reports for a batch (Java `ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOrderlyStatus {
    /// Done; the batch counts as consumed and the next one follows.
    Success,
    /// Failed; stop the queue for a moment and hand the same batch to the listener again.
    SuspendCurrentQueueAMoment,
}

/// What an orderly listener learns about the call, and may change.
#[derive(Debug, Clone)]
pub struct ConsumeOrderlyContext {
    /// The queue the messages come from.
    pub queue: MessageQueue,
    /// Overrides `suspendCurrentQueueTimeMillis` for this batch when set.
    pub suspend_current_queue_time: Option<Duration>,
}

/// The application's handler for orderly consumption: called for one queue at a time per
/// queue, batches in queue order, on the consumer's pool of blocking threads. A panic counts as
/// [`ConsumeOrderlyStatus::SuspendCurrentQueueAMoment`].
///
/// Closures `Fn(&[ReceivedMessage], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus` are
/// orderly listeners.
pub trait MessageListenerOrderly: Send + Sync + 'static {
    /// Handles up to `consumeMessageBatchMaxSize` consecutive messages of one queue.
    fn consume(
        &self,
        msgs: &[ReceivedMessage],
        ctx: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus;
}

impl<F> MessageListenerOrderly for F
where
    F: Fn(&[ReceivedMessage], &mut ConsumeOrderlyContext) -> ConsumeOrderlyStatus
        + Send
        + Sync
        + 'static,
{
    fn consume(
        &self,
        msgs: &[ReceivedMessage],
        ctx: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus {
        self(msgs, ctx)
    }
}

/// The orderly half of a queue's state: its broker lock, the pulled messages waiting in
/// offset order, and the guard that keeps one batch per queue at the listener.
#[derive(Debug)]
pub(crate) struct OrderlyState {
    locked: AtomicBool,
    last_lock: Mutex<Option<Instant>>,
    waiting: Mutex<BTreeMap<i64, ReceivedMessage>>,
    /// True while a consume task owns this queue (running or suspended).
    scheduled: AtomicBool,
    /// Held while a batch is at the listener; a rebalance takes it before dropping the queue.
    pub(crate) consuming: tokio::sync::Mutex<()>,
}

impl Default for OrderlyState {
    fn default() -> Self {
        OrderlyState {
            locked: AtomicBool::new(false),
            last_lock: Mutex::new(None),
            waiting: Mutex::default(),
            scheduled: AtomicBool::new(false),
            consuming: tokio::sync::Mutex::new(()),
        }
    }
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl OrderlyState {
    /// Records whether the broker granted (or renewed) the lock just now.
    pub(crate) fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
        if locked {
            *guard(&self.last_lock) = Some(Instant::now());
        }
    }

    /// True while the lock is held and was renewed recently enough to trust.
    pub(crate) fn holds_lock(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
            && guard(&self.last_lock).is_some_and(|t| t.elapsed() <= LOCK_MAX_LIVE_TIME)
    }

    fn push(&self, msgs: Vec<ReceivedMessage>) {
        let mut waiting = guard(&self.waiting);
        for m in msgs {
            waiting.insert(m.queue_offset, m);
        }
    }

    /// Removes and returns the first `n` waiting messages.
    fn take(&self, n: usize) -> Vec<ReceivedMessage> {
        let mut waiting = guard(&self.waiting);
        let mut batch = Vec::with_capacity(n.min(waiting.len()));
        while batch.len() < n {
            match waiting.pop_first() {
                Some((_, m)) => batch.push(m),
                None => break,
            }
        }
        batch
    }

    fn has_waiting(&self) -> bool {
        !guard(&self.waiting).is_empty()
    }
}

impl ConsumerInner {
    /// True for an orderly consumer in clustering mode: the one that locks queues.
    pub(crate) fn locks_queues(&self) -> bool {
        matches!(self.listener, Listener::Orderly(_))
            && self.config.message_model == MessageModel::Clustering
    }

    /// Queues freshly pulled for an orderly listener: queued in offset order, consumed by the
    /// queue's single consume task.
    pub(crate) fn submit_orderly(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
    ) {
        pq.orderly.push(msgs);
        self.schedule_orderly(mq.clone(), pq.clone());
    }

    /// Starts the queue's consume task unless one is already running or suspended.
    fn schedule_orderly(self: &Arc<Self>, mq: MessageQueue, pq: Arc<ProcessQueue>) {
        if pq.orderly.scheduled.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        self.consume_tasks.spawn(async move {
            let stop = me.stop_consuming.clone();
            let mut delay = Duration::ZERO;
            loop {
                if !delay.is_zero() {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                match me.consume_orderly(&mq, &pq).await {
                    Some(d) => delay = d,
                    None => break,
                }
            }
            pq.orderly.scheduled.store(false, Ordering::SeqCst);
            // Messages queued after the last look but before the flag was cleared.
            if pq.orderly.has_waiting() && !pq.is_dropped() && !stop.is_cancelled() {
                me.schedule_orderly(mq, pq);
            }
        });
    }

    /// Hands the queue's waiting messages to the listener batch by batch until none is left
    /// (`None`) or the queue must pause (`Some(delay)`).
    async fn consume_orderly(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
    ) -> Option<Duration> {
        let Listener::Orderly(listener) = &self.listener else {
            return None;
        };
        let _consuming = pq.orderly.consuming.lock().await;
        loop {
            if pq.is_dropped() || self.stop_consuming.is_cancelled() {
                return None;
            }
            if self.locks_queues() && !pq.orderly.holds_lock() {
                if let Ok(locked) = self.lock_queues(&mq.broker_name, [mq.clone()]).await {
                    pq.orderly.set_locked(locked.contains(mq));
                }
                if !pq.orderly.holds_lock() {
                    return Some(RELOCK_DELAY);
                }
            }
            let batch = pq.orderly.take(self.config.consume_message_batch_max_size);
            if batch.is_empty() {
                return None;
            }
            let permit = tokio::select! {
                _ = self.stop_consuming.cancelled() => None,
                p = self.consume_permits.clone().acquire_owned() => p.ok(),
            };
            // No permit means the consumer is stopping; the batch stays uncommitted.
            let permit = permit?;
            let listener = listener.clone();
            let for_listener = batch.clone();
            let queue = mq.clone();
            let began = std::time::Instant::now();
            let traced = self.trace_before(&batch);
            let outcome = tokio::task::spawn_blocking(move || {
                let mut ctx = ConsumeOrderlyContext {
                    queue,
                    suspend_current_queue_time: None,
                };
                let status = listener.consume(&for_listener, &mut ctx);
                (status, ctx.suspend_current_queue_time)
            })
            .await;
            drop(permit);
            let panicked = outcome.is_err();
            let (status, suspend) = outcome.unwrap_or_else(|e| {
                tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, error = %e, "the orderly listener panicked; suspending the queue");
                (ConsumeOrderlyStatus::SuspendCurrentQueueAMoment, None)
            });
            let success = status == ConsumeOrderlyStatus::Success;
            self.trace_after(&traced, batch.len(), ConsumeReturn::of(success, panicked));
            let (ok, failed) = match status {
                ConsumeOrderlyStatus::Success => (batch.len(), 0),
                ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => (0, batch.len()),
            };
            self.status.consumed(mq, began.elapsed(), ok, failed);
            let retry = match status {
                ConsumeOrderlyStatus::Success => Vec::new(),
                ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => {
                    self.retry_or_dead_letter(batch.clone()).await
                }
            };
            let done = batch
                .iter()
                .map(|m| m.queue_offset)
                .filter(|o| !retry.iter().any(|r| r.queue_offset == *o));
            let commit = pq.remove(done);
            if commit >= 0 && !pq.is_dropped() {
                self.offsets.update(mq, commit, false);
            }
            if !retry.is_empty() {
                pq.orderly.push(retry);
                return Some(suspend.unwrap_or(self.config.suspend_current_queue_time));
            }
        }
    }

    /// The messages of a failed batch to hand to the listener again (reconsume count
    /// increased); those that reached `maxReconsumeTimes` go to the dead-letter queue instead,
    /// and stay if the broker refuses them.
    async fn retry_or_dead_letter(&self, batch: Vec<ReceivedMessage>) -> Vec<ReceivedMessage> {
        let max = self.orderly_max_reconsume_times();
        let mut retry = Vec::new();
        for mut m in batch {
            if m.reconsume_times >= max {
                match self
                    .send_back(&m, -1, self.orderly_max_reconsume_times())
                    .await
                {
                    Ok(()) => {
                        tracing::warn!(msg_id = %m.msg_id, reconsume_times = m.reconsume_times,
                            "orderly consumption failed maxReconsumeTimes times; message sent to the dead-letter queue");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(msg_id = %m.msg_id, error = %e,
                            "cannot dead-letter the message; it stays in the queue");
                    }
                }
            }
            m.reconsume_times = m.reconsume_times.saturating_add(1);
            retry.push(m);
        }
        retry
    }

    /// `maxReconsumeTimes` of an orderly consumer: -1 means unlimited, as in Java.
    fn orderly_max_reconsume_times(&self) -> i32 {
        if self.config.max_reconsume_times < 0 {
            i32::MAX
        } else {
            self.config.max_reconsume_times
        }
    }

    // -----------------------------------------------------------------------------------------
    // Broker locks
    // -----------------------------------------------------------------------------------------

    /// LOCK_BATCH_MQ for `mqs` (all of `broker_name`); returns the ones this client now holds.
    pub(crate) async fn lock_queues(
        &self,
        broker_name: &str,
        mqs: impl IntoIterator<Item = MessageQueue>,
    ) -> Result<BTreeSet<MessageQueue>> {
        let addr = self
            .instance
            .master_addr(broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(broker_name.to_owned()))?;
        let body = LockBatchRequestBody {
            client_id: self.instance.client_id().to_owned(),
            consumer_group: self.config.consumer_group.clone(),
            mq_set: mqs.into_iter().collect(),
            only_this_broker: false,
        };
        let req = RemotingCommand::request_without_header(RequestCode::LOCK_BATCH_MQ)
            .with_body(Bytes::from(fastjson::to_vec(&body, KeyStyle::Fastjson)));
        let resp = self
            .instance
            .invoke(&addr, req, self.instance.config().mq_client_api_timeout)
            .await?;
        let answer: LockBatchResponseBody =
            fastjson::from_slice(&resp.body).map_err(|e| ClientError::Protocol {
                addr,
                reason: format!("LOCK_BATCH_MQ answer: {e}"),
            })?;
        Ok(answer.lock_ok_mq_set)
    }

    /// UNLOCK_BATCH_MQ for `mqs` (all of `broker_name`); failures are logged, the broker's
    /// lock then simply expires.
    pub(crate) async fn unlock_queues(&self, broker_name: &str, mqs: BTreeSet<MessageQueue>) {
        let Some(addr) = self.instance.master_addr(broker_name) else {
            return;
        };
        let body = UnlockBatchRequestBody {
            client_id: self.instance.client_id().to_owned(),
            consumer_group: self.config.consumer_group.clone(),
            mq_set: mqs,
            only_this_broker: false,
        };
        let req = RemotingCommand::request_without_header(RequestCode::UNLOCK_BATCH_MQ)
            .with_body(Bytes::from(fastjson::to_vec(&body, KeyStyle::Fastjson)));
        if let Err(e) = self
            .instance
            .invoke(&addr, req, self.instance.config().mq_client_api_timeout)
            .await
        {
            tracing::warn!(broker = %addr, error = %e, "UNLOCK_BATCH_MQ failed; the broker's locks will expire");
        }
    }

    /// Renews the locks of every assigned queue, broker by broker (Java `lockAll`); queues the
    /// broker no longer grants stop being consumed until they are locked again.
    pub(crate) async fn renew_locks(&self) {
        let mut by_broker: HashMap<String, Vec<(MessageQueue, Arc<ProcessQueue>)>> = HashMap::new();
        for (mq, pq) in self.queues().iter() {
            by_broker
                .entry(mq.broker_name.clone())
                .or_default()
                .push((mq.clone(), pq.clone()));
        }
        for (broker, queues) in by_broker {
            let mqs = queues.iter().map(|(mq, _)| mq.clone());
            match self.lock_queues(&broker, mqs).await {
                Ok(locked) => {
                    for (mq, pq) in &queues {
                        let held = locked.contains(mq);
                        if !held && pq.orderly.holds_lock() {
                            tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, "the broker no longer grants this queue's lock; pausing it");
                        }
                        pq.orderly.set_locked(held);
                    }
                }
                Err(e) => tracing::warn!(broker, error = %e, "renewing queue locks failed"),
            }
        }
    }

    /// Releases every assigned queue's lock (shutdown).
    pub(crate) async fn unlock_all(&self) {
        let mut by_broker: HashMap<String, BTreeSet<MessageQueue>> = HashMap::new();
        for mq in self.queues().keys() {
            by_broker
                .entry(mq.broker_name.clone())
                .or_default()
                .insert(mq.clone());
        }
        for (broker, mqs) in by_broker {
            self.unlock_queues(&broker, mqs).await;
        }
    }

    /// Renews locks every [`LOCK_RENEW_INTERVAL`] until the consumer stops.
    pub(crate) fn spawn_lock_renewal(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let stop = self.stop_pulling.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(LOCK_RENEW_INTERVAL) => {}
                }
                let Some(consumer) = weak.upgrade() else {
                    return;
                };
                consumer.renew_locks().await;
            }
        });
    }

    /// Lets go of a lost queue once no batch of it is at the listener: waits up to
    /// [`DROP_WAIT`], then drops it, commits its offset and releases its lock. False when a
    /// batch is still running; the next rebalance tries again.
    pub(crate) async fn release_orderly_queue(
        &self,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
    ) -> bool {
        let Ok(_consuming) = tokio::time::timeout(DROP_WAIT, pq.orderly.consuming.lock()).await
        else {
            tracing::info!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, "a batch of this lost queue is still being consumed; releasing it later");
            return false;
        };
        pq.set_dropped();
        self.offsets.persist(std::slice::from_ref(mq), true).await;
        self.unlock_queues(&mq.broker_name, BTreeSet::from([mq.clone()]))
            .await;
        true
    }
}
