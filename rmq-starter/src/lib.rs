//! The Spring-Boot-style starter: what rocketmq-spring-boot-starter gives a Java application,
//! for an async Rust one.
//!
//! * Configuration from `application.yml`, `application-{profile}.yml` (embedded in the binary
//!   with [`embed_config!`], in `./`, `./config/`, or where `spring.config.location` says),
//!   environment variables and `--key=value` arguments, in Spring Boot's order, with
//!   rocketmq-spring's property names ([`Properties`], [`Settings`]).
//! * [`RocketMQTemplate`] for sending.
//! * `#[rocketmq_listener(topic = "...", consumer_group = "...")]` on a type implementing
//!   [`RocketMQListener`]; every such listener is found and started by [`Application::run`].
//! * A listener returning a value ([`RocketMQReplyListener`], or a listener function returning
//!   `Result<R, E>`) answers requests made with [`RocketMQTemplate::send_and_receive`].
//! * `#[rocketmq_transaction_listener]` on a type implementing
//!   [`RocketMQLocalTransactionListener`] makes the template transactional
//!   ([`RocketMQTemplate::send_message_in_transaction`]).
//! * [`Application`]: one call that starts all of it next to an axum router, with a health
//!   endpoint and a graceful stop.
//!
//! ```no_run
//! use rmq_starter::{rocketmq_listener, Application, ConsumeResult, RocketMQListener};
//!
//! #[derive(Default)]
//! #[rocketmq_listener(topic = "first-topic", consumer_group = "${demo.group:my-consumer-group}")]
//! struct Printer;
//!
//! impl RocketMQListener<String> for Printer {
//!     async fn on_message(&self, message: String) -> ConsumeResult {
//!         println!("{message}");
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), rmq_starter::StarterError> {
//!     Application::new("demo").run(|_ctx| Ok(axum::Router::new())).await
//! }
//! ```

#![warn(missing_docs)]

mod app;
mod error;
mod listener;
mod locations;
mod logging;
mod payload;
mod properties;
mod reply;
mod settings;
mod template;
mod transaction;

pub use app::{exit_code, AppContext, Application, HEALTH_PATH};
pub use error::StarterError;
pub use listener::{
    ConsumeMode, ConsumeResult, ListenerAttributes, ListenerMessageModel, ListenerRegistration,
    ListenerStart, RocketMQListener, SelectorType, StartFuture,
};
pub use locations::EmbeddedConfig;
pub use payload::{ConvertError, FromMessage, IntoPayload, Json};
pub use properties::{Properties, PropertySources, PropertyValue};
pub use reply::{ReplyResult, RocketMQReplyListener};
pub use rmq_client::{
    ClientError, LocalTransactionState as RocketMQLocalTransactionState, Message, ReceivedMessage,
    SendResult, SendStatus, TransactionListener as RocketMQLocalTransactionListener,
    TransactionSendResult,
};
pub use rmq_macros::{rocketmq_listener, rocketmq_transaction_listener};
pub use settings::{
    ignored_keys, unknown_keys, ConsumerProperties, LoggingProperties, ProducerProperties,
    PullConsumerProperties, RocketMqProperties, ServerProperties, Settings, UnknownKey,
};
pub use template::{headers, IntoMessage, OutgoingMessage, RocketMQTemplate, TemplateError};
pub use transaction::TransactionListenerRegistration;

/// What `#[rocketmq_listener]` expands to refers to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::listener::{consume_result, start_listener};
    pub use crate::reply::Handler;
    pub use inventory;
}
