//! Cluster membership and broker state: `clusterList`, `brokerStatus`.

use std::collections::BTreeMap;

use rmq_remoting::body::route::{ClusterInfo, KvTable};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::Admin;
use crate::error::{ClientError, Result};

impl Admin {
    /// Every broker group and cluster the name server knows (GET_BROKER_CLUSTER_INFO).
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let req = RemotingCommand::request_without_header(RequestCode::GET_BROKER_CLUSTER_INFO);
        self.namesrv_json(req, "cluster info").await
    }

    /// The master addresses of `cluster`'s broker groups, sorted by broker name; an error
    /// naming the known clusters when there is no such cluster.
    pub async fn cluster_master_addrs(&self, cluster: &str) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let Some(names) = info.cluster_addr_table.get(cluster) else {
            let known: Vec<&String> = info.cluster_addr_table.keys().collect();
            return Err(ClientError::Config(format!(
                "cluster [{cluster}] is not registered with the name server; known clusters: {known:?}"
            )));
        };
        let datas = names
            .iter()
            .filter_map(|name| info.broker_addr_table.get(name));
        Ok(Self::masters(datas).into_iter().map(|(_, a)| a).collect())
    }

    /// The broker's runtime figures, key → value (GET_BROKER_RUNTIME_INFO).
    pub async fn broker_runtime_stats(
        &self,
        broker_addr: &str,
    ) -> Result<BTreeMap<String, String>> {
        let req = RemotingCommand::request_without_header(RequestCode::GET_BROKER_RUNTIME_INFO);
        let table: KvTable = self
            .broker_json(broker_addr, req, "broker runtime info")
            .await?;
        Ok(table.table)
    }
}
