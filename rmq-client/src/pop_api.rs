//! RocketMQ 5's POP requests over remoting (Java `MQClientAPIImpl.popMessageAsync`,
//! `ackMessageAsync`, `batchAckMessageAsync`, `changeInvisibleTimeAsync`, and the consumer's
//! send-back): what a gRPC proxy, or any consumer that lets the broker pick its messages, sends
//! to a broker. The broker side and the receipt format are in docs/pop.md.
//!
//! Every popped message comes with its receipt ([`ExtraInfo`], built from the answer's headers
//! as Java's client builds it, or taken from the `POP_CK` property of a retried message). The
//! receipt names the broker, the queue, the offset and whether the message came from the
//! group's pop retry topic, so an ack or a change needs nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::pop::{BatchAck, BatchAckMessageRequestBody};
use rmq_remoting::body::route::TopicRouteData;
use rmq_remoting::body::topic::perm;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    ConsumerSendMsgBackRequestHeader, ExtraInfo, PopMessageRequestHeader, PopMessageResponseHeader,
};
use rmq_remoting::message::keys;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::config::ClientConfig;
use crate::consumer::MessageSelector;
use crate::error::{ClientError, Result};
use crate::instance::{refused, ClientInstance};
use crate::message::ReceivedMessage;
use crate::pull_api::decode_records;

/// The property holding a message's receipt (Java `MessageConst.PROPERTY_POP_CK`): set by the
/// broker on retried messages, and by this client on every popped message.
pub const PROPERTY_POP_CK: &str = "POP_CK";
/// The property holding when a message was first popped (Java `PROPERTY_FIRST_POP_TIME`).
pub const PROPERTY_FIRST_POP_TIME: &str = "1ST_POP_TIME";

/// One POP_MESSAGE request: which group takes how many messages of which topic, for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopRequest {
    /// The consumer group.
    pub group: String,
    /// The topic (the group's pop retry topic is read too).
    pub topic: String,
    /// One queue, or -1 for every queue of the topic on the broker.
    pub queue_id: i32,
    /// Batch size, 1..=32.
    pub max_msg_nums: i32,
    /// How long popped messages stay hidden from the group.
    pub invisible_time: Duration,
    /// How long the broker may hold the request when nothing is there (long polling).
    pub poll_time: Duration,
    /// Where a group without a position starts: 0 = the queue's first message, 1 = its last.
    pub init_mode: i32,
    /// Tag or SQL92 filter, evaluated by the broker.
    pub selector: MessageSelector,
    /// FIFO pop: one message group (queue) in order.
    pub order: bool,
    /// FIFO pop's attempt id (Java's client sends a UUID per receive attempt).
    pub attempt_id: Option<String>,
}

/// What kind of answer a pop got (Java `PopStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopStatus {
    /// Messages were returned.
    Found,
    /// Nothing arrived within the poll time (POLLING_TIMEOUT 210, or PULL_NOT_FOUND 19).
    PollingNotFound,
    /// The broker holds too many pops already (POLLING_FULL 209): wait before the next.
    PollingFull,
}

/// A popped message with the receipt that acks or changes it.
#[derive(Debug, Clone)]
pub struct PoppedMessage {
    /// The message, its topic the normal topic even when it came from the retry topic;
    /// `reconsume_times` is its delivery attempts so far minus one.
    pub message: ReceivedMessage,
    /// Its receipt (queue offset included).
    pub receipt: ExtraInfo,
}

/// A decoded POP_MESSAGE answer.
#[derive(Debug, Clone)]
pub struct PopResult {
    /// What kind of answer it was.
    pub status: PopStatus,
    /// When the broker popped the batch, ms since the epoch (0 unless found).
    pub pop_time: i64,
    /// The invisible time granted, ms (0 unless found).
    pub invisible_time: i64,
    /// The revive queue of the batch's checkpoint.
    pub revive_qid: i32,
    /// Messages left in the queues read.
    pub rest_num: i64,
    /// The messages, in the broker's order.
    pub messages: Vec<PoppedMessage>,
}

