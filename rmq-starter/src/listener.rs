//! Listener containers: the `RocketMQListener<T>` trait, the attributes `#[rocketmq_listener]`
//! records, and the push consumer started for each registered listener.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use std::time::Duration;

use rmq_client::{
    ClientConfig, ConsumeContext, ConsumeOrderlyContext, ConsumeOrderlyStatus, ConsumeStatus,
    ConsumerConfig, Credentials, MessageListener, MessageListenerOrderly, MessageModel,
    MessageSelector, Producer, PushConsumer, ReceivedMessage,
};
use tokio::sync::watch;

use crate::error::StarterError;
use crate::payload::FromMessage;
use crate::properties::Properties;
use crate::reply::{reply_to, send_reply, Handler};
use crate::settings::{credentials, listener_enabled, require_name_server, Settings};

/// What a listener returns: `Err` means "reconsume later" (the message is delivered again
/// after the broker's back-off, up to `max_reconsume_times`).
pub type ConsumeResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A message handler for payloads of type `T` (`String`, `Vec<u8>`, `Bytes`,
/// [`Json<T>`](crate::Json) or the whole [`ReceivedMessage`]).
///
/// Put `#[rocketmq_listener(topic = "...", consumer_group = "...")]` on a `Default` type that
/// implements this trait, and the starter runs it.
pub trait RocketMQListener<T>: Send + Sync + 'static {
    /// Handles one message.
    fn on_message(&self, message: T) -> impl Future<Output = ConsumeResult> + Send;
}

/// How messages are selected on the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorType {
    /// A tag expression: `*` or `TagA || TagB`.
    Tag,
    /// An SQL92 condition on message properties, evaluated by the broker (which needs
    /// `enablePropertyFilter=true`).
    Sql92,
}

/// How a queue's messages are handed to the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeMode {
    /// In parallel, up to `consume_thread_max` at once.
    Concurrently,
    /// One at a time per queue, in queue order, holding the broker's queue lock; a failure
    /// pauses the queue for `suspend_current_queue_time_millis` and retries the same message.
    Orderly,
}

/// Whether the group shares the queues or every member gets every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerMessageModel {
    /// The group shares the queues.
    Clustering,
    /// Every consumer receives every message.
    Broadcasting,
}

/// The attributes of one `#[rocketmq_listener]`, as written (placeholders unresolved).
/// Defaults are rocketmq-spring's; the macro checks names and types at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerAttributes {
    /// Consumer group (required; may be a placeholder).
    pub consumer_group: &'static str,
    /// Topic (required; may be a placeholder).
    pub topic: &'static str,
    /// `tag` (default) or `sql92`.
    pub selector_type: SelectorType,
    /// Tag or SQL expression (`*`).
    pub selector_expression: &'static str,
    /// `concurrently` (default) or `orderly`.
    pub consume_mode: ConsumeMode,
    /// `clustering` (default) or `broadcasting`.
    pub message_model: ListenerMessageModel,
    /// Listener calls running at once (64).
    pub consume_thread_max: usize,
    /// Retries before the dead-letter queue; -1 means 16 (-1).
    pub max_reconsume_times: i32,
    /// Minutes a message may be processed before it counts as failed (15).
    pub consume_timeout: u64,
    /// Retry delay level after a failure: 0 lets the broker choose (0).
    pub delay_level_when_next_consume: i32,
    /// Orderly mode: how long a queue pauses after a failure, in ms (1000).
    pub suspend_current_queue_time_millis: u64,
    /// Name servers (`${rocketmq.name-server:}`).
    pub name_server: &'static str,
    /// ACL access key (`${rocketmq.consumer.access-key:}`).
    pub access_key: &'static str,
    /// ACL secret key (`${rocketmq.consumer.secret-key:}`).
    pub secret_key: &'static str,
    /// Namespace; empty falls back to `rocketmq.consumer.namespace`.
    pub namespace: &'static str,
    /// `true` or `false` once placeholders are resolved
    /// (`${rocketmq.consumer.enable-msg-trace:false}`): record deliveries on the trace topic.
    pub enable_msg_trace: &'static str,
    /// The trace topic (`${rocketmq.consumer.customized-trace-topic:}`; empty:
    /// `RMQ_SYS_TRACE_TOPIC`).
    pub customized_trace_topic: &'static str,
}

/// What a registered listener's start function receives.
#[derive(Debug, Clone)]
pub struct ListenerStart {
    /// The resolved consumer settings.
    pub(crate) plan: ConsumerPlan,
}

/// The future a start function returns.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<PushConsumer, StarterError>> + Send>>;

