//! Broker statistics, computed the way Apache RocketMQ 4.9.7 computes them, so `mqadmin
//! brokerStatus`, `statsAll`, `brokerConsumeStats`, the dashboards and the exporters read real
//! figures from rmq:
//!
//! - [`item`]: `BrokerStatsManager`'s stats names (`TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`, ...), each
//!   a set of keyed items sampled into minute, hour and day windows (VIEW_BROKER_STATS_DATA,
//!   consumeTps);
//! - [`runtime`]: `StoreStatsService`'s per-second samples of the store-wide totals (the
//!   putTps/getFoundTps/... figures of GET_BROKER_RUNTIME_INFO) and `BrokerStats`'
//!   midnight snapshots (msgPutTotalTodayMorning, ...);
//! - [`sampler`]: the one background task that takes all those samples.
//!
//! Handlers report events through [`BrokerStats`]' `on_*` methods: atomics behind a
//! read-mostly map, no allocation per message once a key exists. Metrics exporters read
//! cumulative figures with [`BrokerStats::totals`].

pub mod in_flight;
pub mod item;
pub mod pull_offsets;
pub mod runtime;
pub mod sampler;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use item::{StatsItem, StatsItemSet, Window, WindowFigures};

/// Apache's stats names this broker keeps, as VIEW_BROKER_STATS_DATA's `statsName` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsName {
    /// Messages put by producers, keyed by topic (calls: one per send request).
    TopicPutNums,
    /// Bytes stored for producers, keyed by topic (calls: one per send request).
    TopicPutSize,
    /// Messages transferred to consumers, keyed `topic@group` (calls: one per found pull).
    GroupGetNums,
    /// Bytes transferred to consumers, keyed `topic@group` (calls: one per found pull).
    GroupGetSize,
    /// Messages sent back for redelivery, keyed `topic@group` (the original topic).
    SndbckPutNums,
    /// Milliseconds pulls took to read and answer, keyed `queue@topic@group` (calls: one per
    /// found pull).
    GroupGetLatency,
    /// Messages put by producers, keyed by cluster name (no call count, as in Apache).
    BrokerPutNums,
    /// Messages transferred to consumers, keyed by cluster name (no call count, as in Apache).
    BrokerGetNums,
}

impl StatsName {
    /// Every name this broker keeps.
    pub const ALL: [StatsName; 8] = [
        StatsName::TopicPutNums,
        StatsName::TopicPutSize,
        StatsName::GroupGetNums,
        StatsName::GroupGetSize,
        StatsName::SndbckPutNums,
        StatsName::GroupGetLatency,
        StatsName::BrokerPutNums,
        StatsName::BrokerGetNums,
    ];

    /// The name as Apache spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatsName::TopicPutNums => "TOPIC_PUT_NUMS",
            StatsName::TopicPutSize => "TOPIC_PUT_SIZE",
            StatsName::GroupGetNums => "GROUP_GET_NUMS",
            StatsName::GroupGetSize => "GROUP_GET_SIZE",
            StatsName::SndbckPutNums => "SNDBCK_PUT_NUMS",
            StatsName::GroupGetLatency => "GROUP_GET_LATENCY",
            StatsName::BrokerPutNums => "BROKER_PUT_NUMS",
            StatsName::BrokerGetNums => "BROKER_GET_NUMS",
        }
    }

    /// The name Apache spells `name`, if this broker keeps it.
    pub fn parse(name: &str) -> Option<StatsName> {
        StatsName::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

/// Broker-wide statistics, one per broker (`BrokerContext::stats`).
pub struct BrokerStats {
    /// `BROKER_PUT_NUMS`/`BROKER_GET_NUMS` are keyed by the cluster name in Apache.
    cluster: Box<str>,
    sets: [StatsItemSet; StatsName::ALL.len()],
    /// The store's read counters (Apache's `getMessageTimesTotalFound`/`Miss`,
    /// `getMessageTransferedMsgCount`, `getMessageEntireTimeMax`).
    reads_found: AtomicU64,
    reads_missed: AtomicU64,
    transferred: AtomicU64,
    read_time_max_ms: AtomicU64,
    /// Per-second samples and midnight snapshots for GET_BROKER_RUNTIME_INFO.
    pub runtime: runtime::RuntimeStats,
    /// Requests being served per family (runtime info's thread-pool keys).
    pub in_flight: in_flight::InFlight,
    /// Where each group's last pull of each queue left off (consume stats' `pullOffset`).
    pub pull_offsets: pull_offsets::PullOffsets,
}

/// Cumulative figures since the broker started, for metrics exporters (collected on scrape).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsTotals {
    /// Per topic: messages and bytes producers put (`TOPIC_PUT_NUMS`/`TOPIC_PUT_SIZE`).
    pub topic_put: Vec<TopicTotals>,
    /// Per group and topic: messages and bytes transferred to consumers (`GROUP_GET_*`).
    pub group_get: Vec<GroupTopicTotals>,
    /// Per group and original topic: messages sent back for redelivery (`SNDBCK_PUT_NUMS`).
    pub send_back: Vec<GroupTopicCount>,
    /// Messages producers put, all topics (`BROKER_PUT_NUMS`).
    pub put_msgs: u64,
    /// Messages transferred to consumers, all groups (`BROKER_GET_NUMS`).
    pub get_msgs: u64,
    /// Store reads by pulls that found messages.
    pub reads_found: u64,
    /// Store reads by pulls that found nothing.
    pub reads_missed: u64,
}

