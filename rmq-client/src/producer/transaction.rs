//! Transactional sends (Java `TransactionMQProducer`): a half message the broker keeps invisible,
//! the application's local transaction, then the verdict (END_TRANSACTION, oneway). When the
//! verdict is unknown or lost, the broker asks any live producer of the group
//! (CHECK_TRANSACTION_STATE) and [`TransactionListener::check_local_transaction`] answers.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmq_remoting::header::broker::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use rmq_remoting::message::{decode_offset_msg_id, decode_record, keys};
use rmq_remoting::transport::Connection;
use rmq_remoting::{RemotingCommand, RequestCode};
use tokio::sync::Semaphore;

use super::{Producer, ProducerBuilder, SendResult, SendStatus};
use crate::error::{ClientError, Result};
use crate::message::{Message, ReceivedMessage};
use crate::trace::{self, EndedTransaction, TraceDispatcher};

/// What became of a local transaction (Java `LocalTransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    /// The local work is committed: deliver the message.
    CommitMessage,
    /// The local work is rolled back: drop the message.
    RollbackMessage,
    /// Not known yet: the broker will ask again later.
    Unknown,
}

impl LocalTransactionState {
    fn end_type(self) -> i32 {
        match self {
            LocalTransactionState::CommitMessage => EndTransactionRequestHeader::COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => EndTransactionRequestHeader::ROLLBACK_TYPE,
            LocalTransactionState::Unknown => EndTransactionRequestHeader::NOT_TYPE,
        }
    }

    /// Java's enum name, as trace records carry it.
    fn java_name(self) -> &'static str {
        match self {
            LocalTransactionState::CommitMessage => "COMMIT_MESSAGE",
            LocalTransactionState::RollbackMessage => "ROLLBACK_MESSAGE",
            LocalTransactionState::Unknown => "UNKNOW",
        }
    }
}

/// The application's side of a transactional send.
///
/// Both methods run synchronously: `execute_local_transaction` on the sending task (keep it
/// short, or hand blocking work to `spawn_blocking` yourself), `check_local_transaction` on a
/// blocking thread.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction once the half message is stored. `transaction_id` is the
    /// message's id, the one a later check names; `arg` is what the caller passed to
    /// [`TransactionProducer::send_message_in_transaction`].
    fn execute_local_transaction(
        &self,
        msg: &Message,
        transaction_id: &str,
        arg: &(dyn Any + Send + Sync),
    ) -> LocalTransactionState;

    /// Tells the broker what became of the transaction of `msg` (its `msg_id` is the
    /// transaction id), when the first verdict was unknown or never arrived.
    fn check_local_transaction(&self, msg: &ReceivedMessage) -> LocalTransactionState;
}

/// The outcome of [`TransactionProducer::send_message_in_transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    /// The half message's send result.
    pub send: SendResult,
    /// The verdict sent to the broker.
    pub local_state: LocalTransactionState,
    /// The transaction id (the message's `UNIQ_KEY`).
    pub transaction_id: String,
}

/// A producer whose sends are transactional; cheap to clone.
///
/// Created with [`ProducerBuilder::start_transactional`]. Every producer of a group must be able
/// to answer checks for every transaction of the group: the broker asks whichever is connected.
#[derive(Clone)]
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn TransactionListener>,
}

impl ProducerBuilder {
    /// Like [`ProducerBuilder::start`], for a transactional producer answering checks with
    /// `listener`.
    pub async fn start_transactional(
        self,
        listener: Arc<dyn TransactionListener>,
    ) -> Result<TransactionProducer> {
        let producer = self.start().await?;
        let checker = TransactionChecker {
            listener: listener.clone(),
            trace: producer.inner.trace.clone(),
        };
        producer
            .inner
            .instance
            .register_transaction_checker(&producer.inner.config.producer_group, checker);
        Ok(TransactionProducer { producer, listener })
    }
}