/// A message's new receipt after CHANGE_MESSAGE_INVISIBLETIME; the old one is stale from now on.
pub type ChangedReceipt = ExtraInfo;

/// A client for POP requests. Create it with [`PopClient::start`], stop it with
/// [`PopClient::shutdown`]. Cheap to share behind an `Arc`; every call is one round trip (plus
/// a route lookup for a broker not yet known).
pub struct PopClient {
    instance: Arc<ClientInstance>,
    timeout: Duration,
}

impl PopClient {
    /// Connects to the name servers in `config`; `mqClientApiTimeout` bounds every request
    /// except a pop's long poll, which gets its poll time on top. With the default instance
    /// name the client gets an instance of its own (its route cache then names the brokers of
    /// its own name servers only). Must run inside a tokio runtime.
    pub async fn start(config: ClientConfig) -> Result<PopClient> {
        let timeout = config.mq_client_api_timeout;
        let instance = ClientInstance::acquire(&config, true)?;
        Ok(PopClient { instance, timeout })
    }

    /// Closes the connections (unless a producer or consumer of the same client id still
    /// uses them).
    pub async fn shutdown(self) {
        self.instance.stop_if_unused().await;
    }

    /// `topic`'s route, fresh from a name server; a missing topic is [`ClientError::NoRoute`].
    pub async fn route(&self, topic: &str) -> Result<TopicRouteData> {
        self.instance
            .update_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// The brokers holding readable queues of `topic`, by name, in route order.
    pub async fn readable_brokers(&self, topic: &str) -> Result<Vec<String>> {
        let route = match self.instance.cached_route(topic) {
            Some(route) => route,
            None => Arc::new(self.route(topic).await?),
        };
        Ok(route
            .queue_datas
            .iter()
            .filter(|q| q.perm & perm::READ != 0 && q.read_queue_nums > 0)
            .map(|q| q.broker_name.clone())
            .collect())
    }

    /// The master address of `broker_name`, looking `topic`'s route up when it is not known.
    async fn master(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(addr) = self.instance.master_addr(broker_name) {
            return Ok(addr);
        }
        self.route(topic).await?;
        self.instance
            .master_addr(broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(broker_name.to_owned()))
    }

    /// Pops from `broker_name`. A refusal (no such group or topic, no permission, FIFO not
    /// served) is [`ClientError::Refused`] with the broker's code.
    pub async fn pop(&self, broker_name: &str, req: &PopRequest) -> Result<PopResult> {
        let addr = self.master(broker_name, &req.topic).await?;
        let (exp_type, exp) = match &req.selector {
            MessageSelector::Tag(e) => ("TAG", e.clone()),
            MessageSelector::Sql92(e) => ("SQL92", e.clone()),
        };
        let header = PopMessageRequestHeader {
            consumer_group: req.group.clone(),
            topic: req.topic.clone(),
            queue_id: req.queue_id,
            max_msg_nums: req.max_msg_nums,
            invisible_time: millis(req.invisible_time),
            poll_time: millis(req.poll_time),
            born_time: Some(now_ms()),
            init_mode: req.init_mode,
            exp_type: Some(exp_type.to_owned()),
            exp: Some(exp),
            order: Some(req.order),
            attempt_id: req.attempt_id.clone(),
            bname: Some(broker_name.to_owned()),
        };
        let cmd = RemotingCommand::request(RequestCode::POP_MESSAGE, &header);
        let resp = self
            .instance
            .remoting()
            .invoke(&addr, cmd, req.poll_time + self.timeout)
            .await?;
        let status = match ResponseCode::from_i32(resp.code) {
            Some(ResponseCode::SUCCESS) => PopStatus::Found,
            Some(ResponseCode::POLLING_TIMEOUT | ResponseCode::PULL_NOT_FOUND) => {
                PopStatus::PollingNotFound
            }
            Some(ResponseCode::POLLING_FULL) => PopStatus::PollingFull,
            _ => return Err(refused(&addr, resp)),
        };
        let h: PopMessageResponseHeader =
            resp.decode_header().map_err(|e| ClientError::Protocol {
                addr: addr.clone(),
                reason: format!("pop response header: {e}"),
            })?;
        let mut result = PopResult {
            status,
            pop_time: 0,
            invisible_time: 0,
            revive_qid: 0,
            rest_num: h.rest_num,
            messages: Vec::new(),
        };
        if status != PopStatus::Found {
            return Ok(result);
        }
        result.pop_time = h.pop_time;
        result.invisible_time = h.invisible_time;
        result.revive_qid = h.revive_qid;
        let msgs = decode_records(&addr, &resp.body, broker_name, (0, 0), "", None)?;
        result.messages = with_receipts(msgs, &h, broker_name, &req.topic, req.order)
            .map_err(|reason| ClientError::Protocol { addr, reason })?;
        Ok(result)
    }

    /// Acks a popped message of `topic` (the normal topic) for `group`. A stale receipt (the
    /// message was acked, revived or changed since) is answered success and changes nothing.
    pub async fn ack(&self, group: &str, topic: &str, receipt: &ExtraInfo) -> Result<()> {
        let offset = queue_offset(receipt)?;
        let header = AckMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: real_topic(group, topic, &receipt.retry)?,
            queue_id: receipt.queue_id,
            extra_info: receipt.to_string(),
            offset,
            bname: Some(receipt.broker_name.clone()),
        };
        let addr = self.master(&receipt.broker_name, topic).await?;
        let cmd = RemotingCommand::request(RequestCode::ACK_MESSAGE, &header);
        self.instance.invoke(&addr, cmd, self.timeout).await?;
        Ok(())
    }