/// One `#[rocketmq_listener]`, collected through `inventory` so the starter finds every
/// listener without the application listing them.
#[derive(Debug)]
pub struct ListenerRegistration {
    /// The listener type's name, for logs and errors.
    pub type_name: &'static str,
    /// The attributes as written.
    pub attributes: ListenerAttributes,
    /// Builds the listener and starts its push consumer.
    pub start: fn(ListenerStart) -> StartFuture,
}

inventory::collect!(ListenerRegistration);

/// A listener's settings after placeholders and defaults were applied.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerPlan {
    pub type_name: &'static str,
    pub name_server: String,
    pub group: String,
    pub topic: String,
    pub selector: MessageSelector,
    pub model: MessageModel,
    pub mode: ConsumeMode,
    pub config: ConsumerConfig,
    /// The listener's ACL keys, when both are set.
    pub credentials: Option<Credentials>,
    /// `rocketmq.consumer.tls-enable`: connect with TLS.
    pub use_tls: bool,
}

impl ConsumerPlan {
    /// Resolves `attrs`: placeholders, `rocketmq.consumer.*` defaults, the namespace. `None`
    /// when `rocketmq.consumer.listeners.<group>.<topic>` switches the listener off.
    pub(crate) fn resolve(
        type_name: &'static str,
        attrs: &ListenerAttributes,
        props: &Properties,
        settings: &Settings,
    ) -> Result<Option<ConsumerPlan>, StarterError> {
        let resolve = |value: &str, attr: &str| {
            props.resolve_placeholders(value, &format!("{attr} of listener {type_name}"))
        };
        let refuse = |reason: String| StarterError::Listener {
            listener: type_name.to_owned(),
            reason,
        };
        let group = resolve(attrs.consumer_group, "consumer_group")?;
        let topic = resolve(attrs.topic, "topic")?;
        if group.trim().is_empty() || topic.trim().is_empty() {
            return Err(refuse(format!(
                "consumer_group ({group:?}) and topic ({topic:?}) must not be empty"
            )));
        }
        if !listener_enabled(props, &group, &topic)? {
            tracing::info!(
                listener = type_name,
                group,
                topic,
                "listener switched off by rocketmq.consumer.listeners"
            );
            return Ok(None);
        }
        let mut name_server = resolve(attrs.name_server, "name_server")?;
        if name_server.is_empty() {
            name_server =
                require_name_server(settings, props, &format!("listener {type_name}"))?.to_owned();
        }
        let access_key = resolve(attrs.access_key, "access_key")?;
        let secret_key = resolve(attrs.secret_key, "secret_key")?;
        let credentials = credentials(type_name, &access_key, &secret_key);
        if attrs.delay_level_when_next_consume != 0 {
            tracing::warn!(listener = type_name, "delay_level_when_next_consume ignored: rmq-client lets the broker choose the retry delay");
        }
        if attrs.consume_timeout != 15 {
            tracing::warn!(
                listener = type_name,
                "consume_timeout ignored: rmq-client has no consume timeout yet"
            );
        }
        let mut namespace = resolve(attrs.namespace, "namespace")?;
        if namespace.is_empty() {
            namespace = settings
                .rocketmq
                .consumer
                .namespace
                .clone()
                .unwrap_or_default();
        }
        let with_ns = |name: String| {
            if namespace.is_empty() || name.starts_with(&format!("{namespace}%")) {
                name
            } else {
                format!("{namespace}%{name}")
            }
        };
        let expression = resolve(attrs.selector_expression, "selector_expression")?;
        let trace = resolve(attrs.enable_msg_trace, "enable_msg_trace")?;
        let enable_msg_trace = trace.trim().parse::<bool>().map_err(|_| {
            refuse(format!(
                "enable_msg_trace must be true or false, found {trace:?}"
            ))
        })?;
        let customized_trace_topic =
            resolve(attrs.customized_trace_topic, "customized_trace_topic")?;
        let threads = attrs.consume_thread_max.max(1);
        let config = ConsumerConfig {
            consume_thread_max: threads,
            consume_thread_min: threads.min(20),
            max_reconsume_times: attrs.max_reconsume_times,
            suspend_current_queue_time: Duration::from_millis(
                attrs.suspend_current_queue_time_millis,
            ),
            enable_msg_trace,
            customized_trace_topic,
            ..ConsumerConfig::default()
        };
        Ok(Some(ConsumerPlan {
            type_name,
            name_server,
            group: with_ns(group),
            topic: with_ns(topic),
            selector: match attrs.selector_type {
                SelectorType::Tag if expression.trim().is_empty() => MessageSelector::by_tag("*"),
                SelectorType::Tag => MessageSelector::by_tag(expression),
                SelectorType::Sql92 => MessageSelector::by_sql(expression),
            },
            model: match attrs.message_model {
                ListenerMessageModel::Clustering => MessageModel::Clustering,
                ListenerMessageModel::Broadcasting => MessageModel::Broadcasting,
            },
            mode: attrs.consume_mode,
            config,
            credentials,
            use_tls: settings.rocketmq.consumer.tls_enable,
        }))
    }
}

