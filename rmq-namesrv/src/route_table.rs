//! The routing registry: clusters, broker groups, topic queues and broker liveness, with the
//! semantics of RocketMQ's `RouteInfoManager` (docs/remoting-protocol.md §6.10).
//!
//! Pure in-memory state under one lock; the caller supplies the clock (`Instant`) and the
//! connection id, so every rule here is testable without sockets or sleeps.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_remoting::body::route::{
    BrokerData, ClusterInfo, QueueData, TopicList, TopicRouteData, MASTER_ID,
};
use rmq_remoting::body::topic::{perm, DataVersion, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson::{self, KeyStyle};

/// The topic brokers register when `autoCreateTopicEnable=true`; producers use its route to
/// create topics on first send.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";

/// One registration, as the REGISTER_BROKER header and body describe it.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The cluster.
    pub cluster_name: String,
    /// `ip:port` of the broker.
    pub broker_addr: String,
    /// The broker group.
    pub broker_name: String,
    /// 0 = master.
    pub broker_id: i64,
    /// `ip:haPort`.
    pub ha_server_addr: String,
    /// The broker's topic table, if it sent one.
    pub topics: Option<TopicConfigSerializeWrapper>,
    /// The broker's own expiry, if it asked for one.
    pub timeout: Option<Duration>,
}

/// For a slave: where its master is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// The master's HA address.
    pub ha_server_addr: Option<String>,
    /// The master's address.
    pub master_addr: Option<String>,
}

#[derive(Debug)]
struct LiveBroker {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    ha_server_addr: String,
    connection_id: u64,
}

#[derive(Default)]
struct Tables {
    /// topic → broker name → queue data.
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// broker name → broker group.
    brokers: BTreeMap<String, BrokerData>,
    /// cluster → broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    /// broker address → liveness.
    live: HashMap<String, LiveBroker>,
    /// Bumped on every write, under the lock, so encoded routes know when they are stale.
    generation: u64,
}

/// Route bodies already encoded, valid for one generation of the tables. Route queries are the
/// one call every client makes, and the tables change only on registrations.
#[derive(Default)]
struct EncodedRoutes {
    generation: u64,
    /// topic → [fastjson style, standard style].
    bodies: HashMap<String, [Option<Bytes>; 2]>,
}

/// The registry. All methods take `&self`; reads run concurrently.
pub struct RouteTable {
    tables: RwLock<Tables>,
    encoded: Mutex<EncodedRoutes>,
    default_timeout: Duration,
}

impl RouteTable {
    /// An empty registry whose brokers expire after `default_timeout` of silence.
    pub fn new(default_timeout: Duration) -> Self {
        RouteTable {
            tables: RwLock::default(),
            encoded: Mutex::default(),
            default_timeout,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        tables.generation += 1;
        tables
    }

    /// Registers (or refreshes) a broker. Registration is an upsert: topics absent from the
    /// table are kept. Only a master's table updates queue data, and only when the broker is
    /// new or its data version changed.
    pub fn register(&self, reg: Registration, connection_id: u64, now: Instant) -> RegisterOutcome {
        let mut t = self.write();
        t.clusters
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut first = !t.brokers.contains_key(&reg.broker_name);
        let group = t
            .brokers
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                broker_addrs: BTreeMap::new(),
                broker_name: reg.broker_name.clone(),
                cluster: reg.cluster_name.clone(),
            });
        // One address has one role: a slave promoted to master loses its old id.
        group
            .broker_addrs
            .retain(|id, addr| *id == reg.broker_id || *addr != reg.broker_addr);
        let previous = group
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        first |= previous.is_none();

        let version = reg
            .topics
            .as_ref()
            .map(|w| w.data_version.clone())
            .unwrap_or_default();
        if let Some(wrapper) = &reg.topics {
            if reg.broker_id == MASTER_ID
                && (first || version_changed(&t, &reg.broker_addr, &version))
            {
                for config in wrapper.topic_config_table.values() {
                    t.topics
                        .entry(config.topic_name.clone())
                        .or_default()
                        .insert(
                            reg.broker_name.clone(),
                            QueueData {
                                broker_name: reg.broker_name.clone(),
                                perm: config.perm,
                                read_queue_nums: config.read_queue_nums,
                                topic_sys_flag: config.topic_sys_flag,
                                write_queue_nums: config.write_queue_nums,
                            },
                        );
                }
            }
        }
        t.live.insert(
            reg.broker_addr.clone(),
            LiveBroker {
                last_update: now,
                timeout: reg.timeout.unwrap_or(self.default_timeout),
                data_version: version,
                ha_server_addr: reg.ha_server_addr.clone(),
                connection_id,
            },
        );

