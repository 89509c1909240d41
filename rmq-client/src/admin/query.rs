//! Message queries: by key, by unique key or offset message id, by queue offset.

use rmq_remoting::body::client::{MessageQueue, EXPRESSION_TYPE_TAG};
use rmq_remoting::header::broker::{
    PullMessageRequestHeader, QueryMessageRequestHeader, ViewMessageRequestHeader,
};
use rmq_remoting::message::{decode_offset_msg_id, keys};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::Admin;
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;
use crate::pull_api::{self, PullStatus, FLAG_SUBSCRIPTION};

/// The consumer group Java's admin tools pull with.
const TOOLS_CONSUMER: &str = "TOOLS_CONSUMER";
/// Messages one unique-key query asks each broker for (Java's `defaultQueryMaxNum`).
const UNIQUE_KEY_QUERY_NUM: i32 = 32;

impl Admin {
    /// Messages of `topic` whose `KEYS` contain `key`, stored between `begin` and `end` (ms),
    /// at most `max_num` per broker (QUERY_MESSAGE to every broker group of the topic).
    pub async fn query_messages_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
    ) -> Result<Vec<ReceivedMessage>> {
        let found = self
            .query_index(topic, key, max_num, begin, end, false)
            .await?;
        Ok(found
            .into_iter()
            .filter(|m| m.keys().contains(&key))
            .collect())
    }

    /// The stored copies of the message whose unique id (`UNIQ_KEY`, the id producers
    /// return) is `uniq_key`; a producer retry can store one message twice.
    pub async fn query_messages_by_unique_key(
        &self,
        topic: &str,
        uniq_key: &str,
    ) -> Result<Vec<ReceivedMessage>> {
        let found = self
            .query_index(topic, uniq_key, UNIQUE_KEY_QUERY_NUM, 0, i64::MAX, true)
            .await?;
        Ok(found
            .into_iter()
            .filter(|m| m.property(keys::UNIQ_KEY) == Some(uniq_key))
            .collect())
    }

    /// The message with offset message id `offset_msg_id` (broker address and commit-log
    /// offset), read from that broker (VIEW_MESSAGE_BY_ID).
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<ReceivedMessage> {
        let (store_host, offset) = decode_offset_msg_id(offset_msg_id).map_err(|e| {
            ClientError::InvalidMessage(format!(
                "{e}: an offset message id is 32 hex digits (IPv4) or 56 (IPv6)"
            ))
        })?;
        let addr = store_host.to_string();
        let header = ViewMessageRequestHeader {
            offset,
            topic: None,
        };
        let req = RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID, &header);
        let resp = self.broker_call(&addr, req).await?;
        let broker_name = self.broker_name_of(&addr).await;
        let mut msgs = pull_api::decode_records(&addr, &resp.body, &broker_name, (0, 0), "", None)?;
        strip_queue_bounds(&mut msgs);
        msgs.pop().ok_or_else(|| ClientError::Protocol {
            addr,
            reason: "VIEW_MESSAGE_BY_ID answered without a message".into(),
        })
    }

    /// The message(s) a producer-side id or an offset message id names, as `mqadmin
    /// queryMsgById` finds them: first as a unique key in `topic` (when given), then as an
    /// offset message id.
    pub async fn query_messages_by_id(
        &self,
        topic: Option<&str>,
        msg_id: &str,
    ) -> Result<Vec<ReceivedMessage>> {
        if let Some(topic) = topic {
            let found = self.query_messages_by_unique_key(topic, msg_id).await?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        self.view_message(msg_id).await.map(|m| vec![m])
    }

    /// The message at `offset` of queue `mq`, or `None` when there is none there yet.
    pub async fn query_message_by_offset(
        &self,
        mq: &MessageQueue,
        offset: i64,
    ) -> Result<Option<ReceivedMessage>> {
        let msgs = self.pull_messages(mq, offset, 1).await?;
        Ok(msgs.into_iter().find(|m| m.queue_offset == offset))
    }

    /// Up to `max` messages of queue `mq` from `offset` on, read without a subscription and
    /// without committing anything (what `mqadmin consumeMessage` prints); empty when the
    /// queue has nothing at `offset`.
    pub async fn pull_messages(
        &self,
        mq: &MessageQueue,
        offset: i64,
        max: i32,
    ) -> Result<Vec<ReceivedMessage>> {
        self.instance.update_route(&mq.topic).await?;
        let addr = self
            .instance
            .master_addr(&mq.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))?;
        let header = PullMessageRequestHeader {
            consumer_group: TOOLS_CONSUMER.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".to_owned()),
            sub_version: 0,
            expression_type: Some(EXPRESSION_TYPE_TAG.to_owned()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: None,
        };
        let result =
            pull_api::pull(&self.instance, &addr, mq, &header, None, "", self.timeout).await?;
        Ok(match result.status {
            PullStatus::Found => result.msgs,
            PullStatus::NoNewMsg | PullStatus::RetryImmediately | PullStatus::OffsetIllegal => {
                Vec::new()
            }
        })
    }

    /// QUERY_MESSAGE to a broker of each group holding `topic`; QUERY_NOT_FOUND counts as none.
    async fn query_index(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> Result<Vec<ReceivedMessage>> {
        let route = self.topic_route(topic).await?;
        let header = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num,
            begin_timestamp: begin,
            end_timestamp: end,
            unique_key_query: unique.then_some(true),
            bname: None,
        };
        let mut all = Vec::new();
        for (broker_name, addr) in Self::masters(&route.broker_datas) {
            let req = RemotingCommand::request(RequestCode::QUERY_MESSAGE, &header);
            match self.broker_call(&addr, req).await {
                Ok(resp) => {
                    let mut msgs = pull_api::decode_records(
                        &addr,
                        &resp.body,
                        &broker_name,
                        (0, 0),
                        "",
                        None,
                    )?;
                    strip_queue_bounds(&mut msgs);
                    all.extend(msgs);
                }
                Err(e) if e.response_code() == Some(ResponseCode::QUERY_NOT_FOUND.as_i32()) => {}
                Err(e) => return Err(e),
            }
        }
        all.sort_by_key(|m| (m.store_timestamp, m.commit_log_offset));
        Ok(all)
    }

    /// The name of the broker group whose member listens on `addr`, or `addr` itself.
    async fn broker_name_of(&self, addr: &str) -> String {
        self.cluster_info()
            .await
            .ok()
            .and_then(|info| {
                info.broker_addr_table
                    .into_values()
                    .find(|bd| bd.broker_addrs.values().any(|a| a == addr))
                    .map(|bd| bd.broker_name)
            })
            .unwrap_or_else(|| addr.to_owned())
    }
}

/// Query answers carry no queue bounds; drop the placeholders record decoding adds.
fn strip_queue_bounds(msgs: &mut [ReceivedMessage]) {
    for m in msgs {
        m.properties.remove(keys::MIN_OFFSET);
        m.properties.remove(keys::MAX_OFFSET);
    }
}