impl TransactionProducer {
    /// The underlying producer, for ordinary sends.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `msg` as a half message, runs the local transaction, and reports its outcome to
    /// the broker. A send that the broker did not store is rolled back without running the
    /// local transaction (as Java). Delay levels are not allowed with transactions and are
    /// cleared.
    pub async fn send_message_in_transaction(
        &self,
        msg: Message,
        arg: &(dyn Any + Send + Sync),
    ) -> Result<TransactionSendResult> {
        let group = &self.producer.inner.config.producer_group;
        let msg = msg
            .with_delay_level(0)
            .with_system_property(keys::TRAN_MSG, "true")
            .with_system_property(keys::PGROUP, group);
        let send = self.producer.send(msg.clone()).await?;
        let local_state = if send.status == SendStatus::SendOk {
            let run = || {
                self.listener
                    .execute_local_transaction(&msg, &send.msg_id, arg)
            };
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
                tracing::warn!(msg_id = %send.msg_id, "execute_local_transaction panicked; the outcome is unknown until checked");
                LocalTransactionState::Unknown
            })
        } else {
            LocalTransactionState::RollbackMessage
        };
        if let Err(e) = self.end_transaction(&send, local_state).await {
            // The broker will check the transaction back; the send itself succeeded.
            tracing::warn!(msg_id = %send.msg_id, error = %e, "cannot report the local transaction's outcome");
        }
        let inner = &self.producer.inner;
        if let Some(tracer) = inner.tracer_for(msg.topic()) {
            let broker = inner.instance.master_addr(&send.message_queue.broker_name);
            let property = |name: &str| msg.property(name);
            let record = trace::end_transaction(&EndedTransaction {
                group,
                topic: msg.topic(),
                property: &property,
                msg_id: &send.msg_id,
                store_host: broker.as_deref().unwrap_or_default(),
                state: local_state.java_name(),
                from_check: false,
            });
            tracer.append(vec![record]);
        }
        Ok(TransactionSendResult {
            transaction_id: send.msg_id.clone(),
            send,
            local_state,
        })
    }

    async fn end_transaction(&self, send: &SendResult, state: LocalTransactionState) -> Result<()> {
        let (_, commit_log_offset) =
            decode_offset_msg_id(&send.offset_msg_id).map_err(|e| ClientError::Protocol {
                addr: send.message_queue.broker_name.clone(),
                reason: format!("offset message id {}: {e}", send.offset_msg_id),
            })?;
        let addr = self
            .producer
            .inner
            .instance
            .master_addr(&send.message_queue.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(send.message_queue.broker_name.clone()))?;
        self.end_transaction_at(
            &addr,
            send.queue_offset,
            commit_log_offset,
            &send.msg_id,
            state,
            false,
        )
        .await
    }

    /// Reports a transaction's outcome decided outside this process (a gRPC client behind a
    /// proxy) to the broker at `broker_addr`: the half message at `commit_log_offset` (queue
    /// offset `tran_state_table_offset`), answering a check when `from_check`. One-way, as Java.
    pub async fn end_transaction_at(
        &self,
        broker_addr: &str,
        tran_state_table_offset: i64,
        commit_log_offset: i64,
        msg_id: &str,
        state: LocalTransactionState,
        from_check: bool,
    ) -> Result<()> {
        let inner = &self.producer.inner;
        let header = EndTransactionRequestHeader {
            producer_group: inner.config.producer_group.clone(),
            tran_state_table_offset,
            commit_log_offset,
            commit_or_rollback: state.end_type(),
            from_transaction_check: from_check,
            msg_id: msg_id.to_owned(),
            transaction_id: Some(msg_id.to_owned()),
            topic: None,
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::END_TRANSACTION, &header);
        inner
            .instance
            .remoting()
            .invoke_oneway(broker_addr, req)
            .await?;
        Ok(())
    }

    /// Stops answering checks, then shuts the producer down.
    pub async fn shutdown(&self) {
        let inner = &self.producer.inner;
        inner
            .instance
            .unregister_transaction_checker(&inner.config.producer_group);
        self.producer.shutdown().await;
    }
}

/// Checks answered at the same time at most (Java's check executor queue); the broker asks
/// again about the ones dropped beyond it.
const MAX_CHECKS_IN_FLIGHT: usize = 2000;

