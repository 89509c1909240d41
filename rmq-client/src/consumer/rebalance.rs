//! Rebalancing (Java `RebalanceImpl`/`RebalancePushImpl`): decide which queues this member owns,
//! drop the ones it lost (committing their offsets) and start pulling the ones it gained from
//! the group's offset or from `consumeFromWhere`.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rmq_remoting::body::client::{ConsumeFromWhere, MessageModel, MessageQueue};
use rmq_remoting::header::broker::{
    GetMaxOffsetRequestHeader, OffsetResponseHeader, SearchOffsetRequestHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::process_queue::ProcessQueue;
use super::{pull, ConsumerInner};
use crate::error::{ClientError, Result};
use crate::route::subscribe_queues;

impl ConsumerInner {
    /// One rebalance round over every subscribed topic; a topic whose route or member list is
    /// unavailable keeps its current queues until the next round.
    pub(crate) async fn rebalance(self: &Arc<Self>) {
        if !self.running.load(Ordering::SeqCst) {
            return;
        }
        let _serial = self.rebalance_lock.lock().await;
        if !self.running.load(Ordering::SeqCst) {
            return;
        }
        let mut changed = false;
        for topic in self.topics() {
            match self.allocate(&topic).await {
                Ok(assigned) => changed |= self.update_queues(&topic, assigned).await,
                Err(e) => tracing::debug!(topic, error = %e, "rebalance skipped this topic"),
            }
        }
        if changed {
            self.instance.send_heartbeat_to_all_brokers().await;
        }
    }

    /// The queues of `topic` this member should own.
    async fn allocate(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let route = match self.instance.cached_route(topic) {
            Some(r) => r,
            None => self
                .instance
                .update_route(topic)
                .await?
                .map(Arc::new)
                .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))?,
        };
        if let Some(fixed) = &self.fixed_assignment {
            return Ok(fixed.iter().filter(|q| q.topic == topic).cloned().collect());
        }
        let all = subscribe_queues(topic, &route);
        if self.config.message_model == MessageModel::Broadcasting {
            return Ok(all);
        }
        let cids = self
            .instance
            .consumer_ids(topic, &self.config.consumer_group)
            .await?;
        Ok(self.strategy.allocate(
            &self.config.consumer_group,
            self.instance.client_id(),
            &all,
            &cids,
        ))
    }

    /// Applies an allocation to `topic`'s queues; true if anything changed.
    async fn update_queues(self: &Arc<Self>, topic: &str, assigned: Vec<MessageQueue>) -> bool {
        let wanted: HashSet<&MessageQueue> = assigned.iter().collect();
        let lost: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .queues()
            .iter()
            .filter(|(mq, _)| mq.topic == topic && !wanted.contains(mq))
            .map(|(mq, pq)| (mq.clone(), pq.clone()))
            .collect();
        let (mut added, mut dropped) = (0usize, 0usize);
        for (mq, pq) in lost {
            if self.locks_queues() {
                if !self.release_orderly_queue(&mq, &pq).await {
                    continue;
                }
            } else {
                pq.set_dropped();
                self.offsets.persist(std::slice::from_ref(&mq), false).await;
            }
            if self.config.message_model == MessageModel::Clustering {
                self.offsets.remove(&mq);
            }
            self.queues().remove(&mq);
            tracing::debug!(queue = ?mq, "queue no longer assigned; dropped");
            dropped += 1;
        }
        for mq in assigned {
            if self.queues().contains_key(&mq) {
                continue;
            }
            if self.locks_queues() {
                match self.lock_queues(&mq.broker_name, [mq.clone()]).await {
                    Ok(locked) if locked.contains(&mq) => {}
                    Ok(_) => {
                        tracing::info!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, "another member still holds this queue's lock; will try again at the next rebalance");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, error = %e, "cannot lock the queue; will try again at the next rebalance");
                        continue;
                    }
                }
            }
            let start = match self.compute_pull_from_where(&mq).await {
                Ok(offset) => offset,
                Err(e) => {
                    tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, error = %e, "cannot compute where to start; will retry at the next rebalance");
                    continue;
                }
            };
            self.offsets.update(&mq, start, false);
            let pq = Arc::new(ProcessQueue::new());
            pq.orderly.set_locked(self.locks_queues());
            self.queues().insert(mq.clone(), pq.clone());
            tracing::debug!(queue = ?mq, offset = start, "queue assigned; pulling");
            tokio::spawn(pull::pull_loop(self.clone(), mq, pq, start));
            added += 1;
        }
        if added + dropped > 0 {
            let held = self
                .queues()
                .iter()
                .filter(|(mq, _)| mq.topic == topic)
                .count();
            tracing::info!(
                group = %self.config.consumer_group,
                topic,
                added,
                dropped,
                held,
                "rebalanced"
            );
        }
        added + dropped > 0
    }

    /// Where a newly assigned queue starts: the stored offset, else `consumeFromWhere`
    /// (Java `RebalancePushImpl.computePullFromWhere`).
    async fn compute_pull_from_where(&self, mq: &MessageQueue) -> Result<i64> {
        if let Some(offset) = self.offsets.read_from_store(mq).await? {
            if offset >= 0 {
                return Ok(offset);
            }
        }
        let retry = mq.topic == self.retry_topic;
        match self.config.consume_from_where {
            ConsumeFromWhere::FirstOffset => Ok(0),
            ConsumeFromWhere::Timestamp if !retry => {
                self.search_offset(mq, self.config.consume_timestamp).await
            }
            ConsumeFromWhere::Timestamp => self.max_offset(mq).await,
            _ if retry => Ok(0),
            _ => self.max_offset(mq).await,
        }
    }

    fn master(&self, mq: &MessageQueue) -> Result<String> {
        self.instance
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))
    }

    pub(crate) async fn offset_call(&self, mq: &MessageQueue, req: RemotingCommand) -> Result<i64> {
        let addr = self.master(mq)?;
        let resp = self
            .instance
            .invoke(&addr, req, self.instance.config().mq_client_api_timeout)
            .await?;
        let h: OffsetResponseHeader = resp.decode_header().map_err(|e| ClientError::Protocol {
            addr,
            reason: e.to_string(),
        })?;
        Ok(h.offset)
    }

    pub(crate) async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
            bname: None,
        };
        self.offset_call(
            mq,
            RemotingCommand::request(RequestCode::GET_MAX_OFFSET, &header),
        )
        .await
    }

    async fn search_offset(&self, mq: &MessageQueue, timestamp: i64) -> Result<i64> {
        self.offset_call(mq, search_offset_request(mq, timestamp))
            .await
    }
}

/// SEARCH_OFFSET_BY_TIMESTAMP for `mq` at `timestamp` (ms): the request both a consumer
/// starting from a time and the admin's time-range query and offset reset send.
pub(crate) fn search_offset_request(mq: &MessageQueue, timestamp: i64) -> RemotingCommand {
    let header = SearchOffsetRequestHeader {
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        timestamp,
        boundary_type: None,
        bname: None,
    };
    RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header)
}
