//! The producer (Java `DefaultMQProducer`): sync, async, oneway, ordered and batch sends with
//! Java's routing, retry, compression and validation rules (docs/behaviour.md §4).

mod fault;
mod request;
mod selector;
mod transaction;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rmq_remoting::acl::Credentials;
use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::header::broker::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use rmq_remoting::message::{
    encode_batch, encode_properties, keys, property_value, sys_flag, BatchItem, REPLY_MESSAGE_FLAG,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::Semaphore;

pub use request::create_reply_message;
pub(crate) use request::{routes as reply_routes, ReplyWaiters};
pub use selector::{MessageQueueSelector, SelectMessageQueueByHash, SelectMessageQueueByRandom};
pub use transaction::{
    LocalTransactionState, TransactionListener, TransactionProducer, TransactionSendResult,
};
pub(crate) use transaction::{TransactionChecker, TransactionCheckers};

use crate::config::{valid_name_byte, ClientConfig, ProducerConfig};
use crate::error::{ClientError, Result};
use crate::instance::{refused, ClientInstance};
use crate::message::{deflate, Message};
use crate::route::{PublishCache, PublishInfo};
use crate::trace::{self, HostKind, SentMessage, TraceDispatcher};
use crate::uniq_id::UniqIdGenerator;

/// Prefix of a consumer group's retry topic.
const RETRY_TOPIC_PREFIX: &str = "%RETRY%";
use fault::FaultStrategy;

/// Response codes after which a send is retried on another broker (Java 4.9
/// `retryResponseCodes`): TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, NO_PERMISSION,
/// NO_BUYER_ID, NOT_IN_CURRENT_UNIT.
const RETRY_RESPONSE_CODES: [i32; 6] = [17, 14, 1, 16, 204, 205];

/// Topics the broker keeps for itself; sending to them is refused before any network call.
const FORBIDDEN_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Longest topic name accepted.
const TOPIC_MAX_LEN: usize = 127;

/// How the broker stored a message it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored (and flushed/replicated if the broker is configured to wait).
    SendOk,
    /// Stored, but the synchronous flush timed out.
    FlushDiskTimeout,
    /// Stored, but replication to the slave timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave is available for synchronous replication.
    SlaveNotAvailable,
}

/// The outcome of a successful send (Java `SendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// How the broker stored the message.
    pub status: SendStatus,
    /// The message's `UNIQ_KEY` (comma-joined for a batch): what consumers see as `msg_id`.
    pub msg_id: String,
    /// The broker's offset message id(s).
    pub offset_msg_id: String,
    /// The queue written.
    pub message_queue: MessageQueue,
    /// Logical offset of the (first) message in that queue.
    pub queue_offset: i64,
    /// The broker's region (`MSG_REGION`).
    pub region_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Async,
    Oneway,
}

/// A message ready for the wire: encoded properties, possibly compressed body, its id.
struct Prepared {
    topic: String,
    body: Bytes,
    sys_flag: i32,
    flag: i32,
    properties: String,
    msg_id: String,
    batch: bool,
}

struct ProducerInner {
    config: ProducerConfig,
    instance: Arc<ClientInstance>,
    fault: FaultStrategy,
    /// The queues of the topics sent to, derived once per route.
    publish: PublishCache,
    async_permits: Arc<Semaphore>,
    ids: &'static UniqIdGenerator,
    running: AtomicBool,
    /// Where Pub and EndTransaction records go when `enableMsgTrace` is on.
    trace: Option<Arc<TraceDispatcher>>,
}

/// Sends messages to topics; cheap to clone, safe to share between tasks.
///
/// Created with [`Producer::builder`]; call [`Producer::shutdown`] when done so the brokers
/// forget the producer group at once rather than after 120 s.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<ProducerInner>,
}

/// Collects a producer's settings; [`ProducerBuilder::start`] validates them and connects.
#[derive(Debug, Clone, Default)]
pub struct ProducerBuilder {
    client: ClientConfig,
    producer: ProducerConfig,
}

impl ProducerBuilder {
    /// Sets `namesrvAddr` (`host:port;host:port`).
    pub fn namesrv_addr(mut self, addr: impl Into<String>) -> Self {
        self.client.namesrv_addr = addr.into();
        self
    }