        if reg.broker_id == MASTER_ID {
            return RegisterOutcome::default();
        }
        let master_addr = t
            .brokers
            .get(&reg.broker_name)
            .and_then(|g| g.broker_addrs.get(&MASTER_ID))
            .cloned();
        match master_addr {
            Some(master) => RegisterOutcome {
                ha_server_addr: t.live.get(&master).map(|l| l.ha_server_addr.clone()),
                master_addr: Some(master),
            },
            None => RegisterOutcome::default(),
        }
    }

    /// Removes one broker, as on UNREGISTER_BROKER.
    pub fn unregister(
        &self,
        cluster_name: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        let mut t = self.write();
        remove_broker(&mut t, cluster_name, broker_addr, broker_name, broker_id);
    }

    /// Whether the broker's table version differs from the last one it registered.
    pub fn data_version_changed(&self, broker_addr: &str, version: &DataVersion) -> bool {
        version_changed(&self.read(), broker_addr, version)
    }

    /// The data version last registered by the broker.
    pub fn data_version(&self, broker_addr: &str) -> Option<DataVersion> {
        self.read()
            .live
            .get(broker_addr)
            .map(|l| l.data_version.clone())
    }

    /// Marks the broker as alive now (QUERY_DATA_VERSION, BROKER_HEARTBEAT).
    pub fn touch(&self, broker_addr: &str, now: Instant) {
        if let Some(live) = self.write().live.get_mut(broker_addr) {
            live.last_update = now;
        }
    }

    /// Drops every broker registered over the connection that just closed; returns their
    /// addresses.
    pub fn connection_closed(&self, connection_id: u64) -> Vec<String> {
        let mut t = self.write();
        let gone: Vec<String> = t
            .live
            .iter()
            .filter(|(_, l)| l.connection_id == connection_id)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            forget_address(&mut t, addr);
        }
        gone
    }

    /// Drops every broker silent for longer than its timeout; returns their addresses.
    pub fn expire(&self, now: Instant) -> Vec<String> {
        let mut t = self.write();
        let gone: Vec<String> = t
            .live
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last_update) > l.timeout)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &gone {
            forget_address(&mut t, addr);
        }
        gone
    }

    /// The topic's route: its queue data and the broker groups that still have an address.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        route_in(&self.read(), topic)
    }

    /// The topic's route encoded in `style`, from a cache that lives until the tables change.
    pub fn encoded_route(&self, topic: &str, style: KeyStyle) -> Option<Bytes> {
        let slot = usize::from(style == KeyStyle::Standard);
        let tables = self.read();
        let generation = tables.generation;
        {
            let cache = self.encoded.lock().unwrap_or_else(|e| e.into_inner());
            if cache.generation == generation {
                if let Some(body) = cache.bodies.get(topic).and_then(|b| b[slot].clone()) {
                    return Some(body);
                }
            }
        }
        let route = route_in(&tables, topic)?;
        drop(tables);
        let body = Bytes::from(fastjson::to_vec(&route, style));
        let mut cache = self.encoded.lock().unwrap_or_else(|e| e.into_inner());
        if cache.generation != generation {
            cache.bodies.clear();
            cache.generation = generation;
        }
        cache.bodies.entry(topic.to_owned()).or_default()[slot] = Some(body.clone());
        Some(body)
    }

    /// A remark for a topic without a route that tells the user which of the usual causes it is.
    pub fn explain_missing_route(&self, topic: &str) -> String {
        let t = self.read();
        let mut out = format!("No topic route info in name server for the topic: {topic}. ");
        if t.brokers.values().all(|g| g.broker_addrs.is_empty()) {
            out.push_str(
                "No broker is registered with this name server: check that each broker's namesrvAddr \
                 includes this name server's address and that the broker started without errors.",
            );
            return out;
        }
        out.push_str("Registered: ");
        for (i, (cluster, names)) in t.clusters.iter().enumerate() {
            let _ = write!(
                out,
                "{}cluster {cluster} with ",
                if i > 0 { "; " } else { "" }
            );
            let members: Vec<String> = names
                .iter()
                .filter_map(|n| t.brokers.get(n))
                .map(|g| {
                    let addrs: Vec<String> = g
                        .broker_addrs
                        .iter()
                        .map(|(id, a)| format!("{id}={a}"))
                        .collect();
                    format!("{} [{}]", g.broker_name, addrs.join(", "))
                })
                .collect();
            out.push_str(&members.join(", "));
        }
        out.push_str(". ");
        if let Some(queues) = t.topics.get(topic) {
            let names: Vec<&str> = queues.keys().map(String::as_str).collect();
            let _ = write!(
                out,
                "The topic was registered by broker(s) {} which are no longer registered (stopped, or silent \
                 for longer than the expiry). ",
                names.join(", ")
            );
        }
        if topic == AUTO_CREATE_TOPIC {
            out.push_str("TBW102 is only registered by brokers with autoCreateTopicEnable=true, so auto-creation is off.");
            return out;
        }
        let auto: Vec<&str> = t
            .topics
            .get(AUTO_CREATE_TOPIC)
            .map(|q| {
                q.keys()
                    .filter(|n| {
                        t.brokers
                            .get(*n)
                            .is_some_and(|g| !g.broker_addrs.is_empty())
                    })
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default();
        if auto.is_empty() {
            let cluster = t
                .clusters
                .keys()
                .next()
                .map_or("DefaultCluster", String::as_str);
            let _ = write!(
                out,
                "Auto-creation is off on every registered broker (no TBW102 route): create the topic with \
                 `mqadmin updateTopic -n <this name server> -c {cluster} -t {topic}`, or set \
                 autoCreateTopicEnable=true in broker.conf."
            );
        } else {
            let _ = write!(
                out,
                "Auto-creation is possible on {}: a producer's first send creates the topic.",
                auto.join(", ")
            );
        }
        out
    }

    /// Every broker group and cluster.
    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.read();
        ClusterInfo {
            broker_addr_table: t.brokers.clone(),
            cluster_addr_table: t.clusters.clone(),
        }
    }

    /// Every topic with queue data.
    pub fn all_topics(&self) -> TopicList {
        TopicList {
            topic_list: self.read().topics.keys().cloned().collect(),
            broker_addr: None,
        }
    }

    /// REGISTER_TOPIC_IN_NAMESRV (5.x): adds or replaces the queue data of `topic` for each
    /// broker group named, as Apache 5.x does; nothing changes, and false is returned, when
    /// one of them is not registered.
    pub fn register_topic(&self, topic: &str, queue_datas: Vec<QueueData>) -> bool {
        if queue_datas.is_empty() {
            return true;
        }
        let mut t = self.write();
        if let Some(unknown) = queue_datas
            .iter()
            .find(|q| !t.brokers.contains_key(&q.broker_name))
        {
            tracing::warn!(topic, broker = %unknown.broker_name, "topic registration names a broker group that is not registered");
            return false;
        }
        let queues = t.topics.entry(topic.to_owned()).or_default();
        for q in queue_datas {
            queues.insert(q.broker_name.clone(), q);
        }
        true
    }

    /// Topics whose first queue data (smallest broker name) has a `topicSysFlag` that `pick`
    /// accepts: Apache's unit-topic lists look at one queue data per topic the same way.
    pub fn topics_by_sys_flag(&self, pick: impl Fn(i32) -> bool) -> TopicList {
        let topic_list = self
            .read()
            .topics
            .iter()
            .filter(|(_, queues)| {
                queues
                    .values()
                    .next()
                    .is_some_and(|q| pick(q.topic_sys_flag))
            })
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            topic_list,
            broker_addr: None,
        }
    }

    /// Topics with queues on any broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let t = self.read();
        let names = t.clusters.get(cluster).cloned().unwrap_or_default();
        let topic_list = t
            .topics
            .iter()
            .filter(|(_, queues)| queues.keys().any(|n| names.contains(n)))
            .map(|(topic, _)| topic.clone())
            .collect();
        TopicList {
            topic_list,
            broker_addr: None,
        }
    }

    /// Removes a topic everywhere, or only from `cluster`'s brokers.
    pub fn delete_topic(&self, topic: &str, cluster: Option<&str>) {
        let mut t = self.write();
        match cluster {
            None => {
                t.topics.remove(topic);
            }
            Some(cluster) => {
                let names = t.clusters.get(cluster).cloned().unwrap_or_default();
                if let Some(queues) = t.topics.get_mut(topic) {
                    queues.retain(|name, _| !names.contains(name));
                    if queues.is_empty() {
                        t.topics.remove(topic);
                    }
                }
            }
        }
    }

    /// Clears WRITE on every queue of `broker_name`, or (like RocketMQ's ADD_WRITE_PERM) sets
    /// the permission to exactly READ|WRITE; returns how many topics changed.
    pub fn set_write_perm(&self, broker_name: &str, writable: bool) -> i32 {
        let mut t = self.write();
        let mut count = 0;
        for queues in t.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if writable {
                    perm::READ | perm::WRITE
                } else {
                    q.perm & !perm::WRITE
                };
                count += 1;
            }
        }
        count
    }
}

