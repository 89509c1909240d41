//! Dead letters: list a group's `%DLQ%<group>` messages and send one back to the group.
//!
//! rmq and Apache 4.9.x/5.x brokers create a dead-letter topic readable and writable; older
//! Apache brokers made it write-only, so listing makes it readable first when it is not. A re-sent message goes to the group's retry topic with its id,
//! body and properties, so only that group consumes it again, with a fresh retry budget.

use rmq_remoting::body::topic::{perm, TopicConfig};
use rmq_remoting::header::broker::SendMessageRequestHeaderV2;
use rmq_remoting::message::{encode_properties, keys};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::Admin;
use crate::error::{ClientError, Result};
use crate::message::ReceivedMessage;

/// Messages asked for per pull while listing.
const PAGE: i32 = 32;
/// Properties the broker sets when it parks or re-stores a message; a re-send starts afresh.
const PARKING_PROPERTIES: [&str; 5] = [
    keys::DELAY,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
];

/// The topic a broker parks `group`'s dead letters in, `%DLQ%<group>`, for whoever lists them.
pub fn dlq_topic(group: &str) -> String {
    format!("%DLQ%{group}")
}

impl Admin {
    /// Up to `max` dead letters of `group`, oldest first per queue. Makes the dead-letter topic
    /// readable on (older) brokers where it is write-only. A group without dead letters has no such
    /// topic: the answer is then an error saying so.
    pub async fn dead_letter_messages(
        &self,
        group: &str,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>> {
        let topic = dlq_topic(group);
        let route = self.topic_route(&topic).await?;
        for (broker_name, addr) in Self::masters(&route.broker_datas) {
            let Some(queues) = route
                .queue_datas
                .iter()
                .find(|q| q.broker_name == broker_name)
            else {
                continue;
            };
            if queues.perm & perm::READ == 0 {
                tracing::info!(topic, broker = %addr, "making the dead-letter topic readable to list it");
                let config = TopicConfig {
                    order: false,
                    perm: queues.perm | perm::READ | perm::WRITE,
                    read_queue_nums: queues.read_queue_nums,
                    topic_filter_type: "SINGLE_TAG".to_owned(),
                    topic_name: topic.clone(),
                    topic_sys_flag: queues.topic_sys_flag,
                    write_queue_nums: queues.write_queue_nums,
                    attributes: None,
                };
                self.create_topic(&addr, &config).await?;
            }
        }
        let stats = self.topic_stats(&topic).await?;
        let mut out = Vec::new();
        for (mq, bounds) in &stats.offset_table {
            let mut offset = bounds.min_offset;
            while offset < bounds.max_offset && out.len() < max {
                let page = self.pull_messages(mq, offset, PAGE).await?;
                let Some(last) = page.last() else { break };
                offset = last.queue_offset + 1;
                out.extend(page);
            }
        }
        out.truncate(max);
        for m in &mut out {
            m.properties.remove(keys::MIN_OFFSET);
            m.properties.remove(keys::MAX_OFFSET);
        }
        Ok(out)
    }

    /// Sends the dead letter whose unique id is `msg_id` back to `group` (through
    /// `%RETRY%<group>`, reconsume count 0): its consumers get it again with its id, body and
    /// properties, the original topic shown. Other groups are not affected.
    pub async fn resend_dead_letter(&self, group: &str, msg_id: &str) -> Result<()> {
        let topic = dlq_topic(group);
        let found = self.query_messages_by_unique_key(&topic, msg_id).await?;
        let msg = found.into_iter().next().ok_or_else(|| {
            ClientError::InvalidMessage(format!("no message with id {msg_id} in {topic}"))
        })?;
        let addr = self
            .instance
            .master_addr(&msg.queue.broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(msg.queue.broker_name.clone()))?;
        let properties = encode_properties(
            msg.properties
                .iter()
                .filter(|(k, _)| !PARKING_PROPERTIES.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let header = SendMessageRequestHeaderV2 {
            producer_group: "TOOLS_CONSUMER".to_owned(),
            topic: format!("%RETRY%{group}"),
            default_topic: "TBW102".to_owned(),
            default_topic_queue_nums: 1,
            queue_id: 0,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            flag: msg.flag,
            properties: Some(properties),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2, &header)
            .with_body(msg.body.clone());
        self.broker_call(&addr, req).await.map(drop)
    }
}
