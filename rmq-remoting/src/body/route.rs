//! Routing documents exchanged with the name server (remoting-protocol.md §3.2, §6.10).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::topic::TopicConfigSerializeWrapper;

/// Broker id of a master; slaves have ids ≥ 1.
pub const MASTER_ID: i64 = 0;

/// One broker name's queues for a topic (`QueueData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    /// The broker group holding the queues.
    pub broker_name: String,
    /// Permission bits (see [`super::topic::perm`]).
    pub perm: i32,
    /// Queues consumers read.
    pub read_queue_nums: i32,
    /// Unit flags.
    #[serde(default)]
    pub topic_sys_flag: i32,
    /// Queues producers write.
    pub write_queue_nums: i32,
}

/// A broker group: its name, cluster and the address of each member by broker id (`BrokerData`).
///
/// `brokerAddrs` has integer keys, which fastjson writes unquoted unless the reader asked for
/// standard JSON; it is always present (the Go client cannot cope with it missing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    /// Broker id → `ip:port`.
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    /// The broker group's name.
    pub broker_name: String,
    /// The cluster the group belongs to.
    pub cluster: String,
}

/// A topic's route (`TopicRouteData`): which broker groups hold its queues and where they are.
///
/// `queueDatas`, `brokerDatas` and `filterServerTable` are always emitted, possibly empty,
/// because several client versions read them without null checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    /// Broker groups holding the topic.
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    /// Filter servers by broker address (legacy; normally empty).
    #[serde(default)]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `brokerA:4;brokerB:4` for ordered topics configured on the name server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// Queue counts and permissions per broker group.
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
}

/// Every registered broker group and cluster (`ClusterInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Broker name → broker group.
    #[serde(default)]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    #[serde(default)]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

/// A list of topic names (`TopicList`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicList {
    /// The topics.
    #[serde(default)]
    pub topic_list: BTreeSet<String>,
    /// Set when the list comes from one broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
}

/// A string table (`KVTable`): name-server KV namespaces, broker runtime info.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KvTable {
    /// Key → value.
    #[serde(default)]
    pub table: BTreeMap<String, String>,
}

/// The body of REGISTER_BROKER (`RegisterBrokerBody`, uncompressed form).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    /// Filter servers of the broker (legacy; normally empty).
    #[serde(default)]
    pub filter_server_list: Vec<String>,
    /// The broker's topic table.
    #[serde(default)]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson::{from_slice, to_vec, KeyStyle};

    fn route() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, "192.168.1.10:10911".into())]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
            }],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn route_in_both_styles_matches_the_java_name_server() {
        assert_eq!(
            String::from_utf8(to_vec(&route(), KeyStyle::Fastjson)).unwrap(),
            r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.1.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        assert_eq!(
            String::from_utf8(to_vec(&route(), KeyStyle::Standard)).unwrap(),
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.1.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
    }

    #[test]
    fn java_register_body_parses() {
        let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,"stateVersion":0,"timestamp":1718000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},"TBW102":{"order":false,"perm":7,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TBW102","topicSysFlag":0,"writeQueueNums":8}}}}"#;
        let parsed: RegisterBrokerBody = from_slice(body).unwrap();
        let wrapper = parsed.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 7);
        assert_eq!(wrapper.topic_config_table["TBW102"].perm, 7);
    }

    #[test]
    fn cluster_info_uses_unquoted_broker_ids() {
        let info = ClusterInfo {
            broker_addr_table: BTreeMap::from([(
                "broker-a".into(),
                route().broker_datas[0].clone(),
            )]),
            cluster_addr_table: BTreeMap::from([(
                "DefaultCluster".into(),
                BTreeSet::from(["broker-a".into()]),
            )]),
        };
        let text = String::from_utf8(to_vec(&info, KeyStyle::Fastjson)).unwrap();
        assert_eq!(
            text,
            r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"192.168.1.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#
        );
        assert_eq!(from_slice::<ClusterInfo>(text.as_bytes()).unwrap(), info);
    }
}