/// What answers a broker's checks for one producer group, and where it traces the answers.
#[derive(Clone)]
pub(crate) struct TransactionChecker {
    listener: Arc<dyn TransactionListener>,
    trace: Option<Arc<TraceDispatcher>>,
}

/// Transactional producers of one client instance by group: who answers a broker's check.
#[derive(Clone)]
pub(crate) struct TransactionCheckers {
    groups: Arc<Mutex<HashMap<String, TransactionChecker>>>,
    in_flight: Arc<Semaphore>,
}

impl Default for TransactionCheckers {
    fn default() -> Self {
        TransactionCheckers {
            groups: Arc::default(),
            in_flight: Arc::new(Semaphore::new(MAX_CHECKS_IN_FLIGHT)),
        }
    }
}

impl TransactionCheckers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TransactionChecker>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets `checker` answer checks for `group`.
    pub(crate) fn insert(&self, group: &str, checker: TransactionChecker) {
        self.lock().insert(group.to_owned(), checker);
    }

    /// Stops answering checks for `group`.
    pub(crate) fn remove(&self, group: &str) {
        self.lock().remove(group);
    }

    /// Answers a CHECK_TRANSACTION_STATE that arrived on `conn`: asks the group's listener on
    /// a blocking thread and sends its verdict back on the same connection.
    pub(crate) fn answer(&self, conn: Connection, req: RemotingCommand) {
        let header: CheckTransactionStateRequestHeader = match req.decode_header() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(broker = %conn.peer_addr(), error = %e, "malformed transaction check ignored");
                return;
            }
        };
        let msg = match decode_record(&req.body, false)
            .map_err(|e| e.to_string())
            .and_then(|record| ReceivedMessage::from_record(&record, "", 0, 0, ""))
        {
            Ok(msg) => msg,
            Err(e) => {
                tracing::warn!(broker = %conn.peer_addr(), error = %e, "transaction check with an unreadable message ignored");
                return;
            }
        };
        let Some(group) = msg.property(keys::PGROUP).map(str::to_owned) else {
            tracing::warn!(broker = %conn.peer_addr(), "transaction check without a producer group ignored");
            return;
        };
        let Some(checker) = self.lock().get(&group).cloned() else {
            tracing::warn!(group, broker = %conn.peer_addr(), "transaction check for a group this client does not produce for");
            return;
        };
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            tracing::warn!(
                group,
                "too many transaction checks in flight; this one waits for the broker's next round"
            );
            return;
        };
        tokio::spawn(async move {
            let _permit = permit;
            let checked = msg.clone();
            let listener = checker.listener.clone();
            let state = match tokio::task::spawn_blocking(move || {
                listener.check_local_transaction(&checked)
            })
            .await
            {
                Ok(state) => state,
                Err(e) => {
                    tracing::warn!(group, error = %e, "check_local_transaction panicked; answering unknown");
                    LocalTransactionState::Unknown
                }
            };
            let end = EndTransactionRequestHeader {
                producer_group: group,
                tran_state_table_offset: msg.queue_offset,
                commit_log_offset: msg.commit_log_offset,
                commit_or_rollback: state.end_type(),
                from_transaction_check: true,
                msg_id: msg.msg_id.clone(),
                transaction_id: header.transaction_id.or(Some(msg.msg_id.clone())),
                topic: None,
                bname: None,
            };
            let req = RemotingCommand::request(RequestCode::END_TRANSACTION, &end);
            if let Err(e) = conn.invoke_oneway(req).await {
                tracing::warn!(broker = %conn.peer_addr(), error = %e, "cannot answer a transaction check");
            }
            let tracer = checker
                .trace
                .as_deref()
                .filter(|t| !msg.topic.starts_with(t.topic()));
            if let Some(tracer) = tracer {
                let property = |name: &str| msg.property(name);
                let record = trace::end_transaction(&EndedTransaction {
                    group: &end.producer_group,
                    topic: &msg.topic,
                    property: &property,
                    msg_id: &msg.msg_id,
                    store_host: &conn.peer_addr().to_string(),
                    state: state.java_name(),
                    from_check: true,
                });
                tracer.append(vec![record]);
            }
        });
    }
}
