//! `RocketMQTemplate`: rocketmq-spring's sending API over [`rmq_client::Producer`].
//!
//! Destinations are `topic` or `topic:tag` (split at the first colon). Payloads are text, bytes
//! or [`Json`](crate::Json); headers go through [`OutgoingMessage`] as with Spring's
//! `MessageBuilder` ([`headers::KEYS`], [`headers::FLAG`], [`headers::WAIT_STORE_MSG_OK`], any
//! other name becomes a user property).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rmq_client::{
    ClientError, LitePullConsumer, Message, MessageQueueSelector, Producer,
    SelectMessageQueueByHash, SendResult, TransactionProducer, TransactionSendResult,
};

use crate::payload::{ConvertError, FromMessage, IntoPayload};

/// Header names understood when sending (rocketmq-spring's `RocketMQHeaders`).
pub mod headers {
    /// Business keys the broker indexes (space-separated).
    pub const KEYS: &str = "KEYS";
    /// The user flag, an integer.
    pub const FLAG: &str = "FLAG";
    /// `"false"` lets the broker answer before flushing or replicating.
    pub const WAIT_STORE_MSG_OK: &str = "WAIT_STORE_MSG_OK";
    /// The prefix rocketmq-spring puts before header names (`rocketmq_KEYS` is `KEYS`).
    pub const PREFIX: &str = "rocketmq_";
}

/// Properties RocketMQ manages itself: set as headers they are dropped, as rocketmq-spring does
/// (tags come from the destination, delays from the method).
const RESERVED_HEADERS: [&str; 9] = [
    "TAGS",
    "DELAY",
    "UNIQ_KEY",
    "TRAN_MSG",
    "PGROUP",
    "WAIT",
    "REAL_TOPIC",
    "REAL_QID",
    "RETRY_TOPIC",
];

/// Why a template send failed.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The payload could not be converted to a body.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The destination is not `topic` or `topic:tag`.
    #[error("invalid destination {0:?}: expected topic or topic:tag")]
    Destination(String),
    /// A header has a value of the wrong type.
    #[error("header {name} = {value:?} is invalid: {reason}")]
    Header {
        /// The header.
        name: String,
        /// Its value.
        value: String,
        /// What would be accepted.
        reason: &'static str,
    },
    /// A delay time that is not positive.
    #[error("delay time must be positive, got {0}")]
    DelayTime(i64),
    /// The client refused or failed the send.
    #[error(transparent)]
    Send(#[from] ClientError),
    /// A send on a template made for receiving only (no `rocketmq.producer.group`).
    #[error("this RocketMQTemplate cannot send: set rocketmq.producer.group")]
    NoProducer,
    /// `receive` without `rocketmq.pull-consumer.group` and `.topic`.
    #[error("this RocketMQTemplate cannot receive: set rocketmq.pull-consumer.group and rocketmq.pull-consumer.topic")]
    NoPullConsumer,
    /// `send_message_in_transaction` without a `#[rocketmq_transaction_listener]`.
    #[error("The rocketMQTemplate does not exist TransactionListener: add a #[rocketmq_transaction_listener] type")]
    NoTransactionListener,
    /// The per-call timeout expired before the broker answered; the message may be stored.
    #[error("no answer within {0:?}; the message may or may not have been stored")]
    Timeout(Duration),
}

/// A payload with headers, the analogue of Spring's `Message<?>`.
#[derive(Debug)]
pub struct OutgoingMessage {
    body: Result<Bytes, ConvertError>,
    headers: Vec<(String, String)>,
}

impl OutgoingMessage {
    /// A message with `payload` as its body (conversion errors surface when it is sent).
    pub fn with_payload(payload: impl IntoPayload) -> Self {
        OutgoingMessage {
            body: payload.into_payload(),
            headers: Vec::new(),
        }
    }

