//! Answers to what brokers relay from admins to one consumer: GET_CONSUMER_RUNNING_INFO (the
//! consumer's settings, subscriptions, queues and rates, in Java's `ConsumerRunningInfo` form;
//! no thread dump) and CONSUME_MESSAGE_DIRECTLY (hand one stored message to the listener now
//! and report what it said). Apache's `mqadmin consumerStatus` and `consumeMessage`, its
//! dashboard and its exporter read these.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmq_remoting::body::running::{
    CmResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo, ProcessQueueInfo,
    PROP_CLIENT_VERSION, PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE,
    PROP_NAMESERVER_ADDR, PROP_THREADPOOL_CORE_SIZE,
};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use rmq_remoting::message::{decode_record, keys};
use rmq_remoting::transport::{Connection, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::{
    ConsumeContext, ConsumeOrderlyContext, ConsumeOrderlyStatus, ConsumeStatus, ConsumerInner,
    Listener,
};
use crate::message::ReceivedMessage;

/// The version name rmq reports as the client's (the release whose protocol it speaks, as
/// `RMQ_VERSION` in every command).
const CLIENT_VERSION_DESC: &str = "V4_9_8";

/// The consumers of one client instance, by group.
pub(crate) type ConsumerTable = Arc<Mutex<BTreeMap<String, Arc<ConsumerInner>>>>;

/// Adds the handlers of both requests to a client instance's router.
pub(crate) fn routes(router: Router, consumers: &ConsumerTable, name_servers: &[String]) -> Router {
    let ns_addr: String = name_servers.iter().map(|a| format!("{a};")).collect();
    let for_info = consumers.clone();
    let for_direct = consumers.clone();
    router
        .route(
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            move |_: Connection, req: RemotingCommand| {
                let answer = running_info(&for_info, &ns_addr, &req);
                async move { answer }
            },
        )
        .route(
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
            move |_: Connection, req: RemotingCommand| {
                let consumers = for_direct.clone();
                async move { consume_directly(&consumers, req).await }
            },
        )
}

fn invalid(what: impl std::fmt::Display) -> CommandError {
    CommandError::new(ResponseCode::SYSTEM_ERROR, what.to_string())
}

fn not_here(group: &str) -> CommandError {
    invalid(format!(
        "The Consumer Group <{group}> not exist in this consumer"
    ))
}

fn consumer(consumers: &ConsumerTable, group: &str) -> Option<Arc<ConsumerInner>> {
    consumers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(group)
        .cloned()
}

fn running_info(
    consumers: &ConsumerTable,
    ns_addr: &str,
    req: &RemotingCommand,
) -> Result<RemotingCommand, CommandError> {
    let h: GetConsumerRunningInfoRequestHeader = req.decode_header().map_err(invalid)?;
    let consumer =
        consumer(consumers, &h.consumer_group).ok_or_else(|| not_here(&h.consumer_group))?;
    let mut info = consumer.running_info();
    info.properties
        .insert(PROP_NAMESERVER_ADDR.to_owned(), ns_addr.to_owned());
    info.properties.insert(
        PROP_CLIENT_VERSION.to_owned(),
        CLIENT_VERSION_DESC.to_owned(),
    );
    Ok(RemotingCommand::success().with_body(fastjson::to_vec(&info, KeyStyle::Fastjson)))
}

async fn consume_directly(
    consumers: &ConsumerTable,
    req: RemotingCommand,
) -> Result<RemotingCommand, CommandError> {
    let h: ConsumeMessageDirectlyResultRequestHeader = req.decode_header().map_err(invalid)?;
    let consumer =
        consumer(consumers, &h.consumer_group).ok_or_else(|| not_here(&h.consumer_group))?;
    let record = decode_record(&req.body, false)
        .map_err(|e| invalid(format!("the message to consume is invalid: {e}")))?;
    let broker_name = h.broker_name.unwrap_or_default();
    let mut msg = ReceivedMessage::from_record(&record, &broker_name, 0, 0, &consumer.retry_topic)
        .map_err(invalid)?;
    // Java's message carries no queue bounds here; they are added to pulled messages only.
    msg.properties.remove(keys::MIN_OFFSET);
    msg.properties.remove(keys::MAX_OFFSET);
    let result = consumer
        .consume_directly(msg)
        .await
        .ok_or_else(|| not_here(&h.consumer_group))?;
    Ok(RemotingCommand::success().with_body(fastjson::to_vec(&result, KeyStyle::Fastjson)))
}

/// A value's Java enum name, as serde writes it.
fn enum_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl ConsumerInner {
    /// Java's `consumerRunningInfo()` of a push or lite pull consumer.
    pub(crate) fn running_info(&self) -> ConsumerRunningInfo {
        let cfg = &self.config;
        let data = self.consumer_data();
        let orderly = matches!(self.listener, Listener::Orderly(_));
        let mut properties = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            properties.insert(k.to_owned(), v);
        };
        put("consumerGroup", cfg.consumer_group.clone());
        put("messageModel", enum_name(&cfg.message_model));
        put("consumeFromWhere", enum_name(&cfg.consume_from_where));
        put("consumeTimestamp", cfg.consume_timestamp.to_string());
        put("consumeThreadMin", cfg.consume_thread_min.to_string());
        put("consumeThreadMax", cfg.consume_thread_max.to_string());
        put(
            "consumeMessageBatchMaxSize",
            cfg.consume_message_batch_max_size.to_string(),
        );
        put("pullBatchSize", cfg.pull_batch_size.to_string());
        put("pullInterval", cfg.pull_interval.as_millis().to_string());
        put(
            "pullThresholdForQueue",
            cfg.pull_threshold_for_queue.to_string(),
        );
        put(
            "pullThresholdSizeForQueue",
            cfg.pull_threshold_size_for_queue.to_string(),
        );
        put(
            "consumeConcurrentlyMaxSpan",
            cfg.consume_concurrently_max_span.to_string(),
        );
        put("maxReconsumeTimes", cfg.max_reconsume_times.to_string());
        put(
            "suspendCurrentQueueTimeMillis",
            cfg.suspend_current_queue_time.as_millis().to_string(),
        );
        put("clientIP", self.instance.config().resolved_client_ip());
        put("instanceName", self.instance.config().instance_name.clone());
        put(PROP_CONSUME_ORDERLY, orderly.to_string());
        put(
            PROP_THREADPOOL_CORE_SIZE,
            cfg.consume_thread_min.to_string(),
        );
        put(
            PROP_CONSUMER_START_TIMESTAMP,
            self.status.started_ms().to_string(),
        );
        put(PROP_CONSUME_TYPE, enum_name(&data.consume_type));
        let mut info = ConsumerRunningInfo {
            properties,
            ..ConsumerRunningInfo::default()
        };
        for sub in &data.subscription_data_set {
            info.status_table
                .insert(sub.topic.clone(), self.status.status(&sub.topic));
        }
        info.subscription_set = data.subscription_data_set;
        let queues: Vec<_> = self
            .queues()
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.clone()))
            .collect();
        for (mq, pq) in queues {
            let (last_pull, last_consume) = self.status.queue_times(&mq);
            let (min, max) = pq.cached_bounds().unwrap_or_default();
            info.mq_table.insert(
                mq.clone(),
                ProcessQueueInfo {
                    cached_msg_count: i32::try_from(pq.count()).unwrap_or(i32::MAX),
                    cached_msg_max_offset: max,
                    cached_msg_min_offset: min,
                    cached_msg_size_in_mi_b: i32::try_from(pq.bytes() / (1024 * 1024))
                        .unwrap_or(i32::MAX),
                    commit_offset: self.offsets.read_memory(&mq).unwrap_or(-1),
                    droped: pq.is_dropped(),
                    last_consume_timestamp: last_consume,
                    last_lock_timestamp: 0,
                    last_pull_timestamp: last_pull,
                    locked: pq.orderly.holds_lock(),
                    transaction_msg_count: 0,
                    transaction_msg_max_offset: 0,
                    transaction_msg_min_offset: 0,
                    try_unlock_times: 0,
                },
            );
        }
        info
    }

    /// Java's `consumeMessageDirectly`: the listener's verdict on `msg`, on a blocking thread;
    /// `None` for a lite pull consumer, which has no listener.
    pub(crate) async fn consume_directly(
        &self,
        msg: ReceivedMessage,
    ) -> Option<ConsumeMessageDirectlyResult> {
        let queue = msg.queue.clone();
        let began = Instant::now();
        let (order, verdict) = match &self.listener {
            Listener::Concurrently(listener) => {
                let listener = listener.clone();
                let verdict = tokio::task::spawn_blocking(move || {
                    match listener.consume(&[msg], &ConsumeContext { queue }) {
                        ConsumeStatus::ConsumeSuccess => CmResult::CR_SUCCESS,
                        ConsumeStatus::ReconsumeLater => CmResult::CR_LATER,
                    }
                })
                .await;
                (false, verdict)
            }
            Listener::Orderly(listener) => {
                let listener = listener.clone();
                let verdict = tokio::task::spawn_blocking(move || {
                    let mut ctx = ConsumeOrderlyContext {
                        queue,
                        suspend_current_queue_time: None,
                    };
                    match listener.consume(&[msg], &mut ctx) {
                        ConsumeOrderlyStatus::Success => CmResult::CR_SUCCESS,
                        ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => CmResult::CR_LATER,
                    }
                })
                .await;
                (true, verdict)
            }
            Listener::Lite(_) => return None,
        };
        let (consume_result, remark) = match verdict {
            Ok(result) => (result, None),
            Err(e) => (
                CmResult::CR_THROW_EXCEPTION,
                Some(format!("the listener panicked: {e}")),
            ),
        };
        Some(ConsumeMessageDirectlyResult {
            auto_commit: true,
            consume_result: Some(consume_result),
            order,
            remark,
            spent_time_mills: i64::try_from(began.elapsed().as_millis()).unwrap_or(i64::MAX),
        })
    }
}
