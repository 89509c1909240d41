//! Transactional messages through the proxy, as Apache's proxy in cluster mode runs them: the
//! half message goes out under the producer group named after the topic; the proxy keeps where
//! it was stored until the client's EndTransaction; and the proxy registers that group with the
//! brokers, so their check-backs (CHECK_TRANSACTION_STATE) reach it and are relayed to a
//! producer of the topic as RecoverOrphanedTransactionCommand on its telemetry stream. The
//! producer's answer is an EndTransaction with source SERVER_CHECK.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rmq_client::{
    ClientError, LocalTransactionState, Message, Producer, ReceivedMessage, TransactionListener,
    TransactionProducer,
};
use rmq_remoting::message::decode_offset_msg_id;

use crate::context::ProxyContext;
use crate::convert;
use crate::proto::v2::{
    self, telemetry_command::Command, Code, EndTransactionRequest,
    RecoverOrphanedTransactionCommand, TelemetryCommand, TransactionResolution, TransactionSource,
};
use crate::status;

/// How long the proxy remembers a half message without an outcome (the broker checks it back
/// long before; a check re-records it).
const PENDING_TTL: Duration = Duration::from_secs(3600);

/// Where a half message is stored: what END_TRANSACTION must name.
#[derive(Debug, Clone)]
struct Pending {
    broker_addr: String,
    queue_offset: i64,
    commit_log_offset: i64,
    at: Instant,
}

/// The proxy's transactional producers (one per topic) and half messages awaiting an outcome.
#[derive(Default)]
pub struct Transactions {
    producers: tokio::sync::Mutex<HashMap<String, TransactionProducer>>,
    pending: Mutex<HashMap<(String, String), Pending>>,
}

impl Transactions {
    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The producer of `topic`'s transactions, registered with the brokers under the group
    /// `topic` (started on first use).
    pub async fn producer(
        &self,
        ctx: &Arc<ProxyContext>,
        topic: &str,
    ) -> Result<TransactionProducer, ClientError> {
        let mut producers = self.producers.lock().await;
        if let Some(producer) = producers.get(topic) {
            return Ok(producer.clone());
        }
        let relay = CheckRelay {
            ctx: Arc::downgrade(ctx),
            topic: topic.to_owned(),
        };
        let producer = Producer::builder()
            .client_config(ctx.cluster.client_config().clone())
            .producer_group(topic)
            .start_transactional(Arc::new(relay))
            .await?;
        producers.insert(topic.to_owned(), producer.clone());
        Ok(producer)
    }

    /// Remembers the half message `transaction_id` of `topic`, stored as `offset_msg_id` at
    /// `queue_offset`.
    pub fn remember(
        &self,
        topic: &str,
        transaction_id: &str,
        offset_msg_id: &str,
        queue_offset: i64,
    ) {
        match decode_offset_msg_id(offset_msg_id) {
            Ok((addr, commit_log_offset)) => self.record(
                topic,
                transaction_id,
                Pending {
                    broker_addr: addr.to_string(),
                    queue_offset,
                    commit_log_offset,
                    at: Instant::now(),
                },
            ),
            Err(e) => {
                tracing::warn!(topic, transaction_id, error = %e, "half message with an unreadable offset id; only a check-back can end it")
            }
        }
    }

    fn record(&self, topic: &str, transaction_id: &str, pending: Pending) {
        let mut all = self.lock_pending();
        all.retain(|_, p| p.at.elapsed() < PENDING_TTL);
        all.insert((topic.to_owned(), transaction_id.to_owned()), pending);
    }

    /// EndTransaction: commits or rolls back the half message the request names.
    pub async fn end(
        &self,
        ctx: &Arc<ProxyContext>,
        request: &EndTransactionRequest,
    ) -> Result<(), v2::Status> {
        let topic = request
            .topic
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or("");
        if topic.is_empty() {
            return Err(status::of(Code::IllegalTopic, "topic name cannot be empty"));
        }
        if request.transaction_id.is_empty() {
            return Err(status::of(
                Code::InvalidTransactionId,
                "transaction id cannot be empty",
            ));
        }
        let state = match TransactionResolution::try_from(request.resolution) {
            Ok(TransactionResolution::Commit) => LocalTransactionState::CommitMessage,
            Ok(TransactionResolution::Rollback) => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        };
        let key = (topic.to_owned(), request.transaction_id.clone());
        let Some(pending) = self.lock_pending().remove(&key) else {
            return Err(status::of(
                Code::InternalServerError,
                "cannot found transaction data",
            ));
        };
        let from_check = request.source == TransactionSource::SourceServerCheck as i32;
        let producer = self
            .producer(ctx, topic)
            .await
            .map_err(|e| status::from_client_error(&e))?;
        producer
            .end_transaction_at(
                &pending.broker_addr,
                pending.queue_offset,
                pending.commit_log_offset,
                &request.message_id,
                state,
                from_check,
            )
            .await
            .map_err(|e| status::from_client_error(&e))
    }
}

/// Relays a broker's check-back of one topic's transactions to a producer of that topic.
struct CheckRelay {
    ctx: Weak<ProxyContext>,
    topic: String,
}

impl TransactionListener for CheckRelay {
    fn execute_local_transaction(
        &self,
        _msg: &Message,
        _transaction_id: &str,
        _arg: &(dyn Any + Send + Sync),
    ) -> LocalTransactionState {
        // The proxy never runs local transactions: its clients do, and end them with RPCs.
        LocalTransactionState::Unknown
    }

    fn check_local_transaction(&self, msg: &ReceivedMessage) -> LocalTransactionState {
        let Some(ctx) = self.ctx.upgrade() else {
            return LocalTransactionState::Unknown;
        };
        ctx.transactions.record(
            &self.topic,
            &msg.msg_id,
            Pending {
                broker_addr: msg.store_host.to_string(),
                queue_offset: msg.queue_offset,
                commit_log_offset: msg.commit_log_offset,
                at: Instant::now(),
            },
        );
        let command = TelemetryCommand {
            status: None,
            command: Some(Command::RecoverOrphanedTransactionCommand(
                RecoverOrphanedTransactionCommand {
                    message: Some(convert::to_proto(msg)),
                    transaction_id: msg.msg_id.clone(),
                },
            )),
        };
        let producers = ctx.sessions.producers_of(&self.topic);
        let delivered = producers
            .iter()
            .skip(fastrand_index(producers.len()))
            .chain(producers.iter())
            .any(|p| p.try_send(Ok(command.clone())).is_ok());
        if !delivered {
            tracing::info!(topic = %self.topic, msg_id = %msg.msg_id, "transaction check with no producer of the topic connected; the broker will ask again");
        }
        // The verdict comes later, as the client's EndTransaction.
        LocalTransactionState::Unknown
    }
}

/// A start index spreading check-backs over the producers.
fn fastrand_index(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (convert::now_ms().unsigned_abs() as usize) % len
    }
}