    /// Adds a header (see [`headers`]).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Anything the template can send: a payload, or an [`OutgoingMessage`] with headers.
pub trait IntoMessage {
    /// The message.
    fn into_message(self) -> OutgoingMessage;
}

impl<P: IntoPayload> IntoMessage for P {
    fn into_message(self) -> OutgoingMessage {
        OutgoingMessage::with_payload(self)
    }
}

impl IntoMessage for OutgoingMessage {
    fn into_message(self) -> OutgoingMessage {
        self
    }
}

/// Sends messages the rocketmq-spring way. Cheap to clone; share it between handlers.
#[derive(Clone)]
pub struct RocketMQTemplate {
    producer: Option<Producer>,
    transactions: Option<TransactionProducer>,
    pull: Option<Arc<LitePullConsumer>>,
    namespace: Option<String>,
    selector: Arc<dyn MessageQueueSelector>,
}

impl std::fmt::Debug for RocketMQTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocketMQTemplate")
            .field("producer", &self.producer.as_ref().map(Producer::client_id))
            .field("pull_consumer", &self.pull.as_ref().map(|c| c.client_id()))
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl RocketMQTemplate {
    /// A template over a started producer; `namespace` prefixes every topic (`ns%topic`).
    pub fn new(producer: Producer, namespace: Option<String>) -> Self {
        RocketMQTemplate {
            producer: Some(producer),
            transactions: None,
            pull: None,
            namespace,
            selector: Arc::new(SelectMessageQueueByHash),
        }
    }

    /// A template over a transactional producer: [`Self::send_message_in_transaction`] works,
    /// and the producer's listener answers the broker's checks.
    pub fn transactional(producer: TransactionProducer, namespace: Option<String>) -> Self {
        RocketMQTemplate {
            transactions: Some(producer.clone()),
            ..RocketMQTemplate::new(producer.producer().clone(), namespace)
        }
    }

    /// A template that only receives (Spring's template with just a lite pull consumer).
    pub fn receiving(consumer: LitePullConsumer) -> Self {
        RocketMQTemplate {
            producer: None,
            transactions: None,
            pull: Some(Arc::new(consumer)),
            namespace: None,
            selector: Arc::new(SelectMessageQueueByHash),
        }
    }

    /// Adds the lite pull consumer that [`Self::receive`] polls.
    pub fn with_pull_consumer(mut self, consumer: LitePullConsumer) -> Self {
        self.pull = Some(Arc::new(consumer));
        self
    }

    /// Leaves the producer group (and stops answering transaction checks) and stops the pull
    /// consumer; later sends and receives fail.
    pub async fn shutdown(&self) {
        match (&self.transactions, &self.producer) {
            (Some(tx), _) => tx.shutdown().await,
            (None, Some(p)) => p.shutdown().await,
            (None, None) => {}
        }
        if let Some(pull) = &self.pull {
            pull.shutdown().await;
        }
    }

    /// Up to `rocketmq.pull-consumer.pull-batch-size` messages of the pull consumer's topic,
    /// converted to `T`, waiting at most `timeout` for the first (Spring's `receive`).
    pub async fn receive<T: FromMessage>(
        &self,
        timeout: Duration,
    ) -> Result<Vec<T>, TemplateError> {
        let pull = self.pull.as_ref().ok_or(TemplateError::NoPullConsumer)?;
        let msgs = pull.poll(timeout).await?;
        Ok(msgs
            .iter()
            .map(T::from_message)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Sends a half message, runs the `#[rocketmq_transaction_listener]`'s local transaction
    /// with `arg`, and commits or rolls back by its verdict.
    pub async fn send_message_in_transaction(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        arg: &(dyn std::any::Any + Send + Sync),
    ) -> Result<TransactionSendResult, TemplateError> {
        let tx = self
            .transactions
            .as_ref()
            .ok_or(TemplateError::NoTransactionListener)?;
        let msg = self.build(dest, msg.into_message())?;
        Ok(tx.send_message_in_transaction(msg, arg).await?)
    }

    /// Replaces the queue selector of the `*_orderly` methods (default: Java's hash selector).
    pub fn with_message_queue_selector(
        mut self,
        selector: impl MessageQueueSelector + 'static,
    ) -> Self {
        self.selector = Arc::new(selector);
        self
    }

    /// The underlying producer, for what the template does not cover.
    pub fn producer(&self) -> Option<&Producer> {
        self.producer.as_ref()
    }

    fn sender(&self) -> Result<&Producer, TemplateError> {
        self.producer.as_ref().ok_or(TemplateError::NoProducer)
    }

    /// Sends and waits, discarding the result (Spring's `convertAndSend`).
    pub async fn convert_and_send(
        &self,
        dest: &str,
        msg: impl IntoMessage,
    ) -> Result<(), TemplateError> {
        self.sync_send(dest, msg).await.map(drop)
    }

    /// Sends and waits for the broker's answer within `send-message-timeout`.
    pub async fn sync_send(
        &self,
        dest: &str,
        msg: impl IntoMessage,
    ) -> Result<SendResult, TemplateError> {
        let msg = self.build(dest, msg.into_message())?;
        Ok(self.sender()?.send(msg).await?)
    }

    /// Like [`Self::sync_send`], giving up after `timeout`. The timeout bounds the wait; it
    /// cannot extend the producer's `send-message-timeout` budget.
    pub async fn sync_send_timeout(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        timeout: Duration,
    ) -> Result<SendResult, TemplateError> {
        self.sync_send_delay_level(dest, msg, timeout, 0).await
    }

    /// Sends with a delay level (1 = 1 s … 18 = 2 h; 0 = none) and a timeout.
    pub async fn sync_send_delay_level(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        timeout: Duration,
        delay_level: i32,
    ) -> Result<SendResult, TemplateError> {
        let msg = self
            .build(dest, msg.into_message())?
            .with_delay_level(delay_level);
        within(timeout, self.sender()?.send(msg)).await
    }

    /// Delivers after `seconds` (a RocketMQ 5 timer message).
    pub async fn sync_send_delay_time_seconds(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        seconds: i64,
    ) -> Result<SendResult, TemplateError> {
        if seconds <= 0 {
            return Err(TemplateError::DelayTime(seconds));
        }
        self.sync_send_delay_time_mills(dest, msg, seconds.saturating_mul(1000))
            .await
    }

    /// Delivers after `millis` milliseconds.
    pub async fn sync_send_delay_time_mills(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        millis: i64,
    ) -> Result<SendResult, TemplateError> {
        if millis <= 0 {
            return Err(TemplateError::DelayTime(millis));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.send_at(dest, msg, now.saturating_add(millis)).await
    }

    /// Delivers at `deliver_at` (`TIMER_DELIVER_MS`); a time already past means now.
    pub async fn sync_send_deliver_time(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        deliver_at: SystemTime,
    ) -> Result<SendResult, TemplateError> {
        let millis = deliver_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.send_at(dest, msg, millis).await
    }

    /// Starts the send at once; the returned future yields its result (Spring's `asyncSend`
    /// with the callback replaced by a future). Retries use `retry-times-when-send-async-failed`.
    pub fn async_send(
        &self,
        dest: &str,
        msg: impl IntoMessage,
    ) -> impl Future<Output = Result<SendResult, TemplateError>> + Send + 'static {
        let started = self
            .build(dest, msg.into_message())
            .and_then(|m| Ok(self.sender()?.send_async(m)));
        async move { Ok(started?.await?) }
    }

    /// Sends without waiting for the broker (one attempt; failures are not seen).
    pub async fn send_one_way(
        &self,
        dest: &str,
        msg: impl IntoMessage,
    ) -> Result<(), TemplateError> {
        let msg = self.build(dest, msg.into_message())?;
        Ok(self.sender()?.send_oneway(msg).await?)
    }

    /// Sends to the queue chosen by `hash_key` (same key, same queue, so consumers see the
    /// messages of one key in order) and waits.
    pub async fn sync_send_orderly(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        hash_key: &str,
    ) -> Result<SendResult, TemplateError> {
        let msg = self.build(dest, msg.into_message())?;
        Ok(self
            .sender()?
            .send_with_selector(msg, self.selector.as_ref(), hash_key)
            .await?)
    }

    /// [`Self::sync_send_orderly`] started at once; the future yields the result.
    pub fn async_send_orderly(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        hash_key: &str,
    ) -> impl Future<Output = Result<SendResult, TemplateError>> + Send + 'static {
        let started = self.spawn_orderly(dest, msg.into_message(), hash_key);
        async move {
            started?.await.map_err(|e| {
                TemplateError::Send(ClientError::State(format!("the send task failed: {e}")))
            })?
        }
    }

    /// An ordered send the caller does not wait for; a failure is only logged. (rmq-client has
    /// no one-way selector send, so the broker's answer is still read, in the background.)
    pub fn send_one_way_orderly(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        hash_key: &str,
    ) -> Result<(), TemplateError> {
        self.spawn_orderly(dest, msg.into_message(), hash_key)
            .map(drop)
    }

    /// Sends `msg` as a request and waits up to `timeout` for the reply, converted to `R`
    /// (Spring's `sendAndReceive(destination, payload, type, timeout)`). A
    /// `#[rocketmq_listener]` returning a value answers it, as does a Java replier using
    /// `MessageUtil.createReplyMessage`; no reply in time is
    /// `TemplateError::Send(ClientError::RequestTimeout { .. })`.
    pub async fn send_and_receive<R: FromMessage>(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        timeout: Duration,
    ) -> Result<R, TemplateError> {
        let msg = self.build(dest, msg.into_message())?;
        let reply = self.sender()?.request(msg, timeout).await?;
        Ok(R::from_message(&reply)?)
    }

    /// [`Self::send_and_receive`] to the queue `hash_key` selects (requests of one key stay
    /// in order).
    pub async fn send_and_receive_orderly<R: FromMessage>(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        hash_key: &str,
        timeout: Duration,
    ) -> Result<R, TemplateError> {
        let msg = self.build(dest, msg.into_message())?;
        let reply = self
            .sender()?
            .request_with_selector(msg, self.selector.as_ref(), hash_key, timeout)
            .await?;
        Ok(R::from_message(&reply)?)
    }

    /// [`Self::send_and_receive`] started at once; the future yields the reply (Spring's
    /// `sendAndReceive` with a `RocketMQLocalRequestCallback`, the callback replaced by a
    /// future).
    pub fn async_send_and_receive<R: FromMessage>(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, TemplateError>> + Send + 'static {
        let started = self
            .build(dest, msg.into_message())
            .and_then(|m| Ok(self.sender()?.request_async(m, timeout)));
        async move {
            let reply = started?.await?;
            Ok(R::from_message(&reply)?)
        }
    }

    /// Sends messages of one topic as one batch, stored in one queue (Spring's
    /// `syncSend(dest, Collection)`).
    pub async fn sync_send_batch<M: IntoMessage>(
        &self,
        dest: &str,
        msgs: impl IntoIterator<Item = M>,
    ) -> Result<SendResult, TemplateError> {
        let batch = msgs
            .into_iter()
            .map(|m| self.build(dest, m.into_message()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.sender()?.send_batch(batch).await?)
    }

    async fn send_at(
        &self,
        dest: &str,
        msg: impl IntoMessage,
        epoch_ms: i64,
    ) -> Result<SendResult, TemplateError> {
        let msg = self
            .build(dest, msg.into_message())?
            .with_deliver_time_ms(epoch_ms);
        Ok(self.sender()?.send(msg).await?)
    }

    fn spawn_orderly(
        &self,
        dest: &str,
        msg: OutgoingMessage,
        hash_key: &str,
    ) -> Result<tokio::task::JoinHandle<Result<SendResult, TemplateError>>, TemplateError> {
        let msg = self.build(dest, msg)?;
        let (producer, selector, key) = (
            self.sender()?.clone(),
            self.selector.clone(),
            hash_key.to_owned(),
        );
        Ok(tokio::spawn(async move {
            let result = producer
                .send_with_selector(msg, selector.as_ref(), &key)
                .await;
            if let Err(e) = &result {
                tracing::warn!(hash_key = %key, error = %e, "ordered send failed");
            }
            Ok(result?)
        }))
    }

    /// The client message for `dest` and `msg`: topic (namespaced), tag, headers.
    fn build(&self, dest: &str, msg: OutgoingMessage) -> Result<Message, TemplateError> {
        let (topic, tag) = match dest.split_once(':') {
            Some((topic, tag)) => (topic, Some(tag).filter(|t| !t.is_empty())),
            None => (dest, None),
        };
        if topic.trim().is_empty() {
            return Err(TemplateError::Destination(dest.to_owned()));
        }
        let topic = match &self.namespace {
            Some(ns) if !topic.starts_with(&format!("{ns}%")) => format!("{ns}%{topic}"),
            _ => topic.to_owned(),
        };
        let mut out = Message::new(topic, msg.body?);
        if let Some(tag) = tag {
            out = out.with_tags(tag);
        }
        for (name, value) in msg.headers {
            let bare = name.strip_prefix(headers::PREFIX).unwrap_or(&name);
            out = match bare {
                headers::KEYS => out.with_keys(value.split(' ').filter(|k| !k.is_empty())),
                headers::FLAG => {
                    out.with_flag(value.trim().parse().map_err(|_| TemplateError::Header {
                        name: name.clone(),
                        value: value.clone(),
                        reason: "expected an integer",
                    })?)
                }
                headers::WAIT_STORE_MSG_OK => {
                    out.with_wait_store_msg_ok(!value.eq_ignore_ascii_case("false"))
                }
                reserved if RESERVED_HEADERS.contains(&reserved) => {
                    tracing::warn!(header = %name, "header reserved by RocketMQ dropped; tags come from the destination, delays from the method");
                    out
                }
                _ => out.with_property(name, value),
            };
        }
        Ok(out)
    }
}

/// Waits for `send` at most `timeout`.
async fn within(
    timeout: Duration,
    send: impl Future<Output = Result<SendResult, ClientError>>,
) -> Result<SendResult, TemplateError> {
    match tokio::time::timeout(timeout, send).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(TemplateError::Timeout(timeout)),
    }
}