    /// Acks many popped messages of `topic` for `group` with BATCH_ACK_MESSAGE, one request per
    /// broker; receipts of one pop from one queue share a bit set, as Java's client merges
    /// them. Brokers without BATCH_ACK (Apache before 5.1) refuse it: use [`PopClient::ack`].
    pub async fn batch_ack(&self, group: &str, topic: &str, receipts: &[ExtraInfo]) -> Result<()> {
        let mut by_broker: Vec<(String, Vec<BatchAck>)> = Vec::new();
        for receipt in receipts {
            let offset = queue_offset(receipt)?;
            let pos = match by_broker
                .iter()
                .position(|(b, _)| *b == receipt.broker_name)
            {
                Some(pos) => pos,
                None => {
                    by_broker.push((receipt.broker_name.clone(), Vec::new()));
                    by_broker.len() - 1
                }
            };
            let acks = &mut by_broker[pos].1;
            let same_pop = |a: &BatchAck| {
                a.retry == receipt.retry
                    && a.queue_id == receipt.queue_id
                    && a.start_offset == receipt.ck_queue_offset
                    && a.pop_time == receipt.pop_time
            };
            let ack = match acks.iter().position(same_pop) {
                Some(i) => &mut acks[i],
                None => {
                    acks.push(BatchAck {
                        bit_set: Vec::new(),
                        consumer_group: group.to_owned(),
                        invisible_time: receipt.invisible_time,
                        pop_time: receipt.pop_time,
                        queue_id: receipt.queue_id,
                        retry: receipt.retry.clone(),
                        revive_queue_id: receipt.revive_qid,
                        start_offset: receipt.ck_queue_offset,
                        topic: topic.to_owned(),
                    });
                    let last = acks.len() - 1;
                    &mut acks[last]
                }
            };
            ack.set(offset);
        }
        for (broker_name, acks) in by_broker {
            let addr = self.master(&broker_name, topic).await?;
            let body = BatchAckMessageRequestBody {
                acks,
                broker_name: Some(broker_name),
            };
            let cmd =
                RemotingCommand::request_without_header(RequestCode::BATCH_ACK_MESSAGE).with_body(
                    bytes::Bytes::from(fastjson::to_vec(&body, KeyStyle::Fastjson)),
                );
            self.instance.invoke(&addr, cmd, self.timeout).await?;
        }
        Ok(())
    }

