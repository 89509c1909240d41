//! What a console asks beyond `mqadmin`'s basics: the subscription groups of a broker, the
//! masters of the cluster, and the producers of a group.

use std::collections::BTreeSet;

use rmq_remoting::body::client::{Connection, ProducerConnection};
use rmq_remoting::body::stats::SubscriptionGroupWrapper;
use rmq_remoting::header::broker::GetProducerConnectionListRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::Admin;
use crate::error::Result;

impl Admin {
    /// Every subscription group the broker at `broker_addr` knows, with its settings
    /// (GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    pub async fn subscription_groups(&self, broker_addr: &str) -> Result<SubscriptionGroupWrapper> {
        let req =
            RemotingCommand::request_without_header(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
        self.broker_json(broker_addr, req, "subscription groups")
            .await
    }

    /// The master address of every broker group the name server knows: broker name → address.
    pub async fn master_addrs(&self) -> Result<Vec<(String, String)>> {
        let info = self.cluster_info().await?;
        Ok(Self::masters(info.broker_addr_table.values()))
    }

    /// The connected producers of `group`, from every master holding `topic` (a producer
    /// heartbeats to the brokers it sends to), each connection once
    /// (GET_PRODUCER_CONNECTION_LIST, Java's `examineProducerConnectionInfo`).
    pub async fn producer_connections(&self, group: &str, topic: &str) -> Result<Vec<Connection>> {
        let route = self.topic_route(topic).await?;
        let header = GetProducerConnectionListRequestHeader {
            producer_group: group.to_owned(),
        };
        let mut all = BTreeSet::new();
        for (_, addr) in Self::masters(&route.broker_datas) {
            let req = RemotingCommand::request(RequestCode::GET_PRODUCER_CONNECTION_LIST, &header);
            let conns: ProducerConnection =
                self.broker_json(&addr, req, "producer connections").await?;
            all.extend(conns.connection_set);
        }
        Ok(all.into_iter().collect())
    }
}
