//! Questions for one consumer, relayed by a broker it is connected to: its running info
//! (`mqadmin consumerStatus`) and consuming one stored message now (`mqadmin consumeMessage`,
//! the console's "resend to this client").

use rmq_remoting::body::running::{ConsumeMessageDirectlyResult, ConsumerRunningInfo};
use rmq_remoting::header::broker::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use rmq_remoting::message::decode_offset_msg_id;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::{decode, Admin};
use crate::error::{ClientError, Result};

/// The broker waits up to 10 s for the client; the admin waits longer than that (Java waits
/// three times its own timeout).
const CLIENT_TIMEOUT_FACTOR: u32 = 3;

impl Admin {
    /// What the member `client_id` of `group` reports about itself, asked through the first
    /// broker serving the group's retry topic (as Java's admin does). `jstack` asks a Java
    /// client for a thread dump too.
    pub async fn consumer_running_info(
        &self,
        group: &str,
        client_id: &str,
        jstack: bool,
    ) -> Result<ConsumerRunningInfo> {
        let route = self.topic_route(&format!("%RETRY%{group}")).await?;
        let (_, addr) = Self::masters(&route.broker_datas)
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::BrokerNotFound(format!("any broker of group {group}")))?;
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_owned(),
            client_id: client_id.to_owned(),
            jstack_enable: jstack,
        };
        let req = RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO, &header);
        let resp = self
            .instance
            .invoke(&addr, req, self.timeout * CLIENT_TIMEOUT_FACTOR)
            .await?;
        decode(&addr, &resp.body, "consumer running info")
    }

    /// Has the member `client_id` of `group` consume the message with offset message id
    /// `offset_msg_id` now, through the broker that stores it; the listener's verdict.
    pub async fn consume_message_directly(
        &self,
        group: &str,
        client_id: &str,
        offset_msg_id: &str,
    ) -> Result<ConsumeMessageDirectlyResult> {
        let (store_host, _) = decode_offset_msg_id(offset_msg_id).map_err(|e| {
            ClientError::InvalidMessage(format!(
                "{e}: an offset message id is 32 hex digits (IPv4) or 56 (IPv6)"
            ))
        })?;
        let addr = store_host.to_string();
        let header = ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.to_owned()),
            msg_id: Some(offset_msg_id.to_owned()),
            broker_name: None,
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        };
        let req = RemotingCommand::request(RequestCode::CONSUME_MESSAGE_DIRECTLY, &header);
        let resp = self
            .instance
            .invoke(&addr, req, self.timeout * CLIENT_TIMEOUT_FACTOR)
            .await?;
        decode(&addr, &resp.body, "consume-directly result")
    }
}
