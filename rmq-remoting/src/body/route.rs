//! Routing documents exchanged with the name server (docs/remoting-protocol.md §3.2, §6.10).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::topic::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::fastjson::{self, FastjsonError};

/// Inflated size beyond which a compressed registration is refused (a zip bomb guard; a real
/// table of 100 000 topics inflates to a few MiB).
const MAX_INFLATED_REGISTER_BODY: u64 = 64 * 1024 * 1024;

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

impl RegisterBrokerBody {
    /// Decodes the zlib form 4.9 brokers send with `compressedRegister=true`: a length-prefixed
    /// DataVersion JSON, a topic count, one length-prefixed `name read write perm filterType`
    /// line per topic, then the length-prefixed filter-server list JSON. Integers are big-endian.
    pub fn decode_compressed(data: &[u8]) -> Result<Self, FastjsonError> {
        let mut inflated = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .take(MAX_INFLATED_REGISTER_BODY + 1)
            .read_to_end(&mut inflated)
            .map_err(|e| {
                FastjsonError::Shape(format!("cannot inflate the registration body: {e}"))
            })?;
        if inflated.len() as u64 > MAX_INFLATED_REGISTER_BODY {
            return Err(FastjsonError::Shape(
                "the registration body inflates beyond 64 MiB".into(),
            ));
        }
        let mut input = &inflated[..];
        let data_version: DataVersion = fastjson::from_slice(take_chunk(&mut input)?)?;
        let count = take_int(&mut input)?;
        let mut table = BTreeMap::new();
        for _ in 0..count {
            let line = std::str::from_utf8(take_chunk(&mut input)?)
                .map_err(|_| FastjsonError::Shape("a topic line is not UTF-8".into()))?;
            let config = parse_topic_line(line)?;
            table.insert(config.topic_name.clone(), config);
        }
        let filter_server_list = match input.is_empty() {
            true => Vec::new(),
            false => fastjson::from_slice(take_chunk(&mut input)?)?,
        };
        Ok(RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version,
                topic_config_table: table,
            },
        })
    }
}

fn take_int(input: &mut &[u8]) -> Result<usize, FastjsonError> {
    let Some((word, rest)) = input.split_first_chunk::<4>() else {
        return Err(FastjsonError::Shape(
            "the registration body ends inside a length".into(),
        ));
    };
    *input = rest;
    usize::try_from(i32::from_be_bytes(*word))
        .map_err(|_| FastjsonError::Shape("negative length in the registration body".into()))
}

fn take_chunk<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], FastjsonError> {
    let len = take_int(input)?;
    if len > input.len() {
        return Err(FastjsonError::Shape(
            "a length runs past the end of the registration body".into(),
        ));
    }
    let (chunk, rest) = input.split_at(len);
    *input = rest;
    Ok(chunk)
}

/// `TopicConfig`'s compact text: `name read write perm filterType[ attributesJson]`.
fn parse_topic_line(line: &str) -> Result<TopicConfig, FastjsonError> {
    let bad = || {
        FastjsonError::Shape(format!(
            "invalid topic line {line:?} in the registration body"
        ))
    };
    let mut parts = line.splitn(6, ' ');
    let mut next = || parts.next().ok_or_else(bad);
    let topic_name = next()?.to_owned();
    let read_queue_nums = next()?.parse().map_err(|_| bad())?;
    let write_queue_nums = next()?.parse().map_err(|_| bad())?;
    let perm = next()?.parse().map_err(|_| bad())?;
    let topic_filter_type = next()?.to_owned();
    let attributes = match parts.next() {
        Some(json) if !json.is_empty() => Some(fastjson::from_slice(json.as_bytes())?),
        _ => None,
    };
    Ok(TopicConfig {
        order: false,
        perm,
        read_queue_nums,
        topic_filter_type,
        topic_name,
        topic_sys_flag: 0,
        write_queue_nums,
        attributes,
    })
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
    fn compressed_register_body_decodes() {
        use std::io::Write;
        fn chunk(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut plain = Vec::new();
        chunk(&mut plain, br#"{"counter":3,"timestamp":1718000000000}"#);
        plain.extend_from_slice(&2i32.to_be_bytes());
        chunk(&mut plain, b"TopicZip 4 4 6 SINGLE_TAG");
        chunk(&mut plain, b"TBW102 8 8 7 SINGLE_TAG");
        chunk(&mut plain, b"[]");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&plain).unwrap();
        let body = RegisterBrokerBody::decode_compressed(&z.finish().unwrap()).unwrap();
        let wrapper = body.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 3);
        assert_eq!(wrapper.topic_config_table["TBW102"].perm, 7);
        assert_eq!(wrapper.topic_config_table["TopicZip"].write_queue_nums, 4);
        assert!(RegisterBrokerBody::decode_compressed(b"not zlib").is_err());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&plain[..10]).unwrap();
        assert!(RegisterBrokerBody::decode_compressed(&z.finish().unwrap()).is_err());
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