    /// Sets `producerGroup`.
    pub fn producer_group(mut self, group: impl Into<String>) -> Self {
        self.producer.producer_group = group.into();
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

    /// Replaces the producer settings (keeps the group if `config` has the default one).
    pub fn config(mut self, config: ProducerConfig) -> Self {
        let group = std::mem::take(&mut self.producer.producer_group);
        self.producer = config;
        if self.producer.producer_group == ProducerConfig::default().producer_group {
            self.producer.producer_group = group;
        }
        self
    }

    /// Sets `sendMsgTimeout`.
    pub fn send_msg_timeout(mut self, timeout: Duration) -> Self {
        self.producer.send_msg_timeout = timeout;
        self
    }

    /// Sets `retryTimesWhenSendFailed`.
    pub fn retry_times_when_send_failed(mut self, times: usize) -> Self {
        self.producer.retry_times_when_send_failed = times;
        self
    }

    /// Sets `enableMsgTrace` and `customizedTraceTopic` (empty: `RMQ_SYS_TRACE_TOPIC`).
    pub fn enable_msg_trace(mut self, enable: bool, customized_trace_topic: &str) -> Self {
        self.producer.enable_msg_trace = enable;
        self.producer.customized_trace_topic = customized_trace_topic.to_owned();
        self
    }

    /// Sets `sendLatencyFaultEnable`.
    pub fn send_latency_fault_enable(mut self, enable: bool) -> Self {
        self.producer.send_latency_fault_enable = enable;
        self
    }

    /// Validates the settings, joins (or creates) the client instance and registers the
    /// producer group. Must run inside a tokio runtime.
    pub async fn start(self) -> Result<Producer> {
        let trace = self.producer.enable_msg_trace.then(|| {
            let config = &self.producer;
            (
                self.client.clone(),
                config.producer_group.clone(),
                config.customized_trace_topic.clone(),
            )
        });
        let mut producer = self.start_untraced().await?;
        if let Some((client, group, topic)) = trace {
            match TraceDispatcher::start(&client, &group, HostKind::Produce, &topic).await {
                Ok(dispatcher) => {
                    // Just built: this is the only reference.
                    if let Some(inner) = Arc::get_mut(&mut producer.inner) {
                        inner.trace = Some(dispatcher);
                    }
                }
                // As Java: the producer works on without tracing.
                Err(e) => tracing::warn!(group, error = %e, "message trace cannot start"),
            }
        }
        Ok(producer)
    }

    /// Starts the producer without message trace (the trace producer itself).
    pub(crate) async fn start_untraced(self) -> Result<Producer> {
        self.producer.validate()?;
        let instance = ClientInstance::acquire(&self.client, true)?;
        instance.register_producer(&self.producer.producer_group)?;
        // Like Java, keep the auto-create template's route warm for first sends to new topics.
        if let Err(e) = instance.update_route(&self.producer.create_topic_key).await {
            tracing::debug!(error = %e, "route of the auto-create topic unavailable");
        }
        instance.send_heartbeat_to_all_brokers().await;
        Ok(Producer::on_instance(self.producer, instance, None))
    }
}

impl Producer {
    fn on_instance(
        config: ProducerConfig,
        instance: Arc<ClientInstance>,
        trace: Option<Arc<TraceDispatcher>>,
    ) -> Producer {
        let ids = UniqIdGenerator::global(&instance.config().resolved_client_ip());
        Producer {
            inner: Arc::new(ProducerInner {
                fault: FaultStrategy::new(config.send_latency_fault_enable),
                publish: PublishCache::default(),
                async_permits: Arc::new(Semaphore::new(config.client_async_semaphore_value)),
                config,
                instance,
                ids,
                running: AtomicBool::new(true),
                trace,
            }),
        }
    }

    /// The producer a push consumer publishes a failed message with when the broker would not
    /// take it back (Java's `CLIENT_INNER_PRODUCER`): on the consumer's client instance, with
    /// no group of its own to register.
    pub(crate) fn inner_for(instance: Arc<ClientInstance>) -> Producer {
        let config = ProducerConfig {
            producer_group: crate::instance::CLIENT_INNER_PRODUCER.to_owned(),
            ..ProducerConfig::default()
        };
        Producer::on_instance(config, instance, None)
    }
}

impl Producer {
    /// A builder with Java's defaults.
    pub fn builder() -> ProducerBuilder {
        ProducerBuilder::default()
    }

