//! The lite pull consumer (Java `DefaultLitePullConsumer`): the application polls messages
//! instead of registering a listener. It stands on the push consumer's machinery — rebalance
//! (subscribe mode) or a fixed assignment (assign mode), one long-polling pull loop per queue,
//! per-queue flow control — with the pulled messages parked in a buffer that
//! [`LitePullConsumer::poll`] drains. Polled positions become the group's offsets at once with
//! auto-commit, or on [`LitePullConsumer::commit`] without.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_remoting::acl::Credentials;
use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::header::broker::GetMinOffsetRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};
use tokio::sync::Notify;

use super::process_queue::ProcessQueue;
use super::{pull, ConsumerInner, Listener, PushConsumer, PushConsumerBuilder};
use crate::config::{ClientConfig, ConsumerConfig};
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;
use crate::route::subscribe_queues;

/// Java's lite-pull `pullBatchSize`: messages per pull and most messages per poll.
const LITE_PULL_BATCH_SIZE: i32 = 10;

/// Pulled batches waiting for `poll` (each with the state of its queue, kept whole so that a
/// poll costs no per-message bookkeeping), and the positions polled but not yet committed.
pub(crate) struct LiteBuffer {
    ready: Mutex<VecDeque<(Arc<ProcessQueue>, std::vec::IntoIter<ReceivedMessage>)>>,
    arrived: Notify,
    /// Queue → offset after the last polled message, waiting for a commit.
    consumed: Mutex<HashMap<MessageQueue, i64>>,
    auto_commit: bool,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiteBuffer {
    fn new(auto_commit: bool) -> Self {
        LiteBuffer {
            ready: Mutex::default(),
            arrived: Notify::new(),
            consumed: Mutex::default(),
            auto_commit,
        }
    }

    /// Parks pulled messages of a live queue for `poll`.
    pub(crate) fn push(&self, pq: &Arc<ProcessQueue>, msgs: Vec<ReceivedMessage>) {
        if pq.is_dropped() {
            return;
        }
        guard(&self.ready).push_back((pq.clone(), msgs.into_iter()));
        self.arrived.notify_waiters();
    }
}

impl ConsumerInner {
    fn lite(&self) -> Option<&Arc<LiteBuffer>> {
        match &self.listener {
            Listener::Lite(buffer) => Some(buffer),
            _ => None,
        }
    }

    /// Records that everything before `offset` of `mq` was consumed (polled, or skipped by
    /// the filter); with auto-commit it becomes the group's offset at once.
    pub(crate) fn note_consumed(&self, mq: &MessageQueue, offset: i64) {
        let Some(buffer) = self.lite() else {
            return;
        };
        if buffer.auto_commit {
            self.offsets.update(mq, offset, false);
        } else {
            guard(&buffer.consumed).insert(mq.clone(), offset);
        }
    }

    /// Starts `mq` over at `offset`: a fresh queue state and pull loop; messages already
    /// pulled for the old one are discarded.
    async fn reseat(self: &Arc<Self>, mq: &MessageQueue, offset: i64) -> Result<()> {
        let _serial = self.rebalance_lock.lock().await;
        let old = self.queues().get(mq).cloned().ok_or_else(|| {
            ClientError::State(format!(
                "The message queue is not in assigned list, may be rebalancing: {mq:?}"
            ))
        })?;
        old.set_dropped();
        self.note_consumed(mq, offset);
        let pq = Arc::new(ProcessQueue::new());
        self.queues().insert(mq.clone(), pq.clone());
        tokio::spawn(pull::pull_loop(self.clone(), mq.clone(), pq, offset));
        Ok(())
    }
}

/// A running lite pull consumer. Create it with [`LitePullConsumer::builder`]; stop it with
/// [`LitePullConsumer::shutdown`].
pub struct LitePullConsumer {
    consumer: PushConsumer,
}

/// Collects a lite pull consumer's settings and its subscriptions or assigned queues.
pub struct LitePullConsumerBuilder {
    inner: PushConsumerBuilder,
    assigned: Vec<MessageQueue>,
    auto_commit: bool,
}

impl LitePullConsumerBuilder {
    /// Sets `namesrvAddr`.
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.inner = self.inner.namesrv_addr(addr);
        self
    }

    /// Sets `consumerGroup`.
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.inner = self.inner.consumer_group(group);
        self
    }

    /// Replaces the client-wide settings (keeps the name servers if `config` has none).
    pub fn client_config(mut self, config: ClientConfig) -> Self {
        self.inner = self.inner.client_config(config);
        self
    }

    /// Signs every request with these ACL keys (Java's `AclClientRPCHook`).
    pub fn credentials(mut self, keys: Credentials) -> Self {
        self.inner = self.inner.credentials(keys);
        self
    }

    /// Replaces the consumer settings (keeps the group if `config` has none). Its
    /// `pullBatchSize` (10 for a lite consumer, as Java) is also the most one poll returns.
    pub fn config(mut self, config: ConsumerConfig) -> Self {
        self.inner = self.inner.config(config);
        self
    }

    /// Subscribe mode: the group's members share `topic`'s queues, as push consumers do.
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.inner = self.inner.subscribe(topic, expression);
        self
    }

    /// Assign mode: exactly these queues, no rebalancing (Java `assign`).
    pub fn assign(mut self, queues: impl IntoIterator<Item = MessageQueue>) -> Self {
        self.assigned.extend(queues);
        self
    }

    /// `autoCommit` (default true): polled positions become the group's offsets at once and
    /// are sent with the periodic offset persistence; when false, only [`LitePullConsumer::commit`]
    /// moves them.
    pub fn auto_commit(mut self, auto_commit: bool) -> Self {
        self.auto_commit = auto_commit;
        self
    }

    /// Validates, joins the client instance and starts pulling. Must run inside a tokio
    /// runtime.
    pub async fn start(self) -> Result<LitePullConsumer> {
        let has_subscriptions = !self.inner.subscriptions.is_empty();
        let assign_mode = !self.assigned.is_empty();
        if has_subscriptions == assign_mode {
            return Err(ClientError::Config(
                "a lite pull consumer needs either subscribe (subscribe mode) or assign (assign mode), not both".into(),
            ));
        }
        let mut inner = self.inner;
        if !self.assigned.is_empty() {
            let mut topics: Vec<String> = self.assigned.iter().map(|q| q.topic.clone()).collect();
            topics.sort();
            topics.dedup();
            for topic in topics {
                inner = inner.subscribe(topic, "*");
            }
            inner.fixed_assignment = Some(self.assigned);
        }
        inner.listener = Some(Listener::Lite(Arc::new(LiteBuffer::new(self.auto_commit))));
        Ok(LitePullConsumer {
            consumer: inner.start().await?,
        })
    }
}

