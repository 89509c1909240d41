//! The push consumer (Java `DefaultMQPushConsumer` with a concurrent listener): long-polling
//! pulls per assigned queue, a bounded pool of listener calls, offsets committed as the
//! smallest in-flight offset (docs/behaviour.md §5).

mod allocate;
mod lite_pull;
mod offset_store;
mod orderly;
mod pool;
mod process;
mod process_queue;
mod pull;
mod rebalance;
mod reset;
pub(crate) mod running;
mod status;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_remoting::acl::Credentials;
use rmq_remoting::body::client::CheckClientRequestBody;
use rmq_remoting::body::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, MessageQueue, SubscriptionData,
    EXPRESSION_TYPE_TAG,
};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::message::TagSubscription;
use rmq_remoting::{RemotingCommand, RequestCode};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use allocate::{AllocateMessageQueueAveragely, AllocateMessageQueueStrategy};
pub use lite_pull::{LitePullConsumer, LitePullConsumerBuilder};
pub use orderly::{ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListenerOrderly};
pub(crate) use rebalance::search_offset_request;

use crate::config::{ClientConfig, ConsumerConfig};
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::ReceivedMessage;
use crate::trace::{self, ConsumeReturn, HostKind, TraceDispatcher, TraceRecord};
use offset_store::OffsetStore;
use process_queue::ProcessQueue;

/// What a listener reports for a batch of messages (Java `ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeStatus {
    /// Done; the messages count as consumed.
    ConsumeSuccess,
    /// Failed; deliver the messages again later.
    ReconsumeLater,
}

/// What a listener learns about the call besides the messages.
#[derive(Debug, Clone)]
pub struct ConsumeContext {
    /// The queue the messages come from.
    pub queue: MessageQueue,
}

/// The application's message handler. It runs on a pool of at most `consumeThreadMax`
/// blocking threads, so it may block; a panic counts as [`ConsumeStatus::ReconsumeLater`].
///
/// Closures `Fn(&[ReceivedMessage], &ConsumeContext) -> ConsumeStatus` are listeners.
pub trait MessageListener: Send + Sync + 'static {
    /// Handles up to `consumeMessageBatchMaxSize` messages of one queue.
    fn consume(&self, msgs: &[ReceivedMessage], ctx: &ConsumeContext) -> ConsumeStatus;
}

impl<F> MessageListener for F
where
    F: Fn(&[ReceivedMessage], &ConsumeContext) -> ConsumeStatus + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[ReceivedMessage], ctx: &ConsumeContext) -> ConsumeStatus {
        self(msgs, ctx)
    }
}

/// The application's handler, concurrent or orderly.
#[derive(Clone)]
pub(crate) enum Listener {
    /// Batches of any queue in parallel on the pool.
    Concurrently(Arc<dyn MessageListener>),
    /// One batch at a time per queue, in queue order, holding the broker's queue lock.
    Orderly(Arc<dyn MessageListenerOrderly>),
    /// No listener: a lite pull consumer's buffer, drained by `poll`.
    Lite(Arc<lite_pull::LiteBuffer>),
}

/// What a subscription selects (Java `MessageSelector`): a tag expression the client also
/// re-checks, or an SQL92 condition on message properties that only the broker evaluates (it
/// needs `enablePropertyFilter=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSelector {
    /// `*` or `TagA || TagB`.
    Tag(String),
    /// An SQL92 condition such as `a > 5 AND region IN ('eu','us')`.
    Sql92(String),
}

impl MessageSelector {
    /// A tag expression: `*` or `TagA || TagB`.
    pub fn by_tag(expression: impl Into<String>) -> Self {
        MessageSelector::Tag(expression.into())
    }

    /// An SQL92 condition on message properties.
    pub fn by_sql(expression: impl Into<String>) -> Self {
        MessageSelector::Sql92(expression.into())
    }
}

/// One subscribed topic with its parsed tag filter (`None` for SQL92, filtered by the broker).
struct Subscription {
    data: SubscriptionData,
    filter: Option<TagSubscription>,
}