fn route_in(t: &Tables, topic: &str) -> Option<TopicRouteData> {
    let queues = t.topics.get(topic)?;
    let queue_datas: Vec<QueueData> = queues.values().cloned().collect();
    let broker_datas: Vec<BrokerData> = queues
        .keys()
        .filter_map(|name| t.brokers.get(name))
        .filter(|group| !group.broker_addrs.is_empty())
        .cloned()
        .collect();
    if broker_datas.is_empty() || queue_datas.is_empty() {
        return None;
    }
    Some(TopicRouteData {
        broker_datas,
        queue_datas,
        ..Default::default()
    })
}

fn version_changed(t: &Tables, broker_addr: &str, version: &DataVersion) -> bool {
    t.live
        .get(broker_addr)
        .is_none_or(|l| l.data_version != *version)
}

/// Removes the broker at `addr` from every table, wherever it is registered.
fn forget_address(t: &mut Tables, addr: &str) {
    let found = t.brokers.values().find_map(|g| {
        g.broker_addrs
            .iter()
            .find(|(_, a)| a.as_str() == addr)
            .map(|(id, _)| (g.cluster.clone(), g.broker_name.clone(), *id))
    });
    match found {
        Some((cluster, name, id)) => remove_broker(t, &cluster, addr, &name, id),
        None => {
            t.live.remove(addr);
        }
    }
}