impl LitePullConsumer {
    /// A builder with Java's lite-pull defaults.
    pub fn builder() -> LitePullConsumerBuilder {
        let config = ConsumerConfig {
            pull_batch_size: LITE_PULL_BATCH_SIZE,
            ..ConsumerConfig::default()
        };
        LitePullConsumerBuilder {
            inner: PushConsumer::builder().config(config),
            assigned: Vec::new(),
            auto_commit: true,
        }
    }

    fn buffer(&self) -> Result<&Arc<LiteBuffer>> {
        self.consumer
            .inner
            .lite()
            .ok_or_else(|| ClientError::State("not a lite pull consumer".into()))
    }

    /// Up to `pullBatchSize` messages, waiting at most `timeout` for the first; empty when
    /// none arrived in time. Messages of one queue come in queue order.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<ReceivedMessage>> {
        let inner = &self.consumer.inner;
        let buffer = self.buffer()?;
        let max = usize::try_from(inner.config.pull_batch_size)
            .unwrap_or(1)
            .max(1);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = buffer.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let mut taken = Vec::new();
            // (queue state, index in `taken` of its first message) per batch taken from
            let mut runs: Vec<(Arc<ProcessQueue>, usize)> = Vec::new();
            {
                let mut ready = guard(&buffer.ready);
                while taken.len() < max {
                    let Some((pq, run)) = ready.front_mut() else {
                        break;
                    };
                    if !pq.is_dropped() {
                        runs.push((pq.clone(), taken.len()));
                        taken.extend(run.by_ref().take(max - taken.len()));
                    }
                    if pq.is_dropped() || run.as_slice().is_empty() {
                        ready.pop_front();
                    }
                }
            }
            if !taken.is_empty() {
                for (i, (pq, from)) in runs.iter().enumerate() {
                    let to = runs.get(i + 1).map_or(taken.len(), |r| r.1);
                    let msgs = &taken[*from..to];
                    let next = pq.remove(msgs.iter().map(|m| m.queue_offset));
                    if next >= 0 && !pq.is_dropped() {
                        if let Some(first) = msgs.first() {
                            inner.note_consumed(&first.queue, next);
                        }
                    }
                }
                return Ok(taken);
            }
            if !inner.running.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(ClientError::State(
                    "The consumer is not running (shut down)".into(),
                ));
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    /// Makes the positions polled so far the group's offsets and sends them to the brokers
    /// now (Java `commitSync`).
    pub async fn commit(&self) -> Result<()> {
        let inner = &self.consumer.inner;
        let buffer = self.buffer()?;
        let consumed: Vec<(MessageQueue, i64)> = guard(&buffer.consumed).drain().collect();
        let assigned: Vec<MessageQueue> = inner.queues().keys().cloned().collect();
        for (mq, offset) in consumed {
            if assigned.contains(&mq) {
                inner.offsets.update(&mq, offset, false);
            }
        }
        inner.offsets.persist(&assigned, true).await;
        Ok(())
    }

    /// The offset the group has stored for `mq` (on the broker, or in the broadcasting
    /// offset file); `None` when there is none.
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let found = self.consumer.inner.offsets.read_from_store(mq).await?;
        Ok(found.filter(|o| *o >= 0))
    }

    /// Continues `mq` (an assigned queue) from `offset`; messages already pulled and not yet
    /// polled from it are discarded.
    pub async fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        self.consumer.inner.reseat(mq, offset).await
    }

    /// Continues `mq` from its first stored message.
    pub async fn seek_to_begin(&self, mq: &MessageQueue) -> Result<()> {
        let inner = &self.consumer.inner;
        let header = GetMinOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::GET_MIN_OFFSET, &header);
        let min = inner.offset_call(mq, req).await?;
        self.seek(mq, min).await
    }

    /// Continues `mq` after its last stored message (only new messages).
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<()> {
        let max = self.consumer.inner.max_offset(mq).await?;
        self.seek(mq, max).await
    }

    /// The queues this consumer reads now, sorted.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.consumer.assigned_queues()
    }

    /// Every readable queue of `topic` (Java `fetchMessageQueues`), for choosing what to
    /// assign.
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let route = self
            .consumer
            .inner
            .instance
            .update_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))?;
        Ok(subscribe_queues(topic, &route))
    }

    /// The client id this consumer is known by in its group.
    pub fn client_id(&self) -> &str {
        self.consumer.client_id()
    }

    /// Stops pulling, commits (with auto-commit, or what [`LitePullConsumer::commit`] last
    /// committed) and leaves the group.
    pub async fn shutdown(&self) {
        self.consumer.shutdown().await;
    }
}