/// The heartbeat entry and client-side filter of a subscription.
fn subscription(topic: &str, selector: &MessageSelector) -> Result<Subscription> {
    let sub_version = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut data = SubscriptionData {
        class_filter_mode: false,
        code_set: Vec::new(),
        expression_type: EXPRESSION_TYPE_TAG.to_owned(),
        filter_class_source: None,
        sub_string: String::new(),
        sub_version,
        tags_set: Vec::new(),
        topic: topic.to_owned(),
    };
    match selector {
        MessageSelector::Tag(expression) => {
            let filter = TagSubscription::parse(Some(expression));
            data.code_set = filter.codes.clone();
            data.tags_set = filter.tags.clone();
            data.sub_string = if filter.all {
                "*".to_owned()
            } else {
                expression.trim().to_owned()
            };
            Ok(Subscription {
                data,
                filter: Some(filter),
            })
        }
        MessageSelector::Sql92(expression) => {
            rmq_filter::Expression::compile(expression).map_err(|e| {
                ClientError::Config(format!(
                    "the SQL92 expression {expression:?} for topic {topic} is invalid: {e}"
                ))
            })?;
            data.expression_type = rmq_filter::EXPRESSION_TYPE_SQL92.to_owned();
            data.sub_string = expression.trim().to_owned();
            Ok(Subscription { data, filter: None })
        }
    }
}

/// The consumer's state, shared by its pull loops, listener calls and the client instance.
pub(crate) struct ConsumerInner {
    config: ConsumerConfig,
    instance: Arc<ClientInstance>,
    subscriptions: HashMap<String, Subscription>,
    retry_topic: String,
    /// Publishes failed messages to the retry topic when the broker will not take them back;
    /// made on first use.
    retry_producer: tokio::sync::OnceCell<crate::producer::Producer>,
    listener: Listener,
    strategy: Arc<dyn AllocateMessageQueueStrategy>,
    /// Assign mode of a lite pull consumer: these queues instead of an allocation.
    fixed_assignment: Option<Vec<MessageQueue>>,
    offsets: OffsetStore,
    /// Which broker of its group each queue is pulled from next, as the last answer suggested
    /// (Java `PullAPIWrapper.pullFromWhichNodeTable`); absent means the master.
    pull_from_which_node: Mutex<HashMap<MessageQueue, i64>>,
    queues: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    consume_permits: Arc<Semaphore>,
    /// The listener threads of a concurrent consumer.
    pool: Option<Arc<pool::ConsumePool<process::ConsumeBatch>>>,
    /// The runtime the consumer started in, for work that follows a listener call.
    runtime: tokio::runtime::Handle,
    consume_tasks: TaskTracker,
    stop_pulling: CancellationToken,
    stop_consuming: CancellationToken,
    running: AtomicBool,
    rebalance_lock: tokio::sync::Mutex<()>,
    /// Where SubBefore and SubAfter records go when `enableMsgTrace` is on.
    trace: Option<Arc<TraceDispatcher>>,
    /// Rates and queue times for running info.
    status: status::ConsumeStatusTable,
}

impl ConsumerInner {
    /// Records SubBefore for a listener call; what [`Self::trace_after`] completes. Empty when
    /// tracing is off.
    pub(crate) fn trace_before(&self, msgs: &[ReceivedMessage]) -> Vec<TraceRecord> {
        let Some(tracer) = &self.trace else {
            return Vec::new();
        };
        let request_id = tracer.request_id();
        let records = trace::sub_before(&self.config.consumer_group, &request_id, msgs);
        tracer.append(records.clone());
        records
    }

