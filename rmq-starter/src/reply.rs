//! Listeners that answer (rocketmq-spring's `RocketMQReplyListener<T, R>`): the value a listener
//! returns is sent back to the requester of `RocketMQTemplate::send_and_receive` (or Java's
//! `DefaultMQProducer.request`) as the reply (docs/request-reply.md).

use std::future::Future;

use bytes::Bytes;
use rmq_client::{create_reply_message, Message, Producer, ReceivedMessage};
use tokio::sync::watch;

use crate::listener::RocketMQListener;
use crate::payload::{FromMessage, IntoPayload};

/// A boxed listener error.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a reply listener returns: the reply, or an error meaning "reconsume later" (no reply is
/// sent then).
pub type ReplyResult<R> = Result<R, BoxError>;

/// A handler of request messages of type `T` that answers each with a value of type `R`
/// (`String`, `Vec<u8>`, `Bytes` or [`Json<R>`](crate::Json)), sent to the requester.
///
/// Put `#[rocketmq_listener(topic = "...", consumer_group = "...")]` on a `Default` type that
/// implements this trait (and not [`RocketMQListener`]).
pub trait RocketMQReplyListener<T, R>: Send + Sync + 'static {
    /// Handles one request and returns its reply.
    fn on_message(&self, message: T) -> impl Future<Output = ReplyResult<R>> + Send;
}

/// What the listener container runs for each message: a [`RocketMQListener`] (no reply) or a
/// [`RocketMQReplyListener`] (the reply body). `M` tells the two apart, so the container's
/// type is inferred from the one trait a listener implements.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message listener",
    label = "implement RocketMQListener<T> or RocketMQReplyListener<T, R> for this type",
    note = "#[rocketmq_listener] needs exactly one of RocketMQListener<T> and RocketMQReplyListener<T, R>"
)]
pub trait Handler<M>: Send + Sync + 'static {
    /// The payload type messages are converted to.
    type Payload: FromMessage;

    /// Runs the listener; `Some(body)` is a reply to send.
    fn handle(
        &self,
        payload: Self::Payload,
    ) -> impl Future<Output = Result<Option<Bytes>, BoxError>> + Send;
}

impl<L, T> Handler<(T,)> for L
where
    L: RocketMQListener<T>,
    T: FromMessage,
{
    type Payload = T;

    fn handle(&self, payload: T) -> impl Future<Output = Result<Option<Bytes>, BoxError>> + Send {
        let consumed = self.on_message(payload);
        async move { consumed.await.map(|()| None) }
    }
}

impl<L, T, R> Handler<(T, R)> for L
where
    L: RocketMQReplyListener<T, R>,
    T: FromMessage,
    R: IntoPayload + Send,
{
    type Payload = T;

    fn handle(&self, payload: T) -> impl Future<Output = Result<Option<Bytes>, BoxError>> + Send {
        let answered = self.on_message(payload);
        async move { Ok(Some(answered.await?.into_payload()?)) }
    }
}

/// The reply to `request` carrying `body`; an error (the request is no request: it has no
/// `CLUSTER`) fails the consumption, as rocketmq-spring's container does.
pub(crate) fn reply_to(request: &ReceivedMessage, body: Bytes) -> Result<Message, BoxError> {
    Ok(create_reply_message(request, body)?)
}

/// Sends a reply with the consumer's producer once it is known; failures are logged (the
/// requester then times out), as rocketmq-spring logs them in its send callback.
pub(crate) async fn send_reply(
    mut producer: watch::Receiver<Option<Producer>>,
    reply: Message,
    listener: &'static str,
) {
    let producer = match producer.wait_for(Option::is_some).await {
        Ok(ready) => ready.clone(),
        Err(_) => None,
    };
    let Some(producer) = producer else {
        tracing::warn!(listener, "reply not sent: the listener's consumer stopped");
        return;
    };
    match producer.send(reply).await {
        Ok(sent) => tracing::debug!(listener, msg_id = %sent.msg_id, "reply sent"),
        Err(e) => tracing::warn!(listener, error = %e, "reply not sent"),
    }
}