/// One topic's put totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicTotals {
    /// The topic.
    pub topic: String,
    /// Messages.
    pub msgs: u64,
    /// Bytes as stored (whole records).
    pub bytes: u64,
}

/// One group's get totals on one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTopicTotals {
    /// The consumer group.
    pub group: String,
    /// The topic.
    pub topic: String,
    /// Messages.
    pub msgs: u64,
    /// Bytes as stored (whole records).
    pub bytes: u64,
}

/// One group's count on one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTopicCount {
    /// The consumer group.
    pub group: String,
    /// The topic.
    pub topic: String,
    /// Messages.
    pub msgs: u64,
}

impl BrokerStats {
    /// Empty statistics for a broker of `cluster`.
    pub fn new(cluster: &str) -> Self {
        BrokerStats {
            cluster: cluster.into(),
            sets: Default::default(),
            reads_found: AtomicU64::new(0),
            reads_missed: AtomicU64::new(0),
            transferred: AtomicU64::new(0),
            read_time_max_ms: AtomicU64::new(0),
            runtime: runtime::RuntimeStats::default(),
            in_flight: in_flight::InFlight::default(),
            pull_offsets: pull_offsets::PullOffsets::default(),
        }
    }

    /// The items of one stats name.
    pub fn set(&self, name: StatsName) -> &StatsItemSet {
        &self.sets[name as usize]
    }

    /// The item VIEW_BROKER_STATS_DATA asks for, if anything was counted under it.
    pub fn item(&self, name: &str, key: &str) -> Option<Arc<StatsItem>> {
        StatsName::parse(name).and_then(|n| self.set(n).get(key))
    }

    /// A producer's send request stored `msgs` messages (`bytes` as stored) in `topic`.
    pub fn on_put(&self, topic: &str, msgs: u64, bytes: u64) {
        self.on_topic_put(topic, msgs, bytes);
        self.set(StatsName::BrokerPutNums)
            .add(&self.cluster, msgs, 0);
    }

    /// A put counted for its topic only, not for the broker (a send-back parked in the
    /// schedule topic, as Apache counts it).
    pub fn on_topic_put(&self, topic: &str, msgs: u64, bytes: u64) {
        self.set(StatsName::TopicPutNums).add(topic, msgs, 1);
        self.set(StatsName::TopicPutSize).add(topic, bytes, 1);
    }

    /// A pull transferred `msgs` messages (`bytes` as stored) of `topic` to `group`.
    pub fn on_get(&self, group: &str, topic: &str, msgs: u64, bytes: u64) {
        self.set(StatsName::GroupGetNums)
            .add_pair(topic, group, msgs, 1);
        self.set(StatsName::GroupGetSize)
            .add_pair(topic, group, bytes, 1);
        self.set(StatsName::BrokerGetNums)
            .add(&self.cluster, msgs, 0);
        self.transferred.fetch_add(msgs, Ordering::Relaxed);
    }