    /// Records SubAfter for the listener call `before` was recorded for.
    pub(crate) fn trace_after(
        &self,
        before: &[TraceRecord],
        batch_len: usize,
        outcome: ConsumeReturn,
    ) {
        if let (Some(tracer), false) = (&self.trace, before.is_empty()) {
            tracer.append(trace::sub_after(before, batch_len, outcome));
        }
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, Arc<ProcessQueue>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The group's entry in heartbeats.
    pub(crate) fn consumer_data(&self) -> ConsumerData {
        let mut subs: Vec<SubscriptionData> = self
            .subscriptions
            .values()
            .map(|s| s.data.clone())
            .collect();
        subs.sort_by(|a, b| a.topic.cmp(&b.topic));
        ConsumerData {
            consume_from_where: self.config.consume_from_where,
            consume_type: match self.listener {
                Listener::Lite(_) => ConsumeType::Actively,
                _ => ConsumeType::Passively,
            },
            group_name: self.config.consumer_group.clone(),
            message_model: self.config.message_model,
            subscription_data_set: subs,
            unit_mode: false,
        }
    }

    /// The subscribed topics (the retry topic included in clustering mode).
    pub(crate) fn topics(&self) -> Vec<String> {
        self.subscriptions.keys().cloned().collect()
    }

    /// Asks every broker of each SQL92-subscribed topic whether it accepts the expression
    /// (CHECK_CLIENT_CONFIG, as Java does at start), so a broker without
    /// `enablePropertyFilter` fails the start instead of every pull.
    async fn check_client_config(&self) -> Result<()> {
        for sub in self.subscriptions.values().filter(|s| s.filter.is_none()) {
            let Some(route) = self.instance.cached_route(&sub.data.topic) else {
                continue;
            };
            for addr in route
                .broker_datas
                .iter()
                .flat_map(|bd| bd.broker_addrs.values())
            {
                let body = CheckClientRequestBody {
                    client_id: self.instance.client_id().to_owned(),
                    group: self.config.consumer_group.clone(),
                    namespace: None,
                    subscription_data: sub.data.clone(),
                };
                let req = RemotingCommand::request_without_header(RequestCode::CHECK_CLIENT_CONFIG)
                    .with_body(fastjson::to_vec(&body, KeyStyle::Fastjson));
                self.instance
                    .invoke(addr, req, self.instance.config().mq_client_api_timeout)
                    .await?;
            }
        }
        Ok(())
    }

    /// Sends the in-memory offsets of every assigned queue to their durable store.
    pub(crate) async fn persist_offsets(&self) {
        let mqs: Vec<MessageQueue> = self.queues().keys().cloned().collect();
        self.offsets.persist(&mqs, false).await;
    }

    /// Hands freshly pulled messages of `mq` to the listener.
    pub(crate) fn dispatch(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
    ) {
        match self.listener {
            Listener::Concurrently(_) => self.submit(mq, pq, msgs),
            Listener::Orderly(_) => self.submit_orderly(mq, pq, msgs),
            Listener::Lite(ref buffer) => {
                // As Java's lite pull consumer: a pulled batch is traced as consumed at once.
                let before = self.trace_before(&msgs);
                self.trace_after(&before, msgs.len(), ConsumeReturn::Success);
                buffer.push(pq, msgs);
            }
        }
    }
}

/// A running push consumer. Create it with [`PushConsumer::builder`]; stop it with
/// [`PushConsumer::shutdown`], which commits what was consumed.
pub struct PushConsumer {
    inner: Arc<ConsumerInner>,
}

/// Collects a push consumer's settings, subscriptions and listener.
pub struct PushConsumerBuilder {
    client: ClientConfig,
    consumer: ConsumerConfig,
    subscriptions: Vec<(String, MessageSelector)>,
    listener: Option<Listener>,
    strategy: Arc<dyn AllocateMessageQueueStrategy>,
    fixed_assignment: Option<Vec<MessageQueue>>,
}

impl Default for PushConsumerBuilder {
    fn default() -> Self {
        PushConsumerBuilder {
            client: ClientConfig::default(),
            consumer: ConsumerConfig::default(),
            subscriptions: Vec::new(),
            listener: None,
            strategy: Arc::new(AllocateMessageQueueAveragely),
            fixed_assignment: None,
        }
    }
}

impl PushConsumerBuilder {
    /// Sets `namesrvAddr`.
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.client.namesrv_addr = addr.into();
        self
    }