    /// The client id this producer registers under.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// Sends and waits for the broker's answer, retrying on another broker after retriable
    /// failures, all within `sendMsgTimeout`.
    pub async fn send(&self, msg: Message) -> Result<SendResult> {
        let prepared = self.inner.prepare(&msg)?;
        answered(self.inner.send_default(prepared, Mode::Sync).await?)
    }

    /// Starts a send at once and returns a future of its result; retries like [`Self::send`]
    /// with `retryTimesWhenSendAsyncFailed`. At most `clientAsyncSemaphoreValue` may be in
    /// flight; beyond that the future fails with [`ClientError::TooManyRequests`].
    pub fn send_async(&self, msg: Message) -> impl Future<Output = Result<SendResult>> + Send {
        let inner = self.inner.clone();
        let started = match (
            inner.prepare(&msg),
            inner.async_permits.clone().try_acquire_owned(),
        ) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(_)) => Err(ClientError::TooManyRequests(
                inner.config.client_async_semaphore_value,
            )),
            (Ok(prepared), Ok(permit)) => Ok(tokio::spawn(async move {
                let _permit = permit;
                answered(inner.send_default(prepared, Mode::Async).await?)
            })),
        };
        async move {
            started?
                .await
                .map_err(|e| ClientError::State(format!("the send task failed: {e}")))?
        }
    }

    /// Sends without waiting for an answer: one attempt, broker-side failures unseen.
    pub async fn send_oneway(&self, msg: Message) -> Result<()> {
        let prepared = self.inner.prepare(&msg)?;
        self.inner
            .send_default(prepared, Mode::Oneway)
            .await
            .map(drop)
    }

    /// Sends to the queue `selector` picks for `arg` (one attempt, as Java): the way to keep
    /// messages with the same key in order.
    pub async fn send_with_selector(
        &self,
        msg: Message,
        selector: &dyn MessageQueueSelector,
        arg: &str,
    ) -> Result<SendResult> {
        let inner = &self.inner;
        let prepared = inner.prepare(&msg)?;
        let started = Instant::now();
        let info = inner.publish_info(&prepared.topic).await?;
        let mq = selector.select(&info.queues, &msg, arg).ok_or_else(|| {
            ClientError::InvalidMessage("select message queue return null.".into())
        })?;
        let remaining = inner
            .config
            .send_msg_timeout
            .saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(ClientError::SendTimeout {
                topic: prepared.topic,
                elapsed: started.elapsed(),
            });
        }
        answered(
            inner
                .send_kernel(&mq, &prepared, Mode::Sync, remaining)
                .await?,
        )
    }

    /// Sends several messages of one topic as one SEND_BATCH_MESSAGE; they are stored as
    /// separate messages in one queue. No delay levels, no retry topics, no compression.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult> {
        let prepared = self.inner.prepare_batch(&msgs)?;
        answered(self.inner.send_default(prepared, Mode::Sync).await?)
    }

    /// Leaves the producer group (UNREGISTER_CLIENT to every broker); later sends fail.
    pub async fn shutdown(&self) {
        if self.inner.running.swap(false, Ordering::SeqCst) {
            self.inner
                .instance
                .unregister_producer(&self.inner.config.producer_group)
                .await;
            if let Some(trace) = &self.inner.trace {
                trace.shutdown().await;
            }
        }
    }
}

/// The wall clock in ms since the epoch, as Java's `System.currentTimeMillis`.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn check_topic(topic: &str) -> Result<()> {
    if topic.trim().is_empty() {
        return Err(ClientError::InvalidMessage(
            "The specified topic is blank.".into(),
        ));
    }
    if topic.len() > TOPIC_MAX_LEN {
        return Err(ClientError::InvalidMessage(format!(
            "The specified topic is longer than topic max length {TOPIC_MAX_LEN}."
        )));
    }
    if !topic.bytes().all(valid_name_byte) {
        return Err(ClientError::InvalidMessage(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        )));
    }
    if FORBIDDEN_TOPICS.contains(&topic) {
        return Err(ClientError::InvalidMessage(format!(
            "Sending message to topic[{topic}] is forbidden."
        )));
    }
    Ok(())
}