    /// Hides a popped message for `invisible_time` from now on and answers its new receipt
    /// (Java's proxy builds it the same way: the message's own offset as the checkpoint offset).
    pub async fn change_invisible_time(
        &self,
        group: &str,
        topic: &str,
        receipt: &ExtraInfo,
        invisible_time: Duration,
    ) -> Result<ChangedReceipt> {
        let offset = queue_offset(receipt)?;
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: group.to_owned(),
            topic: real_topic(group, topic, &receipt.retry)?,
            queue_id: receipt.queue_id,
            extra_info: receipt.to_string(),
            offset,
            invisible_time: millis(invisible_time),
            bname: Some(receipt.broker_name.clone()),
        };
        let addr = self.master(&receipt.broker_name, topic).await?;
        let cmd = RemotingCommand::request(RequestCode::CHANGE_MESSAGE_INVISIBLETIME, &header);
        let resp = self.instance.invoke(&addr, cmd, self.timeout).await?;
        let h: ChangeInvisibleTimeResponseHeader =
            resp.decode_header().map_err(|e| ClientError::Protocol {
                addr,
                reason: format!("change invisible time response header: {e}"),
            })?;
        Ok(ExtraInfo {
            ck_queue_offset: offset,
            pop_time: h.pop_time,
            invisible_time: h.invisible_time,
            revive_qid: h.revive_qid,
            ..receipt.clone()
        })
    }

    /// Sends a popped message to `group`'s dead-letter queue (`%DLQ%group`) with
    /// CONSUMER_SEND_MSG_BACK and `delayLevel=-1`, as Apache's proxy does once a message has
    /// used up its attempts. The caller acks it afterwards. `commit_log_offset` and `msg_id`
    /// are the message's ([`ReceivedMessage::commit_log_offset`], [`ReceivedMessage::msg_id`]).
    pub async fn send_to_dead_letter_queue(
        &self,
        group: &str,
        topic: &str,
        receipt: &ExtraInfo,
        commit_log_offset: i64,
        msg_id: &str,
    ) -> Result<()> {
        let header = ConsumerSendMsgBackRequestHeader {
            offset: commit_log_offset,
            group: group.to_owned(),
            delay_level: -1,
            origin_msg_id: Some(msg_id.to_owned()),
            origin_topic: Some(real_topic(group, topic, &receipt.retry)?),
            unit_mode: false,
            max_reconsume_times: Some(0),
            bname: Some(receipt.broker_name.clone()),
        };
        let addr = self.master(&receipt.broker_name, topic).await?;
        let cmd = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
        self.instance.invoke(&addr, cmd, self.timeout).await?;
        Ok(())
    }
}

/// The topic a receipt's message sits in (Java `ExtraInfoUtil.getRealTopic`): `topic` itself,
/// or the group's pop retry topic (`%RETRY%group_topic`, or V2's `%RETRY%group+topic`).
pub fn real_topic(group: &str, topic: &str, retry_mark: &str) -> Result<String> {
    match retry_mark {
        "0" => Ok(topic.to_owned()),
        "1" => Ok(format!("%RETRY%{group}_{topic}")),
        "2" => Ok(format!("%RETRY%{group}+{topic}")),
        other => Err(ClientError::InvalidMessage(format!(
            "receipt retry mark {other:?} is none of 0, 1, 2"
        ))),
    }
}

fn queue_offset(receipt: &ExtraInfo) -> Result<i64> {
    receipt.queue_offset.ok_or_else(|| {
        ClientError::InvalidMessage(format!("receipt {receipt} has no queue offset"))
    })
}

