//! Topics: create or update, delete, list, route and per-queue statistics.

use std::collections::BTreeSet;

use rmq_remoting::body::route::{TopicList, TopicRouteData};
use rmq_remoting::body::stats::TopicStatsTable;
use rmq_remoting::body::topic::TopicConfig;
use rmq_remoting::header::broker::{CreateTopicRequestHeader, TopicRequestHeader};
use rmq_remoting::header::namesrv::DeleteTopicFromNamesrvRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::Admin;
use crate::error::{ClientError, Result};

/// The template topic admin tools name when creating topics.
const TEMPLATE_TOPIC: &str = "TBW102";

impl Admin {
    /// Creates or updates `config.topic_name` on the broker at `broker_addr`
    /// (UPDATE_AND_CREATE_TOPIC); the broker registers it with the name servers.
    pub async fn create_topic(&self, broker_addr: &str, config: &TopicConfig) -> Result<()> {
        // Keys already signed (`+k`/`-k`, as Java's AttributeParser.parseToMap leaves them) are
        // sent as they are, like Java's parseToString; plain keys are set.
        let attributes = config.attributes.as_ref().map(|attrs| {
            let mut pairs: Vec<String> = attrs
                .iter()
                .map(|(k, v)| match (k.starts_with(['+', '-']), v.is_empty()) {
                    (true, true) => k.clone(),
                    (true, false) => format!("{k}={v}"),
                    (false, _) => format!("+{k}={v}"),
                })
                .collect();
            pairs.sort();
            pairs.join(",")
        });
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: TEMPLATE_TOPIC.to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type.clone(),
            topic_sys_flag: config.topic_sys_flag,
            order: config.order,
            attributes,
            force: None,
        };
        let req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
        self.broker_call(broker_addr, req).await.map(drop)
    }

    /// Creates or updates the topic on every master of `cluster`; returns their addresses.
    pub async fn create_topic_in_cluster(
        &self,
        cluster: &str,
        config: &TopicConfig,
    ) -> Result<Vec<String>> {
        let masters = self.cluster_master_addrs(cluster).await?;
        for addr in &masters {
            self.create_topic(addr, config).await?;
        }
        Ok(masters)
    }

    /// Deletes `topic` from every master of `cluster` and then from every name server, as
    /// Java's `deleteTopic` does; returns the brokers it was deleted from.
    pub async fn delete_topic(&self, topic: &str, cluster: &str) -> Result<Vec<String>> {
        let masters = self.cluster_master_addrs(cluster).await?;
        let header = TopicRequestHeader {
            topic: topic.to_owned(),
        };
        for addr in &masters {
            let req = RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER, &header);
            self.broker_call(addr, req).await?;
        }
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_owned(),
            cluster_name: None,
        };
        for namesrv in self.instance.config().name_servers() {
            let req = RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_NAMESRV, &header);
            self.broker_call(&namesrv, req).await?;
        }
        Ok(masters)
    }

    /// Every topic the name server knows (GET_ALL_TOPIC_LIST_FROM_NAMESERVER).
    pub async fn topic_list(&self) -> Result<BTreeSet<String>> {
        let req = RemotingCommand::request_without_header(
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        );
        let list: TopicList = self.namesrv_json(req, "topic list").await?;
        Ok(list.topic_list)
    }

    /// `topic`'s route; [`ClientError::NoRoute`] when the name server has none.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        self.instance
            .fetch_route(topic)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// `topic`'s settings on the broker at `broker_addr` (GET_TOPIC_CONFIG, RocketMQ 5), with
    /// its 5.x attributes such as `message.type`, which the gRPC proxy checks sends against.
    pub async fn topic_config(&self, broker_addr: &str, topic: &str) -> Result<TopicConfig> {
        let header = TopicRequestHeader {
            topic: topic.to_owned(),
        };
        let req = RemotingCommand::request(RequestCode::GET_TOPIC_CONFIG, &header);
        self.broker_json(broker_addr, req, "topic config").await
    }

    /// Min and max offsets and last store time of every queue of `topic`, from each master in
    /// its route (GET_TOPIC_STATS_INFO).
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let route = self.topic_route(topic).await?;
        let header = TopicRequestHeader {
            topic: topic.to_owned(),
        };
        let mut all = TopicStatsTable::default();
        for (_, addr) in Self::masters(&route.broker_datas) {
            let req = RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO, &header);
            let table: TopicStatsTable = self.broker_json(&addr, req, "topic stats").await?;
            all.offset_table.extend(table.offset_table);
        }
        Ok(all)
    }
}
