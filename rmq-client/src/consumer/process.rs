//! Concurrent consumption (Java `ConsumeMessageConcurrentlyService`): listener calls on a
//! bounded pool, offsets advanced to the smallest in-flight offset, failed messages retried.
//!
//! Retries: in clustering mode a failed message is sent back to the broker
//! (CONSUMER_SEND_MSG_BACK), which redelivers it through `%RETRY%<group>` after a delay, or
//! moves it to `%DLQ%<group>` after `maxReconsumeTimes` retries. When that request fails, the
//! message stays in flight (holding the committed offset back) and is handed to the listener
//! again locally after `local_retry_delay` with its reconsume count increased, as Java's last
//! resort does. After `maxReconsumeTimes` local retries it is dropped with an error log. Broadcasting
//! consumers never retry (as Java: "BROADCASTING, the message consume failed, drop it").

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::client::{MessageModel, MessageQueue};
use rmq_remoting::header::broker::ConsumerSendMsgBackRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::process_queue::ProcessQueue;
use super::{ConsumeContext, ConsumeStatus, ConsumerInner, Listener};
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;

impl ConsumerInner {
    /// Hands freshly pulled messages to the listener in batches of
    /// `consumeMessageBatchMaxSize`.
    pub(crate) fn submit(
        self: &Arc<Self>,
        mq: &MessageQueue,
        pq: &Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
    ) {
        let batch = self.config.consume_message_batch_max_size;
        let mut msgs = msgs.into_iter().peekable();
        while msgs.peek().is_some() {
            let chunk: Vec<ReceivedMessage> = msgs.by_ref().take(batch).collect();
            self.spawn_consume(mq.clone(), pq.clone(), chunk, Duration::ZERO);
        }
    }

    /// One listener call, after `delay`, once a pool slot is free. Calls that have not started
    /// when the consumer stops or the queue is dropped are abandoned: their messages stay
    /// uncommitted and are delivered again to whoever owns the queue next.
    fn spawn_consume(
        self: &Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
        delay: Duration,
    ) {
        let me = self.clone();
        self.consume_tasks.spawn(async move {
            let stop = me.stop_consuming.clone();
            if !delay.is_zero() {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            let permit = tokio::select! {
                _ = stop.cancelled() => return,
                p = me.consume_permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            if pq.is_dropped() || stop.is_cancelled() {
                return;
            }
            let Listener::Concurrently(listener) = me.listener.clone() else {
                return;
            };
            let ctx = ConsumeContext { queue: mq.clone() };
            let batch = msgs.clone();
            let status = tokio::task::spawn_blocking(move || listener.consume(&batch, &ctx))
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(queue = ?mq, error = %e, "the listener panicked; reconsume later");
                    ConsumeStatus::ReconsumeLater
                });
            drop(permit);
            me.process_result(mq, pq, msgs, status).await;
        });
    }

    /// Java `processConsumeResult`: commit what succeeded, retry what failed.
    async fn process_result(
        self: &Arc<Self>,
        mq: MessageQueue,
        pq: Arc<ProcessQueue>,
        msgs: Vec<ReceivedMessage>,
        status: ConsumeStatus,
    ) {
        let mut retry_locally = Vec::new();
        if status == ConsumeStatus::ReconsumeLater {
            match self.config.message_model {
                MessageModel::Broadcasting => {
                    for m in &msgs {
                        tracing::warn!(msg_id = %m.msg_id, "BROADCASTING, the message consume failed, drop it");
                    }
                }
                MessageModel::Clustering => {
                    for m in &msgs {
                        if let Err(e) = self.send_back(m).await {
                            tracing::debug!(msg_id = %m.msg_id, error = %e, "send-back failed; retrying locally");
                            retry_locally.push(m.clone());
                        }
                    }
                }
            }
        }
        let max = self.config.effective_max_reconsume_times();
        let (retry, give_up): (Vec<_>, Vec<_>) = retry_locally
            .into_iter()
            .partition(|m| m.reconsume_times < max);
        for m in &give_up {
            tracing::error!(msg_id = %m.msg_id, reconsume_times = m.reconsume_times,
                "the message failed maxReconsumeTimes times and cannot be dead-lettered; dropping it");
        }
        let done: Vec<i64> = msgs
            .iter()
            .map(|m| m.queue_offset)
            .filter(|o| !retry.iter().any(|r| r.queue_offset == *o))
            .collect();
        let commit = pq.remove(&done);
        if commit >= 0 && !pq.is_dropped() {
            self.offsets.update(&mq, commit, true);
        }
        if !retry.is_empty() {
            let retry = retry
                .into_iter()
                .map(|mut m| {
                    m.reconsume_times += 1;
                    m
                })
                .collect();
            self.spawn_consume(mq, pq, retry, self.config.local_retry_delay);
        }
    }

    /// CONSUMER_SEND_MSG_BACK to the broker that stored the message.
    async fn send_back(&self, msg: &ReceivedMessage) -> Result<()> {
        let addr = self
            .instance
            .master_addr(&msg.queue.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(msg.queue.broker_name.clone()))?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.config.consumer_group.clone(),
            delay_level: 0,
            origin_msg_id: Some(msg.msg_id.clone()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(self.config.effective_max_reconsume_times()),
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
        self.instance
            .invoke(&addr, req, self.instance.config().mq_client_api_timeout)
            .await
            .map(drop)
    }
}