/// Gives every popped message its receipt the way Java's `processPopResponse` does: a retried
/// message keeps the `POP_CK` the broker set; the others get one built from the batch's
/// `startOffsetInfo` (the checkpoint offset of their queue), pop time, invisible time and revive
/// queue. FIFO pops take the attempts from `orderCountInfo`. Every message then carries its
/// receipt in `POP_CK`, `1ST_POP_TIME` if it had none, and the requested `topic`.
fn with_receipts(
    msgs: Vec<ReceivedMessage>,
    h: &PopMessageResponseHeader,
    broker_name: &str,
    topic: &str,
    order: bool,
) -> std::result::Result<Vec<PoppedMessage>, String> {
    let starts = parse_info(h.start_offset_info.as_deref())?;
    let counts = parse_info(h.order_count_info.as_deref())?;
    let mut out = Vec::with_capacity(msgs.len());
    for mut m in msgs {
        // The pull decoder labels records with queue bounds; a pop answer has none.
        m.properties.remove(keys::MIN_OFFSET);
        m.properties.remove(keys::MAX_OFFSET);
        let receipt = match m.properties.get(PROPERTY_POP_CK) {
            Some(ck) => ExtraInfo::parse(ck).ok_or_else(|| format!("bad POP_CK {ck:?}"))?,
            None => {
                let mark = ExtraInfo::retry_mark(&m.queue.topic);
                let key = format!("{mark}@{}", m.queue.queue_id);
                let ck_queue_offset = match starts.get(&key) {
                    Some(start) => start.parse().map_err(|_| format!("bad start {start:?}"))?,
                    None => m.queue_offset,
                };
                let receipt = ExtraInfo {
                    ck_queue_offset,
                    pop_time: h.pop_time,
                    invisible_time: h.invisible_time,
                    revive_qid: h.revive_qid,
                    retry: mark.to_owned(),
                    broker_name: broker_name.to_owned(),
                    queue_id: m.queue.queue_id,
                    queue_offset: Some(m.queue_offset),
                };
                if order {
                    let by_offset = format!("{mark}@qo{}%{}", m.queue.queue_id, m.queue_offset);
                    let count = counts.get(&by_offset).or_else(|| counts.get(&key));
                    if let Some(n) = count.and_then(|c| c.parse::<i32>().ok()) {
                        if n > 0 {
                            m.reconsume_times = n;
                        }
                    }
                }
                m.properties
                    .insert(PROPERTY_POP_CK.to_owned(), receipt.to_string());
                receipt
            }
        };
        m.properties
            .entry(PROPERTY_FIRST_POP_TIME.to_owned())
            .or_insert_with(|| h.pop_time.to_string());
        m.topic = topic.to_owned();
        out.push(PoppedMessage {
            message: m,
            receipt,
        });
    }
    Ok(out)
}

/// Parses `retry queueId value;...` (startOffsetInfo, orderCountInfo) into `retry@queueId` →
/// value, as Java's `ExtraInfoUtil.parseStartOffsetInfo` keys it.
fn parse_info(text: Option<&str>) -> std::result::Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for one in text
        .unwrap_or_default()
        .split(';')
        .filter(|s| !s.is_empty())
    {
        let parts: Vec<&str> = one.split(' ').collect();
        let [retry, queue, value] = parts[..] else {
            return Err(format!(
                "offset info entry {one:?} is not `retry queue value`"
            ));
        };
        map.insert(format!("{retry}@{queue}"), value.to_owned());
    }
    Ok(map)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_info_is_keyed_like_javas() {
        let map = parse_info(Some("0 1 5;1 0 7")).unwrap();
        assert_eq!(map["0@1"], "5");
        assert_eq!(map["1@0"], "7");
        assert!(parse_info(Some("0 1")).is_err());
        assert!(parse_info(None).unwrap().is_empty());
    }

    #[test]
    fn the_real_topic_follows_the_retry_mark() {
        assert_eq!(real_topic("g", "t", "0").unwrap(), "t");
        assert_eq!(real_topic("g", "t", "1").unwrap(), "%RETRY%g_t");
        assert_eq!(real_topic("g", "t", "2").unwrap(), "%RETRY%g+t");
        assert!(real_topic("g", "t", "x").is_err());
    }
}