/// A function listener's `Result<R, E>` with the error boxed: a [`ConsumeResult`] when `R` is
/// `()`, a [`ReplyResult`](crate::ReplyResult) otherwise.
pub fn consume_result<R, E>(
    result: Result<R, E>,
) -> Result<R, Box<dyn std::error::Error + Send + Sync>>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    result.map_err(Into::into)
}

/// Starts the push consumer of listener `L`; the code `#[rocketmq_listener]` generates calls
/// this with `M` inferred from `L`'s one `RocketMQListener` or `RocketMQReplyListener`
/// implementation.
pub fn start_listener<L, M: 'static>(start: ListenerStart, listener: L) -> StartFuture
where
    L: Handler<M>,
{
    Box::pin(async move {
        let plan = start.plan;
        // Replies go through a producer on the consumer's own client instance, known once the
        // consumer has started (rocketmq-spring uses the instance's default producer).
        let (replier, replies) = watch::channel(None);
        let container = Container::<L, M> {
            listener: Arc::new(listener),
            runtime: tokio::runtime::Handle::current(),
            type_name: plan.type_name,
            replies,
            payload: std::marker::PhantomData,
        };
        let builder = PushConsumer::builder()
            .client_config(ClientConfig {
                namesrv_addr: plan.name_server.clone(),
                credentials: plan.credentials.clone(),
                use_tls: plan.use_tls,
                ..ClientConfig::default()
            })
            .config(plan.config.clone())
            .consumer_group(plan.group.clone())
            .message_model(plan.model)
            .subscribe_with(plan.topic.clone(), plan.selector.clone());
        let builder = match plan.mode {
            ConsumeMode::Concurrently => builder.listener(container),
            ConsumeMode::Orderly => builder.listener_orderly(container),
        };
        let consumer = builder
            .start()
            .await
            .map_err(|source| StarterError::Client {
                what: format!(
                    "the push consumer of listener {} (group {}, topic {})",
                    plan.type_name, plan.group, plan.topic
                ),
                source: Box::new(source),
            })?;
        replier.send_replace(Some(consumer.inner_producer()));
        Ok(consumer)
    })
}

/// Adapts a `RocketMQListener<T>` (or a reply listener) to the client's blocking
/// [`MessageListener`]: converts each message and runs the listener's future on the runtime
/// from the client's consume thread.
struct Container<L, M> {
    listener: Arc<L>,
    runtime: tokio::runtime::Handle,
    type_name: &'static str,
    /// The producer replies are sent with, once the consumer runs.
    replies: watch::Receiver<Option<Producer>>,
    payload: std::marker::PhantomData<fn() -> M>,
}

impl<L, M> Container<L, M>
where
    L: Handler<M>,
{
    /// Hands the messages to the listener one by one; false at the first failure, after which
    /// the whole batch is delivered again (as rocketmq-spring does).
    fn handle(&self, msgs: &[ReceivedMessage]) -> bool {
        for msg in msgs {
            let outcome = match L::Payload::from_message(msg) {
                Ok(payload) => self.runtime.block_on(self.listener.handle(payload)),
                Err(e) => Err(e.into()),
            };
            let outcome = outcome.and_then(|reply| match reply {
                Some(body) => {
                    let reply = reply_to(msg, body)?;
                    let sending = send_reply(self.replies.clone(), reply, self.type_name);
                    self.runtime.spawn(sending);
                    Ok(())
                }
                None => Ok(()),
            });
            if let Err(e) = outcome {
                tracing::warn!(
                    listener = self.type_name,
                    error = %e,
                    "consume message failed. messageId:{}, topic:{}, reconsumeTimes:{}",
                    msg.msg_id,
                    msg.topic,
                    msg.reconsume_times
                );
                return false;
            }
        }
        true
    }
}

impl<L, M: 'static> MessageListener for Container<L, M>
where
    L: Handler<M>,
{
    fn consume(&self, msgs: &[ReceivedMessage], _ctx: &ConsumeContext) -> ConsumeStatus {
        if self.handle(msgs) {
            ConsumeStatus::ConsumeSuccess
        } else {
            ConsumeStatus::ReconsumeLater
        }
    }
}

impl<L, M: 'static> MessageListenerOrderly for Container<L, M>
where
    L: Handler<M>,
{
    fn consume(
        &self,
        msgs: &[ReceivedMessage],
        _ctx: &mut ConsumeOrderlyContext,
    ) -> ConsumeOrderlyStatus {
        if self.handle(msgs) {
            ConsumeOrderlyStatus::Success
        } else {
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
        }
    }
}