    /// Sets `consumerGroup`.
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer.consumer_group = group.into();
        self
    }

    /// Replaces the client-wide settings (keeps the name servers if `config` has none).
    pub fn client_config(mut self, config: ClientConfig) -> Self {
        self.client = self.client.replaced_by(config);
        self
    }

    /// Signs every request with these ACL keys (Java's `AclClientRPCHook`).
    pub fn credentials(mut self, keys: Credentials) -> Self {
        self.client.credentials = Some(keys);
        self
    }

    /// Replaces the consumer settings (keeps the group if `config` has none).
    pub fn config(mut self, config: ConsumerConfig) -> Self {
        let group = std::mem::take(&mut self.consumer.consumer_group);
        self.consumer = config;
        if self.consumer.consumer_group.is_empty() {
            self.consumer.consumer_group = group;
        }
        self
    }

    /// Sets `messageModel`.
    pub fn message_model(mut self, model: MessageModel) -> Self {
        self.consumer.message_model = model;
        self
    }

    /// Sets `consumeFromWhere`.
    pub fn consume_from_where(mut self, from: ConsumeFromWhere) -> Self {
        self.consumer.consume_from_where = from;
        self
    }

    /// Subscribes to `topic` with a tag expression: `*` or `TagA || TagB`.
    pub fn subscribe(mut self, topic: impl Into<String>, expression: impl Into<String>) -> Self {
        self.subscriptions
            .push((topic.into(), MessageSelector::Tag(expression.into())));
        self
    }

    /// Subscribes to `topic` with a tag or SQL92 selector.
    pub fn subscribe_with(mut self, topic: impl Into<String>, selector: MessageSelector) -> Self {
        self.subscriptions.push((topic.into(), selector));
        self
    }

    /// Sets a concurrent message handler (replaces any listener set before).
    pub fn listener(mut self, listener: impl MessageListener) -> Self {
        self.listener = Some(Listener::Concurrently(Arc::new(listener)));
        self
    }

    /// Sets an orderly message handler (Java `registerMessageListener(MessageListenerOrderly)`):
    /// each queue's messages are handled one batch at a time in queue order, and in clustering
    /// mode only while this member holds the queue's lock on the broker.
    pub fn listener_orderly(mut self, listener: impl MessageListenerOrderly) -> Self {
        self.listener = Some(Listener::Orderly(Arc::new(listener)));
        self
    }

    /// Replaces the allocation strategy (default [`AllocateMessageQueueAveragely`]).
    pub fn allocate_strategy(
        mut self,
        strategy: impl AllocateMessageQueueStrategy + 'static,
    ) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Validates, joins the client instance, registers the group and starts rebalancing and
    /// pulling. Must run inside a tokio runtime.
    pub async fn start(self) -> Result<PushConsumer> {
        let cfg = self.consumer;
        cfg.validate()?;
        let listener = self
            .listener
            .ok_or_else(|| ClientError::Config("messageListener is null".into()))?;
        if self.subscriptions.is_empty() {
            return Err(ClientError::Config(
                "no subscription: call subscribe".into(),
            ));
        }
        let group = cfg.consumer_group.clone();
        let clustering = cfg.message_model == MessageModel::Clustering;
        let retry_topic = format!("%RETRY%{group}");
        let mut subscriptions = HashMap::new();
        let mut topics = self.subscriptions;
        // Lite pull consumers do not send messages back, so they read no retry topic.
        if clustering && !matches!(listener, Listener::Lite(_)) {
            topics.push((retry_topic.clone(), MessageSelector::by_tag("*")));
        }
        for (topic, selector) in topics {
            let sub = subscription(&topic, &selector)?;
            subscriptions.insert(topic, sub);
        }
        let instance = ClientInstance::acquire(&self.client, clustering)?;
        let offsets = if clustering {
            OffsetStore::remote(instance.clone(), &group)
        } else {
            let path = cfg
                .local_offset_store_dir
                .join(instance.client_id())
                .join(&group)
                .join("offsets.json");
            OffsetStore::local(instance.clone(), &group, path)
        };
        let pool = match listener {
            Listener::Concurrently(_) => Some(
                pool::ConsumePool::start(
                    cfg.consume_thread_max,
                    cfg.consume_message_batch_max_size,
                    "ConsumeMessageThread",
                )
                .map_err(|e| {
                    ClientError::Config(format!("cannot start the consume threads: {e}"))
                })?,
            ),
            _ => None,
        };
        let trace = if cfg.enable_msg_trace {
            start_trace(&self.client, &cfg).await
        } else {
            None
        };
        let inner = Arc::new(ConsumerInner {
            consume_permits: Arc::new(Semaphore::new(cfg.consume_thread_max)),
            pool,
            runtime: tokio::runtime::Handle::current(),
            config: cfg,
            instance: instance.clone(),
            subscriptions,
            retry_topic,
            retry_producer: tokio::sync::OnceCell::new(),
            listener,
            strategy: self.strategy,
            fixed_assignment: self.fixed_assignment,
            offsets,
            pull_from_which_node: Mutex::default(),
            queues: Mutex::default(),
            consume_tasks: TaskTracker::new(),
            stop_pulling: CancellationToken::new(),
            stop_consuming: CancellationToken::new(),
            running: AtomicBool::new(true),
            rebalance_lock: tokio::sync::Mutex::new(()),
            trace,
            status: status::ConsumeStatusTable::new(),
        });
        if let Err(e) = instance.register_consumer(&group, inner.clone()) {
            if let Some(pool) = &inner.pool {
                pool.stop();
            }
            return Err(e);
        }
        if inner.locks_queues() {
            inner.spawn_lock_renewal();
        }
        for topic in inner.topics() {
            if let Err(e) = instance.update_route(&topic).await {
                tracing::warn!(topic, error = %e, "cannot fetch the route of a subscribed topic");
            }
        }
        if let Err(e) = inner.check_client_config().await {
            instance.unregister_consumer(&group).await;
            return Err(e);
        }
        instance.send_heartbeat_to_all_brokers().await;
        instance.rebalance_soon();
        tracing::info!(group, client_id = %instance.client_id(), "push consumer started");
        Ok(PushConsumer { inner })
    }
}

