//! Consumer groups: subscription-group settings, progress, connections and offset resets.

use std::collections::BTreeMap;

use bytes::Bytes;
use rmq_remoting::body::client::{ConsumerConnection, MessageQueue};
use rmq_remoting::body::stats::{ConsumeStats, ResetOffsetBody, SubscriptionGroupConfig};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    DeleteSubscriptionGroupRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, ResetOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::Admin;
use crate::error::{ClientError, Result};

impl Admin {
    /// Creates or updates a subscription group on the broker at `broker_addr`
    /// (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).
    pub async fn create_subscription_group(
        &self,
        broker_addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        let body = Bytes::from(fastjson::to_vec(config, KeyStyle::Fastjson));
        let req = RemotingCommand::request_without_header(
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        )
        .with_body(body);
        self.broker_call(broker_addr, req).await.map(drop)
    }

    /// Creates or updates the group on every master of `cluster`; returns their addresses.
    pub async fn create_subscription_group_in_cluster(
        &self,
        cluster: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<Vec<String>> {
        let masters = self.cluster_master_addrs(cluster).await?;
        for addr in &masters {
            self.create_subscription_group(addr, config).await?;
        }
        Ok(masters)
    }

    /// Deletes a subscription group from the broker at `broker_addr`; with `clean_offset` its
    /// committed offsets go too (DELETE_SUBSCRIPTIONGROUP).
    pub async fn delete_subscription_group(
        &self,
        broker_addr: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<()> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_owned(),
            clean_offset: clean_offset.then_some(true),
        };
        let req = RemotingCommand::request(RequestCode::DELETE_SUBSCRIPTIONGROUP, &header);
        self.broker_call(broker_addr, req).await.map(drop)
    }

    /// The group's progress on every queue of `topic` (or of every topic it consumed), from
    /// every master broker (GET_CONSUME_STATS); TPS values are summed.
    pub async fn consume_stats(&self, group: &str, topic: Option<&str>) -> Result<ConsumeStats> {
        let info = self.cluster_info().await?;
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.map(str::to_owned),
            topic_list: None,
        };
        let mut all = ConsumeStats::default();
        for (_, addr) in Self::masters(info.broker_addr_table.values()) {
            let req = RemotingCommand::request(RequestCode::GET_CONSUME_STATS, &header);
            let stats: ConsumeStats = self.broker_json(&addr, req, "consume stats").await?;
            all.consume_tps += stats.consume_tps;
            all.offset_table.extend(stats.offset_table);
        }
        Ok(all)
    }

    /// The group's online members and subscriptions (GET_CONSUMER_CONNECTION_LIST), from the
    /// first master that has any; CONSUMER_NOT_ONLINE when none has.
    pub async fn consumer_connections(&self, group: &str) -> Result<ConsumerConnection> {
        let info = self.cluster_info().await?;
        let header = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_owned(),
        };
        let mut last = None;
        for (_, addr) in Self::masters(info.broker_addr_table.values()) {
            let req = RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST, &header);
            match self
                .broker_json::<ConsumerConnection>(&addr, req, "consumer connections")
                .await
            {
                Ok(conn) if !conn.connection_set.is_empty() => return Ok(conn),
                Ok(_) => {}
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if e.response_code() != Some(ResponseCode::CONSUMER_NOT_ONLINE.as_i32()) => e,
            _ => ClientError::Refused {
                addr: self.instance.config().namesrv_addr.clone(),
                code: ResponseCode::CONSUMER_NOT_ONLINE.as_i32(),
                remark: format!(
                    "Not found the consumer group connection: no member of {group} is online"
                ),
            },
        })
    }

    /// Moves the group's offsets on every queue of `topic` to the first message stored at or
    /// after `timestamp` (ms since the epoch); `-1` means the queue's end. Without `force`
    /// offsets only move backwards. Online members are told at once by the brokers
    /// (INVOKE_BROKER_TO_RESET_OFFSET); brokers that refuse offline groups (Apache's) get the
    /// offsets written queue by queue. Returns the new offset of every queue.
    pub async fn reset_offset_by_time(
        &self,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let route = self.topic_route(topic).await?;
        let header = ResetOffsetRequestHeader {
            topic: topic.to_owned(),
            group: group.to_owned(),
            timestamp,
            is_force: force,
            queue_id: -1,
            offset: None,
        };
        let mut all = BTreeMap::new();
        for (broker_name, addr) in Self::masters(&route.broker_datas) {
            let req = RemotingCommand::request(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &header);
            match self
                .broker_json::<ResetOffsetBody>(&addr, req, "reset offsets")
                .await
            {
                Ok(body) => all.extend(body.offset_table),
                // Apache's brokers only reset groups with members online; for the others the
                // offsets are rewritten one by one, as Java's mqadmin falls back to doing.
                Err(e) if e.response_code() == Some(ResponseCode::CONSUMER_NOT_ONLINE.as_i32()) => {
                    let offline = self
                        .reset_offline_group(&addr, &broker_name, topic, group, timestamp, force)
                        .await?;
                    all.extend(offline);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }

    /// Java's `resetOffsetByTimestampOld` on one broker: for every queue the group has progress
    /// on, the offset of `timestamp` (the queue's end for -1), stored with UPDATE_CONSUMER_OFFSET
    /// when `force` or when it moves the group backwards.
    async fn reset_offline_group(
        &self,
        addr: &str,
        broker_name: &str,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: Some(topic.to_owned()),
            topic_list: None,
        };
        let req = RemotingCommand::request(RequestCode::GET_CONSUME_STATS, &header);
        let stats: ConsumeStats = self.broker_json(addr, req, "consume stats").await?;
        let mut reset = BTreeMap::new();
        for (mq, progress) in stats.offset_table {
            if mq.topic != topic || mq.broker_name != broker_name {
                continue;
            }
            let found = if timestamp == -1 {
                progress.broker_offset
            } else {
                self.search_offset_on(addr, &mq, timestamp).await?
            };
            let target = if force || found < progress.consumer_offset {
                found
            } else {
                progress.consumer_offset
            };
            let update = UpdateConsumerOffsetRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.to_owned(),
                queue_id: mq.queue_id,
                commit_offset: target,
                bname: None,
            };
            let req = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &update);
            self.broker_call(addr, req).await?;
            reset.insert(mq, target);
        }
        Ok(reset)
    }
}