impl ProducerInner {
    fn check_running(&self) -> Result<()> {
        if self.running.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ClientError::State(
                "The producer service state not OK, maybe shut down".into(),
            ))
        }
    }

    fn check_message(&self, msg: &Message) -> Result<()> {
        check_topic(msg.topic())?;
        if msg.body().is_empty() {
            return Err(ClientError::InvalidMessage(
                "the message body length is zero".into(),
            ));
        }
        if msg.body().len() > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "the message body size over max value, MAX: {}",
                self.config.max_message_size
            )));
        }
        msg.check_properties()
    }

    /// Validates `msg`, gives it a `UNIQ_KEY`, and compresses a large body.
    fn prepare(&self, msg: &Message) -> Result<Prepared> {
        self.check_running()?;
        self.check_message(msg)?;
        // A message re-published by a consumer keeps its id, as Java's setUniqID does.
        let msg_id = msg
            .property(keys::UNIQ_KEY)
            .map_or_else(|| self.ids.next(), str::to_owned);
        let mut flags = 0;
        if msg.property(keys::TRAN_MSG) == Some("true") {
            flags |= sys_flag::TRANSACTION_PREPARED;
        }
        let mut body = msg.body().clone();
        if msg.body_compressed() {
            flags |= sys_flag::COMPRESSED;
        } else if body.len() >= self.config.compress_msg_body_over_howmuch {
            match deflate(&body, self.config.compress_level) {
                Ok(packed) => {
                    body = Bytes::from(packed);
                    flags |= sys_flag::COMPRESSED;
                }
                Err(e) => tracing::warn!(error = %e, "compression failed; sending uncompressed"),
            }
        }
        Ok(Prepared {
            topic: msg.topic().to_owned(),
            body,
            sys_flag: flags,
            flag: msg.flag(),
            properties: msg.encoded_properties(&msg_id),
            msg_id,
            batch: false,
        })
    }

    /// Validates a batch (Java's rules) and encodes its body.
    fn prepare_batch(&self, msgs: &[Message]) -> Result<Prepared> {
        self.check_running()?;
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::InvalidMessage("the batch is empty".into()))?;
        let mut items = Vec::with_capacity(msgs.len());
        let mut ids = Vec::with_capacity(msgs.len());
        for msg in msgs {
            self.check_message(msg)?;
            if msg.topic() != first.topic() {
                return Err(ClientError::InvalidMessage(
                    "The topic of the messages in one batch should be the same".into(),
                ));
            }
            if msg.delay_level() > 0 {
                return Err(ClientError::InvalidMessage(
                    "TimeDelayLevel is not supported for batching".into(),
                ));
            }
            if msg.topic().starts_with("%RETRY%") {
                return Err(ClientError::InvalidMessage(
                    "Retry Group is not supported for batching".into(),
                ));
            }
            if msg.property(keys::WAIT) != first.property(keys::WAIT) {
                return Err(ClientError::InvalidMessage(
                    "The waitStoreMsgOK of the messages in one batch should the same".into(),
                ));
            }
            // Java's batch keeps an id a message already has (`setUniqID` sets only absent ones).
            let id = msg
                .property(keys::UNIQ_KEY)
                .map_or_else(|| self.ids.next(), str::to_owned);
            items.push(BatchItem {
                flag: msg.flag(),
                body: msg.body().clone(),
                properties: msg.encoded_properties(&id),
            });
            ids.push(id);
        }
        let body = encode_batch(&items).map_err(|e| ClientError::InvalidMessage(e.to_string()))?;
        if body.len() > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "the message body size over max value, MAX: {}",
                self.config.max_message_size
            )));
        }
        let wait = first.property(keys::WAIT).unwrap_or("true");
        Ok(Prepared {
            topic: first.topic().to_owned(),
            body: Bytes::from(body),
            sys_flag: 0,
            flag: 0,
            properties: encode_properties([(keys::WAIT, wait)]),
            msg_id: ids.join(","),
            batch: true,
        })
    }

    /// The topic's writable queues: cached route, else the name server, else the queues of the
    /// auto-create template `TBW102` (Java's `tryToFindTopicPublishInfo`).
    async fn publish_info(&self, topic: &str) -> Result<Arc<PublishInfo>> {
        let instance = &self.instance;
        if let Some(route) = instance.cached_route(topic) {
            let info = self.publish.get(topic, &route);
            if !info.queues.is_empty() {
                return Ok(info);
            }
        }
        if let Some(route) = instance.update_route(topic).await? {
            let info = PublishInfo::from_route(topic, &route, None);
            if !info.queues.is_empty() {
                return Ok(Arc::new(info));
            }
        }
        if let Some(mut route) = instance.fetch_route(&self.config.create_topic_key).await? {
            for qd in &mut route.queue_datas {
                let n = self.config.default_topic_queue_nums.min(qd.read_queue_nums);
                qd.read_queue_nums = n;
                qd.write_queue_nums = n;
            }
            let info = PublishInfo::from_route(topic, &route, None);
            if !info.queues.is_empty() {
                instance.store_route(topic, route);
                return Ok(Arc::new(info));
            }
        }
        Err(ClientError::NoRoute(topic.to_owned()))
    }

    /// Java's `sendDefaultImpl`: pick a queue, send, and on retriable failures try again on
    /// another broker while attempts and time remain.
    /// Returns `None` for oneway sends, which learn nothing from the broker.
    async fn send_default(&self, prepared: Prepared, mode: Mode) -> Result<Option<SendResult>> {
        let started = Instant::now();
        let timeout = self.config.send_msg_timeout;
        let info = self.publish_info(&prepared.topic).await?;
        let attempts = match mode {
            Mode::Sync => 1 + self.config.retry_times_when_send_failed,
            Mode::Async => 1 + self.config.retry_times_when_send_async_failed,
            Mode::Oneway => 1,
        };
        let mut brokers = Vec::new();
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        for attempt in 0..attempts {
            let mq = self.fault.select(&info.queues, last_broker.as_deref());
            let elapsed = started.elapsed();
            if elapsed >= timeout {
                return Err(ClientError::SendTimeout {
                    topic: prepared.topic,
                    elapsed,
                });
            }
            brokers.push(mq.broker_name.clone());
            let attempt_started = Instant::now();
            let outcome = self
                .send_kernel(&mq, &prepared, mode, timeout - elapsed)
                .await;
            let latency = attempt_started.elapsed();
            match outcome {
                Ok(result) => {
                    self.fault.record(&mq.broker_name, latency, false);
                    let Some(result) = result else {
                        return Ok(None);
                    };
                    if result.status != SendStatus::SendOk
                        && self.config.retry_another_broker_when_not_store_ok
                        && attempt + 1 < attempts
                    {
                        last_broker = Some(mq.broker_name.clone());
                        continue;
                    }
                    return Ok(Some(result));
                }
                Err(e) => {
                    self.fault.record(&mq.broker_name, latency, true);
                    tracing::warn!(topic = %prepared.topic, broker = %mq.broker_name, attempt, error = %e, "send attempt failed");
                    self.refresh_route_later(&prepared.topic);
                    let retriable = match &e {
                        ClientError::Refused { code, .. } => RETRY_RESPONSE_CODES.contains(code),
                        ClientError::Transport(_) | ClientError::BrokerNotFound(_) => true,
                        _ => false,
                    };
                    if !retriable || mode == Mode::Oneway {
                        return Err(e);
                    }
                    last_broker = Some(mq.broker_name.clone());
                    last_error = Some(e);
                }
            }
        }
        Err(ClientError::SendFailed {
            attempts: brokers.len(),
            topic: prepared.topic,
            elapsed: started.elapsed(),
            brokers,
            last: Box::new(last_error.unwrap_or_else(|| ClientError::State("no attempt".into()))),
        })
    }

    /// Refreshes a topic's route in the background after a failed send.
    fn refresh_route_later(&self, topic: &str) {
        let instance = self.instance.clone();
        let topic = topic.to_owned();
        tokio::spawn(async move {
            if let Err(e) = instance.update_route(&topic).await {
                tracing::debug!(topic, error = %e, "route refresh after a failed send failed");
            }
        });
    }

    /// One attempt on one queue (Java `sendKernelImpl`); `None` for oneway sends.
    async fn send_kernel(
        &self,
        mq: &MessageQueue,
        prepared: &Prepared,
        mode: Mode,
        timeout: Duration,
    ) -> Result<Option<SendResult>> {
        let addr = self
            .instance
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))?;
        // A consumer's own retry (Java sendKernelImpl): its counts go in the header.
        let retry = prepared.topic.starts_with(RETRY_TOPIC_PREFIX);
        let retry_count = |key: &str| {
            retry
                .then(|| property_value(&prepared.properties, key)?.parse().ok())
                .flatten()
        };
        let header = SendMessageRequestHeaderV2 {
            producer_group: self.config.producer_group.clone(),
            topic: prepared.topic.clone(),
            default_topic: self.config.create_topic_key.clone(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag: prepared.sys_flag,
            born_timestamp: now_ms(),
            flag: prepared.flag,
            properties: Some(prepared.properties.clone()),
            reconsume_times: Some(retry_count(keys::RECONSUME_TIME).unwrap_or(0)),
            unit_mode: Some(false),
            max_reconsume_times: retry_count(keys::MAX_RECONSUME_TIMES),
            batch: Some(prepared.batch),
            bname: Some(mq.broker_name.clone()),
        };
        // A reply (request-reply) goes as SEND_REPLY_MESSAGE_V2: the broker pushes it on.
        let reply =
            property_value(&prepared.properties, keys::MSG_TYPE) == Some(REPLY_MESSAGE_FLAG);
        let code = if prepared.batch {
            RequestCode::SEND_BATCH_MESSAGE
        } else if reply {
            RequestCode::SEND_REPLY_MESSAGE_V2
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        let started_ms = header.born_timestamp;
        let req = RemotingCommand::request(code, &header).with_body(prepared.body.clone());
        let remoting = self.instance.remoting();
        if mode == Mode::Oneway {
            remoting.invoke_oneway(&addr, req).await?;
            return Ok(None);
        }
        let resp = remoting.invoke(&addr, req, timeout).await?;
        let status = match ResponseCode::from_i32(resp.code) {
            Some(ResponseCode::SUCCESS) => SendStatus::SendOk,
            Some(ResponseCode::FLUSH_DISK_TIMEOUT) => SendStatus::FlushDiskTimeout,
            Some(ResponseCode::FLUSH_SLAVE_TIMEOUT) => SendStatus::FlushSlaveTimeout,
            Some(ResponseCode::SLAVE_NOT_AVAILABLE) => SendStatus::SlaveNotAvailable,
            _ => return Err(refused(&addr, resp)),
        };
        let h: SendMessageResponseHeader =
            resp.decode_header().map_err(|e| ClientError::Protocol {
                addr: addr.clone(),
                reason: format!("send response header: {e}"),
            })?;
        let result = SendResult {
            status,
            msg_id: prepared.msg_id.clone(),
            offset_msg_id: h.msg_id,
            message_queue: MessageQueue::new(&prepared.topic, &mq.broker_name, h.queue_id),
            queue_offset: h.queue_offset,
            region_id: h.msg_region,
        };
        if let Some(tracer) = self.tracer_for(&prepared.topic) {
            let sent = SentMessage {
                group: &self.config.producer_group,
                properties: &prepared.properties,
                body_len: prepared.body.len(),
                store_host: &addr,
                started_ms,
            };
            tracer.append(
                trace::pub_record(&sent, &result, h.trace_on)
                    .into_iter()
                    .collect(),
            );
        }
        Ok(Some(result))
    }

    /// The trace dispatcher, unless tracing is off or `topic` is the trace topic itself.
    pub(crate) fn tracer_for(&self, topic: &str) -> Option<&TraceDispatcher> {
        self.trace
            .as_deref()
            .filter(|t| !topic.starts_with(t.topic()))
    }
}