    /// A pull read the store: it `found` messages or not, in `elapsed_ms`. Long polling reads
    /// again when woken, and every read counts, as every `getMessage` call counts in Apache.
    pub fn on_pull(&self, found: bool, elapsed_ms: u64) {
        let counter = if found {
            &self.reads_found
        } else {
            &self.reads_missed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.read_time_max_ms
            .fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    /// A pull of `group` found messages in `topic`/`queue_id` and answered within `ms` of its
    /// store read (Apache's `incGroupGetLatency` with per-queue stats on, its default).
    pub fn on_get_latency(&self, group: &str, topic: &str, queue_id: i32, ms: u64) {
        self.set(StatsName::GroupGetLatency)
            .add_queue_key(queue_id, topic, group, ms, 1);
    }

    /// `group` sent `msgs` messages of `topic` (the original topic) back for redelivery.
    pub fn on_send_back(&self, group: &str, topic: &str, msgs: u64) {
        self.set(StatsName::SndbckPutNums)
            .add_pair(topic, group, msgs, msgs);
    }

    /// Messages transferred to consumers since start (`msgGetTotalTodayNow`).
    pub fn transferred(&self) -> u64 {
        self.transferred.load(Ordering::Relaxed)
    }

    /// Store reads by pulls: (found, missed).
    pub fn reads(&self) -> (u64, u64) {
        (
            self.reads_found.load(Ordering::Relaxed),
            self.reads_missed.load(Ordering::Relaxed),
        )
    }

    /// The longest store read by a pull, in milliseconds (`getMessageEntireTimeMax`).
    pub fn read_time_max_ms(&self) -> u64 {
        self.read_time_max_ms.load(Ordering::Relaxed)
    }

    /// Minute-window tps of `group` on `topic` (Apache's `tpsGroupGetNums`, consumeTps).
    pub fn consume_tps(&self, group: &str, topic: &str) -> f64 {
        let key = format!("{topic}@{group}");
        self.set(StatsName::GroupGetNums)
            .get(&key)
            .map_or(0.0, |item| item.figures(Window::Minute).tps)
    }

    /// Samples every item's `window` at `now_ms` (the sampler's job; tests call it directly).
    pub fn sample_items(&self, window: Window, now_ms: i64) {
        for set in &self.sets {
            set.sample(window, now_ms);
        }
    }

    /// Cumulative totals since start, for metrics exporters.
    pub fn totals(&self) -> StatsTotals {
        let get_sizes = self.set(StatsName::GroupGetSize);
        let put_sizes = self.set(StatsName::TopicPutSize);
        let (reads_found, reads_missed) = self.reads();
        StatsTotals {
            topic_put: self
                .set(StatsName::TopicPutNums)
                .entries()
                .into_iter()
                .map(|(topic, item)| TopicTotals {
                    bytes: put_sizes.get(&topic).map_or(0, |s| s.value()),
                    topic: topic.into(),
                    msgs: item.value(),
                })
                .collect(),
            group_get: self
                .set(StatsName::GroupGetNums)
                .entries()
                .into_iter()
                .map(|(key, item)| {
                    let (topic, group) = split_pair(&key);
                    GroupTopicTotals {
                        group: group.to_owned(),
                        topic: topic.to_owned(),
                        msgs: item.value(),
                        bytes: get_sizes.get(&key).map_or(0, |s| s.value()),
                    }
                })
                .collect(),
            send_back: self
                .set(StatsName::SndbckPutNums)
                .entries()
                .into_iter()
                .map(|(key, item)| {
                    let (topic, group) = split_pair(&key);
                    GroupTopicCount {
                        group: group.to_owned(),
                        topic: topic.to_owned(),
                        msgs: item.value(),
                    }
                })
                .collect(),
            put_msgs: self.cluster_value(StatsName::BrokerPutNums),
            get_msgs: self.cluster_value(StatsName::BrokerGetNums),
            reads_found,
            reads_missed,
        }
    }

    fn cluster_value(&self, name: StatsName) -> u64 {
        self.set(name).get(&self.cluster).map_or(0, |i| i.value())
    }
}

/// `topic@group` split at its first `@` (topic names cannot hold one).
fn split_pair(key: &str) -> (&str, &str) {
    key.split_once('@').unwrap_or((key, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_land_under_apaches_names_and_keys() {
        let stats = BrokerStats::new("DefaultCluster");
        stats.on_put("T", 3, 300);
        stats.on_put("T", 1, 100);
        stats.on_get("G", "T", 2, 200);
        stats.on_send_back("G", "T", 1);
        stats.on_pull(true, 3);
        stats.on_pull(false, 1);
        let put = stats.item("TOPIC_PUT_NUMS", "T").expect("counted");
        assert_eq!((put.value(), put.times()), (4, 2));
        assert_eq!(
            stats.item("TOPIC_PUT_SIZE", "T").map(|i| i.value()),
            Some(400)
        );
        assert_eq!(
            stats.item("GROUP_GET_NUMS", "T@G").map(|i| i.value()),
            Some(2)
        );
        assert_eq!(
            stats.item("SNDBCK_PUT_NUMS", "T@G").map(|i| i.value()),
            Some(1)
        );
        let broker_put = stats
            .item("BROKER_PUT_NUMS", "DefaultCluster")
            .expect("counted");
        assert_eq!((broker_put.value(), broker_put.times()), (4, 0));
        assert!(stats.item("NO_SUCH_NAME", "T").is_none());
        assert_eq!(stats.transferred(), 2);
        assert_eq!(stats.reads(), (1, 1));
        assert_eq!(stats.read_time_max_ms(), 3);
        let totals = stats.totals();
        assert_eq!(
            totals.topic_put,
            vec![TopicTotals {
                topic: "T".into(),
                msgs: 4,
                bytes: 400
            }]
        );
        assert_eq!(
            totals.group_get,
            vec![GroupTopicTotals {
                group: "G".into(),
                topic: "T".into(),
                msgs: 2,
                bytes: 200
            }]
        );
        assert_eq!((totals.put_msgs, totals.get_msgs), (4, 2));
    }

    #[test]
    fn consume_tps_is_the_minute_window_of_group_get_nums() {
        let stats = BrokerStats::new("C");
        assert_eq!(stats.consume_tps("G", "T"), 0.0);
        stats.sample_items(Window::Minute, 0);
        stats.on_get("G", "T", 50, 5_000);
        assert_eq!(stats.consume_tps("G", "T"), 0.0, "not sampled yet");
        stats.sample_items(Window::Minute, 10_000);
        assert!((stats.consume_tps("G", "T") - 5.0).abs() < 1e-9);
    }
}