/// The consumer's trace dispatcher; without one (it could not start) the consumer works on
/// untraced, as Java's.
async fn start_trace(client: &ClientConfig, cfg: &ConsumerConfig) -> Option<Arc<TraceDispatcher>> {
    let group = &cfg.consumer_group;
    let topic = &cfg.customized_trace_topic;
    match TraceDispatcher::start(client, group, HostKind::Consume, topic).await {
        Ok(dispatcher) => Some(dispatcher),
        Err(e) => {
            tracing::warn!(group, error = %e, "message trace cannot start");
            None
        }
    }
}

/// A consumer dropped while running shuts down in the background on the runtime it started
/// in: offsets are committed, orderly queue locks released (UNLOCK_BATCH_MQ) and the group
/// left, instead of waiting for the broker to expire them. Call [`PushConsumer::shutdown`]
/// to wait for that to finish.
impl Drop for PushConsumer {
    fn drop(&mut self) {
        if !self.inner.running.load(Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        let runtime = inner.runtime.clone();
        runtime.spawn(async move { PushConsumer { inner }.shutdown().await });
    }
}

impl PushConsumer {
    /// A builder with Java's defaults.
    pub fn builder() -> PushConsumerBuilder {
        PushConsumerBuilder::default()
    }

    /// The client id this consumer is known by in its group.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// A producer on this consumer's client instance (Java's instance-wide default producer,
    /// group `CLIENT_INNER_PRODUCER`): what a listener sends the replies to requests with.
    pub fn inner_producer(&self) -> crate::producer::Producer {
        crate::producer::Producer::inner_for(self.inner.instance.clone())
    }

    /// The queues currently assigned to this consumer, sorted.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        let mut queues: Vec<MessageQueue> = self.inner.queues().keys().cloned().collect();
        queues.sort();
        queues
    }

    /// Stops pulling, lets running listener calls finish (up to
    /// `awaitTerminationMillisWhenShutdown`), commits offsets and leaves the group, whose other
    /// members then take over the queues. Messages pulled but not yet handed to the listener
    /// are not committed and will be delivered again.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if !inner.running.swap(false, Ordering::SeqCst) {
            return;
        }
        let _rebalance = inner.rebalance_lock.lock().await;
        inner.stop_pulling.cancel();
        inner.stop_consuming.cancel();
        if let Some(pool) = &inner.pool {
            pool.stop();
        }
        inner.consume_tasks.close();
        if tokio::time::timeout(
            inner.config.await_termination_when_shutdown,
            inner.consume_tasks.wait(),
        )
        .await
        .is_err()
        {
            tracing::warn!(
                "listener calls still running at shutdown; their messages will be delivered again"
            );
        }
        let mqs: Vec<MessageQueue> = inner.queues().keys().cloned().collect();
        inner.offsets.persist(&mqs, true).await;
        if inner.locks_queues() {
            inner.unlock_all().await;
        }
        for (_, pq) in inner.queues().drain() {
            pq.set_dropped();
        }
        inner
            .instance
            .unregister_consumer(&inner.config.consumer_group)
            .await;
        if let Some(trace) = &inner.trace {
            trace.shutdown().await;
        }
        tracing::info!(group = %inner.config.consumer_group, "push consumer shut down");
    }
}