fn remove_broker(
    t: &mut Tables,
    cluster_name: &str,
    broker_addr: &str,
    broker_name: &str,
    broker_id: i64,
) {
    t.live.remove(broker_addr);
    let mut group_gone = false;
    if let Some(group) = t.brokers.get_mut(broker_name) {
        if group
            .broker_addrs
            .get(&broker_id)
            .is_some_and(|a| a == broker_addr)
        {
            group.broker_addrs.remove(&broker_id);
        }
        group_gone = group.broker_addrs.is_empty();
    }
    if !group_gone {
        return;
    }
    t.brokers.remove(broker_name);
    if let Some(names) = t.clusters.get_mut(cluster_name) {
        names.remove(broker_name);
        if names.is_empty() {
            t.clusters.remove(cluster_name);
        }
    }
    t.topics.retain(|_, queues| {
        queues.remove(broker_name);
        !queues.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use rmq_remoting::body::topic::TopicConfig;

    use super::*;

    fn topics(names: &[&str], counter: i64) -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            data_version: DataVersion {
                timestamp: 1,
                counter,
                state_version: None,
            },
            topic_config_table: names
                .iter()
                .map(|n| {
                    let config = TopicConfig {
                        order: false,
                        perm: 6,
                        read_queue_nums: 4,
                        topic_filter_type: "SINGLE_TAG".into(),
                        topic_name: (*n).into(),
                        topic_sys_flag: 0,
                        write_queue_nums: 4,
                        attributes: None,
                    };
                    ((*n).to_owned(), config)
                })
                .collect(),
        }
    }

    fn reg(name: &str, addr: &str, id: i64, topic_names: &[&str], counter: i64) -> Registration {
        Registration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            topics: Some(topics(topic_names, counter)),
            timeout: None,
        }
    }

    #[test]
    fn master_and_slave_make_one_group_and_slaves_learn_their_master() {
        let table = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        assert_eq!(
            table.register(reg("a", "m:1", 0, &["T"], 1), 1, now),
            RegisterOutcome::default()
        );
        let slave = table.register(reg("a", "s:1", 1, &["T", "OnlyOnSlave"], 1), 2, now);
        assert_eq!(slave.master_addr.as_deref(), Some("m:1"));
        assert_eq!(slave.ha_server_addr.as_deref(), Some("m:1-ha"));
        let route = table.route("T").unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
        assert!(
            table.route("OnlyOnSlave").is_none(),
            "slaves never add queue data"
        );
    }

    #[test]
    fn queue_data_updates_only_when_the_version_changes() {
        let table = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        table.register(reg("a", "m:1", 0, &["T"], 1), 1, now);
        table.register(reg("a", "m:1", 0, &["T", "New"], 1), 1, now);
        assert!(table.route("New").is_none());
        table.register(reg("a", "m:1", 0, &["New"], 2), 1, now);
        assert!(table.route("New").is_some());
        assert!(table.route("T").is_some(), "registration is an upsert");
    }

    #[test]
    fn closing_the_connection_or_expiry_drops_the_broker() {
        let table = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        table.register(reg("a", "m:1", 0, &["T"], 1), 7, now);
        table.register(reg("b", "m:2", 0, &["T"], 1), 8, now);
        assert_eq!(table.connection_closed(7), vec!["m:1".to_owned()]);
        assert_eq!(table.route("T").unwrap().broker_datas.len(), 1);
        assert!(table.expire(now + Duration::from_secs(119)).is_empty());
        assert_eq!(
            table.expire(now + Duration::from_secs(121)),
            vec!["m:2".to_owned()]
        );
        assert!(table.route("T").is_none());
        assert!(table.cluster_info().cluster_addr_table.is_empty());
    }

    #[test]
    fn a_promoted_slave_keeps_one_entry_per_address() {
        let table = RouteTable::new(Duration::from_secs(120));
        let now = Instant::now();
        table.register(reg("a", "x:1", 1, &["T"], 1), 1, now);
        table.register(reg("a", "x:1", 0, &["T"], 1), 1, now);
        let info = table.cluster_info();
        assert_eq!(
            info.broker_addr_table["a"].broker_addrs,
            BTreeMap::from([(0, "x:1".to_owned())])
        );
    }

    #[test]
    fn missing_route_remarks_name_the_cause() {
        let table = RouteTable::new(Duration::from_secs(120));
        assert!(table
            .explain_missing_route("T")
            .contains("No broker is registered"));
        table.register(reg("a", "m:1", 0, &["Other"], 1), 1, Instant::now());
        let remark = table.explain_missing_route("T");
        assert!(remark.starts_with("No topic route info in name server for the topic: T."));
        assert!(
            remark.contains("cluster DefaultCluster with a [0=m:1]"),
            "{remark}"
        );
        assert!(remark.contains("Auto-creation is off"), "{remark}");
        table.register(
            reg("a", "m:1", 0, &["Other", "TBW102"], 2),
            1,
            Instant::now(),
        );
        assert!(table
            .explain_missing_route("T")
            .contains("Auto-creation is possible on a"));
    }

    #[test]
    fn write_permission_can_be_wiped_and_restored() {
        let table = RouteTable::new(Duration::from_secs(120));
        table.register(reg("a", "m:1", 0, &["T", "U"], 1), 1, Instant::now());
        assert_eq!(table.set_write_perm("a", false), 2);
        assert_eq!(table.route("T").unwrap().queue_datas[0].perm, 4);
        assert_eq!(
            table.set_write_perm("a", true),
            2,
            "restores exactly READ|WRITE"
        );
        assert_eq!(table.route("T").unwrap().queue_datas[0].perm, 6);
        table.delete_topic("T", None);
        assert_eq!(
            table.all_topics().topic_list,
            BTreeSet::from(["U".to_owned()])
        );
        assert_eq!(
            table.topics_of_cluster("DefaultCluster").topic_list.len(),
            1
        );
    }
}
