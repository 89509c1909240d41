//! The rmq client: a RocketMQ producer and push consumer speaking the remoting protocol to rmq
//! or Apache RocketMQ name servers and brokers.
//!
//! * [`Producer`] sends messages (sync, async, oneway, ordered through a
//!   [`MessageQueueSelector`], batches) with Java's routing, retry and compression rules.
//! * [`Admin`] manages topics, groups and offsets and queries messages (what `mqadmin` uses).
//! * [`TransactionProducer`] sends transactional messages: a half message, the application's
//!   local transaction ([`TransactionListener`]), then commit or rollback; it answers the
//!   broker's checks when the outcome was unknown.
//! * [`LitePullConsumer`] lets the application poll (subscribe or assign mode, seek, commit).
//! * [`PushConsumer`] consumes in clustering or broadcasting mode with a concurrent
//!   [`MessageListener`], rebalancing queues across the group; a [`MessageSelector`] filters
//!   by tag or, on the broker, by an SQL92 condition on message properties.
//!
//! * [`PopClient`] sends RocketMQ 5's POP requests (pop, ack, change invisible time, dead-letter
//!   send-back): the broker picks the messages and hides each until acked (docs/pop.md).
//!
//! * Message trace: with `enableMsgTrace` ([`ProducerConfig::enable_msg_trace`],
//!   [`ConsumerConfig::enable_msg_trace`]) producers and push consumers write Java's trace
//!   records to `RMQ_SYS_TRACE_TOPIC`; [`Admin::query_trace`] reads a message's records back.
//!
//! * Request-reply: [`Producer::request`] sends a message and waits for the reply a replier
//!   sends with [`create_reply_message`], as Java's `DefaultMQProducer.request`.
//!
//! * ACL: with [`Credentials`] ([`ClientConfig::credentials`] or the builders' `credentials`)
//!   every request is signed as Java's `AclClientRPCHook` signs it, trace messages included.
//!
//! Delivery is at least once: a listener may see a message again (after a restart, a
//! rebalance, a retry). Make listeners idempotent; [`DedupGuard`] skips in-process duplicates.
//!
//! Producers and consumers created with the same client id share one client instance (Java's
//! `MQClientInstance`): its connections, route cache, heartbeats and rebalance timer.
//! Settings keep the Java names and defaults ([`ClientConfig`], [`ProducerConfig`],
//! [`ConsumerConfig`]).

#![warn(missing_docs)]

mod admin;
mod config;
mod consumer;
mod dedup;
mod error;
mod instance;
mod message;
mod pop_api;
mod producer;
mod pull_api;
mod route;
mod trace;
mod uniq_id;

pub use admin::{dlq_topic, Admin, MessageTrack, SettingList, TraceView, TrackType};
pub use config::{ClientConfig, ConsumerConfig, ProducerConfig, DEFAULT_INSTANCE_NAME};
pub use consumer::{
    AllocateMessageQueueAveragely, AllocateMessageQueueStrategy, ConsumeContext,
    ConsumeOrderlyContext, ConsumeOrderlyStatus, ConsumeStatus, LitePullConsumer,
    LitePullConsumerBuilder, MessageListener, MessageListenerOrderly, MessageSelector,
    PushConsumer, PushConsumerBuilder,
};
pub use dedup::DedupGuard;
pub use error::{ClientError, Result};
pub use message::{Message, ReceivedMessage};
pub use pop_api::{
    real_topic, ChangedReceipt, PopClient, PopRequest, PopResult, PopStatus, PoppedMessage,
    PROPERTY_FIRST_POP_TIME, PROPERTY_POP_CK,
};
pub use producer::{
    create_reply_message, LocalTransactionState, MessageQueueSelector, Producer, ProducerBuilder,
    SelectMessageQueueByHash, SelectMessageQueueByRandom, SendResult, SendStatus,
    TransactionListener, TransactionProducer, TransactionSendResult,
};
pub use rmq_remoting::acl::Credentials;
pub use rmq_remoting::body::client::{ConsumeFromWhere, MessageModel, MessageQueue};
pub use rmq_remoting::header::broker::ExtraInfo;
pub use trace::{
    decode as decode_trace, encode as encode_trace, TraceMessageType, TraceRecord, TraceType,
    RMQ_SYS_TRACE_TOPIC,
};