/// The result of a send that waited for the broker's answer.
fn answered(result: Option<SendResult>) -> Result<SendResult> {
    result.ok_or_else(|| ClientError::State("the broker's answer is missing".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_republished_message_keeps_its_id_once() {
        let config = ClientConfig {
            namesrv_addr: "127.0.0.1:9".into(),
            // The id generator is process-wide: keep the address other unit tests expect.
            client_ip: "127.0.0.1".into(),
            instance_name: "republish-test".into(),
            ..ClientConfig::default()
        };
        let instance = ClientInstance::acquire(&config, false).unwrap();
        let producer = Producer::inner_for(instance.clone());
        let copy = Message::new("%RETRY%g", "body")
            .with_system_property(keys::UNIQ_KEY, "7F000001ABCD")
            .with_system_property(keys::RECONSUME_TIME, "2");
        let prepared = producer.inner.prepare(&copy).unwrap();
        assert_eq!(prepared.msg_id, "7F000001ABCD");
        assert_eq!(prepared.properties.matches("UNIQ_KEY").count(), 1);
        let fresh = producer.inner.prepare(&Message::new("T", "b")).unwrap();
        assert_ne!(fresh.msg_id, "7F000001ABCD");
        instance.stop_if_unused().await;
    }

    #[test]
    fn topic_rules() {
        assert!(check_topic("Topic_1-a%b|c").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic("a b").is_err());
        assert!(check_topic(&"t".repeat(128)).is_err());
        assert!(check_topic("SCHEDULE_TOPIC_XXXX").is_err());
    }
}
